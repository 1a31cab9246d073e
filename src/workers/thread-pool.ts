/**
 * The pool of `--workers N`: N task-worker threads, lane i = thread i. A request goes to
 * its thread as a message and comes back as one; a worker that dies takes its lane's
 * request down with an error naming the worker, the request and the shard's tasks.
 *
 * @internal
 */
import type { Worker } from 'node:worker_threads';
import { MetarlError } from '../core/errors.js';
import { startModuleWorker } from '../core/threads.js';
import { heapLimitReached } from '../sampling/limits.js';
import { deserializeError, stepTimedOut } from '../sampling/failure.js';
import type { JobPlan } from '../sampling/messages.js';
import { CallWatch, callSite, createCallBlock, pollMs, type WatchedJob } from '../sampling/watchdog.js';
import type { PoolToWorker, WorkerToPool } from './messages.js';
import { withShardContext } from './shard-error.js';
import type { PoolSpec, RunOptions, ShardEvent, TaskPool } from './types.js';

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
  onEvent?: (event: ShardEvent) => void;
}

class TaskWorkerLink {
  readonly worker: Worker;
  death: MetarlError | null = null;
  /** The sampling job its env calls belong to, as the worker last announced it. */
  job: WatchedJob | null = null;
  private pending = new Map<number, Pending>();
  private ready: Pending | null = null;
  private closing = false;

  constructor(
    readonly index: number,
    spec: PoolSpec,
    memoryMb: number,
  ) {
    const entry = new URL(import.meta.url.endsWith('.ts') ? './task-worker.ts' : './task-worker.js', import.meta.url);
    this.worker = startModuleWorker(entry, [spec.family.module], { maxOldGenerationSizeMb: memoryMb });
    this.worker.on('message', (m: WorkerToPool) => this.receive(m));
    const die = (death: MetarlError) => {
      if (this.death || this.closing) return;
      this.death = death;
      for (const p of [this.ready, ...this.pending.values()]) p?.reject(death);
      this.pending.clear();
      this.ready = null;
    };
    this.worker.on('error', (err: Error & { code?: string }) =>
      die(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? heapLimitReached(spec.family.name, index, memoryMb, err, 'task') : this.unexpected(`crashed: ${err.message}`, err)),
    );
    this.worker.on('exit', (code) => die(this.unexpected(`exited unexpectedly with code ${code}`)));
  }

  start(spec: PoolSpec, calls: SharedArrayBuffer | null): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ready = { resolve: () => resolve(), reject };
      this.post({ type: 'init', spec, index: this.index, calls });
    });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Stops the worker, even mid-call in an env; its pending request and every later one reject with `reason`. */
  async kill(reason: MetarlError): Promise<void> {
    for (const p of [this.ready, ...this.pending.values()]) p?.reject(reason);
    this.pending.clear();
    this.ready = null;
    this.death ??= reason;
    this.closing = true;
    await this.worker.terminate();
  }

  call(id: number, kind: string, request: unknown, onEvent?: (event: ShardEvent) => void): Promise<unknown> {
    if (this.death) return Promise.reject(this.death);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      this.worker.ref();
      this.post({ type: 'call', id, kind, request });
    });
  }

  /** Ends the worker; a request still pending rejects (nothing else would ever settle it). */
  terminate(): Promise<void> {
    return this.kill(new MetarlError('METARL_DISPOSED', `task worker ${this.index} was terminated: the task pool is closed`, { worker: this.index }));
  }

  private post(message: PoolToWorker): void {
    this.worker.postMessage(message);
  }

  private receive(m: WorkerToPool): void {
    if (m.type === 'job') {
      this.job = m.job;
      return;
    }
    if (m.type === 'ready' || m.type === 'initFailed') {
      const ready = this.ready;
      this.ready = null;
      this.worker.unref();
      if (m.type === 'ready') ready?.resolve(undefined);
      else ready?.reject(deserializeError(m.error));
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'event') return p.onEvent?.(m.event);
    this.pending.delete(m.id);
    // Idle between requests, a worker must not keep the process alive (a forgotten close()).
    if (this.pending.size === 0) this.worker.unref();
    if (m.type === 'result') p.resolve(m.result);
    else p.reject(deserializeError(m.error));
  }

  private unexpected(why: string, cause?: unknown): MetarlError {
    return new MetarlError('METARL_WORKER_FAILED', `task worker ${this.index} ${why}; the pool cannot go on`, { worker: this.index }, { cause });
  }
}

export class ThreadPool implements TaskPool {
  private nextId = 0;
  private closed = false;
  private readonly watcher: ReturnType<typeof setInterval> | null = null;

  /** `calls`: every worker's env calls, one row each (null: calls may take forever). */
  private constructor(
    private readonly links: TaskWorkerLink[],
    calls: Int32Array | null,
    stepTimeoutMs: number,
    private readonly where: (worker: number) => string,
  ) {
    if (!calls) return;
    const watch = new CallWatch(calls, links.length, stepTimeoutMs);
    // Only a worker inside a request can be stuck; the timer never keeps the process alive.
    this.watcher = setInterval(() => {
      for (const row of watch.overdue(links.filter((l) => l.busy && l.job).map((l) => l.index))) {
        const link = links[row];
        const job = link.job!;
        const site = callSite(calls, row, job.family, { tasks: job.tasks, slotsPerTask: job.slotsPerTask } as JobPlan, new Int32Array(job.slotState));
        void link.kill(stepTimedOut(site, stepTimeoutMs, row, 'task'));
      }
    }, pollMs(stepTimeoutMs));
    this.watcher.unref();
  }

  get workers(): number {
    return this.links.length;
  }

  get lanes(): number {
    return this.links.length;
  }

  /**
   * Starts `count` workers; resolves once every one has its backend, family and agent loaded.
   * `where` names worker i in errors (a queue worker's threads say which machine they are on).
   */
  static async create(spec: PoolSpec, count: number, memoryMb: number, where = (worker: number) => `task worker ${worker}`): Promise<ThreadPool> {
    const links = Array.from({ length: count }, (_, i) => new TaskWorkerLink(i, spec, memoryMb));
    const calls = spec.stepTimeoutMs > 0 ? createCallBlock(count) : null;
    const pool = new ThreadPool(links, calls, spec.stepTimeoutMs, where);
    const started = await Promise.allSettled(links.map((l) => l.start(spec, calls ? (calls.buffer as SharedArrayBuffer) : null)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return pool;
  }

  async run(kind: string, requests: readonly unknown[], options: RunOptions = {}): Promise<unknown[]> {
    if (this.closed) throw new MetarlError('METARL_DISPOSED', 'task pool is closed');
    if (requests.length > this.lanes) throw new MetarlError('METARL_PROTOCOL', `task pool has ${this.lanes} lanes, got ${requests.length} requests`);
    const settled = await Promise.allSettled(requests.map((r, i) => this.links[i].call(this.nextId++, kind, r, options.onEvent)));
    const failure = settled.findIndex((s) => s.status === 'rejected');
    if (failure >= 0) throw withShardContext((settled[failure] as PromiseRejectedResult).reason, kind, options.describe?.(failure), this.where(failure));
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.watcher) clearInterval(this.watcher);
    await Promise.all(this.links.map((l) => l.terminate()));
  }
}
