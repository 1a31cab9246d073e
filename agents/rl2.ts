/**
 * RL² (Duan et al. 2016, "RL²: Fast Reinforcement Learning via Slow Reinforcement Learning"):
 * a recurrent policy whose hidden state is the learning algorithm. The LSTM sees a trial of
 * `episodesPerTrial` consecutive episodes of one task, with the previous action, reward and
 * done flag appended to each observation; its state is carried across the episodes of a trial
 * and reset between trials, so what it learned about the task in episode 1 is there in episode 2.
 * The outer learner is PPO, with GAE over the whole trial (one long episode) and
 * backpropagation through time over the trial.
 *
 * Shapes: S = slots (one trial each), E = episodes per trial, H = horizon,
 * T = the longest trial's steps (≤ E·H), O/A = obs/action size, I = O + A + 2 (the LSTM input).
 *
 * Sections, in order: config · input augmentation and trials · policy construction · rollout ·
 * advantages · losses and update · adapt/evaluate · save/load.
 */
import { z } from 'zod';
import { MetarlError } from '../src/core/errors.js';
import { letEventLoopRun } from '../src/core/event-loop.js';
import type { AdaptationResult, EvaluateOptions, IterationMetrics, LearnerState, MetaLearner } from '../src/core/learner.js';
import { Rng, type RngState } from '../src/core/rng.js';
import type { JsonValue, Task, TaskFamily } from '../src/core/types.js';
import type { Batch, SampleJob, Sampler, StepInput, VectorPolicy } from '../src/sampling/types.js';
import { Adam, clipByGlobalNorm } from '../src/nn/adam.js';
import { gaussianEntropy, gaussianLogProb, sampleGaussian } from '../src/nn/distributions.js';
import { createLstmPolicy, type LstmGaussianPolicy, type LstmState } from '../src/nn/lstm.js';
import { tf } from '../src/nn/tf.js';
import { ppoClipLoss, type PpoLoss } from '../src/rl/losses.js';
import { gae, normalizeAdvantages } from '../src/rl/returns.js';
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
  /** [T, B]: 1 where the recurrent state resets (t = 0: each column is one whole trial). */
  reset: Float32Array;
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
  const reset = new Float32Array(T * B);
  for (let s = 0; s < B; s++) {
    reset[s] = 1;
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
  return { count: B, steps: T, inputSize: I, actSize: A, lengths, inputs, actions, rewards, mask, reset };
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
      const { mean, state } = this.policy.step(this.policy.params, x, fresh);
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

  dispose(): void {
    tf.dispose([this.state.h, this.state.c]);
  }
}

