/**
 * The trained runs shipped with the package under zoo/: `metarl view zoo/maml-cheetah-vel` works
 * from any directory, in a checkout or an installed package alike.
 */
import { existsSync, readdirSync } from 'node:fs';
import { MetarlError } from '../core/errors.js';
import { basename, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's zoo/. This file runs from src/train (tsx, tests) or dist/src/train (the compiled package). */
export function zooDir(): string {
  const candidates = ['../../zoo', '../../../zoo'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((dir) => existsSync(dir)) ?? candidates[0];
}

/**
 * `runDir` as given where it exists; else `zoo/<name>` names the package's shipped run, and a
 * name the zoo does not have is refused with the names it has.
 */
export function resolveRunDir(runDir: string): string {
  if (existsSync(runDir)) return runDir;
  const parts = runDir.split(/[\\/]+/).filter((p) => p && p !== '.');
  if (parts.length !== 2 || parts[0] !== 'zoo') return runDir;
  const shipped = join(zooDir(), parts[1]);
  if (existsSync(shipped)) return shipped;
  const names = existsSync(zooDir()) ? readdirSync(zooDir()).sort() : [];
  throw new MetarlError('METARL_CHECKPOINT_MISSING', `${runDir} is not a shipped run: zoo/ has ${names.map((n) => `zoo/${n}`).join(', ') || 'none'}`, { runDir });
}

/**
 * Where commands write what they make of a run (`view`'s recordings, `eval`'s table): the run's
 * own directory, except for a shipped run, whose outputs go to `runs/zoo/<name>/` under the
 * working directory, so the package's own folder is never written.
 */
export function outputDir(runDir: string): string {
  return isShipped(runDir) ? join('runs', 'zoo', basename(resolve(runDir))) : runDir;
}

/** Whether `dir` is (inside) the package's zoo/. */
export function isShipped(dir: string): boolean {
  const zoo = resolve(zooDir());
  return resolve(dir) === zoo || resolve(dir).startsWith(zoo + sep);
}
