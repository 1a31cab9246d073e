import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchHooks } from '../../agents/types.js';
import { MetarlError } from '../core/errors.js';
import type { MetaLearner } from '../core/learner.js';
import type { FamilyRef } from '../core/registry.js';
import type { TaskFamily } from '../core/types.js';
import type { Sampler } from '../sampling/types.js';
import { readLatestCheckpoint } from './checkpoint.js';
import { parseConfig, runConfigSchema, type RunConfig } from './config.js';
import { assembleRun } from './assemble.js';

export interface OpenRun {
  config: RunConfig;
  family: TaskFamily;
  ref: FamilyRef;
  learner: MetaLearner;
  sampler: Sampler;
  /** Iteration of the checkpoint loaded. */
  iteration: number;
  backend: string;
  close(): Promise<void>;
}

/** A trained run, loaded from its latest checkpoint, ready to evaluate or watch. */
export async function openRun(
  runDir: string,
  options: { backend?: RunConfig['backend']; workers?: number; watch?: (stage: number, label: string) => WatchHooks | undefined } = {},
): Promise<OpenRun> {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) {
    throw new MetarlError('METARL_CHECKPOINT_MISSING', `${runDir} is not a run directory: it has no config.json`, { runDir });
  }
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `${path} is not valid JSON: ${(err as Error).message}`, { runDir });
  }
  const config = parseConfig(runConfigSchema, { ...(saved as object), out: runDir, ...(options.backend ? { backend: options.backend } : {}) }, `config of ${path}`);
  const checkpoint = readLatestCheckpoint(runDir);
  const { family, ref, backend, sampler, learner } = await assembleRun({ ...config, workers: options.workers ?? config.workers }, { watch: options.watch });
  const close = async () => {
    learner.dispose();
    await sampler.close();
  };
  try {
    await learner.restore(checkpoint.learner);
  } catch (err) {
    await close();
    throw err;
  }
  return { config, family, ref, learner, sampler, iteration: checkpoint.iteration, backend: backend.name, close };
}
