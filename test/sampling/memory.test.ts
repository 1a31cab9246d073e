// Reliability item 11: a job too large for the machine is refused before its buffers exist, and an env
// that leaks in a worker ends the sampling with METARL_RESOURCE_LIMIT instead of growing without bound.
import { afterEach, describe, expect, it } from 'vitest';
import { failure } from '../fixtures/rejection.js';
import { createSampler } from '../../src/sampling/index.js';
import type { Sampler } from '../../src/sampling/index.js';
import { allocateJobBuffers, jobBytes } from '../../src/sampling/layout.js';
import type { JobShape } from '../../src/sampling/layout.js';
import { formatBytes, memoryBytes } from '../../src/sampling/limits.js';
import { POINT_REF, randomPolicy } from '../fixtures/sampling-policies.js';

let sampler: Sampler | null = null;
afterEach(async () => {
  await sampler?.close();
  sampler = null;
});

describe('job size', () => {
  it('counts exactly the bytes the job buffers take', () => {
    const shape: JobShape = { slots: 6, episodes: 3, horizon: 20, obsSize: 5, actSize: 2, watchCount: 2, bodyCount: 3 };
    const allocated = Object.values(allocateJobBuffers(shape)).reduce((sum, b) => sum + b.byteLength, 0);
    expect(jobBytes(shape)).toBe(allocated);
  });

  it('refuses a job larger than half the memory before allocating it, and stays usable', async () => {
    sampler = await createSampler({ family: POINT_REF, workers: 0 });
    const huge = { tasks: [{ goal: 0 }], slotsPerTask: 10_000_000, episodesPerSlot: 1000, seed: 1 };
    const used = process.memoryUsage().arrayBuffers;
    const err = await failure(sampler.sample(huge, randomPolicy(1, 1)));
    expect(process.memoryUsage().arrayBuffers - used).toBeLessThan(2 ** 20);
    const shape: JobShape = { slots: 10_000_000, episodes: 1000, horizon: 20, obsSize: 2, actSize: 1, watchCount: 0, bodyCount: 1 };
    const bytes = jobBytes(shape);
    expect(err.code).toBe('METARL_RESOURCE_LIMIT');
    expect(err.message).toBe(
      "a sampling job of 'sampling-point' (10000000 slots × 1000 episodes × 20 steps, obs 2 + act 1 floats a step) " +
        `needs ${formatBytes(bytes)} for its rollouts, more than the ${formatBytes(memoryBytes() / 2)} allowed (half of this machine's ${formatBytes(memoryBytes())}): ` +
        'sample fewer tasks or fewer slots per task (in training: a smaller --meta-batch-size, or fewer episodes or trials per task)',
    );
    expect(err.details).toMatchObject({ slots: 10_000_000, episodes: 1000, horizon: 20, bytes, limit: memoryBytes() / 2 });
    expect((await sampler.sample({ ...huge, slotsPerTask: 2, episodesPerSlot: 1 }, randomPolicy(1, 1))).envSteps).toBe(40);
  });
});

describe('worker memory limits', () => {
  it('stops an env whose typed arrays outgrow the limit (V8 does not count them)', async () => {
    sampler = await createSampler({ family: POINT_REF, workers: 1, workerMemoryMb: 64 });
    // 8 MB kept per step and slot: past 64 MB within the first few steps.
    const err = await failure(sampler.sample({ tasks: [{ goal: 0, keepMb: 8 }], slotsPerTask: 2, episodesPerSlot: 1, seed: 1 }, randomPolicy(1, 1)));
    expect(err.code).toBe('METARL_RESOURCE_LIMIT');
    expect(err.message).toMatch(
      /^env 'sampling-point' holds \d+ MB of typed arrays on sampler worker 0 \(slots 0–1\), over its 64 MB limit: an env that makes a new typed array every step and keeps it grows without bound/,
    );
    expect(err.details).toMatchObject({ family: 'sampling-point', worker: 0, limitMb: 64 });
    expect(err.details.bytes).toBeGreaterThan(64 * 2 ** 20);
  });

  it('turns a worker stopped at its heap limit into METARL_RESOURCE_LIMIT naming the env and the limit', async () => {
    sampler = await createSampler({ family: POINT_REF, workers: 1, workerMemoryMb: 64 });
    const err = await failure(sampler.sample({ tasks: [{ goal: 0, keepObjects: 200_000 }], slotsPerTask: 2, episodesPerSlot: 1, seed: 1 }, randomPolicy(1, 1)));
    expect(err.code).toBe('METARL_RESOURCE_LIMIT');
    expect(err.message).toBe(
      "env 'sampling-point' filled the 64 MB JS heap of sampler worker 0, which was stopped: an env that keeps objects from every step grows without bound " +
        "(keep what it needs, reuse the rest); if the env really needs more, raise the limit (--worker-memory-mb <MB>, createSampler's workerMemoryMb). " +
        'The sampler cannot go on: close() it and create a new one',
    );
    expect(err.details).toEqual({ family: 'sampling-point', worker: 0, limitMb: 64 });
  });
});
