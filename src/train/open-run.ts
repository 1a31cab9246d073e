import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchHooks } from '../../agents/types.js';
import { MetarlError } from '../core/errors.js';
import type { MetaLearner } from '../core/learner.js';
import type { FamilyRef } from '../core/registry.js';
import type { TaskFamily } from '../core/types.js';
import { initBackend } from '../nn/backend.js';
import { createSampler } from '../sampling/sampler.js';
import type { Sampler } from '../sampling/types.js';
import { readLatestCheckpoint } from './checkpoint.js';
import { parseConfig, runConfigSchema, type RunConfig } from './config.js';
import { resolveFamily } from './families.js';
import { SEEDS, agentDefinition, resolveAgentConfig, seedFor } from './train.js';

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
  const definition = agentDefinition(config.agent);
  const { ref, family } = await resolveFamily(config.env);
  const agentConfig = resolveAgentConfig(definition, family.name, config.agentConfig);
  const backend = await initBackend(config.backend);
  const sampler = await createSampler({ family: ref, workers: options.workers ?? config.workers });
  try {
    const learner = await definition.create({ config: agentConfig, family, familyRef: ref, sampler, seed: seedFor(config.seed, SEEDS.agent), watch: options.watch });
    await learner.restore(checkpoint.learner);
    return {
      config,
      family,
      ref,
      learner,
      sampler,
      iteration: checkpoint.iteration,
      backend: backend.name,
      async close() {
        learner.dispose();
        await sampler.close();
      },
    };
  } catch (err) {
    await sampler.close();
    throw err;
  }
}
