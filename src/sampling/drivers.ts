/**
 * How a job's env steps get done: `InlineDriver` runs one `SlotRunner` over all
 * slots on the calling thread; `ThreadDriver` splits the slots into contiguous
 * ranges over worker threads and drives them through the control block. The
 * sampler's loop is the same over either.
 *
 * @internal
 */
import { MetarlError } from '../core/errors.js';
import type { FamilyRef } from '../core/registry.js';
import type { EnvSpec, TaskFamily } from '../core/types.js';
import type { SceneDescription } from '../core/scene.js';
import {
  CMD_END,
  CMD_QUIT,
  CMD_STEP,
  CTRL_COMMAND,
  CTRL_FAILED,
  CTRL_GO_SEQ,
  CTRL_INTS,
  CTRL_REMAINING,
} from './layout.js';
import type { JobBuffers, JobViews } from './layout.js';
import type { JobPlan, WorkerToMain } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import { deserializeError, stepTimedOut } from './failure.js';
import { SlotRunner } from './slot-runner.js';
import { CallTracker, CallWatch, InlineWatchdog, callSite, createCallBlock, pollMs, type WatchedJob } from './watchdog.js';
import { WorkerLink } from './worker-link.js';

export type Scenes = Array<{ slot: number; scene: SceneDescription }>;

/** Per info key, sums over [slots, episodes]. */
export type InfoSums = Record<string, Float32Array>;

export interface JobDriver {
  /** Makes every slot's env and resets its first episode; the watched scenes, by slot. */
  start(plan: JobPlan, buffers: JobBuffers, views: JobViews): Promise<Scenes>;
  /** Steps every active slot once. On an env failure, ends the job and throws the env's error. */
  step(): Promise<void> | void;
  /** Ends the job (idempotent): collects the info sums and disposes every env. */
  end(): Promise<InfoSums>;
  close(): Promise<void>;
}

/** Writes a range's float64 sums into the job-wide float32 arrays. */
function mergeInfo(out: InfoSums, keys: string[], sums: Float64Array[], cellBegin: number, cellCount: number): void {
  keys.forEach((key, k) => {
    const dst = (out[key] ??= new Float32Array(cellCount));
    const src = sums[k];
    for (let i = 0; i < src.length; i++) dst[cellBegin + i] = src[i];
  });
}

/**
 * Another thread that watches an inline sampler's env calls: the sampler records them in row
 * `row` of `calls` and announces each job, so that the watcher can name a stuck call. A task
 * worker's sampler is watched so by the pool on the main thread, which stops the worker.
 */
export interface ExternalCallWatch {
  calls: Int32Array;
  row: number;
  announce(job: WatchedJob | null): void;
}

export class InlineDriver implements JobDriver {
  private runner: SlotRunner | null = null;
  private slots = 0;
  private episodes = 0;
  private readonly calls: Int32Array;
  private readonly row: number;
  private readonly watchdog: Pick<InlineWatchdog, 'watch' | 'close'> | null;

  /** `stepTimeoutMs` 0 and no `external` watcher: no watchdog at all. */
  constructor(
    private readonly family: TaskFamily,
    stepTimeoutMs: number,
    external?: ExternalCallWatch,
  ) {
    this.calls = external?.calls ?? createCallBlock(1);
    this.row = external?.row ?? 0;
    if (external) this.watchdog = { watch: (job) => external.announce(job), close: async () => {} };
    else this.watchdog = stepTimeoutMs > 0 ? new InlineWatchdog(this.calls, stepTimeoutMs) : null;
  }

  async start(plan: JobPlan, buffers: JobBuffers, views: JobViews): Promise<Scenes> {
    this.slots = plan.tasks.length * plan.slotsPerTask;
    this.episodes = plan.episodes;
    this.watchdog?.watch({ family: this.family.name, tasks: plan.tasks, slotsPerTask: plan.slotsPerTask, slotState: buffers.slotState });
    this.runner = new SlotRunner(this.family, plan, views, 0, this.slots, new CallTracker(this.calls, this.row));
    return this.runner.start();
  }

  step(): void {
    this.runner!.step();
  }

  async end(): Promise<InfoSums> {
    const runner = this.runner;
    this.runner = null;
    const out: InfoSums = {};
    if (!runner) return out;
    this.watchdog?.watch(null);
    const { keys, sums } = runner.info();
    runner.dispose();
    mergeInfo(out, keys, sums, 0, this.slots * this.episodes);
    return out;
  }

