/**
 * Noticing an env call that never returns. The thread that calls an env records the
 * call in the call block (`layout.ts`) through a `CallTracker`; whoever watches looks at
 * the block a few times per timeout (`pollMs`):
 *
 * - with worker threads, the main thread (`ThreadDriver`), whose `Atomics.waitAsync` on
 *   the workers takes that as its timeout; it stops the stuck worker;
 * - with `workers: 0`, an `InlineWatchdog` thread, because the stuck call holds the main
 *   thread itself, and nothing in JavaScript can interrupt a thread from inside: the
 *   watchdog prints the error and ends the process.
 *
 * @internal
 */
import { Worker } from 'node:worker_threads';
import type { Task } from '../core/types.js';
import { CALL_KIND, CALL_SEQ, CALL_SLOT, CALL_STRIDE, ENV_CALLS, SLOT_EPISODE, SLOT_STRIDE, SLOT_T } from './layout.js';
import type { EnvCall } from './layout.js';
import type { EnvCallSite } from './failure.js';
import type { JobPlan } from './messages.js';

/** Writes one thread's row of the call block around each env call (no clock, no allocation: a few atomic stores). */
export class CallTracker {
  private readonly base: number;

  constructor(
    private readonly calls: Int32Array,
    row: number,
  ) {
    this.base = row * CALL_STRIDE;
  }

  enter(slot: number, call: EnvCall): void {
    Atomics.store(this.calls, this.base + CALL_KIND, ENV_CALLS.indexOf(call));
    // In the shared cell, not a counter of this tracker's: a job's first call must not repeat the last number of the job before.
    Atomics.add(this.calls, this.base + CALL_SEQ, 1);
    Atomics.store(this.calls, this.base + CALL_SLOT, slot);
  }

  leave(): void {
    Atomics.store(this.calls, this.base + CALL_SLOT, -1);
  }
}

export function createCallBlock(rows: number): Int32Array {
  const calls = new Int32Array(new SharedArrayBuffer(rows * CALL_STRIDE * 4));
  for (let row = 0; row < rows; row++) calls[row * CALL_STRIDE + CALL_SLOT] = -1;
  return calls;
}

/** How often a watcher looks: four times a timeout, so a stuck call is named 1 to 1.5 timeouts after it began. */
export function pollMs(timeoutMs: number): number {
  return Math.max(10, Math.min(1000, timeoutMs / 4));
}

/**
 * Times the env calls of the call block's rows with the watcher's own monotonic clock: a
 * row found inside the same call (same `CALL_SEQ`) for `timeoutMs` is overdue. No thread's
 * wall clock is involved, so a laptop's suspend (the wall clock jumps, the monotonic one
 * stands still) does not fail a call that was only paused.
 */
export class CallWatch {
  private readonly seenSeq: Int32Array;
  /** When each row was first seen in its current call; −1 when it was last seen between calls. */
  private readonly seenAt: Float64Array;

  constructor(
    private readonly calls: Int32Array,
    rows: number,
    readonly timeoutMs: number,
  ) {
    this.seenSeq = new Int32Array(rows);
    this.seenAt = new Float64Array(rows).fill(-1);
  }

  overdue(rows: readonly number[]): number[] {
    const now = performance.now();
    const overdue: number[] = [];
    for (const row of rows) {
      if (Atomics.load(this.calls, row * CALL_STRIDE + CALL_SLOT) < 0) {
        this.seenAt[row] = -1;
        continue;
      }
      const seq = Atomics.load(this.calls, row * CALL_STRIDE + CALL_SEQ);
      if (this.seenAt[row] < 0 || this.seenSeq[row] !== seq) {
        this.seenSeq[row] = seq;
        this.seenAt[row] = now;
      } else if (now - this.seenAt[row] >= this.timeoutMs) overdue.push(row);
    }
    return overdue;
  }
}

