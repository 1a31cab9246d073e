import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { listCheckpoints, readCheckpoint, readLatestCheckpoint, removeTempCheckpoints, writeCheckpoint, type Checkpoint } from '../../src/train/checkpoint.js';

function sample(iteration: number): Checkpoint {
  return {
    iteration,
    learner: {
      arrays: { w: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, iteration]) }, b: { shape: [3], data: Float32Array.from([0.5, -0.5, 7]) } },
      meta: { rng: [1, 2, 3, 4], step: iteration },
    },
    loop: { taskRng: { gen: [9, 8, 7, 6], spareNormal: null } },
  };
}

function expectCode(fn: () => unknown, code: string, text: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isMetarlError(err) && err.code).toBe(code);
    expect((err as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected an error');
}

describe('checkpoints', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-ckpt-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips arrays, learner meta and loop state exactly', () => {
    writeCheckpoint(dir, sample(3));
    const back = readLatestCheckpoint(dir);
    expect(back.iteration).toBe(3);
    expect(back.learner.arrays.w.shape).toEqual([2, 3]);
    expect([...back.learner.arrays.w.data]).toEqual([1, 2, 3, 4, 5, 3]);
    expect([...back.learner.arrays.b.data]).toEqual([0.5, -0.5, 7]);
    expect(back.learner.meta).toEqual({ rng: [1, 2, 3, 4], step: 3 });
    expect(back.loop).toEqual({ taskRng: { gen: [9, 8, 7, 6], spareNormal: null } });
  });

  it('picks the newest iteration numerically and leaves no temporary folder', () => {
    for (const it of [2, 10, 9]) writeCheckpoint(dir, sample(it));
    expect(listCheckpoints(dir)).toEqual([2, 9, 10]);
    expect(readLatestCheckpoint(dir).iteration).toBe(10);
    expect(readdirSync(join(dir, 'checkpoints')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });

  it('reports a missing checkpoint with the run directory', () => {
    expectCode(() => readLatestCheckpoint(dir), 'METARL_CHECKPOINT_MISSING', /no checkpoint/);
  });

  it('detects flipped bytes in the weights', () => {
    const path = writeCheckpoint(dir, sample(1));
    const weights = readFileSync(join(path, 'weights.bin'));
    weights[5] ^= 0xff;
    writeFileSync(join(path, 'weights.bin'), weights);
    expectCode(() => readCheckpoint(path), 'METARL_CHECKPOINT_CORRUPT', /SHA-256/);
  });

  it('detects a truncated state file', () => {
    const path = writeCheckpoint(dir, sample(1));
    const state = readFileSync(join(path, 'state.json'), 'utf8');
    writeFileSync(join(path, 'state.json'), state.slice(0, state.length / 2));
    expectCode(() => readCheckpoint(path), 'METARL_CHECKPOINT_CORRUPT', /not valid JSON/);
  });

  // Reliability issue, item 6: state.json was outside the checksum and unvalidated.
  const editState = (path: string, edit: (state: Record<string, any>) => void) => {
    const state = JSON.parse(readFileSync(join(path, 'state.json'), 'utf8'));
    edit(state);
    writeFileSync(join(path, 'state.json'), JSON.stringify(state));
  };

  it('detects an edited iteration, although the weights are untouched', () => {
    const path = writeCheckpoint(dir, sample(8));
    mkdirSync(join(dir, 'checkpoints', '5'));
    for (const f of ['state.json', 'weights.bin']) writeFileSync(join(dir, 'checkpoints', '5', f), readFileSync(join(path, f)));
    rmSync(path, { recursive: true });
    editState(join(dir, 'checkpoints', '5'), (s) => (s.iteration = 5));
    expectCode(() => readLatestCheckpoint(dir), 'METARL_CHECKPOINT_CORRUPT', /checkpoints\/5 is corrupted: state\.json and weights\.bin do not match the SHA-256/);
  });

  it('detects edited loop state (the task RNG) and an iteration that is not its folder\'s', () => {
    const path = writeCheckpoint(dir, sample(8));
    editState(path, (s) => (s.loop.taskRng.gen[0] = 1));
    expectCode(() => readCheckpoint(path), 'METARL_CHECKPOINT_CORRUPT', /SHA-256/);
    editState(path, (s) => {
      s.loop.taskRng.gen[0] = 9;
      s.iteration = 5;
    });
    expectCode(() => readCheckpoint(path), 'METARL_CHECKPOINT_CORRUPT', /state\.json field 'iteration' is 5 in the folder of iteration 8/);
  });

  it.each([
    ['a null shape', (s: Record<string, any>) => (s.arrays[0].shape = null), /state\.json field 'arrays\.0\.shape' .*expected array, received null/],
    ['a missing loop', (s: Record<string, any>) => delete s.loop, /state\.json field 'loop' /],
    ['a string iteration', (s: Record<string, any>) => (s.iteration = '8'), /state\.json field 'iteration' .*expected number/],
    ['a newer format version', (s: Record<string, any>) => (s.version = 3), /state\.json field 'version' /],
  ])('names the file and the field for %s, as METARL_CHECKPOINT_CORRUPT', (_, edit, text) => {
    const path = writeCheckpoint(dir, sample(8));
    editState(path, edit);
    expectCode(() => readCheckpoint(path), 'METARL_CHECKPOINT_CORRUPT', new RegExp(`checkpoint ${path} is corrupted: ${text.source}`));
  });

  it('still reads a format-1 checkpoint, whose SHA-256 covers the weights alone', () => {
    const path = writeCheckpoint(dir, sample(4));
    const weights = readFileSync(join(path, 'weights.bin'));
    editState(path, (s) => {
      s.version = 1;
      s.sha256 = createHash('sha256').update(weights).digest('hex');
    });
    expect(readCheckpoint(path).iteration).toBe(4);
  });

  it('removes the temporary folders a killed write left behind, and nothing else', () => {
    writeCheckpoint(dir, sample(1));
    mkdirSync(join(dir, 'checkpoints', '.tmp-2-12345'));
    writeFileSync(join(dir, 'checkpoints', '.tmp-2-12345', 'weights.bin'), 'half');
    removeTempCheckpoints(dir);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['1']);
    expect(readLatestCheckpoint(dir).iteration).toBe(1);
  });
});
