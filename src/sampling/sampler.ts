/**
 * The vectorised sampler: steps `tasks × slotsPerTask` env slots side by side and
 * asks the policy for all their actions in one call per step.
 *
 * Per step: policy.act(input) on this thread → actions copied into the shared
 * action buffer → every slot steps (on the workers, or inline) → hooks. The envs'
 * observations, flags and the batch are written in place in shared memory
 * (`layout.ts`), so nothing is copied or posted per step, and this thread awaits
 * the workers with `Atomics.waitAsync`: its event loop (a WebSocket server, say)
 * keeps running while they step.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { MetarlError } from '../core/errors.js';
import { POSE_STRIDE } from '../core/scene.js';
import { loadFamily } from '../core/registry.js';
import type { EnvSpec, TaskFamily } from '../core/types.js';
import { SLOT_EPISODE, SLOT_STRIDE, SLOT_T, allocateJobBuffers, viewJobBuffers } from './layout.js';
import type { JobShape, JobViews } from './layout.js';
import type { JobPlan } from './messages.js';
import { DEFAULT_STEP_TIMEOUT_MS, assertJobFits, defaultWorkerMemoryMb } from './limits.js';
import { InlineDriver, ThreadDriver } from './drivers.js';
import type { ExternalCallWatch, JobDriver } from './drivers.js';
import type { Batch, FrameEvent, SampleHooks, SampleJob, Sampler, SamplerOptions, StepInput, VectorPolicy } from './types.js';
import { letEventLoopRun } from '../core/event-loop.js';

const YIELD_EVERY_MS = 20;

const SamplerOptionsSchema = z.object({
  family: z.object({
    name: z.string().min(1).describe('registry name of the task family'),
    module: z.string().min(1).describe('file: URL of the module that default-exports the family'),
  }),
  workers: z.number().int().min(0).max(1024).optional().describe('worker threads; 0 steps every env on the calling thread; default one per core'),
  stepTimeoutMs: z
    .number()
    .min(0)
    .max(2 ** 31 - 1) // Node's timers and the call block's int32 times end there (24.8 days)
    .optional()
    .describe('ms one env call may take before the sampling fails with METARL_STEP_TIMEOUT; 0 = no limit; default 60 000'),
  workerMemoryMb: z.number().int().min(16).optional().describe("MB of JS heap, and again of typed arrays, each worker's envs may hold; default a share of the machine's memory"),
});

const SampleJobSchema = z.object({
  tasks: z.array(z.record(z.string(), z.unknown())).min(1).describe('tasks, as the family samples them'),
  slotsPerTask: z.number().int().min(1).describe('env slots per task'),
  episodesPerSlot: z.number().int().min(1).describe('consecutive episodes per slot (an RL² trial)'),
  horizon: z.number().int().min(1).optional().describe("steps per episode at most; default the family's horizon"),
  seed: z.number().int().describe('seeds every reset (32 bits are used)'),
  watchSlots: z.array(z.number().int().min(0)).optional().describe('slots whose poses stream to onFrame'),
});

function invalid(what: string, error: z.ZodError): MetarlError {
  return new MetarlError('METARL_CONFIG_INVALID', `invalid ${what}:\n${z.prettifyError(error)}`, { issues: error.issues });
}

/**
 * Starts a sampler for one task family: `options.workers` threads (default one per
 * core, `os.availableParallelism()`), each loading the family from its `FamilyRef`;
 * `workers: 0` loads it here and steps inline. Close it when done.
 */
export async function createSampler(options: SamplerOptions): Promise<Sampler> {
  const parsed = SamplerOptionsSchema.safeParse(options);
  if (!parsed.success) throw invalid('sampler options', parsed.error);
  const workers = options.workers ?? availableParallelism();
  const stepTimeoutMs = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  if (workers === 0) {
    const family = await loadFamily(options.family);
    return new VectorSampler(0, new InlineDriver(family, stepTimeoutMs), family.spec, family.name);
  }
  const workerMemoryMb = options.workerMemoryMb ?? defaultWorkerMemoryMb(workers);
  const { driver, spec, familyName } = await ThreadDriver.create(options.family, workers, { stepTimeoutMs, workerMemoryMb });
  return new VectorSampler(workers, driver, spec, familyName);
}

/**
 * An inline sampler (envs stepped on the calling thread) whose env calls another thread
 * watches through `watch`: a task worker's, watched by its pool. @internal
 */
