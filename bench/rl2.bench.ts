// `npx tsx bench/index.ts rl2`: one RL² meta-iteration (sampling vs learning) per family on wasm,
// and the cost of one PPO update's BPTT through whole trials, as a markdown table.
// METARL_BENCH_RL2_TASKS (default 10) and METARL_BENCH_RL2_TRIALS (default 2) size the meta-batch;
// the other hyperparameters are the family defaults of agents/rl2.ts. Timings are wall-clock
// of one iteration after a warm-up iteration; the sampler uses one worker per core.
import { availableParallelism } from 'node:os';
import { createRl2, definition, rl2ConfigSchema } from '../agents/rl2.js';
import { builtinFamilies } from '../envs/index.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import { initBackend } from '../src/nn/backend.js';
import { tf } from '../src/nn/tf.js';
import { createSampler } from '../src/sampling/sampler.js';

const FAMILIES = ['point-nav', 'cheetah-vel'] as const;

export default async function bench(): Promise<void> {
  const backend = await initBackend('wasm', { log: () => {} });
  const tasks = Number(process.env.METARL_BENCH_RL2_TASKS ?? 10);
  const trials = Number(process.env.METARL_BENCH_RL2_TRIALS ?? 2);
  const rows: string[] = [];
  for (const name of FAMILIES) {
    const ref = builtinFamilies.ref(name);
    const family = await loadFamily(ref);
    const config = rl2ConfigSchema.parse({ ...definition.familyDefaults[name], metaBatchSize: tasks, trialsPerTask: trials });
    const sampler = await createSampler({ family: ref });
    const learner = await createRl2({ config, family, familyRef: ref, sampler, seed: 1 });
    try {
      const rng = new Rng(2);
      await learner.iterate(family.sampleTasks(rng, tasks));
      const m = await learner.iterate(family.sampleTasks(rng, tasks));
      const updates = config.epochs * config.minibatches;
      const trialSteps = family.spec.horizon * config.episodesPerTrial;
      const total = m.sampleSeconds + m.learnSeconds;
      rows.push(
        `| ${name} | ${tasks}×${trials} trials × ${config.episodesPerTrial} ep × H ${family.spec.horizon}, hidden ${config.hidden} | ${m.envSteps} | ` +
          `${m.sampleSeconds.toFixed(2)} (${((100 * m.sampleSeconds) / total).toFixed(0)}%) | ${m.learnSeconds.toFixed(2)} (${((100 * m.learnSeconds) / total).toFixed(0)}%) | ` +
          `${((1000 * m.learnSeconds) / (updates + 1)).toFixed(0)} ms (T ≤ ${trialSteps}, B ${Math.ceil((tasks * trials) / config.minibatches)}) | ${(m.envSteps / total).toFixed(0)} |`,
      );
    } finally {
      learner.dispose();
      await sampler.close();
    }
  }
  console.log(`backend ${backend.name}, ${availableParallelism()} cores, sampler workers = cores, tensors live after: ${tf.memory().numTensors}\n`);
  console.log('| family | batch | env steps | sampling s | learning s | per PPO update (BPTT fwd+bwd+Adam) | env steps/s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log('\nPer-update time is learning time / (epochs × minibatches + 1 old-log-prob forward), so it slightly overstates one update.');
}
