/**
 * A task-worker thread: its own tfjs backend, the task family, and the agent's shard side
 * (`definition.createShardWorker`), loaded by name. It answers the pool's requests one at
 * a time, in the order they come.
 *
 * @internal
 */
import { parentPort } from 'node:worker_threads';
import { shardWorkerFactory } from '../../agents/index.js';
import { MetarlError } from '../core/errors.js';
import { loadFamily } from '../core/registry.js';
import { initBackend } from '../nn/backend.js';
import { serializeError } from '../sampling/failure.js';
import { createSampler, createWatchedInlineSampler } from '../sampling/sampler.js';
import type { PoolToWorker, WorkerToPool } from './messages.js';
import type { ShardWorker } from './types.js';

const port = parentPort;
if (!port) throw new Error('src/workers/task-worker.ts is a worker_threads entry; createTaskPool() starts it');

let shard: ShardWorker | null = null;
// Requests are answered strictly in turn: a shard's state changes with each.
let queue: Promise<void> = Promise.resolve();

function post(message: WorkerToPool): void {
  port!.postMessage(message);
}

port.on('message', (message: PoolToWorker) => {
  queue = queue.then(() => (message.type === 'init' ? init(message) : call(message)));
});

async function init(message: Extract<PoolToWorker, { type: 'init' }>): Promise<void> {
  try {
    const { spec } = message;
    await initBackend(spec.backend);
    const createShardWorker = shardWorkerFactory(spec.agent);
    const family = await loadFamily(spec.family);
    const calls = message.calls;
    // The pool watches this thread's env calls and stops the thread on one that never returns.
    const sampler = calls
      ? createWatchedInlineSampler(family, { calls: new Int32Array(calls), row: message.index, announce: (job) => post({ type: 'job', job }) })
      : await createSampler({ family: spec.family, workers: 0, stepTimeoutMs: 0 });
    shard = await createShardWorker({ config: spec.config, family, familyRef: spec.family, sampler });
    post({ type: 'ready' });
  } catch (err) {
    post({ type: 'initFailed', error: serializeError(err) });
  }
}

async function call(message: Extract<PoolToWorker, { type: 'call' }>): Promise<void> {
  const { id } = message;
  try {
    if (!shard) throw new MetarlError('METARL_PROTOCOL', 'task worker got a request before it was ready');
    const result = await shard.handle(message.kind, message.request, (event) => post({ type: 'event', id, event }));
    post({ type: 'result', id, result });
  } catch (err) {
    post({ type: 'failed', id, error: serializeError(err) });
  }
}