  async close(): Promise<void> {
    this.runner?.dispose();
    this.runner = null;
    await this.watchdog?.close();
  }
}

type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number) => { async: boolean; value: Promise<string> | string };
// In Node since 16 but typed only from lib ES2024; the project compiles against ES2023.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** How a `ThreadDriver` watches its workers. */
export interface ThreadLimits {
  /** How long one env call may take before its worker is stopped; 0 = forever. */
  stepTimeoutMs: number;
  /** Each worker's JS heap limit, and the most ArrayBuffer memory its envs may hold. */
  workerMemoryMb: number;
}

export class ThreadDriver implements JobDriver {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
  private readonly calls: Int32Array;
  /** Null when calls may take forever (`stepTimeoutMs` 0). */
  private readonly watch: CallWatch | null;
  private jobLinks: Array<{ link: WorkerLink; slotBegin: number; slotEnd: number }> = [];
  private jobId = 0;
  private inJob = false;
  private episodes = 0;
  private slots = 0;
  private closed = false;
  private familyName = '';
  private plan: JobPlan | null = null;
  private slotState: Int32Array = new Int32Array(0);

  private constructor(
    private readonly links: WorkerLink[],
    stepTimeoutMs: number,
  ) {
    this.calls = createCallBlock(links.length);
    this.watch = stepTimeoutMs > 0 ? new CallWatch(this.calls, links.length, stepTimeoutMs) : null;
  }

  /** Starts `count` workers, each loading the family; resolves with the family's spec once all are ready. */
  static async create(family: FamilyRef, count: number, limits: ThreadLimits): Promise<{ driver: ThreadDriver; spec: EnvSpec; familyName: string }> {
    const links: WorkerLink[] = [];
    // A worker dying mid-step must wake the main thread, which sleeps on CTRL_REMAINING.
    const onDeath = () => driver.abortWait();
    for (let i = 0; i < count; i++) links.push(new WorkerLink(i, family, limits.workerMemoryMb, onDeath));
    const driver = new ThreadDriver(links, limits.stepTimeoutMs);
    try {
      let spec: EnvSpec | null = null;
      driver.familyName = family.name;
      for (const link of links) {
        link.post({
          type: 'init',
          version: PROTOCOL_VERSION,
          family,
          ctrl: driver.ctrl.buffer as SharedArrayBuffer,
          calls: driver.calls.buffer as SharedArrayBuffer,
          workerIndex: link.index,
          memoryMb: limits.workerMemoryMb,
        });
      }
      for (const link of links) {
        const reply = await link.receive();
        if (reply.type === 'initFailed') throw deserializeError(reply.error);
        if (reply.type !== 'ready') throw new MetarlError('METARL_PROTOCOL', `sampler worker ${link.index} answered init with '${reply.type}'`);
        spec = reply.spec;
        driver.familyName = reply.familyName;
        link.hold(false);
      }
      return { driver, spec: spec!, familyName: driver.familyName };
    } catch (err) {
      await driver.close();
      throw err;
    }
  }

  async start(plan: JobPlan, buffers: JobBuffers, views: JobViews): Promise<Scenes> {
    const S = plan.tasks.length * plan.slotsPerTask;
    const W = this.links.length;
    this.slots = S;
    this.episodes = plan.episodes;
    this.plan = plan;
    this.slotState = views.slotState;
    this.jobId++;
    // Contiguous, as even as integers allow; a worker with no slots sits the job out.
    this.jobLinks = this.links
      .map((link, w) => ({ link, slotBegin: Math.floor((w * S) / W), slotEnd: Math.floor(((w + 1) * S) / W) }))
      .filter((r) => r.slotEnd > r.slotBegin);
    Atomics.store(this.ctrl, CTRL_FAILED, 0);
    this.inJob = true;
    for (const { link, slotBegin, slotEnd } of this.jobLinks) {
      link.hold(true);
      link.post({ type: 'job', version: PROTOCOL_VERSION, jobId: this.jobId, plan, buffers, slotBegin, slotEnd });
    }
    const scenes: Scenes = [];
    let error: unknown = null;
    for (const { link } of this.jobLinks) {
      try {
        const reply = await this.receiveWatched(link);
        if (reply.type === 'jobReady') scenes.push(...reply.scenes);
        else if (reply.type === 'failed') error ??= deserializeError(reply.error);
        else error ??= new MetarlError('METARL_PROTOCOL', `sampler worker ${link.index} answered a job with '${reply.type}'`);
      } catch (err) {
        error ??= err;
      }
    }
    if (error) {
      await this.end();
      throw error;
    }
    return scenes.sort((a, b) => a.slot - b.slot);
  }

