/**
 * One sampler worker as the main thread sees it: how it is started (from
 * TypeScript source or compiled JavaScript), an inbox of its messages, and the
 * news of its death.
 *
 * @internal
 */
import type { Worker } from 'node:worker_threads';
import { MetarlError } from '../core/errors.js';
import { startModuleWorker } from '../core/threads.js';
import type { FamilyRef } from '../core/registry.js';
import { heapLimitReached } from './limits.js';
import type { MainToWorker, WorkerToMain } from './messages.js';

export class WorkerLink {
  readonly worker: Worker;
  /** Why the worker is gone, once it is (an unexpected exit, an uncaught error, or `kill`). */
  death: MetarlError | null = null;
  private readonly inbox: WorkerToMain[] = [];
  private waiter: (() => void) | null = null;
  private closing = false;

  constructor(
    readonly index: number,
    family: FamilyRef,
    memoryMb: number,
    onDeath: (link: WorkerLink) => void,
  ) {
    const entry = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
    this.worker = startModuleWorker(entry, [family.module], { maxOldGenerationSizeMb: memoryMb });
    this.worker.on('message', (message: WorkerToMain) => {
      this.inbox.push(message);
      this.wake();
    });
    const die = (death: MetarlError) => {
      if (this.death || this.closing) return;
      this.death = death;
      this.wake();
      onDeath(this);
    };
    const unexpected = (why: string, cause?: unknown) =>
      new MetarlError('METARL_ENV_FAILED', `sampler worker ${index} ${why}; the sampler cannot go on: close() it and create a new one`, { worker: index }, { cause });
    this.worker.on('error', (err: Error & { code?: string }) =>
      die(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? heapLimitReached(family.name, index, memoryMb, err) : unexpected(`crashed: ${err.message}`, err)),
    );
    this.worker.on('exit', (code) => die(unexpected(`exited unexpectedly with code ${code}`)));
  }

  post(message: MainToWorker): void {
    this.worker.postMessage(message);
  }

  /** The next message from the worker; rejects once the worker has died. */
  async receive(): Promise<WorkerToMain> {
    for (;;) {
      const next = await this.receiveWithin(Infinity);
      if (next) return next;
    }
  }

  /** The next message, or null when none came within `ms`; rejects once the worker has died. */
  async receiveWithin(ms: number): Promise<WorkerToMain | null> {
    const next = this.inbox.shift();
    if (next) return next;
    if (this.death) throw this.death;
    await new Promise<void>((resolve) => {
      // setTimeout would take Infinity for 1 ms.
      const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : null;
      this.waiter = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
    this.waiter = null;
    const arrived = this.inbox.shift();
    if (arrived) return arrived;
    if (this.death) throw this.death;
    return null;
  }

  /** Lets the process exit while the worker idles between jobs (a forgotten close() must not hang it). */
  hold(held: boolean): void {
    if (held) this.worker.ref();
    else this.worker.unref();
  }

  async terminate(): Promise<void> {
    await this.kill(new MetarlError('METARL_DISPOSED', `sampler worker ${this.index} was terminated: the sampler is closed`, { worker: this.index }));
  }

  /** Stops the worker, even mid-call in an env; from then on `receive()` rejects with `reason`. */
  async kill(reason: MetarlError): Promise<void> {
    this.closing = true;
    this.death ??= reason;
    this.wake();
    await this.worker.terminate();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
