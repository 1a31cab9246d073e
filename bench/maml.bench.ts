// `npm run bench -- maml`: one MAML meta-iteration (after a warm-up one) through the task workers,
// (1) on point-nav per tfjs backend (METARL_BENCH_BACKENDS, default wasm,cpu,webgpu) with every task on the main thread, (2) with 1, 2, … workers on
// point-nav (family defaults: 20 tasks × 20 episodes × H 100) and cheetah-vel. METARL_BENCH_WORKERS
// lists the worker counts (default "1,2"); METARL_BENCH_CHEETAH_TASKS / _EPISODES size cheetah-vel's
// meta-batch (default 10 × 10; the published 40 × 20 takes several minutes per iteration here).
import { availableParallelism } from 'node:os';
import { initBackend, type BackendName } from '../src/nn/backend.js';
import { timeIteration, type TimedIteration } from './agent-iteration.js';

const BACKENDS = (process.env.METARL_BENCH_BACKENDS ?? 'wasm,cpu,webgpu').split(',') as BackendName[];

const s = (x: number) => x.toFixed(2);
const batch = (t: TimedIteration) => `${t.config.metaBatchSize} tasks × ${t.config.episodesPerTask} ep`;

export default async function bench(): Promise<void> {
  const workers = (process.env.METARL_BENCH_WORKERS ?? '1,2').split(',').map(Number);
  console.log(`${availableParallelism()} cores\n`);

  console.log('### One MAML iteration on point-nav, per backend (--workers 0)\n');
  console.log('| backend | batch | env steps | iteration s | sampling s | outer TRPO step s | backtracks |');
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const name of BACKENDS) {
    try {
      await initBackend(name, { log: () => {} });
    } catch (err) {
      console.log(`| ${name} | unavailable: ${(err as Error).message.split('\n')[0].slice(0, 120)} | | | | | |`);
      continue;
    }
    const t = await timeIteration('maml', 'point-nav', {}, 0, name);
    console.log(`| ${name} | ${batch(t)} | ${t.m.envSteps} | ${s(t.seconds)} | ${s(t.m.sampleSeconds)} | ${s(t.m.figures.outerSeconds)} | ${t.m.figures.backtracks} |`);
  }

  await initBackend('wasm', { log: () => {} });
  const cheetah = { metaBatchSize: Number(process.env.METARL_BENCH_CHEETAH_TASKS ?? 10), episodesPerTask: Number(process.env.METARL_BENCH_CHEETAH_EPISODES ?? 10) };
  console.log('\n### One MAML iteration by task workers (wasm)\n');
  console.log(`| family | batch | ${workers.map((w) => `${w} worker${w === 1 ? '' : 's'} s`).join(' | ')} | ${workers.slice(1).map((w) => `${w} vs ${workers[0]}`).join(' | ')} |`);
  console.log(`|---|---|${workers.map(() => '---:|').join('')}${workers.slice(1).map(() => '---:|').join('')}`);
  for (const [name, overrides] of [['point-nav', {}], ['cheetah-vel', cheetah]] as const) {
    const runs: TimedIteration[] = [];
    for (const w of workers) runs.push(await timeIteration('maml', name, overrides, w, 'wasm'));
    console.log(`| ${name} | ${batch(runs[0])} | ${runs.map((r) => s(r.seconds)).join(' | ')} | ${runs.slice(1).map((r) => `${(runs[0].seconds / r.seconds).toFixed(2)}×`).join(' | ')} |`);
  }
  console.log('\nThe worker counts run one after another on the same tasks and seeds (each iteration gives the same numbers for any count).');
}
