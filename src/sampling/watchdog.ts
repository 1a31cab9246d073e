/**
 * Noticing an env call that never returns. The thread that calls an env records the
 * call in the call block (`layout.ts`) through a `CallTracker`; whoever watches reads
 * the block once a timeout has passed:
 *
 * - with worker threads, the main thread (`ThreadDriver`), which waits for them with
 *   `Atomics.waitAsync` and a timeout, then stops the stuck worker;
 * - with `workers: 0`, an `InlineWatchdog` thread, because the stuck call holds the main
 *   thread itself, and nothing in JavaScript can interrupt a thread from inside: the
 *   watchdog prints the error and ends the process.
 *
 * @internal
 */
import { Worker } from 'node:worker_threads';
import type { Task } from '../core/types.js';
import { CALL_KIND, CALL_SINCE_MS, CALL_SLOT, CALL_STRIDE, ENV_CALLS, SLOT_EPISODE, SLOT_STRIDE, SLOT_T } from './layout.js';
import type { EnvCall } from './layout.js';
import type { EnvCallSite } from './failure.js';
import type { JobPlan } from './messages.js';

/** Writes one thread's row of the call block around each env call (a few ns: no allocation, no syscall but the clock). */
export class CallTracker {
  private readonly base: number;

  constructor(
    private readonly calls: Int32Array,
    row: number,
    private readonly epochMs: number,
  ) {
    this.base = row * CALL_STRIDE;
  }

  enter(slot: number, call: EnvCall): void {
    Atomics.store(this.calls, this.base + CALL_KIND, ENV_CALLS.indexOf(call));
    Atomics.store(this.calls, this.base + CALL_SINCE_MS, Date.now() - this.epochMs);
    Atomics.store(this.calls, this.base + CALL_SLOT, slot);
  }

  leave(): void {
    Atomics.store(this.calls, this.base + CALL_SLOT, -1);
  }
}

export function createCallBlock(rows: number): Int32Array {
  const calls = new Int32Array(new SharedArrayBuffer(rows * CALL_STRIDE * 4));
  calls.fill(-1);
  return calls;
}

/** The rows whose thread has been inside one env call for `timeoutMs` or more, and how long until the next could be. */
export function overdueRows(calls: Int32Array, rows: readonly number[], epochMs: number, timeoutMs: number): { overdue: number[]; nextCheckMs: number } {
  const now = Date.now() - epochMs;
  const overdue: number[] = [];
  let nextCheckMs = timeoutMs;
  for (const row of rows) {
    if (Atomics.load(calls, row * CALL_STRIDE + CALL_SLOT) < 0) continue;
    const left = Atomics.load(calls, row * CALL_STRIDE + CALL_SINCE_MS) + timeoutMs - now;
    if (left <= 0) overdue.push(row);
    else nextCheckMs = Math.min(nextCheckMs, left);
  }
  return { overdue, nextCheckMs };
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
interface WatchedJob {
  family: string;
  tasks: Task[];
  slotsPerTask: number;
  slotState: SharedArrayBuffer;
  epochMs: number;
}

/**
 * The watchdog thread, as plain JavaScript: a TypeScript entry would need the tsx loader
 * in the thread, a second or more of start-up for every inline sampler. It cannot import
 * `failure.ts` either, so the first sentence of its message repeats `stepTimedOut`'s
 * (test/sampling/step-timeout.test.ts holds the two to the same text).
 */
const WATCHDOG_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { calls, timeoutMs, pollMs, layout } = workerData;
let job = null;
let slotState = null;
parentPort.on('message', (message) => {
  job = message;
  slotState = job && new Int32Array(job.slotState);
});
setInterval(() => {
  const slot = Atomics.load(calls, layout.CALL_SLOT);
  if (!job || slot < 0 || Date.now() - job.epochMs - Atomics.load(calls, layout.CALL_SINCE_MS) < timeoutMs) return;
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
    const layout = { CALL_SLOT, CALL_KIND, CALL_SINCE_MS, ENV_CALLS, SLOT_STRIDE, SLOT_EPISODE, SLOT_T };
    // Four looks per timeout: a stuck call is caught between 1 and 1.25 timeouts after it began.
    const pollMs = Math.max(10, Math.min(1000, timeoutMs / 4));
    this.worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { calls, timeoutMs, pollMs, layout } });
    this.worker.unref();
  }

  watch(job: WatchedJob | null): void {
    this.worker.postMessage(job);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
