import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MetarlError } from '../core/errors.js';
import { removeTempCheckpoints } from './checkpoint.js';
import { assertCanCreateDirectory, assertWritableDirectory, makeDirectory, withFileErrors, writeFileAtomic } from './files.js';
import { isShipped } from './zoo.js';

/** What a run writes into its directory (`rollouts/` is written by `metarl view`). */
const RUN_ENTRIES = ['config.json', 'metrics.jsonl', 'metrics.csv', 'validation.jsonl', 'validation.csv', 'eval.json', 'checkpoints', 'rollouts'];

/** A new run, a new run replacing the one in its directory (`--force`), or a resumed run. */
export type RunDirMode = 'new' | 'replace' | 'resume';

/**
 * Fails before any work when `out` cannot take the run. A folder that already holds a
 * run is refused for a new one: writing into it would mix the two runs (eval would load
 * the old run's newest checkpoint, metrics would interleave).
 */
export function checkRunDir(out: string, mode: RunDirMode): void {
  if (isShipped(out)) {
    throw new MetarlError('METARL_CONFIG_INVALID', `${out} is a run shipped with metarl (zoo/): it is read, never written; ${mode === 'resume' ? 'copy it elsewhere to train it further' : 'choose another --out'}`, { runDir: out });
  }
  if (mode === 'resume') {
    assertWritableDirectory(out, 'write into run directory', out);
    return;
  }
  const found = runEntries(out);
  if (found.length > 0 && mode === 'new') {
    throw new MetarlError(
      'METARL_RUN_EXISTS',
      `${out} already holds a run (${found.join(', ')}): continue it with --resume ${out}, choose a new --out directory, or add --force to replace it`,
      { runDir: out, found },
    );
  }
  assertCanCreateDirectory(out, 'run directory');
}

/**
 * Once the run is assembled (a bad option has been reported by then, so a replaced run
 * is deleted only when the new one can start): creates the folder, deletes the replaced
 * run's files and leaves anything else there alone, removes checkpoint folders a crash
 * cut short, and writes config.json.
 */
export function initRunDir(out: string, mode: RunDirMode, config: object): void {
  if (mode !== 'resume') makeDirectory(out, 'run directory');
  if (mode === 'replace') {
    for (const name of runEntries(out)) withFileErrors('delete', join(out, name), () => rmSync(join(out, name), { recursive: true, force: true }));
  }
  removeTempCheckpoints(out);
  writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

function runEntries(out: string): string[] {
  return RUN_ENTRIES.filter((name) => existsSync(join(out, name)));
}
