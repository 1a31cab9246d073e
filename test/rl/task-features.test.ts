/** What an oracle baseline observes (src/rl/task-features.ts). */
import { describe, expect, it } from 'vitest';
import { MetarlError } from '../../src/core/errors.js';
import { batchWithFeatures, taskFeatures, withFeatures } from '../../src/rl/task-features.js';
import type { Batch } from '../../src/sampling/types.js';

describe('what an oracle observes', () => {
  it('reads the numbers of a task in key order, booleans as 0/1, and appends them to every observation row', () => {
    expect(Array.from(taskFeatures({ goal: [0.5, -1], mass: 2, flipped: true }))).toEqual([0.5, -1, 2, 1]);
    const obs = Float32Array.from([1, 2, 3, 4]);
    expect(Array.from(withFeatures(obs, 2, 2, Float32Array.from([9])))).toEqual([1, 2, 9, 3, 4, 9]);
  });

  it('refuses a task field that is not a number, naming it', () => {
    expect(() => taskFeatures({ terrain: { name: 'hills' } })).toThrow(MetarlError);
    expect(() => taskFeatures({ terrain: { name: 'hills' } })).toThrow(/task field 'terrain.name' is a string/);
    expect(() => taskFeatures({ goal: [0, Number.NaN] })).toThrow(/'goal\[1\]' is NaN/);
  });

  it('widens a batch: every row, padding included, carries the features; the rest of the batch is untouched', () => {
    const batch = { obsSize: 2, obs: Float32Array.from([1, 2, 3, 4, 0, 0]), rewards: Float32Array.from([1, 2, 0]) } as unknown as Batch;
    const wide = batchWithFeatures(batch, Float32Array.from([7, 8]));
    expect(wide.obsSize).toBe(4);
    expect(Array.from(wide.obs)).toEqual([1, 2, 7, 8, 3, 4, 7, 8, 0, 0, 7, 8]);
    expect(wide.rewards).toBe(batch.rewards);
  });
});
