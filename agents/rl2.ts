/**
 * RL² (Duan et al. 2016, "RL²: Fast Reinforcement Learning via Slow Reinforcement Learning"):
 * a recurrent policy whose hidden state is the learning algorithm. The LSTM sees a trial of
 * `episodesPerTrial` consecutive episodes of one task, with the previous action, reward and
 * done flag appended to each observation; its state is carried across the episodes of a trial
 * and reset between trials, so what it learned about the task in episode 1 is there in episode 2.
 * The outer learner is PPO, with GAE over the whole trial (one long episode) and
 * backpropagation through time over the trial.
 *
 * The file holds both halves (ARCHITECTURE.md "Workers"). The shard side (`createRl2Shard`, in a
 * task worker) samples the trials of its shards of tasks and computes each shard's share of every
 * PPO minibatch gradient; the learner (`createRl2`) sums the shares in shard order, clips, steps
 * Adam and sends the new weights with the next request (synchronous data-parallel, as DD-PPO).
 * A shard is a fixed group of `tasksPerShard` tasks, so an iteration gives the same bits with 0,
 * 1 or N workers.
 *
 * Shapes: S = slots (one trial each), E = episodes per trial, H = horizon,
 * T = the longest trial's steps (≤ E·H), O/A = obs/action size, I = O + A + 2 (the LSTM input).
 *
 * Sections, in order: config · input augmentation and trials · policy construction · rollout ·
 * advantages · losses · shard side · learner: iterate, update, evaluate · save/load.
 */
import { z } from 'zod';
import { MetarlError } from '../src/core/errors.js';
import { parseConfig } from '../src/core/parse-config.js';
import { letEventLoopRun } from '../src/core/event-loop.js';
import { adaptedPolicy, resolveAdaptOptions } from '../src/core/adapted-policy.js';
import type { AdaptationResult, AdaptedPolicy, AdaptOptions, EvaluateOptions, IterationMetrics, LearnerState, MetaLearner } from '../src/core/learner.js';
import { Rng } from '../src/core/rng.js';
import type { Task, TaskFamily } from '../src/core/types.js';
import { resetSeed } from '../src/sampling/layout.js';
import type { Batch, SampleJob, Sampler, StepInput, VectorPolicy } from '../src/sampling/types.js';
import { emittingHooks, routeEvents } from '../src/workers/events.js';
import type { IndexedTask } from '../src/workers/shards.js';
import type { ShardEvent, ShardWorker, ShardWorkerArgs, TaskPool } from '../src/workers/types.js';
import { Adam, clipByGlobalNorm } from '../src/nn/adam.js';
import { restoreLearnerState, saveLearnerState } from '../src/nn/learner-state.js';
import { gaussianLogProb, sampleGaussian } from '../src/nn/distributions.js';
import { createLstmPolicy, type LstmGaussianPolicy, type LstmState } from '../src/nn/lstm.js';
import { paramsFromFlat, readFlat, unflattenParams } from '../src/nn/params.js';
import { tf } from '../src/nn/tf.js';
import { ppoClipLoss, type PpoLoss } from '../src/rl/losses.js';
import { gae } from '../src/rl/returns.js';
import type { AgentArgs, AgentDefinition } from './types.js';

// ───────────────────────────── config ─────────────────────────────

export const rl2ConfigSchema = z.strictObject({
  episodesPerTrial: z.number().int().min(1).default(2).describe('episodes per trial (k): the LSTM state is carried across them, reset between trials'),
  trialsPerTask: z.number().int().positive().default(4).describe('trials sampled per task per iteration'),
  metaBatchSize: z.number().int().positive().default(20).describe('tasks per iteration (the meta-batch)'),
  horizon: z.number().int().positive().nullable().default(null).describe('steps per episode at most; null = the family horizon'),
  hidden: z.number().int().positive().default(64).describe('LSTM hidden units'),
  initStd: z.number().positive().default(1).describe('initial action standard deviation (state-independent, learned)'),
  clip: z.number().positive().default(0.2).describe('PPO clip range ε on the probability ratio'),
  epochs: z.number().int().positive().default(5).describe('PPO epochs over each batch'),
  minibatches: z.number().int().positive().default(2).describe('minibatches per epoch, split over trials so each sequence stays whole for BPTT'),
  lr: z.number().positive().default(1e-3).describe('Adam learning rate'),
  discount: z.number().min(0).max(1).default(0.99).describe('discount γ, applied across the whole trial'),
  gaeLambda: z.number().min(0).max(1).default(0.95).describe('GAE λ, applied across the whole trial'),
  entropyCoef: z.number().min(0).default(0).describe('entropy bonus coefficient'),
  valueCoef: z.number().min(0).default(0.5).describe('value loss coefficient (the value head shares the LSTM)'),
  maxGradNorm: z.number().positive().default(0.5).describe('global gradient norm clip'),
  normalizeAdvantages: z.boolean().default(true).describe('centre and scale advantages per batch'),
  tasksPerShard: z.number().int().positive().default(5).describe('tasks a task worker samples and differentiates as one batch; the results depend on it, never on --workers (fewer: more parallel, more per-op overhead)'),
});

export type Rl2Config = z.output<typeof rl2ConfigSchema>;

/** ProMP's RL² baseline (LSTM 64, 2 episodes per trial) everywhere; garage's RL²-PPO on cheetah-vel. */
const PROMP = { hidden: 64, episodesPerTrial: 2 } as const;
const familyDefaults: Record<string, Partial<z.input<typeof rl2ConfigSchema>>> = {
  'point-nav': { ...PROMP },
  'cheetah-vel': { hidden: 64, episodesPerTrial: 4, clip: 0.2, entropyCoef: 0.02, discount: 0.99, gaeLambda: 0.95 },
  'cheetah-dir': { ...PROMP },
  'ant-dir': { ...PROMP },
  'ant-goal': { ...PROMP },
  'walker-params': { ...PROMP },
  'hopper-params': { ...PROMP },
  'ant-terrain': { ...PROMP },
};

