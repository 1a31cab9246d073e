import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { listCheckpoints, readCheckpoint, readLatestCheckpoint, writeCheckpoint, type Checkpoint } from '../../src/train/checkpoint.js';

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
});
