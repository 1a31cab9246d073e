import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MetarlError } from '../core/errors.js';

/** The errno codes a user can act on, in words. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it already exists',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** An error from a Node system call (it has an errno `code` and a `syscall`). */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** A system error as METARL_FILE_ERROR naming the path the user knows; any other error as it is. */
export function fileError(err: unknown, action: string, path: string): unknown {
  if (!isSystemError(err)) return err;
  const code = err.code!;
  return new MetarlError('METARL_FILE_ERROR', `cannot ${action} ${path}: ${REASONS[code] ?? err.message} (${code})`, { path, errno: code }, { cause: err });
}

export function withFileErrors<T>(action: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fileError(err, action, path);
  }
}

/** Fails now, before any work, when `dir` cannot be created (or, if it exists, written into). */
export function assertCanCreateDirectory(dir: string, what: string): void {
  const at = nearestExisting(dir);
  assertIsDirectory(at, dir, what);
  assertWritableDirectory(at, at === resolve(dir) ? `write into ${what}` : `create ${what}`, dir);
}

/**
 * Creates a folder and its missing parents one level at a time. Node's recursive mkdir
 * never returns where a parent exists but answers ENOENT for a new entry (`/proc/x`),
 * so it is not used here.
 */
export function makeDirectory(dir: string, what: string): void {
  const at = nearestExisting(dir);
  assertIsDirectory(at, dir, what);
  const missing: string[] = [];
  for (let path = resolve(dir); path !== at; path = dirname(path)) missing.unshift(path);
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (err) {
      throw refusedEntry(err, `create ${what}`, dir, dirname(path));
    }
  }
}

function nearestExisting(dir: string): string {
  let at = resolve(dir);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

function assertIsDirectory(at: string, dir: string, what: string): void {
  if (!statSync(at).isDirectory()) {
    const which = at === resolve(dir) ? 'it' : at;
    throw new MetarlError('METARL_FILE_ERROR', `cannot create ${what} ${dir}: ${which} is a file, not a directory`, { path: dir });
  }
}

/** Fails now, before any work, when nothing can be written into `dir`. */
export function assertWritableDirectory(dir: string, action: string, path: string): void {
  const probe = join(dir, `.metarl-write-check-${process.pid}`);
  try {
    writeFileSync(probe, '');
  } catch (err) {
    throw refusedEntry(err, action, path, dir);
  }
  rmSync(probe, { force: true });
}

/** Fails now, before any work, when `path` cannot be written as a file later. */
export function assertWritableFile(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new MetarlError('METARL_FILE_ERROR', `cannot write ${path}: it is a directory`, { path });
  }
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MetarlError('METARL_FILE_ERROR', `cannot write ${path}: its folder ${dirname(path)} does not exist`, { path });
  }
  assertWritableDirectory(dir, 'write', path);
}

/** Writes through a temporary sibling, so a failure (a full disk) leaves the old file whole. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fileError(err, 'write', path);
  }
}

/** Special file systems (`/proc`) answer ENOENT for a new entry in a folder that exists. */
function refusedEntry(err: unknown, action: string, path: string, parent: string): unknown {
  if (isSystemError(err) && err.code === 'ENOENT' && existsSync(parent)) {
    return new MetarlError('METARL_FILE_ERROR', `cannot ${action} ${path}: ${parent} does not accept new entries (ENOENT)`, { path, errno: err.code }, { cause: err });
  }
  return fileError(err, action, path);
}