// ─────────────────── input augmentation and trials ───────────────────

/** LSTM input width: observation, previous action, previous reward, previous-done flag. */
export function rl2InputSize(obsSize: number, actSize: number): number {
  return obsSize + actSize + 2;
}

/**
 * Writes each slot's augmented input row [obs, prevAction, prevReward, prevDone] into `out`
 * ([S, I]). The sampler already keeps prevAction and prevReward across the episodes of a
 * trial (zeros only at its start), which is what lets the LSTM connect episode 1 to episode 2.
 */
export function augmentStepInput(input: StepInput, obsSize: number, actSize: number, out: Float32Array): Float32Array {
  const I = rl2InputSize(obsSize, actSize);
  const slots = input.active.length;
  for (let s = 0; s < slots; s++) {
    const row = s * I;
    for (let i = 0; i < obsSize; i++) out[row + i] = input.obs[s * obsSize + i];
    for (let i = 0; i < actSize; i++) out[row + obsSize + i] = input.prevAction[s * actSize + i];
    out[row + obsSize + actSize] = input.prevReward[s];
    out[row + obsSize + actSize + 1] = input.prevDone[s];
  }
  return out;
}

/**
 * A batch re-laid as one sequence per trial, time-major and packed: a trial's episodes follow
 * each other with no padding between them (the LSTM must step exactly as it did while
 * sampling), and only the tail past the trial's last step is padding (mask 0).
 */
export interface Trials {
  /** B: trials (= batch slots). */
  count: number;
  /** T: steps of the longest trial. */
  steps: number;
  inputSize: number;
  actSize: number;
  /** [B]: steps in each trial. */
  lengths: Int32Array;
  /** [T, B, I]: the inputs the policy saw, rebuilt from the batch. */
  inputs: Float32Array;
  /** [T, B, A] */
  actions: Float32Array;
  /** [T, B] */
  rewards: Float32Array;
  /** [T, B]: 1 on real steps, 0 on the padding past a trial's end. */
  mask: Float32Array;
}

/** Rebuilds per-trial sequences from a padded batch, with the same augmentation as sampling. */
export function packTrials(batch: Batch): Trials {
  const { slots: B, episodes: E, horizon: H, obsSize: O, actSize: A } = batch;
  const I = rl2InputSize(O, A);
  const lengths = new Int32Array(B);
  for (let s = 0; s < B; s++) for (let e = 0; e < E; e++) lengths[s] += batch.lengths[s * E + e];
  const T = Math.max(1, ...lengths);
  const inputs = new Float32Array(T * B * I);
  const actions = new Float32Array(T * B * A);
  const rewards = new Float32Array(T * B);
  const mask = new Float32Array(T * B);
  for (let s = 0; s < B; s++) {
    let j = 0;
    for (let e = 0; e < E; e++) {
      const len = batch.lengths[s * E + e];
      for (let t = 0; t < len; t++, j++) {
        const src = (s * E + e) * H + t;
        const cell = j * B + s;
        const row = cell * I;
        for (let i = 0; i < O; i++) inputs[row + i] = batch.obs[src * O + i];
        // The previous step of the trial, which crosses episode boundaries: zeros only at j = 0.
        if (j > 0) {
          const prev = (j - 1) * B + s;
          for (let i = 0; i < A; i++) inputs[row + O + i] = actions[prev * A + i];
          inputs[row + O + A] = rewards[prev];
        }
        inputs[row + O + A + 1] = t === 0 ? 1 : 0;
        for (let i = 0; i < A; i++) actions[cell * A + i] = batch.actions[src * A + i];
        rewards[cell] = batch.rewards[src];
        mask[cell] = 1;
      }
    }
  }
  return { count: B, steps: T, inputSize: I, actSize: A, lengths, inputs, actions, rewards, mask };
}

// ───────────────────────── policy construction ─────────────────────────

/**
 * The policy: src/nn's LSTM Gaussian policy with a value head on the LSTM, over the augmented
 * input. Parameters, in order: lstm.wx, lstm.wh, lstm.b, mean.w, mean.b, value.w, value.b, logStd.
 * @internal (exported for the tests' probes)
 */
export function buildPolicy(family: TaskFamily, config: Rl2Config, rng: Rng): LstmGaussianPolicy {
  const { obsSize, actSize } = family.spec;
  return createLstmPolicy({ inputSize: rl2InputSize(obsSize, actSize), hiddenSize: config.hidden, actSize, initStd: config.initStd }, rng);
}

/** Zeros the state rows of slots where `reset` [S] is 1 (a new trial starts there). */
function resetRows(state: LstmState, reset: Float32Array): LstmState {
  return tf.tidy(() => {
    const keep = tf.sub(1, tf.tensor2d(reset, [reset.length, 1]));
    return { h: tf.mul(state.h, keep) as tf.Tensor2D, c: tf.mul(state.c, keep) as tf.Tensor2D };
  });
}

// ───────────────────────────── rollout ─────────────────────────────

/** What a probe sees at each step (tests, debugging): the augmented input, the mean and the sampled actions. @internal */
export interface StepProbe {
  (event: { step: number; input: Float32Array; trialStart: Float32Array; active: Float32Array; mean: Float32Array; actions: Float32Array }): void;
}

