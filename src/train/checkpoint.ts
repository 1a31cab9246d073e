import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { MetarlError } from '../core/errors.js';
import type { LearnerState } from '../core/learner.js';
import type { JsonValue } from '../core/types.js';
import { fileError, withFileErrors } from './files.js';

/**
 * A checkpoint is a folder `checkpoints/<iteration>/` holding `state.json` (iteration,
 * learner meta, loop meta, the index of the arrays and a SHA-256) and `weights.bin`
 * (every array's float32 data back to back). It is written into a temporary folder and
 * renamed into place, so a crash never leaves half a checkpoint.
 */
export interface Checkpoint {
  iteration: number;
  learner: LearnerState;
  /** The training loop's own state (task RNG, …). */
  loop: { [key: string]: JsonValue };
}

const jsonRecord = z.record(z.string(), z.json());

const stateSchema = z.strictObject({
  format: z.literal('metarl-checkpoint'),
  version: z.union([z.literal(1), z.literal(2)]),
  iteration: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  arrays: z.array(
    z.strictObject({
      name: z.string().min(1),
      shape: z.array(z.number().int().nonnegative()),
      offset: z.number().int().nonnegative(),
      length: z.number().int().nonnegative(),
    }),
  ),
  learnerMeta: jsonRecord,
  loop: jsonRecord,
});

type StateFile = z.output<typeof stateSchema>;

const FORMAT_VERSION = 2;
const TEMP_PREFIX = '.tmp-';

/**
 * Version 2 hashes state.json's text without this field, then the weights, so an edited
 * iteration or loop state is caught as well as a damaged weights.bin. Version 1 (older
 * runs) hashed the weights alone.
 */
function digest(body: object | null, weights: Uint8Array): string {
  const hash = createHash('sha256');
  if (body) hash.update(JSON.stringify(body));
  return hash.update(weights).digest('hex');
}

export function checkpointsDir(runDir: string): string {
  return join(runDir, 'checkpoints');
}

export function writeCheckpoint(runDir: string, checkpoint: Checkpoint): string {
  const dir = checkpointsDir(runDir);
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
  const body = { format: 'metarl-checkpoint', version: FORMAT_VERSION, iteration: checkpoint.iteration, arrays, learnerMeta: checkpoint.learner.meta, loop: checkpoint.loop };
  const state = { ...body, sha256: digest(body, bytes) };
  const tmp = join(dir, `${TEMP_PREFIX}${checkpoint.iteration}-${process.pid}`);
  const final = join(dir, String(checkpoint.iteration));
  try {
    mkdirSync(dir, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'weights.bin'), bytes);
    writeFileSync(join(tmp, 'state.json'), JSON.stringify(state));
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw fileError(err, 'write checkpoint', final);
  }
  return final;
}

/** Deletes the temporary folders of checkpoints whose writing was cut short (a kill, a full disk). */
export function removeTempCheckpoints(runDir: string): void {
  const dir = checkpointsDir(runDir);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).filter((n) => n.startsWith(TEMP_PREFIX))) {
    withFileErrors('delete', join(dir, name), () => rmSync(join(dir, name), { recursive: true, force: true }));
  }
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

/**
 * The run's checkpoint of `iteration` (default its newest): to evaluate or watch one chosen by
 * the run's validation checks. A missing one is named with the iterations the run has.
 */
export function readRunCheckpoint(runDir: string, iteration?: number): Checkpoint {
  if (iteration === undefined) return readLatestCheckpoint(runDir);
  const iterations = listCheckpoints(runDir);
  if (!iterations.includes(iteration)) {
    const has = iterations.length === 0 ? 'none' : iterations.length > 12 ? `${iterations.slice(0, 3).join(', ')}, …, ${iterations.slice(-8).join(', ')}` : iterations.join(', ');
    throw new MetarlError('METARL_CHECKPOINT_MISSING', `${runDir} has no checkpoint of iteration ${iteration}; it has ${has}`, { runDir, iteration, checkpoints: iterations });
  }
  return readCheckpoint(join(checkpointsDir(runDir), String(iteration)));
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
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    return corrupt(`state.json is not valid JSON (${(err as Error).message})`);
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `field '${issue.path.join('.') || '(root)'}' ${issue.message}`);
    return corrupt(`state.json ${issues.join('; ')}`);
  }
  const state = parsed.data;
  if (/^\d+$/.test(basename(dir)) && state.iteration !== Number(basename(dir))) {
    corrupt(`state.json field 'iteration' is ${state.iteration} in the folder of iteration ${basename(dir)}`);
  }
  const bytes = readFileSync(weightsPath);
  const { sha256: _, ...body } = raw;
  if (digest(state.version === 1 ? null : body, bytes) !== state.sha256) {
    corrupt('state.json and weights.bin do not match the SHA-256 in state.json (edited or damaged)');
  }
  if (bytes.byteLength % 4 !== 0) corrupt('weights.bin is not a whole number of float32 values');
  const weights = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const arrays: LearnerState['arrays'] = {};
  for (const entry of state.arrays) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    if (size !== entry.length || entry.offset + entry.length > weights.length) corrupt(`array '${entry.name}' does not fit weights.bin`);
    arrays[entry.name] = { shape: entry.shape, data: weights.slice(entry.offset, entry.offset + entry.length) };
  }
  return { iteration: state.iteration, learner: { arrays, meta: state.learnerMeta as LearnerState['meta'] }, loop: state.loop as Checkpoint['loop'] };
}
