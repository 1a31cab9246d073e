import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetarlError } from '../core/errors.js';
import type { LearnerState } from '../core/learner.js';
import type { JsonValue } from '../core/types.js';

/**
 * A checkpoint is a folder `checkpoints/<iteration>/` holding `state.json` (iteration,
 * learner meta, loop meta, the index of the arrays and the SHA-256 of the weights) and
 * `weights.bin` (every array's float32 data back to back). It is written into a
 * temporary folder and renamed into place, so a crash never leaves half a checkpoint.
 */
export interface Checkpoint {
  iteration: number;
  learner: LearnerState;
  /** The training loop's own state (task RNG, …). */
  loop: { [key: string]: JsonValue };
}

interface StateFile {
  format: 'metarl-checkpoint';
  version: 1;
  iteration: number;
  sha256: string;
  arrays: { name: string; shape: number[]; offset: number; length: number }[];
  learnerMeta: { [key: string]: JsonValue };
  loop: { [key: string]: JsonValue };
}

export function checkpointsDir(runDir: string): string {
  return join(runDir, 'checkpoints');
}

export function writeCheckpoint(runDir: string, checkpoint: Checkpoint): string {
  const dir = checkpointsDir(runDir);
  mkdirSync(dir, { recursive: true });
  const entries = Object.entries(checkpoint.learner.arrays);
  const total = entries.reduce((n, [, a]) => n + a.data.length, 0);
  const weights = new Float32Array(total);
  const arrays: StateFile['arrays'] = [];
  let offset = 0;
  for (const [name, array] of entries) {
    weights.set(array.data, offset);
    arrays.push({ name, shape: array.shape, offset, length: array.data.length });
    offset += array.data.length;
  }
  const bytes = Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength);
  const state: StateFile = {
    format: 'metarl-checkpoint',
    version: 1,
    iteration: checkpoint.iteration,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    arrays,
    learnerMeta: checkpoint.learner.meta,
    loop: checkpoint.loop,
  };
  const tmp = join(dir, `.tmp-${checkpoint.iteration}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileSync(join(tmp, 'weights.bin'), bytes);
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(state));
  const final = join(dir, String(checkpoint.iteration));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  return final;
}

/** Iterations that have a checkpoint folder, ascending. */
export function listCheckpoints(runDir: string): number[] {
  const dir = checkpointsDir(runDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}

/** The newest checkpoint of a run, or a clear error when there is none. */
export function readLatestCheckpoint(runDir: string): Checkpoint {
  const iterations = listCheckpoints(runDir);
  if (iterations.length === 0) {
    throw new MetarlError('METARL_CHECKPOINT_MISSING', `no checkpoint in ${checkpointsDir(runDir)}: train first, e.g. \`metarl train --out ${runDir} ...\``, { runDir });
  }
  return readCheckpoint(join(checkpointsDir(runDir), String(iterations[iterations.length - 1])));
}

export function readCheckpoint(dir: string): Checkpoint {
  const corrupt = (why: string): never => {
    throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `checkpoint ${dir} is corrupted: ${why}. Delete that folder to resume from the one before it.`, { dir });
  };
  const statePath = join(dir, 'state.json');
  const weightsPath = join(dir, 'weights.bin');
  if (!existsSync(statePath) || !existsSync(weightsPath)) {
    throw new MetarlError('METARL_CHECKPOINT_MISSING', `checkpoint ${dir} lacks state.json or weights.bin`, { dir });
  }
  let state: StateFile;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as StateFile;
  } catch (err) {
    return corrupt(`state.json is not valid JSON (${(err as Error).message})`);
  }
  if (state?.format !== 'metarl-checkpoint' || state.version !== 1 || !Array.isArray(state.arrays)) {
    corrupt('state.json is not a metarl checkpoint of format version 1');
  }
  const bytes = readFileSync(weightsPath);
  if (createHash('sha256').update(bytes).digest('hex') !== state.sha256) corrupt('weights.bin does not match its SHA-256 in state.json');
  if (bytes.byteLength % 4 !== 0) corrupt('weights.bin is not a whole number of float32 values');
  const weights = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const arrays: LearnerState['arrays'] = {};
  for (const entry of state.arrays) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (size !== entry.length || entry.offset + entry.length > weights.length) corrupt(`array '${entry.name}' does not fit weights.bin`);
    arrays[entry.name] = { shape: entry.shape, data: weights.slice(entry.offset, entry.offset + entry.length) };
  }
  return { iteration: state.iteration, learner: { arrays, meta: state.learnerMeta }, loop: state.loop };
}