export function createWatchedInlineSampler(family: TaskFamily, watch: ExternalCallWatch): Sampler {
  return new VectorSampler(0, new InlineDriver(family, 0, watch), family.spec, family.name);
}

class VectorSampler implements Sampler {
  private busy = false;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(
    readonly workers: number,
    private readonly driver: JobDriver,
    private readonly spec: EnvSpec,
    private readonly familyName: string,
  ) {}

  async sample(job: SampleJob, policy: VectorPolicy, hooks: SampleHooks = {}): Promise<Batch> {
    if (this.closed) throw new MetarlError('METARL_DISPOSED', `sampler for '${this.familyName}' is closed: create a new one with createSampler()`);
    if (this.busy) {
      throw new MetarlError('METARL_PROTOCOL', `sampler for '${this.familyName}' is already sampling: await the previous sample() before starting another`);
    }
    const plan = this.plan(job);
    const S = plan.tasks.length * plan.slotsPerTask;
    const shape: JobShape = {
      slots: S,
      episodes: plan.episodes,
      horizon: plan.horizon,
      obsSize: this.spec.obsSize,
      actSize: this.spec.actSize,
      watchCount: plan.watchSlots.length,
      bodyCount: this.spec.bodyCount,
    };
    assertJobFits(
      shape,
      `a sampling job of '${this.familyName}'`,
      'sample fewer tasks or fewer slots per task (in training: a smaller --meta-batch-size, or fewer episodes or trials per task)',
    );
    const buffers = allocateJobBuffers(shape);
    const views = viewJobBuffers(buffers);
    this.busy = true;
    try {
      const scenes = await this.driver.start(plan, buffers, views);
      for (const { slot, scene } of scenes) hooks.onScene?.(slot, scene);
      await this.loop(plan, shape, views, policy, hooks);
      const infoSums = await this.driver.end();
      let envSteps = 0;
      for (let i = 0; i < views.lengths.length; i++) envSteps += views.lengths[i];
      return {
        slots: S,
        episodes: plan.episodes,
        horizon: plan.horizon,
        obsSize: shape.obsSize,
        actSize: shape.actSize,
        slotsPerTask: plan.slotsPerTask,
        tasks: plan.tasks,
        obs: views.batchObs,
        actions: views.batchActions,
        rewards: views.batchRewards,
        lengths: views.lengths,
        terminated: views.terminated,
        returns: views.returns,
        finalObs: views.batchFinalObs,
        infoSums,
        envSteps,
      };
    } finally {
      // After a failure this disposes the envs; a second end() (or one after close) is a no-op.
      await this.driver.end().catch(() => undefined);
      this.busy = false;
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.driver.close();
    return this.closing;
  }

  /** The step loop: one `policy.act` per step until every slot has run all its episodes. */
  private async loop(plan: JobPlan, shape: JobShape, v: JobViews, policy: VectorPolicy, hooks: SampleHooks): Promise<void> {
    const { slots: S, actSize: A, episodes: E, horizon: H } = shape;
    const input: StepInput = {
      obs: v.obs,
      prevAction: v.prevAction,
      prevReward: v.prevReward,
      prevDone: v.prevDone,
      trialStart: v.trialStart,
      active: v.active,
      step: 0,
    };
    const watch = hooks.onFrame ? plan.watchSlots : [];
    const watchEpisode = new Int32Array(watch.length);
    const watchT = new Int32Array(watch.length);
    const watchActive = new Uint8Array(watch.length);
    const poseFloats = this.spec.bodyCount * POSE_STRIDE;
    const frame: FrameEvent = { slot: 0, episode: 0, t: 0, poses: v.poses, reward: 0 };
    const poseRows = watch.map((_, i) => v.poses.subarray(i * poseFloats, (i + 1) * poseFloats));
    const episodeSeen = hooks.onEpisodeEnd ? new Int32Array(S) : null;
    // Stepping on this thread starves the event loop (a viewer's HTTP and WebSocket traffic),
    // so the inline sampler lets it run every YIELD_EVERY_MS; workers leave it free anyway.
    let lastYield = performance.now();
    // Every slot ends within E × H steps; the bound turns a bookkeeping bug into an error, not a hang.
    for (let step = 0; step < E * H; step++) {
      if (this.workers === 0 && performance.now() - lastYield > YIELD_EVERY_MS) {
        await letEventLoopRun();
        lastYield = performance.now();
      }
      input.step = step;
      const actions = await policy.act(input);
      if (this.closed) throw new MetarlError('METARL_DISPOSED', 'the sampler was closed while sampling');
      this.takeActions(actions, v, S, A, step);
      for (let i = 0; i < watch.length; i++) {
        const s = watch[i];
        watchActive[i] = v.active[s];
        watchEpisode[i] = v.slotState[s * SLOT_STRIDE + SLOT_EPISODE];
        watchT[i] = v.slotState[s * SLOT_STRIDE + SLOT_T];
      }
      await this.driver.step();
      for (let i = 0; i < watch.length; i++) {
        if (watchActive[i] === 0) continue;
        frame.slot = watch[i];
        frame.episode = watchEpisode[i];
        frame.t = watchT[i];
        frame.poses = poseRows[i];
        frame.reward = v.batchRewards[(frame.slot * E + frame.episode) * H + frame.t];
        hooks.onFrame!(frame);
      }
      if (episodeSeen) {
        for (let s = 0; s < S; s++) {
          const e = v.slotState[s * SLOT_STRIDE + SLOT_EPISODE];
          for (; episodeSeen[s] < e; episodeSeen[s]++) {
            const cell = s * E + episodeSeen[s];
            hooks.onEpisodeEnd!(s, episodeSeen[s], v.returns[cell], v.lengths[cell]);
          }
        }
      }
      let anyActive = false;
      for (let s = 0; s < S && !anyActive; s++) anyActive = v.active[s] !== 0;
      if (!anyActive) return;
    }
    const stuck: string[] = [];
    for (let s = 0; s < S && stuck.length < 5; s++) {
      if (v.active[s] !== 0) stuck.push(`slot ${s}: episode ${v.slotState[s * SLOT_STRIDE + SLOT_EPISODE]}, t ${v.slotState[s * SLOT_STRIDE + SLOT_T]}`);
    }
    // Seen twice in long runs and never reproduced on purpose: the details are there to find it.
    throw new MetarlError('METARL_PROTOCOL', `sampler bug: slots still active after ${E * H} steps (episodes × horizon, ${this.workers} workers): ${stuck.join('; ')}`, { stuck });
  }

  /** Checks the policy's output and copies it into the shared action buffer. */
  private takeActions(actions: Float32Array, v: JobViews, S: number, A: number, step: number): void {
    if (!actions || actions.length !== S * A) {
      throw new MetarlError(
        'METARL_BAD_ACTION',
        `policy.act() returned ${actions ? actions.length : String(actions)} values at step ${step}, but the job needs slots × actSize = ${S} × ${A} = ${S * A} ` +
          `for env '${this.familyName}': return one row of ${A} actions per slot, inactive slots included`,
        { family: this.familyName, got: actions?.length ?? null, want: S * A, step },
      );
    }
    v.action.set(actions);
    for (let s = 0; s < S; s++) {
      if (v.active[s] === 0) continue;
      for (let i = 0; i < A; i++) {
        const a = v.action[s * A + i];
        if (!Number.isFinite(a)) {
          throw new MetarlError(
            'METARL_BAD_ACTION',
            `policy.act() returned a non-finite action (${a}) for slot ${s}, dimension ${i} at step ${step} of env '${this.familyName}': ` +
              'the policy has diverged (check the loss for NaN) or read uninitialised memory',
            { family: this.familyName, slot: s, dim: i, step, value: String(a) },
          );
        }
      }
    }
  }

  private plan(job: SampleJob): JobPlan {
    const parsed = SampleJobSchema.safeParse(job);
    if (!parsed.success) throw invalid(`sample job for '${this.familyName}'`, parsed.error);
    const slots = job.tasks.length * job.slotsPerTask;
    const watchSlots = [...new Set(job.watchSlots ?? [])];
    const outside = watchSlots.filter((s) => s >= slots);
    if (outside.length > 0) {
      throw new MetarlError('METARL_CONFIG_INVALID', `watchSlots ${outside.join(', ')} are outside the job's ${slots} slots (0 … ${slots - 1})`, { watchSlots: outside, slots });
    }
    return {
      tasks: job.tasks,
      slotsPerTask: job.slotsPerTask,
      episodes: job.episodesPerSlot,
      horizon: job.horizon ?? this.spec.horizon,
      seed: job.seed,
      watchSlots,
    };
  }
}