/**
 * The sampler's policy for one `sample` call: steps the LSTM on every slot at once,
 * carries each slot's (h, c) from step to step (so across the episodes of its trial) and
 * zeros it where `trialStart` is 1. Noise comes from the agent's Rng on the CPU, so a seed
 * gives the same rollouts on every backend.
 * @internal (exported for the tests' probes)
 */
export class TrialPolicy implements VectorPolicy {
  private state: LstmState;
  private readonly input: Float32Array;
  private readonly actions: Float32Array<ArrayBuffer>;

  constructor(
    private readonly policy: LstmGaussianPolicy,
    private readonly slots: number,
    private readonly obsSize: number,
    private readonly actSize: number,
    private readonly logStd: Float32Array,
    private readonly rng: Rng,
    private readonly probe?: StepProbe,
    private readonly params: readonly tf.Tensor[] = policy.params,
  ) {
    this.state = policy.initialState(slots);
    this.input = new Float32Array(slots * rl2InputSize(obsSize, actSize));
    this.actions = new Float32Array(slots * actSize);
  }

  async act(input: StepInput): Promise<Float32Array> {
    augmentStepInput(input, this.obsSize, this.actSize, this.input);
    const I = rl2InputSize(this.obsSize, this.actSize);
    const previous = this.state;
    const out = tf.tidy(() => {
      const fresh = resetRows(previous, input.trialStart);
      const x = tf.tensor2d(this.input, [this.slots, I]);
      const { mean, state } = this.policy.step(this.params, x, fresh);
      return { mean, h: state.h, c: state.c };
    });
    tf.dispose([previous.h, previous.c]);
    this.state = { h: out.h, c: out.c };
    const mean = (await out.mean.data()) as Float32Array;
    out.mean.dispose();
    sampleGaussian(mean, this.logStd, this.rng, this.actions);
    this.probe?.({ step: input.step, input: this.input, trialStart: input.trialStart, active: input.active, mean, actions: this.actions });
    return this.actions;
  }

  /** Hands the LSTM state after the last step over to the caller, who disposes it. */
  takeState(): LstmState {
    const state = this.state;
    this.state = this.policy.initialState(0);
    return state;
  }

  dispose(): void {
    tf.dispose([this.state.h, this.state.c]);
  }
}

/** A fixed group of consecutive tasks: the unit a worker samples and differentiates as one batch. */
interface ShardSpec {
  id: number;
  tasks: IndexedTask[];
}

/**
 * Runs one trial per slot (`trials` per task) on a shard's tasks with `params`. Reset seeds and
 * action noise come from (seed, shard id) alone, so the trials are the same wherever they run.
 * Slot s of the shard is slot first + s of the meta-batch, first = its first task's index × trials.
 */
async function sampleTrials(shard: ShardContext, spec: ShardSpec, params: readonly tf.Tensor[], episodes: number, seed: number, watch: readonly number[], emit: Emit, keep?: (state: LstmState) => void): Promise<Batch> {
  const { family, sampler, config, policy } = shard;
  const trials = config.trialsPerTask;
  const logStd = (await params[params.length - 1].data()) as Float32Array;
  const slots = spec.tasks.length * trials;
  const first = spec.tasks[0].index * trials;
  const rollout = new TrialPolicy(policy, slots, family.spec.obsSize, family.spec.actSize, logStd, new Rng(resetSeed(seed, spec.id, 1)), undefined, params);
  const job: SampleJob = { tasks: spec.tasks.map((t) => t.task), slotsPerTask: trials, episodesPerSlot: episodes, seed: resetSeed(seed, spec.id, 0) };
  if (config.horizon !== null) job.horizon = config.horizon;
  // One sampling call holds every episode of a trial, so the viewer sees a whole trial; the
  // episode index of its events is the stage (0 = 'episode 1').
  const watchSlots = watch.filter((s) => s >= first && s < first + slots).map((s) => s - first);
  if (watchSlots.length > 0) job.watchSlots = watchSlots;
  const hooks = emittingHooks(emit, 0, first);
  try {
    const batch = await sampler.sample(job, rollout, watchSlots.length > 0 ? hooks : {});
    keep?.(rollout.takeState());
    return batch;
  } finally {
    rollout.dispose();
  }
}

function stageNames(episodes: number): string[] {
  return Array.from({ length: episodes }, (_, e) => `episode ${e + 1}`);
}

/** Mean return of episode e over the slots of each task: [E][tasks]. */
function returnsPerEpisode(batch: Batch): number[][] {
  const { episodes: E, slotsPerTask, tasks } = batch;
  return Array.from({ length: E }, (_, e) =>
    tasks.map((_, k) => {
      let sum = 0;
      for (let j = 0; j < slotsPerTask; j++) sum += batch.returns[(k * slotsPerTask + j) * E + e];
      return sum / slotsPerTask;
    }),
  );
}

const average = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// ───────────────────────────── advantages ─────────────────────────────

/**
 * GAE(γ, λ) over each whole trial, [T, B] in and out. A trial is one long episode to RL²:
 * the value at an episode's last step bootstraps from the first step of the next episode
 * (the agent keeps what it learned), and only the trial's end is terminal (value 0). The
 * advantages are raw: they are normalised over the whole meta-batch, whose statistics the
 * learner gathers from every shard (`advantageSums`).
 */