  async step(): Promise<void> {
    const c = this.ctrl;
    Atomics.store(c, CTRL_COMMAND, CMD_STEP);
    Atomics.store(c, CTRL_REMAINING, this.jobLinks.length);
    Atomics.add(c, CTRL_GO_SEQ, 1);
    Atomics.notify(c, CTRL_GO_SEQ);
    const waitMs = this.watch ? pollMs(this.watch.timeoutMs) : undefined;
    for (;;) {
      const remaining = Atomics.load(c, CTRL_REMAINING);
      if (remaining <= 0) break;
      const wait = waitAsync(c, CTRL_REMAINING, remaining, waitMs);
      if ((wait.async ? await wait.value : wait.value) !== 'timed-out') continue;
      const stuck = await this.stopOverdue();
      if (stuck) {
        await this.end().catch(() => undefined); // the other workers dispose of their envs
        throw stuck;
      }
    }
    if (Atomics.load(c, CTRL_FAILED) !== 0) {
      await this.end(); // throws the worker's error, or DISPOSED when close() woke us
      throw new MetarlError('METARL_PROTOCOL', 'a sampler worker flagged a failure but reported none');
    }
  }

  /** Ends the job; resolves with the info sums, or rejects with the first failure a worker reported. */
  async end(): Promise<InfoSums> {
    if (!this.inJob) return {};
    this.inJob = false;
    if (this.closed) throw new MetarlError('METARL_DISPOSED', 'the sampler was closed while sampling');
    const c = this.ctrl;
    Atomics.store(c, CTRL_COMMAND, CMD_END);
    Atomics.add(c, CTRL_GO_SEQ, 1);
    Atomics.notify(c, CTRL_GO_SEQ);
    const out: InfoSums = {};
    let error: unknown = null;
    for (const { link, slotBegin } of this.jobLinks) {
      try {
        for (;;) {
          const reply = await link.receive();
          if (reply.type === 'failed') error ??= deserializeError(reply.error);
          if (reply.type !== 'jobDone') continue;
          mergeInfo(out, reply.infoKeys, reply.infoSums, slotBegin * this.episodes, this.slots * this.episodes);
          break;
        }
      } catch (err) {
        error ??= err;
      }
      link.hold(false);
    }
    if (error) throw error;
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = this.ctrl;
    // Workers blocked mid-job wake to QUIT; a main thread waiting on a step wakes to the failed flag.
    Atomics.store(c, CTRL_COMMAND, CMD_QUIT);
    Atomics.add(c, CTRL_GO_SEQ, 1);
    Atomics.notify(c, CTRL_GO_SEQ);
    this.abortWait();
    await Promise.all(this.links.map((link) => link.terminate()));
  }

  /** A job's start (makeEnv, reset) is watched like its steps. */
  private async receiveWatched(link: WorkerLink): Promise<WorkerToMain> {
    if (!this.watch) return link.receive();
    for (;;) {
      const message = await link.receiveWithin(pollMs(this.watch.timeoutMs));
      if (message) return message;
      const stuck = await this.stopOverdue();
      if (stuck) throw stuck;
    }
  }

  /**
   * Stops every worker that has been inside one env call for the step timeout; returns the
   * METARL_STEP_TIMEOUT of the first (a stopped worker's `receive()` rejects with its own),
   * or null when none has.
   */
  private async stopOverdue(): Promise<MetarlError | null> {
    const watch = this.watch!;
    // A worker stopped earlier is still marked inside its call: it is not overdue again.
    const rows = this.jobLinks.filter(({ link }) => !link.death).map(({ link }) => link.index);
    const overdue = watch.overdue(rows);
    if (overdue.length === 0) return null;
    const errors = overdue.map((w) => stepTimedOut(callSite(this.calls, w, this.familyName, this.plan!, this.slotState), watch.timeoutMs, w));
    await Promise.all(overdue.map((w, i) => this.links[w].kill(errors[i])));
    return errors[0];
  }

  private abortWait(): void {
    Atomics.store(this.ctrl, CTRL_FAILED, 1);
    Atomics.store(this.ctrl, CTRL_REMAINING, 0);
    Atomics.notify(this.ctrl, CTRL_REMAINING);
  }
}
