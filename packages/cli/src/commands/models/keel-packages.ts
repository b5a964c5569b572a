/**
 * Packs the Keel packages this `keel` runs from into npm tarballs, so a Docker image can install
 * Keel without the monorepo (and without the npm registry knowing `@keel/*`).
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CliError, oneLine } from '../../cli-error.js';

/** The packages `keel models serve` needs at run time, dependencies first. */
export const KEEL_PACKAGES = ['@keel/core', '@keel/sdk', '@keel/server', '@keel/cli'] as const;

/** One of {@link KEEL_PACKAGES}. */
export type KeelPackageName = (typeof KEEL_PACKAGES)[number];

/** A packed package. */
export interface PackedPackage {
  readonly name: KeelPackageName;
  readonly version: string;
  /** The tarball's file name in the destination folder, e.g. `keel-core-0.1.0.tgz`. */
  readonly filename: string;
  /** Paths inside the tarball (below `package/`), e.g. `dist/index.js`. */
  readonly files: readonly string[];
}

/** The fields of a `package.json` that decide whether a packed package works. */
interface PackageJson {
  name?: string;
  version?: string;
  exports?: Record<string, Record<string, string> | string>;
  bin?: Record<string, string> | string;
}

const run = promisify(execFile);

/**
 * Runs `npm pack` on each of {@link KEEL_PACKAGES} as installed next to this CLI (the workspace's
 * `packages/*` in the repository, `node_modules/@keel/*` elsewhere) into `destDir`. Before packing it
 * checks that every file a package's `exports` and `bin` point to exists (i.e. `dist/` is built), and
 * after packing that the tarball holds them.
 *
 * @throws CliError when a package is not built, `npm` is missing, or a tarball lacks an entry point.
 *
 * @example
 * const packed = await packKeel('/tmp/ctx/keel');
 * packed.map((p) => p.filename); // ['keel-core-0.1.0.tgz', 'keel-sdk-0.1.0.tgz', …]
 */
export async function packKeel(destDir: string): Promise<PackedPackage[]> {
  const packages: { name: KeelPackageName; root: string; entryPoints: string[] }[] = [];
  for (const name of KEEL_PACKAGES) {
    const root = await packageRoot(name);
    packages.push({ name, root, entryPoints: await checkBuilt(name, root) });
  }
  const results = await npmPack(
    packages.map((p) => p.root),
    destDir,
  );
  return packages.map(({ name, entryPoints }) => {
    const result = results.find((r) => r.name === name);
    if (result === undefined) throw new CliError(`npm pack printed nothing for ${name}`);
    const files = result.files.map((file) => file.path);
    const missing = entryPoints.filter((file) => !files.includes(file));
    if (missing.length > 0) {
      throw new CliError(
        `The npm tarball of ${name} lacks ${missing.join(', ')}: check its package.json "files"`,
      );
    }
    return { name, version: result.version, filename: result.filename, files };
  });
}

/** The folder holding a package's `package.json`, as this CLI resolves the package. */
async function packageRoot(name: KeelPackageName): Promise<string> {
  let entry: string;
  try {
    entry = fileURLToPath(name === '@keel/cli' ? import.meta.url : import.meta.resolve(name));
  } catch (error) {
    throw new CliError(`Cannot find ${name} next to this keel: ${oneLine(error)}`, { cause: error });
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = await readPackageJson(join(dir, 'package.json'));
    if (manifest?.name === name) return dir;
  }
  throw new CliError(`Cannot find the package.json of ${name} above ${entry}`);
}

async function readPackageJson(path: string): Promise<PackageJson | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** The package's entry points (relative paths), after checking each exists. */
async function checkBuilt(name: KeelPackageName, root: string): Promise<string[]> {
  const manifest = (await readPackageJson(join(root, 'package.json'))) ?? {};
  const targets = new Set<string>();
  for (const entry of Object.values(manifest.exports ?? {})) {
    if (typeof entry === 'string') targets.add(entry);
    else if (entry.import !== undefined) targets.add(entry.import);
    if (typeof entry !== 'string' && entry.types !== undefined) targets.add(entry.types);
  }
  const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
  for (const bin of bins) targets.add(bin);
  const files = [...targets].map((target) => target.replace(/^\.\//, ''));
  for (const file of files) {
    try {
      await access(join(root, file));
    } catch {
      throw new CliError(`${name} is not built: ${join(root, file)} is missing (run 'npm run build' first)`);
    }
  }
  return files;
}

/** What `npm pack --json` prints for each package. */
interface NpmPackResult {
  name: string;
  version: string;
  filename: string;
  files: { path: string }[];
}

/** `npm pack <roots…> --pack-destination <dest> --json` (one npm start); lifecycle scripts are not run. */
async function npmPack(roots: readonly string[], destDir: string): Promise<NpmPackResult[]> {
  let stdout: string;
  try {
    ({ stdout } = await run(
      'npm',
      ['pack', ...roots, '--pack-destination', destDir, '--json', '--ignore-scripts', '--silent'],
      { cwd: destDir, maxBuffer: 64 * 1024 * 1024 },
    ));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'npm is not on PATH' : stderr || oneLine(error);
    throw new CliError(`Cannot pack Keel with npm: ${oneLine(why)}`, { cause: error });
  }
  return JSON.parse(stdout) as NpmPackResult[];
}
