import { basename } from 'node:path';
import type { WatchHooks } from '../../agents/types.js';
import type { Belief } from '../sampling/types.js';
import type { Publisher } from '../stream/publisher.js';
import type { Stage } from '../stream/protocol.js';
import type { SceneDescription } from '../core/scene.js';
import { wireMetricsRow, type MetricsRow } from './metrics.js';
import type { TrainObserver } from './train.js';

/**
 * Streams what the agent samples to a viewer: slot 0 (the first task of the
 * meta-batch) at every adaptation stage, one env id per stage, so the page can show
 * the stages side by side. For RL² the stages are the episodes of one trial, so the
 * stage of a frame is the watch call's stage plus the episode index.
 *
 * A learner's belief (PEARL) goes to the lane of its episode, after that lane's scene: the
 * agent sets it before the episode's first step, when the lane may not be on the page yet,
 * so it waits for the episode's first frame.
 */
export function viewerObserver(publisher: Publisher): TrainObserver {
  let stages: readonly string[] = [];
  let dt = 0.05;
  const stageOf = (index: number): Stage => ({ index, label: stages[index] ?? `stage ${index}` });
  return {
    runInfo(info) {
      stages = info.stages;
      dt = info.dt;
      publisher.reset();
      publisher.hello({
        family: info.family,
        agent: info.agent,
        backend: info.backend,
        mode: 'train',
        stages: [...info.stages],
        runName: basename(info.config.out),
        config: { seed: info.config.seed, iterations: info.config.iterations, ...scalarEntries(info.config.agentConfig) },
      });
    },
    watch(stage: number): WatchHooks {
      const watchSlots = [0];
      let scene: SceneDescription | null = null;
      let current = -1;
      /** Beliefs of lanes not yet on the page, by env id: the agent sets one before its episode's first step. */
      const pending = new Map<number, { episode: number; mean: number[]; std: number[] }>();
      return {
        watchSlots,
        onScene(_slot, s) {
          scene = s;
          current = -1;
        },
        onFrame(event) {
          const envId = stage + event.episode;
          if (envId !== current && scene) {
            current = envId;
            publisher.scene(envId, scene, stageOf(envId), dt);
            publisher.episodeStart(envId);
            const b = pending.get(envId);
            if (b !== undefined) {
              pending.delete(envId);
              publisher.belief(envId, b.episode, b);
            }
          }
          publisher.frame(envId, event.t, event.poses, event.reward);
        },
        onBelief(slot: number, episode: number, belief: Belief) {
          if (!watchSlots.includes(slot)) return;
          const envId = stage + episode;
          // The trial's episode is its lane: stage k's episode e is the trial's episode k + e.
          const b = { episode: envId, mean: Array.from(belief.mean), std: Array.from(belief.std) };
          if (envId === current) publisher.belief(envId, b.episode, b);
          else pending.set(envId, b);
        },
        onEpisodeEnd(slot, episode, ret, length) {
          // The sampler reports every slot's episode ends; a lane shows the watched slot's.
          if (!watchSlots.includes(slot)) return;
          publisher.episodeEnd(stage + episode, ret, length);
        },
      };
    },
    metrics(row: MetricsRow, stages: readonly string[], check?: MetricsRow) {
      publisher.metrics(wireMetricsRow(row, stages.length, check));
    },
  };
}

function scalarEntries(record: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(record)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v as string | number | boolean | null;
  }
  return out;
}