function trialAdvantages(trials: Trials, values: Float32Array, config: Rl2Config): { advantages: Float32Array; returns: Float32Array } {
  const { count: B, steps: T } = trials;
  // gae() walks [episodes, horizon] rows: one row per trial here, every trial ending terminally.
  const byTrial = (x: Float32Array) => transpose(x, T, B);
  const { advantages, returns } = gae({
    rewards: byTrial(trials.rewards),
    values: byTrial(values),
    lengths: trials.lengths,
    terminated: new Uint8Array(B).fill(1),
    horizon: T,
    gamma: config.discount,
    lambda: config.gaeLambda,
  });
  return { advantages: transpose(advantages, B, T), returns: transpose(returns, B, T) };
}

/** [Σa, Σa², n] over the real steps, in float64. */
function advantageSums(advantages: Float32Array, mask: Float32Array): [number, number, number] {
  const sums: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < advantages.length; i++) if (mask[i]) (sums[0] += advantages[i]), (sums[1] += advantages[i] ** 2), sums[2]++;
  return sums;
}

/** [rows, cols] → [cols, rows]. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

// ─────────────────────────────── losses ───────────────────────────────

/** A shard's trials on the device, time-major; freed by `release`. */
interface DeviceTrials {
  inputs: tf.Tensor3D;
  actions: tf.Tensor3D;
  mask: tf.Tensor2D;
  oldLogProb: tf.Tensor2D;
  /** Raw (unnormalised) advantages. */
  advantages: tf.Tensor2D;
  returns: tf.Tensor2D;
}

/**
 * log π(a) of every step under `params`, by BPTT over whole trials: [T, B] logProb and value.
 * A column is one trial from its first step, so the state starts at zero and never resets.
 */
function sequenceLogProb(policy: LstmGaussianPolicy, params: readonly tf.Tensor[], inputs: tf.Tensor3D, actions: tf.Tensor3D) {
  return tf.tidy(() => {
    const [T, B, A] = actions.shape;
    const out = policy.sequence(params, inputs);
    const flatMean = tf.reshape(out.mean, [T * B, A]) as tf.Tensor2D;
    const flatActions = tf.reshape(actions, [T * B, A]) as tf.Tensor2D;
    const logProb = tf.reshape(gaussianLogProb(flatMean, out.logStd, flatActions), [T, B]) as tf.Tensor2D;
    return { logProb, value: out.value, logStd: out.logStd };
  });
}

/** The parts of a minibatch's loss a shard contributes, each a mean over its rows × its share of the minibatch's rows. */
const SHARD_PARTS = ['policyLoss', 'valueLoss', 'approxKl', 'clipFraction'] as const satisfies readonly (keyof PpoLoss)[];

/**
 * A shard's share of one minibatch's PPO loss: the clipped surrogate and value loss of its
 * trials `columns` (whole, cut to the longest), means over its real steps weighted by `share`,
 * its fraction of the minibatch's steps. Summed over shards this is the minibatch's loss; the
 * entropy term depends on no data and is the learner's. Advantages are normalised with the
 * meta-batch's statistics.
 */
function shardLoss(shard: ShardContext, params: readonly tf.Tensor[], d: DeviceTrials, columns: tf.Tensor1D, steps: number, norm: AdvantageNorm, share: number) {
  const { config, policy } = shard;
  const take = <R extends tf.Rank>(x: tf.Tensor<R>) => tf.slice(tf.gather(x, columns, 1), 0, steps) as tf.Tensor<R>;
  const flat = (x: tf.Tensor2D) => tf.reshape(take(x), [-1]) as tf.Tensor1D;
  const { logProb, value } = sequenceLogProb(policy, params, take(d.inputs), take(d.actions));
  const advantages = norm.enabled ? tf.div(tf.sub(flat(d.advantages), norm.mean), norm.std + 1e-8) : flat(d.advantages);
  const out = ppoClipLoss({
    logProb: tf.reshape(logProb, [-1]) as tf.Tensor1D,
    oldLogProb: flat(d.oldLogProb),
    advantages: advantages as tf.Tensor1D,
    mask: flat(d.mask),
    clip: config.clip,
    value: { pred: tf.reshape(value, [-1]) as tf.Tensor1D, returns: flat(d.returns), coef: config.valueCoef },
  });
  return { loss: tf.mul(out.loss, share) as tf.Scalar, parts: tf.mul(tf.stack(SHARD_PARTS.map((name) => out[name])), share) as tf.Tensor1D };
}

interface AdvantageNorm {
  enabled: boolean;
  mean: number;
  std: number;
}

// ───────────────────────────── shard side ─────────────────────────────

type Emit = (event: ShardEvent) => void;

interface ShardContext {
  config: Rl2Config;
  family: TaskFamily;
  sampler: Sampler;
  /** Only `step`, `sequence` and the shapes are used: θ comes with every request. */
  policy: LstmGaussianPolicy;
}

interface IterateRequest {
  seed: number;
  theta: Float32Array;
  shards: ShardSpec[];
  /** Slots of the meta-batch streamed to the viewer. */
  watch: number[];
}

interface ShardIterateResult {
  id: number;
  /** [E][tasks of the shard]: mean return of episode e over each task's trials. */
  returns: number[][];
  envSteps: number;
  sampleSeconds: number;
  /** [trials of the shard]: steps in each trial. */
  lengths: Int32Array;
  /** [Σa, Σa², n] of the raw advantages: the meta-batch's mean and std come from the sum over shards. */
  advantageSums: [number, number, number];
}

interface GradientRequest {
  theta: Float32Array;
  /** Per shard, its trials (local columns) in this minibatch, in the minibatch's order. */
  shards: Array<{ id: number; columns: number[] }>;
  norm: AdvantageNorm;
  /** Real steps in the whole minibatch. */
  steps: number;
}