/** Runs one trial per slot (`trials` per task) on these tasks with the current policy. */
async function sampleTrials(
  ctx: Rl2Context,
  tasks: Task[],
  trials: number,
  episodes: number,
  rng: Rng,
  seed: number,
  probe?: StepProbe,
): Promise<Batch> {
  const { family, sampler, config } = ctx;
  const logStd = (await ctx.policy.params[ctx.policy.params.length - 1].data()) as Float32Array;
  const slots = tasks.length * trials;
  const policy = new TrialPolicy(ctx.policy, slots, family.spec.obsSize, family.spec.actSize, logStd, rng, probe);
  const job: SampleJob = { tasks, slotsPerTask: trials, episodesPerSlot: episodes, seed };
  if (config.horizon !== null) job.horizon = config.horizon;
  // One sampling call holds every episode of a trial, so the viewer sees a whole trial; the
  // episode index of its onEpisodeEnd events is the stage (0 = 'episode 1').
  const watched = ctx.watch?.(0, stageNames(episodes)[0]);
  if (watched) job.watchSlots = watched.watchSlots;
  try {
    return await sampler.sample(job, policy, watched);
  } finally {
    policy.dispose();
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
 * (the agent keeps what it learned), and only the trial's end is terminal (value 0).
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
  const mask = byTrial(trials.mask);
  const normalized = config.normalizeAdvantages ? normalizeAdvantages(advantages, mask) : advantages;
  return { advantages: transpose(normalized, B, T), returns: transpose(returns, B, T) };
}

/** [rows, cols] → [cols, rows]. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

// ───────────────────────── losses and update ─────────────────────────

/** The batch on the device, time-major; `iterate` frees every tensor after the update. */
interface DeviceTrials {
  inputs: tf.Tensor3D;
  actions: tf.Tensor3D;
  mask: tf.Tensor2D;
  reset: tf.Tensor2D;
  oldLogProb: tf.Tensor2D;
  advantages: tf.Tensor2D;
  returns: tf.Tensor2D;
}

/** log π(a) of every step under `params`, by BPTT over whole trials: [T, B] logProb and value. */
function sequenceLogProb(policy: LstmGaussianPolicy, params: readonly tf.Tensor[], inputs: tf.Tensor3D, reset: tf.Tensor2D, actions: tf.Tensor3D) {
  return tf.tidy(() => {
    const [T, B, A] = actions.shape;
    const out = policy.sequence(params, inputs, reset);
    const flatMean = tf.reshape(out.mean, [T * B, A]) as tf.Tensor2D;
    const flatActions = tf.reshape(actions, [T * B, A]) as tf.Tensor2D;
    const logProb = tf.reshape(gaussianLogProb(flatMean, out.logStd, flatActions), [T, B]) as tf.Tensor2D;
    return { logProb, value: out.value, logStd: out.logStd };
  });
}

/**
 * PPO-clip loss of one minibatch of whole trials, with the value and entropy terms.
 * Returns the total (to differentiate) and its parts, stacked for one read.
 */
function minibatchLoss(ctx: Rl2Context, d: DeviceTrials, columns: tf.Tensor1D, steps: number): { loss: tf.Scalar; parts: tf.Tensor1D } {
  const { config, policy } = ctx;
  // Trials are gathered whole (axis 1) and cut to the longest one among them: BPTT runs
  // over the same packed sequences the policy stepped through while sampling.
  const take = <R extends tf.Rank>(x: tf.Tensor<R>) => tf.slice(tf.gather(x, columns, 1), 0, steps) as tf.Tensor<R>;
  const flat = (x: tf.Tensor2D) => tf.reshape(take(x), [-1]) as tf.Tensor1D;
  const { logProb, value, logStd } = sequenceLogProb(policy, policy.params, take(d.inputs), take(d.reset), take(d.actions));
  const out = ppoClipLoss({
    logProb: tf.reshape(logProb, [-1]) as tf.Tensor1D,
    oldLogProb: flat(d.oldLogProb),
    advantages: flat(d.advantages),
    mask: flat(d.mask),
    clip: config.clip,
    value: { pred: tf.reshape(value, [-1]) as tf.Tensor1D, returns: flat(d.returns), coef: config.valueCoef },
    entropy: { value: gaussianEntropy(logStd), coef: config.entropyCoef },
  });
  return { loss: out.loss, parts: tf.stack(PART_NAMES.map((name) => out[name])) as tf.Tensor1D };
}

const PART_NAMES = ['loss', 'policyLoss', 'valueLoss', 'entropy', 'approxKl', 'clipFraction'] as const satisfies readonly (keyof PpoLoss)[];

/** PPO epochs over minibatches of whole trials; returns the mean of each figure over the updates. */
async function ppoUpdate(ctx: Rl2Context, trials: Trials, d: DeviceTrials): Promise<Record<string, number>> {
  const { config, policy, optimizer, rng } = ctx;
  const B = trials.count;
  const perBatch = Math.max(1, Math.ceil(B / Math.min(config.minibatches, B)));
  // Figures stay on the device until the end: one read per update would stall WebGPU each time.
  const figures: tf.Tensor1D[] = [];
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const order = permutation(B, rng);
    for (let start = 0; start < B; start += perBatch) {
      const chosen = order.slice(start, start + perBatch);
      const steps = Math.max(...chosen.map((s) => trials.lengths[s]));
      const columns = tf.tensor1d(chosen, 'int32');
      const { value, grads, parts } = tf.tidy(() => {
        let partsOut: tf.Tensor1D | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const out = minibatchLoss(ctx, d, columns, steps);
          partsOut = tf.keep(out.parts);
          return out.loss;
        }, policy.params as tf.Variable[]);
        return { value, grads: policy.params.map((p) => grads[p.name]), parts: partsOut! };
      });
      const clipped = clipByGlobalNorm(grads, config.maxGradNorm);
      optimizer.apply(clipped.grads);
      figures.push(tf.tidy(() => tf.concat([parts, tf.reshape(clipped.norm, [1])])));
      tf.dispose([columns, value, ...grads, ...clipped.grads, clipped.norm, parts]);
      await letEventLoopRun();
    }
  }
  const mean = tf.tidy(() => tf.mean(tf.stack(figures), 0));
  const values = await mean.data();
  tf.dispose([mean, ...figures]);
  const out: Record<string, number> = {};
  PART_NAMES.forEach((name, i) => (out[name] = values[i]));
  out.gradNorm = values[PART_NAMES.length];
  return out;
}

