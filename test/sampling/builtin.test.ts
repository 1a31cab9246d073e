// The sampler over the real (Rapier) built-in families: whatever envs/index.ts registers.
import { describe, expect, it } from 'vitest';
import { loadFamily } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import { createSampler } from '../../src/sampling/index.js';
import type { Batch } from '../../src/sampling/index.js';
import { builtinFamilies } from '../../envs/index.js';
import { batchBytes, randomPolicy } from '../fixtures/sampling-policies.js';

// Keep the suite lean on 2 cores: the two goal families of the issue, when registered.
const NAMES = builtinFamilies.names().filter((n) => n === 'point-nav' || n === 'cheetah-vel');

describe.each(NAMES)('sampler over %s', (name) => {
  it('gives byte-identical batches with workers 0, 1 and 2, episodes ending at the horizon or on termination', async () => {
    const ref = builtinFamilies.ref(name);
    const family = await loadFamily(ref);
    const tasks = family.sampleTasks(new Rng(1), 2);
    // A job horizon below the family's keeps the Rapier families quick; truncation works the same.
    const horizon = Math.min(family.spec.horizon, 40);
    const job = { tasks, slotsPerTask: 2, episodesPerSlot: 2, seed: 3, horizon };
    const batches: Batch[] = [];
    for (const workers of [0, 1, 2]) {
      const sampler = await createSampler({ family: ref, workers });
      try {
        batches.push(await sampler.sample(job, randomPolicy(2, family.spec.actSize)));
      } finally {
        await sampler.close();
      }
    }
    const [serial, ...parallel] = batches.map(batchBytes);
    for (const other of parallel) for (const key of Object.keys(serial)) expect(other[key].equals(serial[key]), key).toBe(true);
    const b = batches[0];
    expect(b.horizon).toBe(horizon);
    for (let i = 0; i < b.lengths.length; i++) {
      // Truncated episodes run the full horizon; terminated ones may stop early.
      if (b.terminated[i] === 0) expect(b.lengths[i]).toBe(horizon);
      else expect(b.lengths[i]).toBeLessThanOrEqual(horizon);
    }
    expect(b.envSteps).toBe([...b.lengths].reduce((a, x) => a + x, 0));
    expect(Number.isFinite(b.returns[0]) && b.returns[0] !== 0).toBe(true);
  });
});

it('has a built-in family to run the sampler over', () => {
  expect(NAMES.length).toBeGreaterThan(0);
});