interface ShardGradient {
  id: number;
  gradient: Float32Array;
  /** SHARD_PARTS, weighted by the shard's share of the minibatch's steps. */
  parts: number[];
}

interface EvaluateRequest {
  seed: number;
  theta: Float32Array;
  shards: ShardSpec[];
  episodes: number;
  watch: number[];
}

/** `MetaLearner.adapt`: the trial `evaluate` runs on one task (shard 0), `episodes` long. */
interface AdaptRequest {
  seed: number;
  theta: Float32Array;
  shard: ShardSpec;
  episodes: number;
}

/** An adaptation trial's returns per episode, and what its first slot carries into the next episode: the LSTM state [hidden] and the last action and reward. */
interface AdaptedTrial {
  id: number;
  returns: number[];
  h: Float32Array;
  c: Float32Array;
  prevAction: Float32Array;
  prevReward: number;
}

/** Starts the shard side in a task worker (or on the calling thread with `--workers 0`). */
async function createRl2Shard(args: ShardWorkerArgs): Promise<ShardWorker> {
  const config = parseAgentConfig(args.config);
  const policy = buildPolicy(args.family, config, new Rng(0));
  return new Rl2Shard({ config, family: args.family, sampler: args.sampler, policy });
}

class Rl2Shard implements ShardWorker {
  private runs = new Map<number, { trials: Trials; device: DeviceTrials }>();

  constructor(private readonly ctx: ShardContext) {}

  async handle(kind: string, request: unknown, emit: Emit): Promise<unknown> {
    switch (kind) {
      case 'iterate':
        return this.iterate(request as IterateRequest, emit);
      case 'gradient':
        return this.gradient(request as GradientRequest);
      case 'evaluate':
        return this.evaluate(request as EvaluateRequest, emit);
      case 'adapt':
        return this.adapt(request as AdaptRequest);
      case 'release':
        return this.release();
      case 'tensors':
        return tf.memory().numTensors;
      default:
        throw new MetarlError('METARL_PROTOCOL', `RL² task worker: unknown request '${kind}'`);
    }
  }

  dispose(): void {
    this.release();
    this.ctx.policy.dispose();
  }

  /** Samples each shard's trials, then its old log-probs and values (one BPTT forward) and raw advantages. */
  private async iterate(request: IterateRequest, emit: Emit): Promise<ShardIterateResult[]> {
    this.release();
    const params = paramsFromFlat(request.theta, this.ctx.policy.params.map((p) => p.shape));
    const out: ShardIterateResult[] = [];
    try {
      for (const spec of request.shards) {
        const t0 = performance.now();
        const batch = await sampleTrials(this.ctx, spec, params, this.ctx.config.episodesPerTrial, request.seed, request.watch, emit);
        const sampleSeconds = (performance.now() - t0) / 1000;
        const trials = packTrials(batch);
        const { count: B, steps: T, inputSize: I, actSize: A } = trials;
        const inputs = tf.tensor3d(trials.inputs, [T, B, I]);
        const actions = tf.tensor3d(trials.actions, [T, B, A]);
        const { logProb, value, logStd } = sequenceLogProb(this.ctx.policy, params, inputs, actions);
        const values = (await value.data()) as Float32Array;
        tf.dispose([value, logStd]);
        const { advantages, returns } = trialAdvantages(trials, values, this.ctx.config);
        const device: DeviceTrials = {
          inputs,
          actions,
          mask: tf.tensor2d(trials.mask, [T, B]),
          oldLogProb: logProb,
          advantages: tf.tensor2d(advantages, [T, B]),
          returns: tf.tensor2d(returns, [T, B]),
        };
        this.runs.set(spec.id, { trials, device });
        out.push({ id: spec.id, returns: returnsPerEpisode(batch), envSteps: batch.envSteps, sampleSeconds, lengths: trials.lengths, advantageSums: advantageSums(advantages, trials.mask) });
      }
    } finally {
      tf.dispose(params);
    }
    return out;
  }

  /** Each shard's share of the minibatch loss and its gradient at θ. */
  private async gradient(request: GradientRequest): Promise<ShardGradient[]> {
    const params = paramsFromFlat(request.theta, this.ctx.policy.params.map((p) => p.shape));
    const out: ShardGradient[] = [];
    try {
      for (const { id, columns } of request.shards) {
        const run = this.runs.get(id);
        if (!run) throw new MetarlError('METARL_PROTOCOL', `RL² task worker holds no trials of shard ${id}: 'gradient' came before 'iterate'`);
        const lengths = columns.map((c) => run.trials.lengths[c]);
        const share = lengths.reduce((a, b) => a + b, 0) / request.steps;
        const picked = tf.tensor1d(columns, 'int32');
        let parts: tf.Tensor1D | null = null;
        const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
          const r = shardLoss(this.ctx, ps, run.device, picked, Math.max(...lengths), request.norm, share);
          parts = tf.keep(r.parts);
          return r.loss;
        })([...params]);
        out.push({ id, gradient: await readFlat(grads), parts: Array.from(await parts!.data()) });
        tf.dispose([picked, value, parts!, ...grads]);
      }
    } finally {
      tf.dispose(params);
    }
    return out;
  }

  /** Trials of each shard's tasks, `episodes` long: the mean return of each episode. */
  private async evaluate(request: EvaluateRequest, emit: Emit): Promise<Array<{ id: number; returns: number[][] }>> {
    const params = paramsFromFlat(request.theta, this.ctx.policy.params.map((p) => p.shape));
    try {
      const out: Array<{ id: number; returns: number[][] }> = [];
      for (const spec of request.shards) {
        out.push({ id: spec.id, returns: returnsPerEpisode(await sampleTrials(this.ctx, spec, params, request.episodes, request.seed, request.watch, emit)) });
      }
      return out;
    } finally {
      tf.dispose(params);
    }
  }

  /** The shard's trial as `evaluate` runs it, and where its first slot stands at the end. */
  private async adapt(request: AdaptRequest): Promise<AdaptedTrial[]> {
    const params = paramsFromFlat(request.theta, this.ctx.policy.params.map((p) => p.shape));
    let state: LstmState | null = null;
    try {
      const batch = await sampleTrials(this.ctx, request.shard, params, request.episodes, request.seed, [], () => {}, (s) => (state = s));
      const { episodes: E, horizon: H, actSize: A } = batch;
      // Slot 0's last step: row (0 · E + E − 1) · H + its length − 1 of the padded batch.
      const last = (E - 1) * H + batch.lengths[E - 1] - 1;
      const [h, c] = await Promise.all([state!.h, state!.c].map(async (x) => ((await x.data()) as Float32Array).slice(0, x.shape[1])));
      return [{ id: request.shard.id, returns: returnsPerEpisode(batch).map((r) => r[0]), h, c, prevAction: batch.actions.slice(last * A, (last + 1) * A), prevReward: batch.rewards[last] }];
    } finally {
      tf.dispose([...params, ...(state ? [(state as LstmState).h, (state as LstmState).c] : [])]);
    }
  }

  private release(): null {
    for (const { device } of this.runs.values()) tf.dispose(Object.values(device));
    this.runs.clear();
    return null;
  }
}

