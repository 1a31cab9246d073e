// `npm run bench -- queue`: one MAML and one RL² iteration (point-nav defaults, after a warm-up one)
// on 2 task-worker threads, then on 2 `metarl worker` processes (1 thread each) through a
// redis-server on loopback that the bench starts: the queue's overhead, and the learner's traffic
// per iteration. METARL_BENCH_BACKENDS picks the backend (default wasm); needs `redis-server`.
import { initBackend, type BackendName } from '../src/nn/backend.js';
import { startRedis, startWorker } from '../test/workers/queue-harness.js';
import { timeIteration, type TimedIteration } from './agent-iteration.js';

const s = (x: number) => x.toFixed(2);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

export default async function bench(): Promise<void> {
  if (!import.meta.url.endsWith('.ts')) {
    console.log('skipped: the queue bench starts workers from the TypeScript sources (run it from a checkout)');
    return;
  }
  const backend = (process.env.METARL_BENCH_BACKENDS ?? 'wasm').split(',')[0] as BackendName;
  await initBackend(backend, { log: () => {} });
  const redis = await startRedis();
  const workers = await Promise.all([startWorker(redis.url), startWorker(redis.url)]);
  try {
    console.log(`### One iteration: 2 threads vs 2 queue workers on loopback (${backend})\n`);
    console.log('| agent / family | 2 threads s | 2 queue workers s | queue / threads | jobs | learner → Redis | Redis → learner |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const agent of ['maml', 'rl2'] as const) {
      const threads: TimedIteration = await timeIteration(agent, 'point-nav', {}, 2, backend);
      const queued: TimedIteration = await timeIteration(agent, 'point-nav', {}, 2, backend, 1, redis.url);
      const t = queued.traffic!;
      console.log(`| ${agent === 'maml' ? 'MAML' : 'RL²'} / point-nav | ${s(threads.seconds)} | ${s(queued.seconds)} | ${(queued.seconds / threads.seconds).toFixed(3)} | ${t.jobs} | ${kb(t.sent)} | ${kb(t.received)} |`);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
  }
}
