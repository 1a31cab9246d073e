import type { SampleHooks } from '../sampling/types.js';
import type { ShardEvent } from './types.js';

/**
 * The sampler hooks of a shard's rollout at `stage`: each event goes out through `emit`, its
 * slot moved from the rollout's own (0-based) to the meta-batch's (`first` + slot).
 */
export function emittingHooks(emit: (event: ShardEvent) => void, stage: number, first: number): SampleHooks {
  return {
    onScene: (slot, scene) => emit({ kind: 'scene', stage, slot: first + slot, scene }),
    // The sampler reuses its pose buffer: the event keeps a copy.
    onFrame: (e) => emit({ kind: 'frame', stage, slot: first + e.slot, episode: e.episode, t: e.t, poses: e.poses.slice(), reward: e.reward }),
    onEpisodeEnd: (slot, episode, ret, length) => emit({ kind: 'episodeEnd', stage, slot: first + slot, episode, ret, length }),
  };
}

/** Delivers the events of the workers to the hooks of their stage (the learner's side of `emittingHooks`). */
export function routeEvents(hooks: ReadonlyArray<SampleHooks | undefined>): (event: ShardEvent) => void {
  return (e) => {
    const h = hooks[e.stage];
    if (e.kind === 'scene') h?.onScene?.(e.slot, e.scene);
    else if (e.kind === 'frame') h?.onFrame?.(e);
    else h?.onEpisodeEnd?.(e.slot, e.episode, e.ret, e.length);
  };
}
