// Times meta-iterations of a built-in agent on a built-in family through its task workers: the
// shared core of the maml and rl2 benches.
import { agentDefinition } from '../agents/index.js';
import { builtinFamilies } from '../envs/index.js';
import type { IterationMetrics } from '../src/core/learner.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import type { BackendName } from '../src/nn/backend.js';
import { createTaskPool } from '../src/workers/pool.js';
import type { QueueStats } from '../src/workers/queue/pool.js';

export interface TimedIteration {
  /** The last iteration's metrics. */
  m: IterationMetrics;
  /** Its wall-clock seconds. */
  seconds: number;
  config: Record<string, unknown>;
  /** With a queue: the learner's bytes out (requests, blobs) and in (results) during the timed iteration. */
  traffic?: { sent: number; received: number; jobs: number };
}

/** `warmup` untimed iterations, then one timed, with `workers` task workers (or lanes on `queue`'s workers) on `backend`. */
export async function timeIteration(agent: 'maml' | 'rl2', familyName: string, overrides: Record<string, unknown>, workers: number, backend: BackendName, warmup = 1, queue?: string): Promise<TimedIteration> {
  const definition = agentDefinition(agent);
  const ref = builtinFamilies.ref(familyName);
  const family = await loadFamily(ref);
  const config = definition.configSchema.parse({ ...definition.familyDefaults[familyName], ...overrides }) as Record<string, unknown>;
  const pool = await createTaskPool({ family: ref, agent, config, backend, stepTimeoutMs: 0, workers, queue: queue ? { url: queue, waitMs: 60_000 } : undefined });
  const stats = () => (pool.progress ? (pool.progress() as QueueStats) : null);
  const learner = await definition.create({ config, family, familyRef: ref, pool, seed: 1 });
  try {
    const rng = new Rng(2);
    for (let i = 0; i < warmup; i++) await learner.iterate(family.sampleTasks(rng, learner.tasksPerIteration));
    const before = stats();
    const t0 = performance.now();
    const m = await learner.iterate(family.sampleTasks(rng, learner.tasksPerIteration));
    const seconds = (performance.now() - t0) / 1000;
    const after = stats();
    const traffic = before && after ? { sent: after.bytesSent - before.bytesSent, received: after.bytesReceived - before.bytesReceived, jobs: after.done - before.done } : undefined;
    return { m, seconds, config, traffic };
  } finally {
    learner.dispose();
    await pool.close();
  }
}