/** A uniformly random ordering of 0..n-1 (Fisher–Yates) from the agent's Rng. */
function permutation(n: number, rng: Rng): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ───────────────────────── the learner: iterate, adapt/evaluate ─────────────────────────

/** What every section above reads; built once by `createRl2`. */
interface Rl2Context {
  config: Rl2Config;
  family: TaskFamily;
  sampler: Sampler;
  policy: LstmGaussianPolicy;
  optimizer: Adam;
  /** Action noise, sampling seeds and minibatch order: the agent's one random stream. */
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

  /** Samples `trialsPerTask` trials of each task, then runs PPO on them. */
  async iterate(tasks: Task[], probe?: StepProbe): Promise<IterationMetrics> {
    this.alive();
    const { config, rng } = this.ctx;
    const t0 = performance.now();
    const batch = await sampleTrials(this.ctx, tasks, config.trialsPerTask, config.episodesPerTrial, rng, rng.seed(), probe);
    const t1 = performance.now();
    const trials = packTrials(batch);
    const device = await this.prepare(trials);
    let figures: Record<string, number>;
    try {
      figures = await ppoUpdate(this.ctx, trials, device);
    } finally {
      tf.dispose(Object.values(device));
    }
    const t2 = performance.now();
    this.iterations++;
    figures.std = Math.exp(average(Array.from((await this.ctx.policy.params[this.ctx.policy.params.length - 1].data()) as Float32Array)));
    return {
      stageReturns: returnsPerEpisode(batch).map(average),
      figures,
      envSteps: batch.envSteps,
      sampleSeconds: (t1 - t0) / 1000,
      learnSeconds: (t2 - t1) / 1000,
    };
  }

  /** Uploads the trials, and computes the old log-probs and values (one BPTT forward) and advantages. */
  private async prepare(trials: Trials): Promise<DeviceTrials> {
    const { count: B, steps: T, inputSize: I, actSize: A } = trials;
    const inputs = tf.tensor3d(trials.inputs, [T, B, I]);
    const actions = tf.tensor3d(trials.actions, [T, B, A]);
    const mask = tf.tensor2d(trials.mask, [T, B]);
    const reset = tf.tensor2d(trials.reset, [T, B]);
    const { logProb, value, logStd } = sequenceLogProb(this.ctx.policy, this.ctx.policy.params, inputs, reset, actions);
    logStd.dispose();
    const values = (await value.data()) as Float32Array;
    value.dispose();
    const { advantages, returns } = trialAdvantages(trials, values, this.ctx.config);
    return {
      inputs,
      actions,
      mask,
      reset,
      oldLogProb: logProb,
      advantages: tf.tensor2d(advantages, [T, B]),
      returns: tf.tensor2d(returns, [T, B]),
    };
  }

