import { agentDefinition } from '../../agents/index.js';
import type { AgentDefinition, WatchHooks } from '../../agents/types.js';
import { assertFamilyValid } from '../core/check.js';
import type { MetaLearner } from '../core/learner.js';
import type { FamilyRef } from '../core/registry.js';
import { Rng } from '../core/rng.js';
import type { TaskFamily } from '../core/types.js';
import { initBackend, type BackendInfo } from '../nn/backend.js';
import { createSampler } from '../sampling/sampler.js';
import type { Sampler } from '../sampling/types.js';
import { MetarlError } from '../core/errors.js';
import { createTaskPool, type TaskPoolOptions } from '../workers/pool.js';
import type { TaskPool } from '../workers/types.js';
import { parseConfig } from '../core/parse-config.js';
import type { RunConfig } from './config.js';
import { resolveFamily } from './families.js';

/** The independent random streams of a run, each seeded from the one user seed. */
export const SEEDS = { tasks: 1, agent: 2, evalTasks: 3, evalRollouts: 4, viewTasks: 5, validationTasks: 6, validationRollouts: 7 } as const;

export function seedFor(seed: number, stream: number): number {
  return new Rng(seed * 7919 + stream).seed();
}

/** What a run is made of, once its config is known: training and `openRun` both start here. */
export interface AssembledRun {
  family: TaskFamily;
  ref: FamilyRef;
  agentConfig: Record<string, unknown>;
  backend: BackendInfo;
  /** The agent's task pool and/or sampler (`AgentDefinition.createShardWorker`, `samplesWithSampler`): closed by the caller. */
  workers: Pick<TaskPool, 'close' | 'progress'>;
  learner: MetaLearner;
}

export async function assembleRun(
  config: RunConfig,
  options: { checkFamily?: boolean; watch?: (stage: number, label: string) => WatchHooks | undefined; queue?: TaskPoolOptions['queue'] } = {},
): Promise<AssembledRun> {
  const definition = agentDefinition(config.agent);
  const { ref, family } = await resolveFamily(config.env);
  if (options.checkFamily) assertFamilyValid(family);
  const agentConfig = resolveAgentConfig(definition, family.name, config.agentConfig);
  const backend = await initBackend(config.backend);
  const limits = { workers: config.workers, stepTimeoutMs: config.stepTimeout * 1000, workerMemoryMb: config.workerMemoryMb };
  const args = { config: agentConfig, family, familyRef: ref, seed: seedFor(config.seed, SEEDS.agent), watch: options.watch };
  const usesPool = definition.createShardWorker !== undefined && (definition.usesTaskWorkers?.(agentConfig) ?? true);
  if (options.queue && !usesPool) {
    const why = definition.createShardWorker ? 'with this config uses none' : 'has none';
    throw new MetarlError('METARL_CONFIG_INVALID', `--queue runs task workers, and ${definition.name} ${why}: use it with an agent that has (maml, rl2; pearl with --tasks-per-shard below --meta-batch-size), or train ${definition.name} without --queue`, { agent: definition.name });
  }
  const pool = usesPool ? await createTaskPool({ ...limits, family: ref, agent: definition.name, config: agentConfig, backend: backend.name, queue: options.queue }) : null;
  let sampler: Sampler | null = null;
  const close = async () => {
    await pool?.close();
    await sampler?.close();
  };
  try {
    if (!pool || definition.samplesWithSampler) sampler = await createSampler({ family: ref, ...limits });
    const learner = await definition.create({ ...args, ...(pool && { pool }), ...(sampler && { sampler }) });
    return { family, ref, agentConfig, backend, workers: { close, ...(pool?.progress && { progress: () => pool.progress!() }) }, learner };
  } catch (err) {
    await close();
    throw err;
  }
}

export function resolveAgentConfig(definition: AgentDefinition, familyName: string, given: Record<string, unknown>): Record<string, unknown> {
  const defaults = definition.familyDefaults[familyName] ?? {};
  return parseConfig(definition.configSchema, { ...defaults, ...given }, `${definition.name} config`) as Record<string, unknown>;
}
