import { baseName } from './artifact-path.js';

/** Media types by lower-case extension; everything not here is `application/octet-stream`. */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  // Text Keel and MLflow write, and common source/config files: shown as plain text.
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/plain',
  yaml: 'text/plain',
  yml: 'text/plain',
  toml: 'text/plain',
  ini: 'text/plain',
  cfg: 'text/plain',
  conf: 'text/plain',
  py: 'text/plain',
  r: 'text/plain',
  js: 'text/plain',
  mjs: 'text/plain',
  ts: 'text/plain',
  sh: 'text/plain',
  sql: 'text/plain',
  java: 'text/plain',
  scala: 'text/plain',
  ipynb: 'text/plain',
  tsv: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  jsonl: 'text/plain',
  xml: 'text/xml',
  html: 'text/html',
  htm: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  parquet: 'application/octet-stream',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
};

/** Files MLflow writes without an extension that are text. */
const TEXT_NAMES = new Set(['MLmodel', 'MLproject', 'Dockerfile', 'LICENSE', 'README']);

/**
 * Guesses a download's `Content-Type` from the file name: text files MLflow and Keel write
 * (`MLmodel`, `*.yaml`, `*.txt`, …) are `text/plain`, common images/documents get their type,
 * anything else `application/octet-stream`. Text types carry `charset=utf-8`.
 *
 * @example
 * guessContentType('model/MLmodel') // 'text/plain; charset=utf-8'
 */
export function guessContentType(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  const type = TEXT_NAMES.has(name)
    ? 'text/plain'
    : dot > 0
      ? (BY_EXTENSION[name.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream')
      : 'application/octet-stream';
  return type.startsWith('text/') || type === 'application/json' ? `${type}; charset=utf-8` : type;
}

/**
 * `Content-Disposition: attachment` naming the file: an ASCII fallback in `filename` (quotes,
 * backslashes and control characters replaced) and the exact UTF-8 name in `filename*`
 * (RFC 6266), so no name can inject a header.
 *
 * @example
 * attachmentDisposition('plots/loss "final".png')
 * // `attachment; filename="loss _final_.png"; filename*=UTF-8''loss%20%22final%22.png`
 */
export function attachmentDisposition(path: string): string {
  const name = baseName(path);
  // Only printable ASCII survives in the fallback: control characters must never reach a header.
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