// ───────────────────── the learner: iterate, update, evaluate ─────────────────────

const PART_NAMES = ['loss', 'policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction', 'gradNorm'] as const;

/** What the learner reads; built once by `createRl2`. */
interface Rl2Context {
  config: Rl2Config;
  /** The family's observation size (the LSTM's input also holds the previous action, reward and done flag). */
  obsSize: number;
  pool: TaskPool;
  policy: LstmGaussianPolicy;
  optimizer: Adam;
  /** Sampling seeds and minibatch order: the agent's one random stream. */
  rng: Rng;
  watch?: AgentArgs<Rl2Config>['watch'];
}

class Rl2Learner implements MetaLearner {
  readonly agent = 'rl2';
  readonly stages: readonly string[];
  readonly tasksPerIteration: number;
  private iterations = 0;
  private disposed = false;

  constructor(private readonly ctx: Rl2Context) {
    this.stages = stageNames(ctx.config.episodesPerTrial);
    this.tasksPerIteration = ctx.config.metaBatchSize;
  }

  /** Samples `trialsPerTask` trials of each task in the task workers, then runs PPO on them. */
  async iterate(tasks: Task[]): Promise<IterationMetrics> {
    this.alive();
    const { config, rng, pool } = this.ctx;
    const started = performance.now();
    const shards = shardsOf(tasks, config.tasksPerShard);
    const watched = this.watched(config.episodesPerTrial);
    const theta = await readFlat(this.ctx.policy.params);
    const seed = rng.seed();
    try {
      const results = await this.ask<ShardIterateResult>('iterate', shards, (mine) => ({ seed, theta, shards: mine, watch: watched.slots }), watched.onEvent);
      // The shards sample side by side on their workers: the slowest lane's sampling is the iteration's.
      const sampleSeconds = Math.max(...lanesOf(shards, pool.lanes).map((lane) => lane.reduce((s, spec) => s + results[spec.id].sampleSeconds, 0)));
      const figures = await this.ppoUpdate(shards, results);
      this.iterations++;
      figures.std = Math.exp(average(Array.from((await this.ctx.policy.params[this.ctx.policy.params.length - 1].data()) as Float32Array)));
      return {
        stageReturns: this.stages.map((_, e) => average(results.flatMap((r) => r.returns[e]))),
        figures,
        envSteps: results.reduce((n, r) => n + r.envSteps, 0),
        sampleSeconds,
        learnSeconds: (performance.now() - started) / 1000 - sampleSeconds,
      };
    } finally {
      await pool.run('release', Array.from({ length: Math.min(pool.lanes, shards.length) }, () => null)).catch(() => undefined);
    }
  }

