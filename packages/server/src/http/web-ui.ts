/**
 * Serves the web UI — the static files `@keel/web` builds into its `dist/ui` folder — at `/`:
 *
 * - `GET /assets/<file>`: the content-hashed bundles, cached for a year as immutable.
 * - `GET /<file>` for a file at the top of the folder (`favicon.svg`).
 * - any other `GET` that accepts `text/html` and matches no API route: `index.html`, so that the
 *   UI's own router shows `/experiments/3?filter=…` after a reload or from a shared link.
 *
 * Every API route is registered with a more specific path, so it wins over the UI's catch-all; API
 * prefixes (`/api/`, `/ajax-api/`, `/v2/`…) never fall back to the UI, and anything that is not a
 * page request (no `text/html` in `Accept`) gets the usual JSON 404. Paths are decoded segment by
 * segment and may not leave the UI folder (`..`, encoded slashes, symlinks out are refused).
 */
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Options of {@link registerWebUi}. */
export interface WebUiOptions {
  /**
   * The folder holding the built UI (`index.html`, `assets/`). When it has no `index.html`, pages
   * answer a short HTML note saying how to build the UI.
   * @default the `dist/ui` folder of the installed `@keel/web` package ({@link defaultWebUiRoot})
   */
  root?: string;
}

/** Cache policy of content-hashed files: their name changes whenever their content does. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** Cache policy of `index.html` and other unhashed files: always revalidate, so a new build shows at once. */
export const REVALIDATE_CACHE = 'no-cache';

/** Content types by file extension; anything else is sent as `application/octet-stream`. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** First path segments that belong to APIs: never answered with the UI's index.html. */
const API_SEGMENTS = new Set([
  'api',
  'ajax-api',
  'v2',
  'health',
  'metrics',
  'version',
  'ping',
  'invocations',
]);
/** Serving endpoints of a deployment (`/deployments/{name}/invocations`…), whatever the method. */
const DEPLOYMENT_ENDPOINT = /^\/deployments\/[^/]+\/(invocations|ping|health|ready)$/;

/**
 * The `dist/ui` folder of the installed `@keel/web` package, or `undefined` when the package cannot
 * be found (a server installed without the UI).
 */
export function defaultWebUiRoot(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('@keel/web/package.json')), 'dist', 'ui');
  } catch {
    return undefined;
  }
}

/**
 * Registers the UI's routes on `app` (see the module comment). Call after `installErrorHandler`:
 * misses are handed to the app's not-found handler.
 *
 * @example
 * registerWebUi(app, {}); // the built @keel/web package
 * registerWebUi(app, { root: '/srv/keel-ui' });
 */
export function registerWebUi(app: FastifyInstance, options: WebUiOptions): void {
  const root = options.root ?? defaultWebUiRoot();
  app.get('/assets/*', async (request, reply) => {
    const file = root === undefined ? undefined : await fileInside(root, request.url);
    if (file === undefined) return reply.callNotFound();
    return sendFile(reply, file, IMMUTABLE_CACHE);
  });
  app.get('/*', async (request, reply) => {
    const path = pathOf(request.url);
    if (root !== undefined && isTopLevelFile(path)) {
      const file = await fileInside(root, request.url);
      if (file !== undefined) return sendFile(reply, file, REVALIDATE_CACHE);
    }
    if (!isPageRequest(request, path)) return reply.callNotFound();
    const index = root === undefined ? undefined : await readIndex(root);
    reply.header('cache-control', REVALIDATE_CACHE).header('x-content-type-options', 'nosniff');
    if (index === undefined) return reply.type(CONTENT_TYPES['.html'] as string).send(notBuiltPage(root));
    return reply.type(CONTENT_TYPES['.html'] as string).send(index);
  });
}

/** A browser asking for a page: `text/html` accepted and not an API path. */
function isPageRequest(request: FastifyRequest, path: string): boolean {
  const accept = request.headers.accept ?? '';
  if (!accept.includes('text/html')) return false;
  const first = path.split('/')[1] ?? '';
  return !API_SEGMENTS.has(first) && !DEPLOYMENT_ENDPOINT.test(path);
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function isTopLevelFile(path: string): boolean {
  return path.lastIndexOf('/') === 0 && extname(path) !== '';
}

/**
 * The real path of the regular file `url` names inside `root`, or `undefined` when there is none or
 * the path would leave `root` (dot segments, encoded separators, NUL, a symlink pointing out).
 */
async function fileInside(root: string, url: string): Promise<string | undefined> {
  const segments: string[] = [];
  for (const raw of pathOf(url).split('/').slice(1)) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  try {
    const realRoot = await realpath(root);
    const file = await realpath(join(realRoot, ...segments));
    if (!file.startsWith(realRoot + sep)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined; // Missing file or folder.
  }
}

async function sendFile(reply: FastifyReply, file: string, cacheControl: string): Promise<FastifyReply> {
  const { size } = await stat(file);
  return reply
    .type(CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
    .header('content-length', size)
    .header('cache-control', cacheControl)
    .header('x-content-type-options', 'nosniff')
    .send(createReadStream(file));
}

async function readIndex(root: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, 'index.html'), 'utf8');
  } catch {
    return undefined;
  }
}

/** What `/` shows when the UI was not built: how to build it. */
function notBuiltPage(root: string | undefined): string {
  const where =
    root === undefined
      ? 'The <code>@keel/web</code> package is not installed next to this server.'
      : `No built UI in <code>${escapeHtml(root)}</code>.`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Keel — web UI not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:640px;margin:64px auto;padding:0 16px}code{background:#8881;padding:1px 4px;border-radius:4px}</style>
</head>
<body>
<h1>Keel's web UI is not built</h1>
<p>${where} The API is running: MLflow clients and the Keel SDK work as usual.</p>
<p>To build the UI, run <code>npm run build</code> in the Keel checkout (or <code>npm run build -w @keel/web</code> for the UI alone), then reload this page.</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
