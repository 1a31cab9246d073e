// Times meta-iterations of a built-in agent on a built-in family through its task workers: the
// shared core of the maml and rl2 benches.
import { agentDefinition } from '../agents/index.js';
import { builtinFamilies } from '../envs/index.js';
import type { IterationMetrics } from '../src/core/learner.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import type { BackendName } from '../src/nn/backend.js';
import { createTaskPool } from '../src/workers/pool.js';

export interface TimedIteration {
  /** The last iteration's metrics. */
  m: IterationMetrics;
  /** Its wall-clock seconds. */
  seconds: number;
  config: Record<string, unknown>;
}

/** `warmup` untimed iterations, then one timed, with `workers` task workers on `backend`. */
export async function timeIteration(agent: 'maml' | 'rl2', familyName: string, overrides: Record<string, unknown>, workers: number, backend: BackendName, warmup = 1): Promise<TimedIteration> {
  const definition = agentDefinition(agent);
  const ref = builtinFamilies.ref(familyName);
  const family = await loadFamily(ref);
  const config = definition.configSchema.parse({ ...definition.familyDefaults[familyName], ...overrides }) as Record<string, unknown>;
  const pool = await createTaskPool({ family: ref, agent, config, backend, stepTimeoutMs: 0, workers });
  const learner = await definition.create({ config, family, familyRef: ref, pool, seed: 1 });
  try {
    const rng = new Rng(2);
    for (let i = 0; i < warmup; i++) await learner.iterate(family.sampleTasks(rng, learner.tasksPerIteration));
    const t0 = performance.now();
    const m = await learner.iterate(family.sampleTasks(rng, learner.tasksPerIteration));
    return { m, seconds: (performance.now() - t0) / 1000, config };
  } finally {
    learner.dispose();
    await pool.close();
  }
}