  /**
   * PPO epochs over minibatches of whole trials. Each minibatch's gradient is the sum of the
   * shards' shares (in shard order) plus the entropy term; the learner clips it by global norm
   * and steps Adam, and the next request carries the new θ. Returns the mean of each figure.
   */
  private async ppoUpdate(shards: ShardSpec[], results: ShardIterateResult[]): Promise<Record<string, number>> {
    const { config, policy, rng } = this.ctx;
    const trials = config.trialsPerTask;
    const B = results.reduce((n, r) => n + r.lengths.length, 0);
    const [sum, sumSq, n] = results.reduce((acc, r) => acc.map((x, i) => x + r.advantageSums[i]) as [number, number, number], [0, 0, 0]);
    const mean = sum / Math.max(1, n);
    const norm: AdvantageNorm = { enabled: config.normalizeAdvantages, mean, std: Math.sqrt(Math.max(0, sumSq / Math.max(1, n) - mean * mean)) };
    // Trial k of the meta-batch is column k − first of the shard holding task ⌊k / trials⌋.
    const shardOfTask = shards.flatMap((spec) => spec.tasks.map(() => spec.id));
    const firstColumn = shards.map((spec) => spec.tasks[0].index * trials);
    const length = (k: number) => results[shardOfTask[Math.floor(k / trials)]].lengths[k - firstColumn[shardOfTask[Math.floor(k / trials)]]];
    const perBatch = Math.max(1, Math.ceil(B / Math.min(config.minibatches, B)));
    const sums = new Float64Array(PART_NAMES.length);
    let updates = 0;
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const order = permutation(B, rng);
      for (let start = 0; start < B; start += perBatch) {
        const chosen = order.slice(start, start + perBatch);
        const steps = chosen.reduce((s, k) => s + length(k), 0);
        const columns = shards.map(() => [] as number[]);
        for (const k of chosen) {
          const id = shardOfTask[Math.floor(k / trials)];
          columns[id].push(k - firstColumn[id]);
        }
        const theta = await readFlat(policy.params);
        const parts = await this.ask<ShardGradient>('gradient', shards, (mine) => ({ theta, norm, steps, shards: mine.filter((s) => columns[s.id].length > 0).map((s) => ({ id: s.id, columns: columns[s.id] })) }));
        const figures = await this.step(parts.filter(Boolean));
        figures.forEach((x, i) => (sums[i] += x));
        updates++;
        await letEventLoopRun();
      }
    }
    return Object.fromEntries(PART_NAMES.map((name, i) => [name, sums[i] / Math.max(1, updates)]));
  }

  /** One Adam step on Σ shard gradients − entropyCoef·∇entropy, clipped by global norm; returns PART_NAMES. */
  private async step(parts: ShardGradient[]): Promise<number[]> {
    const { config, policy, optimizer } = this.ctx;
    const total = new Float64Array(parts[0].gradient.length);
    const shardParts = new Float64Array(SHARD_PARTS.length);
    for (const p of parts) {
      for (let i = 0; i < total.length; i++) total[i] += p.gradient[i];
      p.parts.forEach((x, i) => (shardParts[i] += x));
    }
    // The entropy of the state-independent Gaussian is Σ logStd + const: its gradient is 1 on each
    // logStd, the last parameter.
    const logStd = (await policy.params[policy.params.length - 1].data()) as Float32Array;
    for (let i = total.length - logStd.length; i < total.length; i++) total[i] -= config.entropyCoef;
    const entropy = logStd.reduce((a, b) => a + b, 0) + 0.5 * logStd.length * (1 + Math.log(2 * Math.PI));
    const { grads, norm } = tf.tidy(() => clipByGlobalNorm(unflattenParams(tf.tensor1d(Float32Array.from(total)), policy.params.map((p) => p.shape)), config.maxGradNorm));
    optimizer.apply(grads);
    const gradNorm = (await norm.data())[0];
    tf.dispose([norm, ...grads]);
    const [policyLoss, valueLoss, approxKl, clipFraction] = shardParts;
    return [policyLoss + config.valueCoef * valueLoss - config.entropyCoef * entropy, policyLoss, valueLoss, entropy, approxKl, clipFraction, gradNorm];
  }

  /**
   * Adaptation is the trial itself: on held-out tasks, the mean return of episode 1..k of a
   * trial with the state carried. Seeded by `seed` alone, so evaluating leaves the learner
   * (weights, Rng) exactly as it was.
   */
  async evaluate(tasks: Task[], options: EvaluateOptions = {}): Promise<AdaptationResult> {
    this.alive();
    const episodes = options.adaptationSteps !== undefined ? options.adaptationSteps + 1 : this.ctx.config.episodesPerTrial;
    const shards = shardsOf(tasks, this.ctx.config.tasksPerShard);
    const watched = this.watched(episodes, options.watch !== false);
    const theta = await readFlat(this.ctx.policy.params);
    const seed = options.seed ?? 0;
    const results = await this.ask<{ id: number; returns: number[][] }>('evaluate', shards, (mine) => ({ seed, theta, shards: mine, episodes, watch: watched.slots }), watched.onEvent);
    return { stages: stageNames(episodes), returns: stageNames(episodes).map((_, e) => results.flatMap((r) => r.returns[e])) };
  }

  /**
   * Meta-test on one task, handed over: the first `steps` episodes of the trial `evaluate([task],
   * { seed })` runs, in a task worker; the policy goes on from where its first trial's LSTM state,
   * last action and reward left off, acting with the mean.
   */
  async adapt(task: Task, options: AdaptOptions = {}): Promise<AdaptedPolicy> {
    this.alive();
    const { config, policy, obsSize } = this.ctx;
    const { steps, seed } = resolveAdaptOptions(options, config.episodesPerTrial - 1, 'RL²');
    const A = policy.spec.actSize;
    let trial: AdaptedTrial = { id: 0, returns: [], h: new Float32Array(config.hidden), c: new Float32Array(config.hidden), prevAction: new Float32Array(A), prevReward: 0 };
    if (steps > 0) {
      const theta = await readFlat(policy.params);
      [trial] = await this.ask<AdaptedTrial>('adapt', shardsOf([task], 1), (mine) => ({ seed, theta, shard: mine[0], episodes: steps }));
    }
    return trialActor(policy, obsSize, trial);
  }

  /**
   * Sends each lane the request for its shards and returns the shards' results by shard id.
   * Lane i always gets shards i, i + lanes, …: a shard's trials stay where they were sampled.
   */
  private async ask<R extends { id: number }>(kind: string, shards: ShardSpec[], request: (mine: ShardSpec[]) => unknown, onEvent?: Emit): Promise<R[]> {
    const lanes = lanesOf(shards, this.ctx.pool.lanes);
    const describe = (i: number) => `shards ${lanes[i].map((s) => s.id).join(', ')} (tasks ${lanes[i].flatMap((s) => s.tasks.map((t) => t.index)).join(', ')}) of the meta-batch (RL² '${kind}')`;
    const answers = (await this.ctx.pool.run(kind, lanes.map(request), { onEvent, describe })) as R[][];
    const out: R[] = [];
    for (const r of answers.flat()) out[r.id] = r;
    return out;
  }

  /** The viewer's hooks (none when `on` is false): one watch call, its slots streamed from whichever worker runs them. */
  private watched(episodes: number, on = true): { slots: number[]; onEvent: Emit } {
    const hooks = on ? this.ctx.watch?.(0, stageNames(episodes)[0]) : undefined;
    return {
      slots: hooks?.watchSlots ?? [],
      onEvent: routeEvents([hooks]),
    };
  }

  // ─────────────────────────── save/load ───────────────────────────

  async state(): Promise<LearnerState> {
    this.alive();
    return saveLearnerState(this.ctx.policy, this.ctx.optimizer, this.ctx.rng, { iterations: this.iterations });
  }

  async restore(state: LearnerState): Promise<void> {
    this.alive();
    const { iterations } = state.meta;
    if (typeof iterations !== 'number') throw new MetarlError('METARL_CHECKPOINT_CORRUPT', 'RL² checkpoint does not fit this learner: meta.iterations is missing', { agent: 'RL²' });
    this.ctx.rng = restoreLearnerState(state, this.ctx.policy, this.ctx.optimizer, 'RL²').rng;
    this.iterations = iterations;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ctx.optimizer.dispose();
    this.ctx.policy.dispose();
  }

  private alive(): void {
    if (this.disposed) throw new MetarlError('METARL_DISPOSED', 'this RL² learner was disposed: create a new one');
  }
}