  /**
   * Adaptation is the trial itself: on held-out tasks, the mean return of episode 1..k of a
   * trial with the state carried. Noise comes from a seed of its own, so evaluating leaves the
   * learner (weights, Rng) exactly as it was.
   */
  async evaluate(tasks: Task[], options: EvaluateOptions = {}): Promise<AdaptationResult> {
    this.alive();
    const episodes = options.stages ?? this.ctx.config.episodesPerTrial;
    const seed = options.seed ?? 0;
    const batch = await sampleTrials(this.ctx, tasks, this.ctx.config.trialsPerTask, episodes, new Rng(seed), seed);
    return { stages: stageNames(episodes), returns: returnsPerEpisode(batch) };
  }

  // ─────────────────────────── save/load ───────────────────────────

  async state(): Promise<LearnerState> {
    this.alive();
    const { policy, optimizer, rng } = this.ctx;
    const arrays: LearnerState['arrays'] = {};
    for (let i = 0; i < policy.params.length; i++) {
      arrays[`policy/${policy.names[i]}`] = { shape: [...policy.params[i].shape], data: new Float32Array((await policy.params[i].data()) as Float32Array) };
    }
    const adam = await optimizer.state();
    adam.m.forEach((m, i) => (arrays[`adam/m/${i}`] = { shape: [...policy.params[i].shape], data: m }));
    adam.v.forEach((v, i) => (arrays[`adam/v/${i}`] = { shape: [...policy.params[i].shape], data: v }));
    return { arrays, meta: { adamStep: adam.step, rng: rng.state() as unknown as JsonValue, iterations: this.iterations } };
  }

  async restore(state: LearnerState): Promise<void> {
    this.alive();
    const { policy, optimizer } = this.ctx;
    const array = (key: string, shape: readonly number[]): Float32Array => {
      const saved = state.arrays[key];
      if (!saved || saved.shape.join('x') !== shape.join('x') || saved.data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `RL² checkpoint: '${key}' is missing or not of shape [${shape}] (was it saved with another config, e.g. hidden size?)`, { key });
      }
      return saved.data;
    };
    const weights = policy.params.map((p, i) => array(`policy/${policy.names[i]}`, p.shape));
    const m = policy.params.map((p, i) => array(`adam/m/${i}`, p.shape));
    const v = policy.params.map((p, i) => array(`adam/v/${i}`, p.shape));
    const { adamStep, rng, iterations } = state.meta;
    if (typeof adamStep !== 'number' || typeof iterations !== 'number' || !isRngState(rng)) {
      throw new MetarlError('METARL_CHECKPOINT_CORRUPT', 'RL² checkpoint: meta must hold adamStep, iterations and the Rng state');
    }
    tf.tidy(() => policy.params.forEach((p, i) => p.assign(tf.tensor(weights[i], p.shape))));
    optimizer.load({ step: adamStep, m, v });
    this.ctx.rng = Rng.fromState(rng);
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

function isRngState(x: unknown): x is RngState {
  const s = x as RngState | null;
  return typeof s === 'object' && s !== null && Array.isArray(s.gen) && s.gen.every((n) => typeof n === 'number') && (s.spareNormal === null || typeof s.spareNormal === 'number');
}

/** Builds the policy and optimiser from the agent's seed; the factory `metarl train --agent rl2` calls. */
export async function createRl2(args: AgentArgs<Rl2Config>): Promise<Rl2Learner> {
  const config = rl2ConfigSchema.parse(args.config);
  const rng = new Rng(args.seed);
  const policy = buildPolicy(args.family, config, rng);
  const optimizer = new Adam(policy.params, { learningRate: config.lr });
  if (!args.sampler) throw new MetarlError('METARL_CONFIG_INVALID', 'RL² samples through a Sampler: pass `sampler` (createSampler()) in its AgentArgs');
  return new Rl2Learner({ config, family: args.family, sampler: args.sampler, policy, optimizer, rng, watch: args.watch });
}

export const definition: AgentDefinition<typeof rl2ConfigSchema> = {
  name: 'rl2',
  description: 'RL²: an LSTM policy whose state carries across the episodes of a trial, trained by PPO with BPTT',
  configSchema: rl2ConfigSchema,
  familyDefaults,
  create: createRl2,
};

export type { Rl2Learner };
