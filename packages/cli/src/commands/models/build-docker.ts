import { chmod, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KEEL_VERSION, parseMLmodel } from '@keel/core';
import { Command } from 'commander';
import { CliError } from '../../cli-error.js';
import type { CliIo } from '../../io.js';
import { type TrackingFlags, trackingClient, withTrackingUri } from '../../tracking-client.js';
import {
  CONTEXT_PATHS,
  contextNpmrc,
  contextPackageJson,
  contextReadme,
  type DockerContextSpec,
  dockerfile,
  dockerignore,
  entrypointScript,
  pipRequirements,
} from './docker-context.js';
import { packKeel } from './keel-packages.js';
import { resolveModelSource } from './model-source.js';
import { pythonRequirements } from './python-requirements.js';

/** Flags of `keel models build-docker`. */
export interface ModelsBuildDockerFlags extends TrackingFlags {
  modelUri: string;
  name: string;
  directory?: string;
}

/** Where the context goes without `-d`. */
export const DEFAULT_CONTEXT_DIR = 'keel-docker';

/**
 * Docker's image reference: `[host[:port]/]path[:tag]`, lowercase path components. Checked here so a
 * typo fails now, not at `docker build`.
 */
const IMAGE_NAME =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/;

/**
 * `keel models build-docker -m <uri|path> -n <image-name> [-d <dir>]`: writes a complete Docker build
 * context that serves the model with `keel models serve` — no Docker engine is needed to write it.
 * The context holds a `Dockerfile` (node:20-bookworm-slim, user `node`, port 8080, HEALTHCHECK on
 * `/ping`), the model directory, Keel packed with `npm pack`, an entrypoint reading `PORT`,
 * `KEEL_MODEL_DIR` and the batching variables, a `.dockerignore` and a README.
 *
 * @example
 * keel models build-docker -m models:/churn@champion -n churn-server -d ./churn-image
 * docker build -t churn-server ./churn-image
 */
export function modelsBuildDockerCommand(io: CliIo): Command {
  return withTrackingUri(new Command('build-docker'))
    .description('Write a Docker build context (Dockerfile, Keel, the model) that serves a model')
    .requiredOption(
      '-m, --model-uri <uri>',
      'models:/<name>/<version|stage|latest>, models:/<name>@<alias>, runs:/<run-id>/<path> or a local directory',
    )
    .requiredOption('-n, --name <image-name>', 'image name for `docker build -t`, e.g. churn-server:3')
    .option(
      '-d, --directory <dir>',
      `folder to write the context to; must be new or empty (default: ./${DEFAULT_CONTEXT_DIR})`,
    )
    .action(async (flags: ModelsBuildDockerFlags) => {
      if (!IMAGE_NAME.test(flags.name)) {
        throw new CliError(
          `Invalid image name '${flags.name}': expected [registry/]name[:tag] in lowercase, e.g. churn-server:3`,
        );
      }
      const dir = resolve(flags.directory ?? DEFAULT_CONTEXT_DIR);
      const created = await prepareDirectory(dir);
      try {
        const spec = await writeContext(dir, flags);
        const version = spec.modelVersion === undefined ? '' : ` version ${spec.modelVersion}`;
        io.stdout.write(
          `Wrote a Docker build context for model '${spec.modelName}'${version} (${spec.flavor}) to ${dir}\n` +
            `Build it with: docker build -t ${spec.imageName} ${dir}\n`,
        );
      } catch (error) {
        if (created) await rm(dir, { recursive: true, force: true });
        else
          for (const entry of await readdir(dir))
            await rm(join(dir, entry), { recursive: true, force: true });
        throw error;
      }
    });
}

/** Creates `dir`, or checks that it is empty; answers whether it was created. */
async function prepareDirectory(dir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      await mkdir(dir, { recursive: true });
      return true;
    }
    if (code === 'ENOTDIR') throw new CliError(`Cannot write the build context to '${dir}': it is a file`);
    throw error;
  }
  if (entries.length > 0) {
    throw new CliError(`Directory '${dir}' is not empty; pick a new one with -d or empty it first`);
  }
  return false;
}

/** Copies the model in, packs Keel and writes the text files; returns what they were made from. */
async function writeContext(dir: string, flags: ModelsBuildDockerFlags): Promise<DockerContextSpec> {
  const source = await resolveModelSource(flags.modelUri, () => trackingClient(flags));
  try {
    const mlmodel = parseMLmodel(await readMLmodel(source.dir));
    const { SUPPORTED_FLAVORS } = await import('@keel/server/serving');
    const flavor = SUPPORTED_FLAVORS.find((name) => name in mlmodel.flavors);
    if (flavor === undefined) {
      throw new CliError(
        `Model in ${source.dir} has no supported flavor: found [${Object.keys(mlmodel.flavors).join(', ')}], supported: [${SUPPORTED_FLAVORS.join(', ')}]`,
      );
    }
    const modelDir = join(dir, CONTEXT_PATHS.model);
    await cp(source.dir, modelDir, { recursive: true, dereference: true });
    const python = await pythonRequirements(source.dir, mlmodel);
    const packagesDir = join(dir, CONTEXT_PATHS.packages);
    await mkdir(packagesDir);
    const spec: DockerContextSpec = {
      imageName: flags.name,
      contextDir: dir,
      modelName: source.name,
      modelVersion: source.version,
      flavor,
      modelUri: flags.modelUri,
      packages: await packKeel(packagesDir),
      python,
      keelVersion: KEEL_VERSION,
    };
    const files: [string, string][] = [
      ['Dockerfile', dockerfile(spec)],
      [CONTEXT_PATHS.entrypoint, entrypointScript()],
      ['package.json', contextPackageJson(spec)],
      ['.npmrc', contextNpmrc()],
      ['.dockerignore', dockerignore()],
      ['README.md', contextReadme(spec)],
    ];
    if (python.pip.length > 0) files.push([CONTEXT_PATHS.pipRequirements, pipRequirements(spec)]);
    for (const [name, text] of files) await writeFile(join(dir, name), text);
    await chmod(join(dir, CONTEXT_PATHS.entrypoint), 0o755);
    return spec;
  } finally {
    await source.cleanup();
  }
}

async function readMLmodel(dir: string): Promise<string> {
  try {
    return await readFile(join(dir, 'MLmodel'), 'utf8');
  } catch {
    throw new CliError(`No MLmodel in ${dir}: -m must name a model directory`);
  }
}
