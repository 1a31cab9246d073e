import { basename } from 'node:path';
import type { WatchHooks } from '../../agents/types.js';
import type { Publisher } from '../stream/publisher.js';
import type { Stage } from '../stream/protocol.js';
import type { SceneDescription } from '../core/scene.js';
import type { MetricsRow } from './metrics.js';
import type { TrainObserver } from './train.js';

/**
 * Streams what the agent samples to a viewer: slot 0 (the first task of the
 * meta-batch) at every adaptation stage, one env id per stage, so the page can show
 * the stages side by side. For RL² the stages are the episodes of one trial, so the
 * stage of a frame is the watch call's stage plus the episode index.
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
      let scene: SceneDescription | null = null;
      let current = -1;
      return {
        watchSlots: [0],
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
          }
          publisher.frame(envId, event.t, event.poses, event.reward);
        },
        onEpisodeEnd(_slot, episode, ret, length) {
          publisher.episodeEnd(stage + episode, ret, length);
        },
      };
    },
    metrics(row: MetricsRow, stages: readonly string[]) {
      const stageReturns = stages.map((_, i) => row[`return${i}`]);
      const values = Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'iteration' && !/^return\d+$/.test(k)));
      publisher.metrics({ iteration: row.iteration, stageReturns, values });
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
