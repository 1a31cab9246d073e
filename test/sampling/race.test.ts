// The sampler's step barrier under contention: four worker threads of two samplers share two cores with the
// test thread, and the policy yields at random points. Node's Atomics.wait can return 'ok' with the watched
// value unchanged; a worker that took that for a command stepped twice on one action (a silent wrong batch)
// and its neighbour then missed a step ("slots still active after E × H steps"). Every batch must match the
// inline sampler's byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler } from '../../src/sampling/index.js';
import type { Sampler, SampleJob, StepInput, VectorPolicy } from '../../src/sampling/index.js';
import { POINT_REF, batchBytes } from '../fixtures/sampling-policies.js';

const SECONDS = 15;
const JOBS: SampleJob[] = [1, 2, 3].map((i) => ({
  tasks: Array.from({ length: i + 1 }, (_, k) => ({ goal: 0.3 * k - 0.4, ...(k === 1 ? { terminateAt: 5 + i } : {}) })),
  slotsPerTask: 1 + (i % 2),
  episodesPerSlot: i,
  seed: 100 + i,
}));

/** Actions from the step input alone, so any sampler that steps correctly records the same batch. */
function obsPolicy(yieldChance: number, random: () => number): VectorPolicy {
  let out = new Float32Array(0);
  return {
    async act(input: StepInput) {
      if (random() < yieldChance) await new Promise((resolve) => setImmediate(resolve));
      if (out.length !== input.active.length) out = new Float32Array(input.active.length);
      for (let s = 0; s < out.length; s++) out[s] = Math.tanh(3 * input.obs[2 * s] - input.obs[2 * s + 1] + 0.1 * input.step);
      return out;
    },
  };
}

let inline: Sampler;
const threaded: Sampler[] = [];
beforeAll(async () => {
  inline = await createSampler({ family: POINT_REF, workers: 0 });
  for (let i = 0; i < 2; i++) threaded.push(await createSampler({ family: POINT_REF, workers: 2 }));
});
afterAll(async () => {
  await Promise.all([inline, ...threaded].map((s) => s.close()));
});

describe('sampler under contention', () => {
  it(`gives the inline batch on every job for ${SECONDS} s of two 2-worker samplers at once`, async () => {
    const want: Array<Record<string, Buffer>> = [];
    for (const job of JOBS) want.push(batchBytes(await inline.sample(job, obsPolicy(0, Math.random))));
    const deadline = Date.now() + SECONDS * 1000;
    const failures: string[] = [];
    let jobs = 0;
    await Promise.all(
      threaded.map(async (sampler, p) => {
        let seed = 1 + p;
        const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
        for (let i = 0; Date.now() < deadline && failures.length < 5; i++) {
          const j = (i + p) % JOBS.length;
          try {
            const got = batchBytes(await sampler.sample(JOBS[j], obsPolicy(0.5, random)));
            const differ = Object.keys(want[j]).filter((key) => !got[key].equals(want[j][key]));
            if (differ.length > 0) failures.push(`sampler ${p}, job ${i}: ${differ.join(', ')} differ from the inline batch`);
          } catch (err) {
            failures.push(`sampler ${p}, job ${i}: ${(err as Error).message}`);
          }
          jobs++;
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(jobs).toBeGreaterThan(100);
  });
});
