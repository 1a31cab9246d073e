// `npm run bench -- rl2`: one RL² meta-iteration (after a warm-up one) through the task workers with
// 1, 2, … workers (METARL_BENCH_WORKERS, default "1,2") on point-nav and cheetah-vel at the family
// defaults; METARL_BENCH_RL2_TASKS overrides the meta-batch (default: the family's, 20 tasks × 4 trials).
import { availableParallelism } from 'node:os';
import { initBackend } from '../src/nn/backend.js';
import { timeIteration, type TimedIteration } from './agent-iteration.js';

const FAMILIES = ['point-nav', 'cheetah-vel'] as const;

export default async function bench(): Promise<void> {
  await initBackend('wasm', { log: () => {} });
  const workers = (process.env.METARL_BENCH_WORKERS ?? '1,2').split(',').map(Number);
  const overrides = process.env.METARL_BENCH_RL2_TASKS ? { metaBatchSize: Number(process.env.METARL_BENCH_RL2_TASKS) } : {};
  console.log(`wasm, ${availableParallelism()} cores\n`);
  console.log(`| family | batch | ${workers.map((w) => `${w} worker${w === 1 ? '' : 's'} s (learning)`).join(' | ')} | ${workers.slice(1).map((w) => `${w} vs ${workers[0]}`).join(' | ')} |`);
  console.log(`|---|---|${workers.map(() => '---:|').join('')}${workers.slice(1).map(() => '---:|').join('')}`);
  for (const name of FAMILIES) {
    const runs: TimedIteration[] = [];
    for (const w of workers) runs.push(await timeIteration('rl2', name, overrides, w, 'wasm'));
    const c = runs[0].config;
    console.log(
      `| ${name} | ${c.metaBatchSize} tasks × ${c.trialsPerTask} trials × ${c.episodesPerTrial} ep, LSTM ${c.hidden}, ${c.tasksPerShard} tasks per shard | ` +
        `${runs.map((r) => `${r.seconds.toFixed(2)} (${r.m.learnSeconds.toFixed(2)})`).join(' | ')} | ${runs.slice(1).map((r) => `${(runs[0].seconds / r.seconds).toFixed(2)}×`).join(' | ')} |`,
    );
  }
}
