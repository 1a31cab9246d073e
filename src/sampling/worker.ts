/**
 * A sampler worker thread. Idle, it waits for messages (`messages.ts`); given a
 * job, it makes the envs of its slot range, then runs a blocking loop on the
 * control block (`layout.ts`): sleep in `Atomics.wait` until the main thread bumps
 * `CTRL_GO_SEQ`, run the command, decrement `CTRL_REMAINING`. Blocking is right
 * here: the thread has nothing else to do mid-job, and it wakes in microseconds.
 *
 * @internal
 */
import { parentPort } from 'node:worker_threads';
import { loadFamily } from '../core/registry.js';
import type { TaskFamily } from '../core/types.js';
import { CMD_STEP, CTRL_COMMAND, CTRL_FAILED, CTRL_GO_SEQ, CTRL_REMAINING, viewJobBuffers } from './layout.js';
import type { MainToWorker, WorkerToMain } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import { serializeError } from './failure.js';
import { ArrayBufferGuard } from './limits.js';
import { SlotRunner } from './slot-runner.js';
import { CallTracker } from './watchdog.js';

const port = parentPort;
if (!port) throw new Error('src/sampling/worker.ts is a worker_threads entry; createSampler() starts it');

let family: TaskFamily | null = null;
let ctrl: Int32Array | null = null;
let calls: Int32Array | null = null;
let workerIndex = 0;
let memory: ArrayBufferGuard | null = null;

function post(message: WorkerToMain): void {
  port!.postMessage(message);
}

port.on('message', (message: MainToWorker) => {
  if (message.version !== PROTOCOL_VERSION) {
    const error = {
      code: 'METARL_PROTOCOL' as const,
      message: `sampler worker speaks protocol v${PROTOCOL_VERSION}, got v${String(message.version)}: the main thread and the worker come from different metarl builds`,
      details: {},
    };
    if (message.type === 'job') {
      post({ type: 'failed', version: PROTOCOL_VERSION, jobId: message.jobId, error });
      post({ type: 'jobDone', version: PROTOCOL_VERSION, jobId: message.jobId, infoKeys: [], infoSums: [] });
    } else post({ type: 'initFailed', version: PROTOCOL_VERSION, error });
    return;
  }
  if (message.type === 'init') void init(message);
  else runJob(message);
});

async function init(message: Extract<MainToWorker, { type: 'init' }>): Promise<void> {
  try {
    ctrl = new Int32Array(message.ctrl);
    calls = new Int32Array(message.calls);
    workerIndex = message.workerIndex;
    family = await loadFamily(message.family);
    memory = new ArrayBufferGuard(message.memoryMb, family.name, workerIndex);
    post({ type: 'ready', version: PROTOCOL_VERSION, spec: family.spec, familyName: family.name });
  } catch (err) {
    post({ type: 'initFailed', version: PROTOCOL_VERSION, error: serializeError(err) });
  }
}

function runJob(message: Extract<MainToWorker, { type: 'job' }>): void {
  const c = ctrl!;
  const { jobId } = message;
  // Read before announcing readiness: the main thread bumps the seq only after every worker is ready.
  let seen = Atomics.load(c, CTRL_GO_SEQ);
  const { slotBegin, slotEnd } = message;
  const tracker = new CallTracker(calls!, workerIndex);
  const runner = new SlotRunner(family!, message.plan, viewJobBuffers(message.buffers), slotBegin, slotEnd, tracker);
  let failed = false;
  const fail = (err: unknown) => {
    failed = true;
    // The message goes first, so the main thread, woken by the flag, always finds it on its way.
    post({ type: 'failed', version: PROTOCOL_VERSION, jobId, error: serializeError(err) });
    Atomics.store(c, CTRL_FAILED, 1);
  };
  try {
    post({ type: 'jobReady', version: PROTOCOL_VERSION, jobId, scenes: runner.start() });
  } catch (err) {
    fail(err);
  }
  let command: number;
  for (;;) {
    // Node's Atomics.wait can return 'ok' with the seq unchanged (seen a few times a second under CPU
    // contention); taking that for a command stepped twice on one action and made a neighbour miss a step.
    while (Atomics.load(c, CTRL_GO_SEQ) === seen) Atomics.wait(c, CTRL_GO_SEQ, seen);
    seen = Atomics.load(c, CTRL_GO_SEQ);
    command = Atomics.load(c, CTRL_COMMAND);
    if (command !== CMD_STEP) break;
    if (!failed) {
      try {
        runner.step();
        memory!.check(slotBegin, slotEnd);
      } catch (err) {
        fail(err);
      }
    }
    if (Atomics.sub(c, CTRL_REMAINING, 1) === 1) Atomics.notify(c, CTRL_REMAINING);
  }
  const { keys, sums } = runner.info();
  runner.dispose();
  post({ type: 'jobDone', version: PROTOCOL_VERSION, jobId, infoKeys: keys, infoSums: sums });
}
