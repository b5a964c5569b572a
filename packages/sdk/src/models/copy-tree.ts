import { copyFile, lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { invalidOption } from './sdk-error.js';

/** Options of {@link copyTree}. */
export interface CopyTreeOptions {
  /**
   * Names that may not appear at the top of the source (files the model directory writes itself,
   * such as `MLmodel`). @default none
   */
  reserved?: readonly string[];
  /** What the tree is, for error messages, e.g. `the program directory`. @default 'the directory' */
  label?: string;
}

/**
 * Copies the contents of `source` into `dest` (created if missing) and returns the copied files'
 * paths relative to `dest`, `/`-separated, sorted. Nothing outside `source` is ever read: a
 * symbolic link is followed only when its target lies inside `source` (its contents are copied, so
 * the copy holds no links), and each real folder is copied once, so link cycles end.
 *
 * @throws InvalidParameterError when `source` is not a directory, an entry's name is `.`/`..` or
 *   holds a path separator, a link points outside `source` or nowhere, an entry is neither a file
 *   nor a folder (a socket, a FIFO), or a reserved name is present.
 * @example
 * await copyTree('./predictor', '/tmp/model', { reserved: ['MLmodel'] }); // ['predict.py', 'weights.bin']
 */
export async function copyTree(
  source: string,
  dest: string,
  options: CopyTreeOptions = {},
): Promise<string[]> {
  const label = options.label ?? 'the directory';
  const info = await stat(source).catch(() => undefined);
  if (!info?.isDirectory()) throw invalidOption(`${label} '${source}' is not a directory`);
  const root = await realpath(source);
  const inside = (path: string) => isWithin(root, path);
  if (isWithin(root, resolve(dest)) || isWithin(resolve(source), resolve(dest))) {
    throw invalidOption(`Cannot copy ${label} '${source}' into '${dest}', which lies inside it`);
  }
  const reserved = new Set(options.reserved ?? []);
  const copied: string[] = [];
  const visited = new Set<string>([root]);

  const visit = async (from: string, to: string, rel: string): Promise<void> => {
    await mkdir(to, { recursive: true });
    const entries = await readdir(from, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const name = entry.name;
      const path = rel === '' ? name : `${rel}/${name}`;
      if (name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
        throw invalidOption(`${label} holds an entry with an invalid name: '${path}'`);
      }
      if (rel === '' && reserved.has(name)) {
        throw invalidOption(`${label} may not hold '${name}': the model directory writes that file itself`);
      }
      const fromPath = join(from, name);
      let kind = await lstat(fromPath);
      let real = fromPath;
      if (kind.isSymbolicLink()) {
        real = await realpath(fromPath).catch(() => '');
        if (real === '') throw invalidOption(`'${path}' in ${label} is a broken symbolic link`);
        if (!inside(real)) {
          throw invalidOption(
            `'${path}' in ${label} is a symbolic link to '${real}', outside '${source}': copy the file in instead`,
          );
        }
        kind = await stat(real);
      }
      if (kind.isDirectory()) {
        const realDir = await realpath(real);
        if (visited.has(realDir)) continue;
        visited.add(realDir);
        await visit(real, join(to, name), path);
      } else if (kind.isFile()) {
        await copyFile(real, join(to, name));
        copied.push(path);
      } else {
        throw invalidOption(`'${path}' in ${label} is neither a file nor a folder`);
      }
    }
  };
  await visit(root, dest, '');
  return copied.sort();
}

/** Whether `child` is `parent` or lies below it (both absolute). */
function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
