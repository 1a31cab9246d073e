/**
 * A watched slot's belief set in a task worker (issue 8) reaches the learner's hooks as the
 * other rollout events do: through `emittingHooks` in the worker, a structured-clone hop, and
 * `routeEvents` on the main thread, its slot moved to the meta-batch's.
 */
import { describe, expect, it } from 'vitest';
import type { Belief } from '../../src/sampling/types.js';
import { emittingHooks, routeEvents } from '../../src/workers/events.js';
import type { ShardEvent } from '../../src/workers/types.js';

describe('shard events: beliefs (issue 8)', () => {
  it("go from a worker's hooks to the hooks of their stage, with the meta-batch's slot", () => {
    const got: Array<{ stage: number; slot: number; episode: number; mean: number[]; std: number[] }> = [];
    const hook = (stage: number) => ({
      onBelief: (slot: number, episode: number, b: Belief) => got.push({ stage, slot, episode, mean: Array.from(b.mean), std: Array.from(b.std) }),
    });
    const route = routeEvents([hook(0), undefined, hook(2)]);
    // The worker's events cross a thread as structured clones.
    const emit = (e: ShardEvent) => route(structuredClone(e));
    emittingHooks(emit, 2, 10).onBelief!(1, 3, { mean: new Float32Array([0.5, -0.25]), std: new Float32Array([0.125, 2]) });
    emittingHooks(emit, 1, 10).onBelief!(0, 0, { mean: [1], std: [1] }); // stage 1 has no hooks: dropped
    emittingHooks(emit, 0, 0).onBelief!(0, 0, { mean: [0], std: [1] });
    expect(got).toEqual([
      { stage: 2, slot: 11, episode: 3, mean: [0.5, -0.25], std: [0.125, 2] },
      { stage: 0, slot: 0, episode: 0, mean: [0], std: [1] },
    ]);
  });
});
