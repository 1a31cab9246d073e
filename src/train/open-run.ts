import type { WatchHooks } from '../../agents/types.js';
import type { MetaLearner } from '../core/learner.js';
import type { FamilyRef } from '../core/registry.js';
import type { TaskFamily } from '../core/types.js';
import { readRunCheckpoint } from './checkpoint.js';
import type { RunConfig } from './config.js';
import { readRunConfig } from './run-config.js';
import { assembleRun } from './assemble.js';
import { resolveRunDir } from './zoo.js';

export interface OpenRun {
  config: RunConfig;
  family: TaskFamily;
  ref: FamilyRef;
  learner: MetaLearner;
  /** Iteration of the checkpoint loaded. */
  iteration: number;
  backend: string;
  close(): Promise<void>;
}

export interface OpenRunOptions {
  backend?: RunConfig['backend'];
  workers?: number;
  watch?: (stage: number, label: string) => WatchHooks | undefined;
  /** Fresh weights from the run's seed instead of its checkpoint: the random-init baseline. */
  fresh?: boolean;
  /** The iteration of the checkpoint to load (default the newest). */
  checkpoint?: number;
  /** Agent hyperparameters to change, e.g. a baseline's fine-tuning step size. */
  agentConfig?: Record<string, unknown>;
}

/** A trained run (`zoo/<name>`: a shipped one), loaded from its latest checkpoint (or `checkpoint`), ready to evaluate, watch or adapt. */
export async function openRun(given: string, options: OpenRunOptions = {}): Promise<OpenRun> {
  const runDir = resolveRunDir(given);
  const saved = readRunConfig(runDir, options.backend ? { backend: options.backend } : {});
  const config = { ...saved, agentConfig: { ...saved.agentConfig, ...options.agentConfig } };
  const checkpoint = options.fresh ? null : readRunCheckpoint(runDir, options.checkpoint);
  const { family, ref, backend, workers, learner } = await assembleRun({ ...config, workers: options.workers ?? config.workers }, { watch: options.watch });
  const close = async () => {
    learner.dispose();
    await workers.close();
  };
  try {
    if (checkpoint) await learner.restore(checkpoint.learner);
  } catch (err) {
    await close();
    throw err;
  }
  return { config, family, ref, learner, iteration: checkpoint?.iteration ?? 0, backend: backend.name, close };
}
