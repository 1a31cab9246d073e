import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../fixtures/rejection.js';
import { createSampler } from '../../src/sampling/index.js';
import type { Sampler, SampleJob } from '../../src/sampling/index.js';
import { liveEnvs } from '../fixtures/sampling-point.js';
import { POINT_REF, randomPolicy } from '../fixtures/sampling-policies.js';

/** Four tasks × 2 slots; `edit` goes into task 2 (slots 4 and 5), so only a worker's second range fails. */
function job(edit: Record<string, number>): SampleJob {
  return { tasks: [{ goal: 0.1 }, { goal: 0.2 }, { goal: 0.3, ...edit }, { goal: 0.4 }], slotsPerTask: 2, episodesPerSlot: 2, seed: 1 };
}

for (const workers of [0, 2]) {
  describe(`sampler errors (workers ${workers})`, () => {
    let sampler: Sampler;
    beforeEach(async () => {
      sampler = await createSampler({ family: POINT_REF, workers });
    });
    afterEach(async () => {
      await sampler.close();
    });

    it('names the family, task, slot, episode, step and the original message when an env throws', async () => {
      // Life step 25 of each env in task 2 = episode 1, step 5 (episodes are 20 steps).
      const err = await failure(sampler.sample(job({ throwAt: 25 }), randomPolicy(1, 1)));
      expect(err.code).toBe('METARL_ENV_FAILED');
      expect(err.message).toContain("env 'sampling-point' threw in step()");
      expect(err.message).toContain('slot 4, episode 1, at step 5');
      expect(err.message).toContain('{"goal":0.3,"throwAt":25}');
      expect(err.message).toContain('motor exploded at life step 25');
      expect(err.details).toMatchObject({ family: 'sampling-point', slot: 4, episode: 1, step: 5, call: 'step', task: { goal: 0.3, throwAt: 25 } });
      // The sampler stays usable and every env of the failed job was freed.
      const batch = await sampler.sample(job({}), randomPolicy(1, 1));
      expect(batch.envSteps).toBe(8 * 2 * 20);
      if (workers === 0) expect(liveEnvs.count).toBe(0);
    });

    it('reports an env that fails to build', async () => {
      const err = await failure(sampler.sample(job({ throwAt: -1 }), randomPolicy(1, 1)));
      expect(err.code).toBe('METARL_ENV_FAILED');
      expect(err.message).toContain('threw in makeEnv() at slot 4, episode 0, before its first step');
      expect(err.message).toContain('cannot build this robot');
      if (workers === 0) expect(liveEnvs.count).toBe(0);
    });

    it('reports a NaN reward as METARL_NON_FINITE with context', async () => {
      const err = await failure(sampler.sample(job({ nanAt: 3 }), randomPolicy(1, 1)));
      expect(err.code).toBe('METARL_NON_FINITE');
      expect(err.message).toContain('non-finite reward (NaN)');
      expect(err.message).toContain('slot 4, episode 0, at step 3');
      expect(err.details).toMatchObject({ slot: 4, episode: 0, step: 3, what: 'reward' });
    });

    it('reports a NaN observation as METARL_NON_FINITE with context', async () => {
      const err = await failure(sampler.sample(job({ nanObsAt: 22 }), randomPolicy(1, 1)));
      expect(err.code).toBe('METARL_NON_FINITE');
      expect(err.message).toContain('non-finite observation[0] (NaN)');
      expect(err.details).toMatchObject({ slot: 4, episode: 1, step: 2 });
    });

    it('rejects a policy that returns the wrong number of actions', async () => {
      const err = await failure(sampler.sample(job({}), { act: () => new Float32Array(3) }));
      expect(err.code).toBe('METARL_BAD_ACTION');
      expect(err.message).toContain('returned 3 values at step 0');
      expect(err.message).toContain('slots × actSize = 8 × 1 = 8');
      expect(await sampler.sample(job({}), randomPolicy(1, 1))).toMatchObject({ envSteps: 320 });
    });

    it('rejects a NaN action of a running slot', async () => {
      const err = await failure(sampler.sample(job({}), { act: (input) => new Float32Array(8).fill(input.step === 2 ? Number.NaN : 0) }));
      expect(err.code).toBe('METARL_BAD_ACTION');
      expect(err.message).toContain('non-finite action (NaN) for slot 0, dimension 0 at step 2');
    });

    it('passes an error thrown by the policy through and stays usable', async () => {
      const err = await sampler.sample(job({}), { act: () => Promise.reject(new Error('out of GPU memory')) }).catch((e: Error) => e);
      expect((err as Error).message).toBe('out of GPU memory');
      expect((await sampler.sample(job({}), randomPolicy(1, 1))).envSteps).toBe(320);
    });

    it('checks the job before starting it', async () => {
      const bad = await failure(sampler.sample({ ...job({}), slotsPerTask: 0 }, randomPolicy(1, 1)));
      expect(bad.code).toBe('METARL_CONFIG_INVALID');
      expect(bad.message).toContain('slotsPerTask');
      const watch = await failure(sampler.sample({ ...job({}), watchSlots: [8] }, randomPolicy(1, 1)));
      expect(watch.message).toContain("watchSlots 8 are outside the job's 8 slots");
    });

    it('refuses a second sample() while one runs, and any after close()', async () => {
      const first = sampler.sample(job({}), randomPolicy(1, 1));
      const second = await failure(sampler.sample(job({}), randomPolicy(1, 1)));
      expect(second.message).toContain('already sampling');
      expect((await first).envSteps).toBe(320);
      await sampler.close();
      await sampler.close(); // idempotent
      const closed = await failure(sampler.sample(job({}), randomPolicy(1, 1)));
      expect(closed.code).toBe('METARL_DISPOSED');
    });

    it('rejects a sample in flight when closed mid-job, without hanging', async () => {
      let closing: Promise<void> | null = null;
      const pending = sampler.sample(job({}), {
        act: (input) => {
          if (input.step === 5) closing = sampler.close();
          return new Float32Array(8);
        },
      });
      const err = await failure(pending);
      expect(err.code).toBe('METARL_DISPOSED');
      await closing;
      if (workers === 0) expect(liveEnvs.count).toBe(0);
    });
  });
}

describe('a worker that dies mid-job', () => {
  it('fails the sample with a clear error instead of hanging, and the sampler still closes', async () => {
    const sampler = await createSampler({ family: POINT_REF, workers: 2 });
    try {
      const err = await failure(sampler.sample(job({ exitAt: 4 }), randomPolicy(1, 1)));
      expect(err.code).toBe('METARL_ENV_FAILED');
      expect(err.message).toMatch(/sampler worker 1 exited unexpectedly with code 3.*close\(\) it and create a new one/);
      const again = await failure(sampler.sample(job({}), randomPolicy(1, 1)));
      expect(again.message).toContain('sampler worker 1 exited unexpectedly');
    } finally {
      await sampler.close();
    }
  });
});

describe('createSampler errors', () => {
  it('rejects a family module that does not exist, naming it', async () => {
    const module = new URL('../fixtures/sampling-missing.ts', import.meta.url).href;
    for (const workers of [0, 1]) {
      const err = await failure(createSampler({ family: { name: 'missing', module }, workers }));
      expect(err.code).toBe('METARL_FAMILY_INVALID');
      expect(err.message).toContain("could not load env 'missing'");
    }
  });

  it('rejects bad options', async () => {
    const err = await failure(createSampler({ family: POINT_REF, workers: -1 }));
    expect(err.code).toBe('METARL_CONFIG_INVALID');
    expect(err.message).toContain('workers');
  });
});
