// `npx tsx bench/index.ts maml`: one MAML meta-iteration, split into sampling, the inner steps
// and the outer (TRPO) step, (1) on point-nav per tfjs backend (wasm, cpu, webgpu when it
// starts) and (2) on point-nav and cheetah-vel on wasm, as markdown tables.
// The meta-batch is METARL_BENCH_MAML_TASKS (default 20) tasks; the other hyperparameters are
// the family defaults of agents/maml.ts. Each figure is one iteration after a warm-up iteration;
// the sampler uses one worker per core.
import { availableParallelism } from 'node:os';
import { createMaml, definition, mamlConfigSchema } from '../agents/maml.js';
import { builtinFamilies } from '../envs/index.js';
import type { IterationMetrics } from '../src/core/learner.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import { initBackend, type BackendName } from '../src/nn/backend.js';
import { tf } from '../src/nn/tf.js';
import { createSampler } from '../src/sampling/sampler.js';

const BACKENDS: BackendName[] = ['wasm', 'cpu', 'webgpu'];
const FAMILIES = ['point-nav', 'cheetah-vel'] as const;

/** One warm-up and one timed iteration of MAML on `name` with the active backend. */
async function timeIteration(name: string, tasks: number): Promise<{ m: IterationMetrics; batch: string }> {
  const ref = builtinFamilies.ref(name);
  const family = await loadFamily(ref);
  const config = mamlConfigSchema.parse({ ...definition.familyDefaults[name], metaBatchSize: tasks });
  const sampler = await createSampler({ family: ref });
  const learner = await createMaml({ config, family, familyRef: ref, sampler, seed: 1 });
  try {
    const rng = new Rng(2);
    await learner.iterate(family.sampleTasks(rng, tasks));
    const m = await learner.iterate(family.sampleTasks(rng, tasks));
    return { m, batch: `${tasks} tasks × ${config.episodesPerTask} ep × H ${config.horizon ?? family.spec.horizon}, hidden ${config.hidden.join('×')}` };
  } finally {
    learner.dispose();
    await sampler.close();
  }
}

const s = (x: number) => x.toFixed(2);
const pct = (x: number, total: number) => `${((100 * x) / total).toFixed(0)}%`;

export default async function bench(): Promise<void> {
  const tasks = Number(process.env.METARL_BENCH_MAML_TASKS ?? 20);
  console.log(`${availableParallelism()} cores, sampler workers = cores\n`);

  console.log('### One MAML iteration on point-nav, per backend\n');
  console.log('| backend | batch | env steps | sampling s | inner steps + advantages s | outer TRPO step s | TRPO KL |');
  console.log('|---|---|---|---|---|---|---|');
  for (const name of BACKENDS) {
    try {
      await initBackend(name, { log: () => {} });
    } catch (err) {
      console.log(`| ${name} | unavailable: ${(err as Error).message.split('\n')[0].slice(0, 120)} | | | | | |`);
      continue;
    }
    const { m, batch } = await timeIteration('point-nav', tasks);
    const outer = m.figures.outerSeconds;
    console.log(`| ${name} | ${batch} | ${m.envSteps} | ${s(m.sampleSeconds)} | ${s(m.learnSeconds - outer)} | ${s(outer)} | ${m.figures.kl.toFixed(4)} |`);
  }

  await initBackend('wasm', { log: () => {} });
  console.log('\n### Sampling vs learning in one meta-iteration (wasm)\n');
  console.log('| family | batch | env steps | sampling s | learning s | env steps/s |');
  console.log('|---|---|---|---|---|---|');
  for (const name of FAMILIES) {
    const { m, batch } = await timeIteration(name, tasks);
    const total = m.sampleSeconds + m.learnSeconds;
    console.log(`| ${name} | ${batch} | ${m.envSteps} | ${s(m.sampleSeconds)} (${pct(m.sampleSeconds, total)}) | ${s(m.learnSeconds)} (${pct(m.learnSeconds, total)}) | ${(m.envSteps / total).toFixed(0)} |`);
  }
  console.log(`\nLearning = advantages (linear baseline per task) + inner VPG steps + the outer step (gradient through the inner step, CG on a 1/5 subsample, line search). Tensors live after: ${tf.memory().numTensors}.`);
}
