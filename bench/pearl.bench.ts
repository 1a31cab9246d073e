// `npm run bench -- pearl`: whether PEARL's gradient steps gain from data-parallel task workers.
//
// Whole iterations: each family at its defaults (collection, then 100 gradient steps of 8 tasks),
// five set-ups side by side, their iterations taken in turn (round-robin, so load on the machine
// falls on all alike): one shard of 8 tasks (`--tasks-per-shard 8`, the default: the step runs on
// the main thread) with 0 and 2 workers, and two shards of 4 with 0, 1 and 2 workers. `--workers N`
// gives both the sampler's env threads and the task workers N threads, as `metarl train` does.
// METARL_BENCH_PEARL_ITERATIONS sets the timed iterations per set-up (default 2, after a warm-up).
//
// Steps: the learning half of an iteration at the full, half and a quarter of the meta-batch on the
// main thread, the upper bound of what splitting a step's tasks could gain (per-op overhead keeps a
// half batch from costing half). METARL_BENCH_PEARL_STEPS sets the steps timed per row (default 50);
// METARL_BENCH_PEARL=iterations or steps runs one table only.
import { availableParallelism } from 'node:os';
import { agentDefinition } from '../agents/index.js';
import { builtinFamilies } from '../envs/index.js';
import type { IterationMetrics, MetaLearner } from '../src/core/learner.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import type { Task, TaskFamily } from '../src/core/types.js';
import { initBackend } from '../src/nn/backend.js';
import { createSampler } from '../src/sampling/sampler.js';
import { createTaskPool } from '../src/workers/pool.js';

const FAMILIES = ['point-nav', 'cheetah-vel'] as const;
const SPLITS = [1, 2, 4];
const SETUPS = [
  { tasksPerShard: 8, workers: 0 },
  { tasksPerShard: 8, workers: 2 },
  { tasksPerShard: 4, workers: 0 },
  { tasksPerShard: 4, workers: 1 },
  { tasksPerShard: 4, workers: 2 },
];

interface Running {
  learner: MetaLearner;
  tasks: () => Task[];
  close: () => Promise<void>;
}

/** A PEARL learner at the family defaults plus `overrides`, with its sampler and task pool on `workers` threads each. */
async function startPearl(familyName: string, overrides: Record<string, unknown>, workers: number): Promise<Running> {
  const definition = agentDefinition('pearl');
  const ref = builtinFamilies.ref(familyName);
  const family: TaskFamily = await loadFamily(ref);
  const config = definition.configSchema.parse({ ...definition.familyDefaults[familyName], ...overrides }) as Record<string, unknown>;
  const sampler = await createSampler({ family: ref, workers, stepTimeoutMs: 0 });
  const pool = await createTaskPool({ family: ref, agent: 'pearl', config, backend: 'wasm', stepTimeoutMs: 0, workers });
  const learner = await definition.create({ config, family, familyRef: ref, sampler, pool, seed: 1 });
  const rng = new Rng(2);
  return {
    learner,
    tasks: () => family.sampleTasks(rng, learner.tasksPerIteration),
    close: async () => {
      learner.dispose();
      await pool.close();
      await sampler.close();
    },
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function iterationsTable(iterations: number): Promise<void> {
  console.log(`Whole iterations at the family defaults, median of ${iterations} after a warm-up: seconds per iteration (sampling + learning)\n`);
  console.log(`| family | ${SETUPS.map((s) => `${8 / s.tasksPerShard} shard${s.tasksPerShard < 8 ? 's' : ''}, ${s.workers} worker${s.workers === 1 ? '' : 's'}`).join(' | ')} | 2 shards: 2 vs 1 worker | 2 shards on 2 workers vs 1 shard on 2 |`);
  console.log(`|---|${SETUPS.map(() => '---:|').join('')}---:|---:|`);
  for (const name of FAMILIES) {
    const runs = [];
    for (const s of SETUPS) runs.push(await startPearl(name, { tasksPerShard: s.tasksPerShard }, s.workers));
    try {
      const timed: Array<Array<{ seconds: number; m: IterationMetrics }>> = runs.map(() => []);
      for (let i = 0; i <= iterations; i++) {
        for (const [k, run] of runs.entries()) {
          const t0 = performance.now();
          const m = await run.learner.iterate(run.tasks());
          if (i > 0) timed[k].push({ seconds: (performance.now() - t0) / 1000, m });
        }
      }
      const cell = (k: number) => {
        const t = timed[k];
        return `${median(t.map((x) => x.seconds)).toFixed(2)} s (learn ${median(t.map((x) => x.m.learnSeconds)).toFixed(2)})`;
      };
      const s = (k: number) => median(timed[k].map((x) => x.seconds));
      console.log(`| ${name} | ${SETUPS.map((_, k) => cell(k)).join(' | ')} | ${(s(3) / s(4)).toFixed(2)}× | ${(s(1) / s(4)).toFixed(2)}× |`);
    } finally {
      for (const run of runs) await run.close();
    }
  }
}

/** Milliseconds per gradient step with `metaBatchSize` tasks, one shard, on the main thread. */
async function msPerStep(familyName: string, metaBatchSize: number, steps: number): Promise<number> {
  const run = await startPearl(familyName, { metaBatchSize, tasksPerShard: metaBatchSize, numTrainSteps: steps }, 1);
  try {
    await run.learner.iterate(run.tasks());
    const m = await run.learner.iterate(run.tasks());
    return (m.learnSeconds * 1000) / steps;
  } finally {
    await run.close();
  }
}

async function stepsTable(steps: number): Promise<void> {
  console.log(`\nOne gradient step on the main thread, ${steps} steps timed per row\n`);
  console.log(`| family | ${SPLITS.map((w) => `meta-batch ÷ ${w}: ms/step`).join(' | ')} | ${SPLITS.slice(1).map((w) => `best gain on ${w} workers`).join(' | ')} |`);
  console.log(`|---|${SPLITS.map(() => '---:|').join('')}${SPLITS.slice(1).map(() => '---:|').join('')}`);
  for (const name of FAMILIES) {
    const full = agentDefinition('pearl').configSchema.parse(agentDefinition('pearl').familyDefaults[name] ?? {}) as { metaBatchSize: number };
    const ms: number[] = [];
    for (const w of SPLITS) ms.push(await msPerStep(name, Math.max(1, Math.round(full.metaBatchSize / w)), steps));
    // The upper bound: each worker's share in parallel, with no cost for sending weights and gradients.
    console.log(`| ${name} (${full.metaBatchSize} tasks a step) | ${ms.map((x) => x.toFixed(1)).join(' | ')} | ${ms.slice(1).map((x) => `${(ms[0] / x).toFixed(2)}×`).join(' | ')} |`);
  }
}

export default async function bench(): Promise<void> {
  await initBackend('wasm', { log: () => {} });
  const which = process.env.METARL_BENCH_PEARL ?? 'both';
  console.log(`wasm, ${availableParallelism()} cores\n`);
  if (which !== 'steps') await iterationsTable(Number(process.env.METARL_BENCH_PEARL_ITERATIONS ?? 2));
  if (which !== 'iterations') await stepsTable(Number(process.env.METARL_BENCH_PEARL_STEPS ?? 50));
}
