// `npm run bench -- pearl`: whether PEARL's gradient steps would gain from data-parallel task
// workers. A step's meta-batch of T tasks split over W workers leaves each worker T / W tasks;
// the split pays only if a step on T / W tasks is much cheaper than on T. This times the
// learning half of an iteration (after a warm-up one) at the family defaults and at half and a
// quarter of the meta-batch, side by side in one run. METARL_BENCH_PEARL_STEPS sets the gradient
// steps timed per iteration (default 50).
import { availableParallelism } from 'node:os';
import { agentDefinition } from '../agents/index.js';
import { builtinFamilies } from '../envs/index.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import { initBackend } from '../src/nn/backend.js';
import { createSampler } from '../src/sampling/sampler.js';

const FAMILIES = ['point-nav', 'cheetah-vel'] as const;
const SPLITS = [1, 2, 4];

/** Milliseconds per gradient step with `metaBatchSize` tasks. */
async function msPerStep(familyName: string, metaBatchSize: number, steps: number): Promise<number> {
  const definition = agentDefinition('pearl');
  const ref = builtinFamilies.ref(familyName);
  const family = await loadFamily(ref);
  const config = definition.configSchema.parse({ ...definition.familyDefaults[familyName], metaBatchSize, numTrainSteps: steps });
  const sampler = await createSampler({ family: ref, workers: 1, stepTimeoutMs: 0 });
  const learner = await definition.create({ config, family, familyRef: ref, sampler, seed: 1 });
  try {
    const rng = new Rng(2);
    await learner.iterate(family.sampleTasks(rng, learner.tasksPerIteration));
    const m = await learner.iterate(family.sampleTasks(rng, learner.tasksPerIteration));
    return (m.learnSeconds * 1000) / steps;
  } finally {
    learner.dispose();
    await sampler.close();
  }
}

export default async function bench(): Promise<void> {
  await initBackend('wasm', { log: () => {} });
  const steps = Number(process.env.METARL_BENCH_PEARL_STEPS ?? 50);
  console.log(`wasm, ${availableParallelism()} cores, ${steps} gradient steps timed per row\n`);
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