/**
 * The policy `adapt` hands over: the LSTM (its weights copied) from where the adaptation trial
 * left its first slot, acting with the mean. Its input is built as the sampler builds it within a
 * trial: the previous action and reward carried across episodes, the done flag at an episode's
 * first step.
 */
function trialActor(policy: LstmGaussianPolicy, O: number, trial: AdaptedTrial): AdaptedPolicy {
  const A = policy.spec.actSize;
  const params = policy.params.map((p) => tf.clone(p));
  let state: LstmState = { h: tf.tensor2d(trial.h, [1, trial.h.length]), c: tf.tensor2d(trial.c, [1, trial.c.length]) };
  const input = new Float32Array(rl2InputSize(O, A));
  input.set(trial.prevAction, O);
  input[O + A] = trial.prevReward;
  let episodeStart = true;
  return adaptedPolicy('RL²', {
    obsSize: O,
    returns: trial.returns,
    reset: () => {
      episodeStart = true;
    },
    act: async (obs, reward) => {
      if (!episodeStart) {
        if (reward === undefined) throw new MetarlError('METARL_CONFIG_INVALID', "RL² adapted policy: act(obs, reward) needs the env's reward for the previous action after an episode's first step: the LSTM's input holds it");
        input[O + A] = reward;
      }
      input.set(obs, 0);
      input[O + A + 1] = episodeStart ? 1 : 0;
      const previous = state;
      const out = tf.tidy(() => {
        const { mean, state: next } = policy.step(params, tf.tensor2d(input, [1, input.length]), previous);
        return { mean, h: next.h, c: next.c };
      });
      tf.dispose([previous.h, previous.c]);
      state = { h: out.h, c: out.c };
      const action = (await out.mean.data()) as Float32Array;
      out.mean.dispose();
      input.set(action, O);
      episodeStart = false;
      return action;
    },
    free: () => tf.dispose([...params, state.h, state.c]),
  });
}

/** Tasks in consecutive groups of `size`: shard k holds tasks [k·size, (k + 1)·size). */
function shardsOf(tasks: Task[], size: number): ShardSpec[] {
  const out: ShardSpec[] = [];
  for (let from = 0; from < tasks.length; from += size) {
    out.push({ id: out.length, tasks: tasks.slice(from, from + size).map((task, i) => ({ index: from + i, task })) });
  }
  return out;
}

/** Shards by lane: lane i gets shards i, i + lanes, …; only lanes with a shard. */
function lanesOf(shards: ShardSpec[], lanes: number): ShardSpec[][] {
  const out: ShardSpec[][] = Array.from({ length: Math.min(lanes, shards.length) }, () => []);
  shards.forEach((s) => out[s.id % out.length].push(s));
  return out;
}

const parseAgentConfig = (config: unknown): Rl2Config => parseConfig(rl2ConfigSchema, config, 'rl2 config');

/** A uniformly random ordering of 0..n-1 (Fisher–Yates) from the agent's Rng. */
function permutation(n: number, rng: Rng): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Builds the policy and optimiser from the agent's seed; the factory `metarl train --agent rl2` calls. */
export async function createRl2(args: AgentArgs<Rl2Config>): Promise<Rl2Learner> {
  const config = parseAgentConfig(args.config);
  if (!args.pool) throw new MetarlError('METARL_CONFIG_INVALID', 'RL² runs its tasks in task workers: pass `pool` (createTaskPool()) in its AgentArgs');
  const rng = new Rng(args.seed);
  const policy = buildPolicy(args.family, config, rng);
  const optimizer = new Adam(policy.params, { learningRate: config.lr });
  return new Rl2Learner({ config, obsSize: args.family.spec.obsSize, pool: args.pool, policy, optimizer, rng, watch: args.watch });
}

export const definition: AgentDefinition<typeof rl2ConfigSchema> = {
  name: 'rl2',
  description: 'RL²: an LSTM policy whose state carries across the episodes of a trial, trained by PPO with BPTT',
  configSchema: rl2ConfigSchema,
  familyDefaults,
  create: createRl2,
  createShardWorker: createRl2Shard,
};

export type { Rl2Learner };