/** The call a row is inside, with the slot's episode and step read from the job's slot state. */
export function callSite(calls: Int32Array, row: number, family: string, plan: JobPlan, slotState: Int32Array): EnvCallSite {
  const slot = Atomics.load(calls, row * CALL_STRIDE + CALL_SLOT);
  const call = ENV_CALLS[Atomics.load(calls, row * CALL_STRIDE + CALL_KIND)];
  const task = plan.tasks[Math.floor(slot / plan.slotsPerTask)];
  const episode = slotState[slot * SLOT_STRIDE + SLOT_EPISODE];
  // A reset comes after the slot state moved on to the new episode; makeEnv and scene come before any step.
  const step = call === 'step' || call === 'frame' ? slotState[slot * SLOT_STRIDE + SLOT_T] : -1;
  return { family, task, slot, episode, step, call };
}

/** What the inline watchdog needs of a job to name its stuck call. */
export interface WatchedJob {
  family: string;
  tasks: Task[];
  slotsPerTask: number;
  slotState: SharedArrayBuffer;
}

/**
 * The watchdog thread, as plain JavaScript: a TypeScript entry would need the tsx loader
 * in the thread, a second or more of start-up for every inline sampler. It cannot import
 * `CallWatch` or `failure.ts` either, so it repeats `CallWatch.overdue` for its one row,
 * and the first sentence of `stepTimedOut`'s message (test/sampling/step-timeout.test.ts
 * holds the two messages to the same text).
 */
const WATCHDOG_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { calls, timeoutMs, pollMs, layout } = workerData;
let job = null;
let slotState = null;
let seenSeq = 0;
let seenAt = -1;
parentPort.on('message', (message) => {
  job = message;
  slotState = job && new Int32Array(job.slotState);
});
setInterval(() => {
  const slot = Atomics.load(calls, layout.CALL_SLOT);
  if (!job || slot < 0) {
    seenAt = -1;
    return;
  }
  const now = performance.now();
  const seq = Atomics.load(calls, layout.CALL_SEQ);
  if (seenAt < 0 || seq !== seenSeq) {
    seenSeq = seq;
    seenAt = now;
    return;
  }
  if (now - seenAt < timeoutMs) return;
  const call = layout.ENV_CALLS[Atomics.load(calls, layout.CALL_KIND)];
  const task = job.tasks[Math.floor(slot / job.slotsPerTask)];
  const episode = slotState[slot * layout.SLOT_STRIDE + layout.SLOT_EPISODE];
  const step = call === 'step' || call === 'frame' ? slotState[slot * layout.SLOT_STRIDE + layout.SLOT_T] : -1;
  const at = step < 0 ? 'before its first step' : 'at step ' + step;
  writeSync(2,
    'error [METARL_STEP_TIMEOUT]: env \\'' + job.family + '\\' did not return from ' + call + '() within ' + timeoutMs / 1000 + ' s at slot ' + slot +
    ', episode ' + episode + ', ' + at + ' (task ' + JSON.stringify(task) + ') on the main thread (workers: 0), where nothing can stop it, ' +
    'so the process is ended. Look for an endless loop or a blocking wait in the env; with worker threads the sampler stops only the stuck worker\\n');
  process.kill(process.pid, 'SIGKILL');
}, pollMs);
`;

/**
 * A thread that ends the process when the main thread has been inside one env call for the
 * timeout. Started with the inline sampler and unref'd, so it never keeps a process alive.
 */
export class InlineWatchdog {
  private readonly worker: Worker;

  constructor(calls: Int32Array, timeoutMs: number) {
    const layout = { CALL_SLOT, CALL_KIND, CALL_SEQ, ENV_CALLS, SLOT_STRIDE, SLOT_EPISODE, SLOT_T };
    this.worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { calls, timeoutMs, pollMs: pollMs(timeoutMs), layout } });
    this.worker.unref();
  }

  watch(job: WatchedJob | null): void {
    this.worker.postMessage(job);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
