/**
 * MAML for reinforcement learning (Finn, Abbeel & Levine 2017, "Model-Agnostic
 * Meta-Learning for Fast Adaptation of Deep Networks", §3.2 and the cbfinn/maml_rl code).
 *
 * One meta-iteration on a meta-batch of T tasks:
 *   stage 0   sample n episodes per task with the meta-parameters θ ("pre");
 *   inner     θ'_t = θ − α ∇θ L_VPG(θ; stage-0 episodes of t)          (k times, one stage each);
 *   stage k   sample n episodes per task with θ'_t ("step k");
 *   outer     TRPO (max KL δ) on the stage-k episodes, the gradient taken THROUGH the inner
 *             updates (second order) unless `firstOrder`; `outer: 'ppo'` uses PPO-clip + Adam.
 * The policy is a function of an explicit parameter list (`policy.forward(params, obs)`), so
 * θ'_t is computed functionally and nothing is mutated until the outer step assigns θ.
 *
 * Shapes: T tasks, n episodes per task, H horizon, O/A obs/action size, M = n·H rows per task
 * (the sampler's padded layout; a mask marks the steps actually taken).
 *
 * Sections, in order: config · policy construction · rollout · advantages · losses ·
 * inner step · outer step · adapt/evaluate · save/load.
 */
import { z } from 'zod';
import { MetarlError } from '../src/core/errors.js';
import { letEventLoopRun } from '../src/core/event-loop.js';
import type { AdaptationResult, EvaluateOptions, IterationMetrics, LearnerState, MetaLearner } from '../src/core/learner.js';
import { Rng, type RngState } from '../src/core/rng.js';
import type { JsonValue, Task } from '../src/core/types.js';
import { Adam } from '../src/nn/adam.js';
import { LinearFeatureBaseline } from '../src/nn/baseline.js';
import { gaussianKl, gaussianLogProb, sampleGaussian } from '../src/nn/distributions.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../src/nn/mlp.js';
import { assignFlat, flattenParams, paramCount, unflattenParams } from '../src/nn/params.js';
import { tf } from '../src/nn/tf.js';
import { exp } from '../src/nn/ops.js';
import { backtrackingLineSearch, conjugateGradient, discountedReturns, fisherVectorProduct, gae, normalizeAdvantages, ppoClipLoss, validMask } from '../src/rl/index.js';
import type { Batch, SampleJob, Sampler, StepInput, VectorPolicy } from '../src/sampling/types.js';
import type { AgentArgs, AgentDefinition } from './types.js';

// ───────────────────────────── config ─────────────────────────────

export const mamlConfigSchema = z.strictObject({
  innerLr: z.number().positive().default(0.1).describe('inner-loop step size α of the VPG adaptation step'),
  innerSteps: z.number().int().min(1).default(1).describe('inner gradient steps k; each samples its own episodes'),
  episodesPerTask: z.number().int().min(1).default(20).describe('episodes n sampled per task at each adaptation stage'),
  metaBatchSize: z.number().int().min(1).default(20).describe('tasks per meta-iteration (the meta-batch)'),
  horizon: z.number().int().positive().nullable().default(null).describe('steps per episode at most; null = the family horizon'),
  hidden: z.array(z.number().int().positive()).min(1).default([64, 64]).describe('hidden layer sizes of the tanh MLP policy'),
  initStd: z.number().positive().default(1).describe('initial action standard deviation (state-independent, learned)'),
  discount: z.number().min(0).max(1).default(0.99).describe('discount γ'),
  gaeLambda: z.number().min(0).max(1).default(1).describe('GAE λ; 1 = discounted return minus the linear baseline, as the original MAML'),
  baselineReg: z.number().positive().default(1e-5).describe('ridge coefficient of the linear feature baseline (raised ×10 until the fit is finite)'),
  firstOrder: z.boolean().default(false).describe('first-order MAML: treat the inner gradient as a constant in the meta-gradient'),
  outer: z.enum(['trpo', 'ppo']).default('trpo').describe("outer optimiser: 'trpo' (the paper) or 'ppo' (clipped surrogate + Adam)"),
  maxKl: z.number().positive().default(0.01).describe('TRPO: mean KL bound δ between the old and new adapted policies'),
  cgIters: z.number().int().min(1).default(10).describe('TRPO: conjugate-gradient iterations'),
  cgDamping: z.number().min(0).default(1e-5).describe('TRPO: damping λ added to the Fisher matrix (F + λI)'),
  fisherSubsample: z.number().gt(0).max(1).default(0.2).describe('TRPO: fraction of the post-update steps (every k-th) used in Fisher-vector products, as the TRPO paper; the line search checks the KL on all of them'),
  lineSearchSteps: z.number().int().min(1).default(15).describe('TRPO: backtracking line-search steps at most'),
  lineSearchDecay: z.number().gt(0).lt(1).default(0.8).describe('TRPO: step shrink factor per backtrack'),
  maxRowsPerChunk: z.number().int().positive().default(4000).describe('the most rows (steps) differentiated at once, ~0.2 MB each on the second-order tape (tfjs-wasm aborts past ~4 GB); tasks go through in groups of this size to bound memory (same result up to float rounding)'),
  ppoClip: z.number().positive().default(0.2).describe('PPO: clip range ε of the probability ratio'),
  ppoEpochs: z.number().int().min(1).default(5).describe('PPO: gradient steps on each meta-batch'),
  ppoLr: z.number().positive().default(1e-3).describe('PPO: Adam learning rate of the outer step'),
});

export type MamlConfig = z.output<typeof mamlConfigSchema>;
type MamlConfigInput = z.input<typeof mamlConfigSchema>;

/**
 * Per-family settings, as pytorch-maml-rl's configs (ENVS.md: cheetah inner lr 0.1, meta-batch
 * 40, 20 episodes). 2D navigation: ENVS.md quotes inner lr 0.5 for the original 100×100 ReLU
 * policy; with the [64, 64] tanh policy here α = 0.1 (pytorch-maml-rl's value) did as well or
 * better in a short comparison (hidden [32], 10 iterations, 10 tasks × 10 episodes × H 30: post-update
 * return −10.3 with α = 0.1 vs −12.4 with α = 0.5, from −21 untrained).
 */
const LOCOMOTION: Partial<MamlConfigInput> = { innerLr: 0.1, metaBatchSize: 40, episodesPerTask: 20 };
const familyDefaults: Record<string, Partial<MamlConfigInput>> = {
  'point-nav': { innerLr: 0.1, metaBatchSize: 20, episodesPerTask: 20, hidden: [64, 64] },
  'cheetah-vel': LOCOMOTION,
  'cheetah-dir': LOCOMOTION,
  'ant-dir': LOCOMOTION,
  'ant-goal': LOCOMOTION,
  'walker-params': LOCOMOTION,
  'hopper-params': LOCOMOTION,
  'ant-terrain': LOCOMOTION,
};

export const definition: AgentDefinition<typeof mamlConfigSchema> = {
  name: 'maml',
  description: 'MAML: VPG inner steps with a linear baseline, TRPO (or PPO) outer step through the inner update',
  configSchema: mamlConfigSchema,
  familyDefaults,
  create: (args) => createMaml(args),
};

// ───────────────────────── policy construction ─────────────────────────

export async function createMaml(args: AgentArgs<MamlConfig>): Promise<MetaLearner> {
  const parsed = mamlConfigSchema.safeParse(args.config);
  if (!parsed.success) throw new MetarlError('METARL_CONFIG_INVALID', `invalid maml config:\n${z.prettifyError(parsed.error)}`, { issues: parsed.error.issues });
  const config = parsed.data;
  const rng = new Rng(args.seed);
  const { obsSize, actSize } = args.family.spec;
  // The initial weights take the first draw of the agent's stream; everything after is noise and seeds.
  const policy = createGaussianMlp({ obsSize, actSize, hidden: config.hidden, initStd: config.initStd }, rng.fork());
  return new MamlLearner(config, args, policy, rng);
}

/**
 * A parameter list in the policy's order. Either θ itself (weights [in, out], biases and
 * logStd [size]) or PER-TASK parameters with a leading task axis (weights [T, in, out], biases
 * and logStd [T, 1, size]): each task's rows [T, M, O] run under its own parameters, and one
 * backward pass of the summed losses gives every task its own inner gradient.
 */
type Params = readonly tf.Tensor[];

/** 'pre', 'step 1', …, 'step k'. */
function stageNames(steps: number): string[] {
  return ['pre', ...Array.from({ length: steps }, (_, i) => `step ${i + 1}`)];
}

/**
 * The policy on every task's rows under per-task parameters: obs [T, M, O] → mean [T, M, A]
 * and logStd [T, 1, A]. A loop of 2-D forwards, not one batched matMul: tfjs-wasm's batched
 * matMul measured ~10× slower than T plain ones.
 */
function forwardPerTask(policy: GaussianMlpPolicy, params: Params, obs: tf.Tensor3D): { mean: tf.Tensor3D; logStd: tf.Tensor3D } {
  return tf.tidy(() => {
    // tfjs's unstack gradient breaks on a single output (it stacks a Tensor, not a Tensor[]), and
    // stack's gradient is an unstack (second order!): one task goes through reshapes instead.
    const one = obs.shape[0] === 1;
    const split = (x: tf.Tensor) => (one ? [tf.reshape(x, x.shape.slice(1))] : tf.unstack(x));
    const rows = split(obs);
    const perTaskParams = params.map(split);
    const means = rows.map((o, t) => policy.forward(perTaskParams.map((p) => p[t]), o as tf.Tensor2D).mean);
    const mean = one ? tf.expandDims(means[0], 0) : tf.stack(means);
    return { mean: mean as tf.Tensor3D, logStd: tf.clone(params[params.length - 1]) as tf.Tensor3D };
  });
}

/** θ repeated for T tasks, as per-task parameters. Differentiable: its gradient sums over tasks. */
export function perTask(theta: Params, T: number): tf.Tensor[] {
  return tf.tidy(() => theta.map((p) => tf.tile(tf.reshape(p, p.rank === 1 ? [1, 1, p.shape[0]] : [1, ...p.shape]), [T, 1, 1])));
}

// ─────────────────────────────── rollout ───────────────────────────────

interface RolloutContext {
  policy: GaussianMlpPolicy;
  sampler: Sampler;
  config: MamlConfig;
  watch: AgentArgs<MamlConfig>['watch'];
}

/**
 * Samples `episodesPerTask` episodes of every task in one sampler call (slot s runs task
 * floor(s / n), one episode per slot) with θ or with per-task parameters. Reset seeds and
 * action noise come from `rng`, so a rollout is a function of (params, tasks, rng state).
 */
async function rollout(ctx: RolloutContext, tasks: Task[], params: Params, stage: number, rng: Rng): Promise<Batch> {
  const n = ctx.config.episodesPerTask;
  const hooks = ctx.watch?.(stage, stage === 0 ? 'pre' : `step ${stage}`);
  const job: SampleJob = {
    tasks,
    slotsPerTask: n,
    episodesPerSlot: 1,
    seed: rng.seed(),
    ...(ctx.config.horizon !== null ? { horizon: ctx.config.horizon } : {}),
    ...(hooks ? { watchSlots: hooks.watchSlots } : {}),
  };
  const policy = await actor(ctx.policy, params, tasks.length, n, rng);
  return ctx.sampler.sample(job, policy, hooks);
}

/** The VectorPolicy the sampler calls each step: one forward over every slot, plus Gaussian noise. */
async function actor(policy: GaussianMlpPolicy, params: Params, T: number, n: number, rng: Rng): Promise<VectorPolicy> {
  const { obsSize: O, actSize: A } = policy;
  const batched = params[0].rank === 3;
  const logStd = (await params[params.length - 1].data()) as Float32Array; // [A], or [T·A] per task
  return {
    act: async (input: StepInput) => {
      const slots = input.active.length;
      const mean = tf.tidy(() => {
        const obs = tf.tensor2d(input.obs, [slots, O]);
        // Slots are task-major, so [slots, O] → [T, n, O] lines each task's rows up with its parameters.
        return batched ? forwardPerTask(policy, params, tf.reshape(obs, [T, n, O])).mean : policy.forward(params, obs).mean;
      });
      const values = (await mean.data()) as Float32Array;
      mean.dispose();
      const out = new Float32Array(slots * A);
      if (!batched) return sampleGaussian(values, logStd, rng, out);
      for (let t = 0; t < T; t++) {
        const rows = [t * n * A, (t + 1) * n * A] as const;
        sampleGaussian(values.subarray(...rows), logStd.subarray(t * A, (t + 1) * A), rng, out.subarray(...rows));
      }
      return out;
    },
  };
}

// ────────────────────────────── advantages ──────────────────────────────

/**
 * One adaptation stage of a meta-batch in the sampler's padded layout: task t's rows are its
 * n episodes × H steps (M = n·H), padding zero and masked out.
 */
export interface StageData {
  /** [T, M, O] */
  obs: tf.Tensor3D;
  /** [T, M, A] */
  actions: tf.Tensor3D;
  /** [T, M]: normalised per task, 0 on padding. */
  advantages: tf.Tensor2D;
  /** [T, M]: 1 for real steps, 0 for padding. */
  mask: tf.Tensor2D;
  /** [T]: real steps per task (at least 1). */
  steps: tf.Tensor1D;
  /** Mean undiscounted return of each task's n episodes. */
  returns: number[];
  envSteps: number;
}

/**
 * Per task, as the original MAML code: fit the linear feature baseline to the discounted
 * returns of the task's own n episodes, take GAE(γ, λ) against it (λ = 1: return − baseline),
 * and normalise over the task's steps. The baseline is refitted for every task and stage,
 * so it carries no state between iterations.
 */
export function prepareStage(batch: Batch, config: Pick<MamlConfig, 'discount' | 'gaeLambda' | 'baselineReg'>): StageData {
  const { horizon: H, obsSize: O, actSize: A, slotsPerTask: n } = batch;
  if (batch.episodes !== 1) throw new MetarlError('METARL_SPEC_MISMATCH', `MAML samples one episode per slot, the batch has ${batch.episodes}`);
  const T = batch.tasks.length;
  const M = n * H;
  const advantages = new Float32Array(T * M);
  const mask = validMask(batch.lengths, H);
  const steps = new Float32Array(T);
  const returns: number[] = [];
  for (let t = 0; t < T; t++) {
    const e0 = t * n;
    const obs = batch.obs.subarray(e0 * H * O, (e0 + n) * H * O);
    const rewards = batch.rewards.subarray(e0 * H, (e0 + n) * H);
    const lengths = batch.lengths.subarray(e0, e0 + n);
    const terminated = batch.terminated.subarray(e0, e0 + n);
    const baseline = new LinearFeatureBaseline(O, config.baselineReg);
    baseline.fit(obs, discountedReturns(rewards, lengths, H, config.discount), lengths, H);
    const values = baseline.predict(obs, lengths, H);
    const gaeOut = gae({ rewards, values, lengths, terminated, horizon: H, gamma: config.discount, lambda: config.gaeLambda });
    advantages.set(normalizeAdvantages(gaeOut.advantages, mask.subarray(t * M, (t + 1) * M)), t * M);
    let sumLength = 0;
    let sumReturn = 0;
    for (let e = 0; e < n; e++) (sumLength += lengths[e]), (sumReturn += batch.returns[e0 + e]);
    steps[t] = Math.max(1, sumLength);
    returns.push(sumReturn / n);
  }
  return {
    obs: tf.tensor3d(batch.obs, [T, M, O]),
    actions: tf.tensor3d(batch.actions, [T, M, A]),
    advantages: tf.tensor2d(advantages, [T, M]),
    mask: tf.tensor2d(mask, [T, M]),
    steps: tf.tensor1d(steps),
    returns,
    envSteps: batch.envSteps,
  };
}

function disposeStage(stage: StageData): void {
  tf.dispose([stage.obs, stage.actions, stage.advantages, stage.mask, stage.steps]);
}

// ──────────────────────────────── losses ────────────────────────────────

/** Mean over each task's real steps: x [T, M] → [T]. */
function taskMean(x: tf.Tensor, stage: StageData): tf.Tensor1D {
  return tf.div(tf.sum(tf.mul(x, stage.mask), 1), stage.steps) as tf.Tensor1D;
}

/** [T, M, X] → [T·M, X]: the distributions in src/nn take one row per sample. */
const rowsOf = (x: tf.Tensor, A: number) => tf.reshape(x, [-1, A]) as tf.Tensor2D;

/** The policy's mean [T, M, A] and per-row log-std [T·M, A] under per-task parameters. */
function distribution(policy: GaussianMlpPolicy, params: Params, stage: StageData): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
  const [T, M, A] = stage.actions.shape;
  const { mean, logStd } = forwardPerTask(policy, params, stage.obs);
  return { mean: rowsOf(mean, A), logStd: rowsOf(tf.broadcastTo(logStd, [T, M, A]), A) };
}

/** log π(a_t | s_t) of every task's rows under its own parameters: [T, M]. */
function logProb(policy: GaussianMlpPolicy, params: Params, stage: StageData): tf.Tensor2D {
  return tf.tidy(() => {
    const [T, M, A] = stage.actions.shape;
    const { mean, logStd } = distribution(policy, params, stage);
    return tf.reshape(gaussianLogProb(mean, logStd, rowsOf(stage.actions, A)), [T, M]) as tf.Tensor2D;
  });
}

/** The inner loss of each task, VPG: −mean_t log π(a_t|s_t) Â_t → [T]. */
export function innerLosses(policy: GaussianMlpPolicy, params: Params, stage: StageData): tf.Tensor1D {
  return tf.tidy(() => tf.neg(taskMean(tf.mul(logProb(policy, params, stage), stage.advantages), stage)));
}

/**
 * The outer (TRPO) surrogate: mean over tasks of −mean_t r_t Â_t, r_t = π_θ'_t(a|s) / π_old(a|s),
 * with θ'_t the adapted parameters as a function of θ.
 */
function surrogateLoss(policy: GaussianMlpPolicy, adapted: Params, post: StageData, old: OldPolicy): tf.Scalar {
  return tf.tidy(() => {
    const ratio = exp(tf.sub(logProb(policy, adapted, post), old.logProb));
    return tf.mean(tf.neg(taskMean(tf.mul(ratio, post.advantages), post))) as tf.Scalar;
  });
}

/** PPO's clipped surrogate over all post-update steps (rl/losses, masked). */
function clippedLoss(policy: GaussianMlpPolicy, adapted: Params, post: StageData, old: OldPolicy, clip: number): tf.Scalar {
  return tf.tidy(() => {
    const flat = (x: tf.Tensor) => tf.reshape(x, [-1]) as tf.Tensor1D;
    return ppoClipLoss({
      logProb: flat(logProb(policy, adapted, post)),
      oldLogProb: flat(old.logProb),
      advantages: flat(post.advantages),
      mask: flat(post.mask),
      clip,
    }).policyLoss;
  });
}

/** Mean over tasks of mean_t KL(π_old(·|s_t) ‖ π_θ'_t(·|s_t)) on the post-update steps. */
function meanKl(policy: GaussianMlpPolicy, adapted: Params, post: StageData, old: OldPolicy): tf.Scalar {
  return tf.tidy(() => {
    const [T, M, A] = post.actions.shape;
    const { mean, logStd } = distribution(policy, adapted, post);
    const kl = gaussianKl(rowsOf(old.mean, A), rowsOf(tf.broadcastTo(old.logStd, [T, M, A]), A), mean, logStd);
    return tf.mean(taskMean(tf.reshape(kl, [T, M]), post)) as tf.Scalar;
  });
}

/** The policy that sampled the post-update episodes, held fixed during the outer step. */
export interface OldPolicy {
  /** [T, M, A] */
  mean: tf.Tensor3D;
  /** [T, 1, A] */
  logStd: tf.Tensor3D;
  /** [T, M] */
  logProb: tf.Tensor2D;
}

// ────────────────────────────── inner step ──────────────────────────────

/**
 * One VPG step per task, θ'_t = θ_t − α ∇ L_in,t(θ_t), on per-task parameters, computed
 * functionally: nothing is mutated. The losses are summed over tasks, so one backward pass
 * gives each task its own gradient. Called inside an outer `tf.grads`, the inner gradient is
 * itself on the tape and the meta-gradient flows through it (second order): this is why every
 * op of the policy and the log-prob comes from src/nn/ops.ts (tfjs#3252). With `firstOrder`
 * the inner gradient is a constant.
 */
export function innerStep(policy: GaussianMlpPolicy, params: Params, stage: StageData, alpha: number, firstOrder: boolean): tf.Tensor[] {
  return tf.tidy(() => {
    const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(innerLosses(policy, ps, stage)))([...params]);
    return params.map((p, i) => tf.sub(p, tf.mul(firstOrder ? stopGradient(grads[i]) : grads[i], alpha)));
  });
}

/** θ'_t for every task after the inner stages: stage j's step uses the episodes sampled at stage j. */
export function adapt(policy: GaussianMlpPolicy, theta: Params, pre: readonly StageData[], T: number, alpha: number, firstOrder: boolean): tf.Tensor[] {
  return tf.tidy(() => {
    let p: Params = perTask(theta, T);
    for (const stage of pre) p = innerStep(policy, p, stage, alpha, firstOrder);
    return [...p];
  });
}

/** Identity whose gradient is zero (tfjs has no stop_gradient). */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * The MAML objective as a function of θ: the surrogate of the post-update episodes under
 * θ'_t(θ) for every task. @internal exported for the finite-difference test.
 */
export function metaObjective(policy: GaussianMlpPolicy, theta: Params, pre: readonly StageData[], post: StageData, old: OldPolicy, alpha: number, firstOrder: boolean): tf.Scalar {
  return tf.tidy(() => surrogateLoss(policy, adapt(policy, theta, pre, post.obs.shape[0], alpha, firstOrder), post, old));
}

// ────────────────────────────── outer step ──────────────────────────────

/** What the outer step works on: the meta-batch's inner stages and its post-update stage. */
interface OuterBatch {
  policy: GaussianMlpPolicy;
  config: MamlConfig;
  /** Stages 0..k−1: the episodes each inner step was taken on. */
  pre: StageData[];
  /** Stage k: the post-update episodes the outer loss is measured on. */
  post: StageData;
  /** θ'_t(θ_old), per task: the parameters that sampled `post`. */
  sampledWith: Params;
  /** π_old on `post`. */
  old: OldPolicy;
  /** The same tasks in groups of at most `maxRowsPerChunk` rows, differentiated one group at a time. */
  chunks: Chunk[];
}

/** Tasks [from, to) of the outer batch; the losses of a chunk are means over its own tasks or steps. */
interface Chunk {
  pre: StageData[];
  post: StageData;
  old: OldPolicy;
  /** The chunk's share of the tasks and of the real post-update steps: the weights that add chunks up. */
  taskShare: number;
  stepShare: number;
  /** False when the chunk is the whole batch (its tensors belong to the batch). */
  owned: boolean;
  from: number;
  to: number;
}

/** [from, to) task ranges of at most `maxRows` rows each (at least one task). */
function taskGroups(T: number, M: number, maxRows: number): [number, number][] {
  const per = Math.max(1, Math.floor(maxRows / M));
  const groups: [number, number][] = [];
  for (let from = 0; from < T; from += per) groups.push([from, Math.min(T, from + per)]);
  return groups;
}

/** Tasks [from, to) of per-task tensors (leading task axis): copies. */
function sliceTasks<X extends tf.Tensor>(x: X, from: number, to: number): X {
  return tf.slice(x, [from, ...x.shape.slice(1).map(() => 0)], [to - from, ...x.shape.slice(1).map(() => -1)]) as X;
}

function sliceStage(s: StageData, from: number, to: number): StageData {
  const [obs, actions, advantages, mask, steps] = [s.obs, s.actions, s.advantages, s.mask, s.steps].map((x) => sliceTasks(x, from, to));
  return { obs, actions, advantages, mask, steps, returns: s.returns.slice(from, to), envSteps: 0 } as StageData;
}

async function makeChunks(pre: StageData[], post: StageData, old: OldPolicy, maxRows: number): Promise<Chunk[]> {
  const [T, M] = post.advantages.shape;
  const groups = taskGroups(T, M, maxRows);
  if (groups.length === 1) return [{ pre, post, old, taskShare: 1, stepShare: 1, owned: false, from: 0, to: T }];
  const steps = (await post.steps.data()) as Float32Array;
  const total = steps.reduce((a, b) => a + b, 0);
  return groups.map(([from, to]) => ({
    pre: pre.map((s) => sliceStage(s, from, to)),
    post: sliceStage(post, from, to),
    old: { mean: sliceTasks(old.mean, from, to), logStd: sliceTasks(old.logStd, from, to), logProb: sliceTasks(old.logProb, from, to) },
    taskShare: (to - from) / T,
    stepShare: steps.subarray(from, to).reduce((a, b) => a + b, 0) / total,
    owned: true,
    from,
    to,
  }));
}

function disposeChunks(chunks: Chunk[]): void {
  for (const c of chunks) if (c.owned) [...c.pre, c.post].forEach(disposeStage), disposeOld(c.old);
}

/** π_old on the post-update steps; disposed by the caller. */
export function oldPolicy(policy: GaussianMlpPolicy, adapted: Params, post: StageData): OldPolicy {
  return tf.tidy(() => {
    const { mean, logStd } = forwardPerTask(policy, adapted, post.obs);
    return { mean, logStd, logProb: logProb(policy, adapted, post) };
  });
}

function disposeOld(old: OldPolicy | null): void {
  if (old) tf.dispose([old.mean, old.logStd, old.logProb]);
}

/** The surrogate loss and mean KL at the current θ, with θ'_t recomputed from it (chunk by chunk). */
async function lossAndKl(b: OuterBatch): Promise<{ loss: number; kl: number }> {
  const out = { loss: 0, kl: 0 };
  for (const c of b.chunks) {
    const [loss, kl] = tf.tidy(() => {
      const adapted = adapt(b.policy, b.policy.params, c.pre, c.post.obs.shape[0], b.config.innerLr, false);
      return [surrogateLoss(b.policy, adapted, c.post, c.old), meanKl(b.policy, adapted, c.post, c.old)];
    });
    out.loss += (await loss.data())[0] * c.taskShare;
    out.kl += (await kl.data())[0] * c.taskShare;
    tf.dispose([loss, kl]);
  }
  return out;
}

/** Adds up ∇θ of each chunk's loss, weighted: only one chunk's tape is alive at a time. Returns the flat gradient and the loss. */
async function accumulateGradient(b: OuterBatch, loss: (c: Chunk, ps: tf.Tensor[]) => tf.Scalar, weight: (c: Chunk) => number): Promise<{ grad: tf.Tensor1D; value: number }> {
  let grad = tf.zeros([paramCount(b.policy.params)]) as tf.Tensor1D;
  let value = 0;
  for (const c of b.chunks) {
    const out = tf.valueAndGrads((...ps: tf.Tensor[]) => loss(c, ps))([...b.policy.params]);
    const next = tf.tidy(() => tf.add(grad, tf.mul(flattenParams(out.grads), weight(c))) as tf.Tensor1D);
    value += (await out.value.data())[0] * weight(c);
    tf.dispose([grad, out.value, ...out.grads]);
    grad = next;
  }
  return { grad, value };
}

/**
 * TRPO on the meta-objective: g = ∇θ L(θ'(θ)) through the inner steps; direction F⁻¹g by
 * conjugate gradient; step size √(2δ / gᵀF⁻¹g); backtracking until the surrogate improves and
 * the mean KL between the old and the new ADAPTED policies is ≤ δ (both re-adapted from the
 * candidate θ, as the paper). The Fisher matrix is the KL's Hessian with the inner step's
 * offset held fixed (θ'_t = θ − Δ_t), on every k-th step (`fisherSubsample`): the curvature of
 * the adapted policies without a third-order term through the inner gradient; the line search
 * enforces the true KL on every step.
 */
async function trpoStep(b: OuterBatch): Promise<Record<string, number>> {
  const { policy, config, old } = b;
  const theta = policy.params;
  const T = b.post.obs.shape[0];
  const objective = (c: Chunk, ps: tf.Tensor[]) => metaObjective(policy, ps, c.pre, c.post, c.old, config.innerLr, config.firstOrder);
  const { grad: g, value: lossBefore } = await accumulateGradient(b, objective, (c) => c.taskShare);
  const gradNorm = tf.tidy(() => tf.norm(g));
  const gNorm = (await gradNorm.data())[0];
  gradNorm.dispose();

  const offsets = tf.tidy(() => perTask(theta, T).map((p, i) => tf.sub(p, b.sampledWith[i])));
  const sub = subsample(b.post, old, config.fisherSubsample);
  // F v = Σ_chunks share · F_chunk v: one chunk's double-backprop tape alive at a time.
  const fisherChunks = await makeChunks([], sub.post, sub.old, config.maxRowsPerChunk);
  const chunkOffsets = fisherChunks.map((c) => (c.owned ? offsets.map((d) => sliceTasks(d, c.from, c.to)) : offsets));
  const fvp = (v: tf.Tensor1D) =>
    tf.tidy(() =>
      fisherChunks.reduce((acc, c, k) => {
        const kl = (ps: tf.Tensor[]) => meanKl(policy, perTask(ps, c.to - c.from).map((p, i) => tf.sub(p, chunkOffsets[k][i])), c.post, c.old);
        return tf.add(acc, tf.mul(fisherVectorProduct(kl, theta, v, 0), c.taskShare)) as tf.Tensor1D;
      }, tf.mul(v, config.cgDamping) as tf.Tensor1D),
    );
  const direction = await conjugateGradient(fvp, g, { iterations: config.cgIters });
  const curvature = tf.tidy(() => tf.dot(direction, fvp(direction)));
  const dFd = (await curvature.data())[0];
  const scale = Math.sqrt((2 * config.maxKl) / Math.max(dFd, 1e-12));
  const theta0 = flattenParams(theta);
  const fullStep = tf.tidy(() => tf.mul(direction, -scale) as tf.Tensor1D);
  tf.dispose([g, curvature, direction, ...offsets, ...chunkOffsets.filter((o) => o !== offsets).flat()]);
  disposeChunks(fisherChunks);
  if (sub.post !== b.post) disposeStage(sub.post), disposeOld(sub.old);

  const evaluate = async (fraction: number) => {
    tf.tidy(() => assignFlat(theta, tf.add(theta0, tf.mul(fullStep, fraction)) as tf.Tensor1D));
    return lossAndKl(b);
  };
  const search = await backtrackingLineSearch(evaluate, lossBefore, {
    maxKl: config.maxKl,
    backtrackRatio: config.lineSearchDecay,
    maxBacktracks: config.lineSearchSteps,
  });
  // Rejected (rllab: "Line search condition violated. Rejecting the step!"): keep θ_old.
  if (!search.accepted) tf.tidy(() => assignFlat(theta, theta0));
  tf.dispose([theta0, fullStep]);
  // The surrogate before the step is 0 by construction (ratio 1, advantages normalised to mean 0).
  return {
    surrogate: search.accepted ? search.loss : lossBefore,
    kl: search.accepted ? search.kl : 0,
    gradNorm: gNorm,
    stepAccepted: search.accepted ? 1 : 0,
    backtracks: search.backtracks,
  };
}

/** Every k-th row of each task (k = round(1 / fraction)), with π_old on them. */
function subsample(post: StageData, old: OldPolicy, fraction: number): { post: StageData; old: OldPolicy } {
  const stride = Math.max(1, Math.round(1 / fraction));
  if (stride === 1) return { post, old };
  return tf.tidy(() => {
    const rows = tf.range(0, post.obs.shape[1], stride, 'int32');
    const pick = <X extends tf.Tensor>(x: X) => tf.gather(x, rows, 1) as X;
    const mask = pick(post.mask);
    const sub: StageData = {
      ...post,
      obs: pick(post.obs),
      actions: pick(post.actions),
      advantages: pick(post.advantages),
      mask,
      steps: tf.maximum(tf.sum(mask, 1), 1) as tf.Tensor1D,
    };
    const subOld: OldPolicy = { mean: pick(old.mean), logStd: tf.clone(old.logStd), logProb: pick(old.logProb) };
    return { post: sub, old: subOld } as unknown as tf.TensorContainer;
  }) as unknown as { post: StageData; old: OldPolicy };
}

/** PPO-clip on the meta-objective: `ppoEpochs` Adam steps, each re-adapting from the current θ. */
async function ppoStep(b: OuterBatch, adam: Adam): Promise<Record<string, number>> {
  const { policy, config } = b;
  const loss = (c: Chunk, ps: tf.Tensor[]) =>
    tf.tidy(() => clippedLoss(policy, adapt(policy, ps, c.pre, c.post.obs.shape[0], config.innerLr, config.firstOrder), c.post, c.old, config.ppoClip));
  for (let epoch = 0; epoch < config.ppoEpochs; epoch++) {
    // A masked mean over each chunk's steps, weighted by its share of steps: the mean over all steps.
    const { grad } = await accumulateGradient(b, loss, (c) => c.stepShare);
    const grads = unflattenParams(grad, policy.params.map((p) => p.shape));
    adam.apply(grads);
    tf.dispose([grad, ...grads]);
    await letEventLoopRun();
  }
  const after = await lossAndKl(b);
  return { surrogate: after.loss, kl: after.kl };
}

// ──────────────────────────── adapt / evaluate ────────────────────────────

class MamlLearner implements MetaLearner {
  readonly agent = 'maml';
  readonly stages: readonly string[];
  readonly tasksPerIteration: number;
  private readonly adam: Adam | null;
  private readonly ctx: RolloutContext;
  private disposed = false;

  constructor(
    private readonly config: MamlConfig,
    args: AgentArgs<MamlConfig>,
    private readonly policy: GaussianMlpPolicy,
    private rng: Rng,
  ) {
    this.stages = stageNames(config.innerSteps);
    this.tasksPerIteration = config.metaBatchSize;
    this.adam = config.outer === 'ppo' ? new Adam(policy.params, { learningRate: config.ppoLr }) : null;
    this.ctx = { policy, sampler: args.sampler, config, watch: args.watch };
  }

  async iterate(tasks: Task[]): Promise<IterationMetrics> {
    this.checkAlive('iterate');
    const { config, policy } = this;
    const T = tasks.length;
    const stages: StageData[] = [];
    // params[0] = θ (shared); params[j] = θ'_t after j inner steps (per task), freed at the end.
    const params: Params[] = [policy.params];
    let old: OldPolicy | null = null;
    let chunks: Chunk[] = [];
    let sampleSeconds = 0;
    let learnSeconds = 0;
    try {
      for (let j = 0; j <= config.innerSteps; j++) {
        const t0 = performance.now();
        const batch = await rollout(this.ctx, tasks, params[j], j, this.rng);
        const t1 = performance.now();
        stages.push(prepareStage(batch, config));
        if (j < config.innerSteps) params.push(stepFrom(policy, params[j], j === 0, stages[j], config));
        sampleSeconds += (t1 - t0) / 1000;
        learnSeconds += (performance.now() - t1) / 1000;
      }
      const t2 = performance.now();
      const post = stages[config.innerSteps];
      const sampledWith = params[config.innerSteps];
      const pre = stages.slice(0, -1);
      old = oldPolicy(policy, sampledWith, post);
      chunks = await makeChunks(pre, post, old, config.maxRowsPerChunk);
      const outer: OuterBatch = { policy, config, pre, post, sampledWith, old, chunks };
      const figures = this.adam ? await ppoStep(outer, this.adam) : await trpoStep(outer);
      figures.std = await meanStd(policy);
      const outerSeconds = (performance.now() - t2) / 1000;
      figures.outerSeconds = outerSeconds;
      learnSeconds += outerSeconds;
      return {
        stageReturns: stages.map((s) => mean(s.returns)),
        figures,
        envSteps: stages.reduce((n, s) => n + s.envSteps, 0),
        sampleSeconds,
        learnSeconds,
      };
    } finally {
      disposeChunks(chunks);
      disposeOld(old);
      tf.dispose(params.slice(1).flat());
      stages.forEach(disposeStage);
    }
  }

  /**
   * Meta-test: on each task, the mean return of n episodes before adaptation and after each of
   * 1..K inner steps (each step on the previous stage's episodes). Draws from its own Rng
   * (`seed`), so the learner's stream and weights are untouched.
   */
  async evaluate(tasks: Task[], options: EvaluateOptions = {}): Promise<AdaptationResult> {
    this.checkAlive('evaluate');
    const K = options.stages ?? this.config.innerSteps;
    const rng = new Rng(options.seed ?? 0);
    let params: Params = this.policy.params;
    const returns: number[][] = [];
    try {
      for (let j = 0; j <= K; j++) {
        const stage = prepareStage(await rollout(this.ctx, tasks, params, j, rng), this.config);
        returns.push(stage.returns);
        if (j < K) {
          const next = stepFrom(this.policy, params, j === 0, stage, this.config);
          if (j > 0) tf.dispose([...params]);
          params = next;
        }
        disposeStage(stage);
      }
    } finally {
      if (params !== this.policy.params) tf.dispose([...params]);
    }
    return { stages: stageNames(K), returns };
  }

  // ─────────────────────────────── save / load ───────────────────────────────

  /** Weights, the PPO optimiser's moments and the agent's Rng: the next iterate() is then exact. */
  async state(): Promise<LearnerState> {
    this.checkAlive('state');
    const arrays: LearnerState['arrays'] = {};
    for (const [i, p] of this.policy.params.entries()) {
      arrays[`policy/${this.policy.names[i]}`] = { shape: [...p.shape], data: new Float32Array(await p.data()) };
    }
    const meta: LearnerState['meta'] = { rng: this.rng.state() as unknown as JsonValue, baseline: 'refitted per task and stage: no state' };
    if (this.adam) {
      const adam = await this.adam.state();
      adam.m.forEach((m, i) => (arrays[`adam/m/${i}`] = { shape: [m.length], data: m }));
      adam.v.forEach((v, i) => (arrays[`adam/v/${i}`] = { shape: [v.length], data: v }));
      meta.adamStep = adam.step;
    }
    return { arrays, meta };
  }

  async restore(state: LearnerState): Promise<void> {
    this.checkAlive('restore');
    const corrupt = (why: string): never => {
      throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `MAML checkpoint does not fit this learner: ${why} (was it saved with another config?)`);
    };
    const values = this.policy.params.map((p, i) => {
      const saved = state.arrays[`policy/${this.policy.names[i]}`];
      if (!saved) corrupt(`'policy/${this.policy.names[i]}' is missing`);
      if (saved.shape.join('x') !== p.shape.join('x') || saved.data.length !== p.size) corrupt(`'policy/${this.policy.names[i]}' has shape [${saved.shape}], expected [${p.shape}]`);
      return saved.data;
    });
    const rngState = state.meta.rng as unknown as RngState | undefined;
    if (!rngState || !Array.isArray(rngState.gen)) corrupt('the agent Rng state is missing');
    if (this.adam) {
      const step = state.meta.adamStep;
      if (typeof step !== 'number') corrupt('the PPO optimiser state is missing');
      const read = (kind: string) => this.policy.params.map((_, i) => state.arrays[`adam/${kind}/${i}`]?.data ?? corrupt(`'adam/${kind}/${i}' is missing`));
      this.adam.load({ step: step as number, m: read('m'), v: read('v') });
    }
    tf.tidy(() => this.policy.params.forEach((p, i) => p.assign(tf.tensor(values[i], p.shape))));
    this.rng = Rng.fromState(rngState!);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.adam?.dispose();
    this.policy.dispose();
  }

  private checkAlive(what: string): void {
    if (this.disposed) throw new MetarlError('METARL_DISPOSED', `MAML learner: ${what}() after dispose()`);
  }
}

/**
 * One inner step from θ (`shared`: all tasks start there) or from per-task parameters, outside
 * any tape, in groups of at most `maxRowsPerChunk` rows.
 */
function stepFrom(policy: GaussianMlpPolicy, params: Params, shared: boolean, stage: StageData, config: MamlConfig): tf.Tensor[] {
  const [T, M] = stage.advantages.shape;
  const groups = taskGroups(T, M, config.maxRowsPerChunk);
  const step = (from: number, to: number) =>
    tf.tidy(() => {
      const part = groups.length === 1 ? stage : sliceStage(stage, from, to);
      const start = shared ? perTask(params, to - from) : groups.length === 1 ? params : params.map((p) => sliceTasks(p, from, to));
      return innerStep(policy, start, part, config.innerLr, false);
    });
  if (groups.length === 1) return step(0, T);
  const parts = groups.map(([from, to]) => step(from, to));
  const joined = params.map((_, i) => tf.concat(parts.map((p) => p[i]), 0));
  tf.dispose(parts.flat());
  return joined;
}

async function meanStd(policy: GaussianMlpPolicy): Promise<number> {
  const logStd = policy.params[policy.params.length - 1];
  const values = await logStd.data();
  let sum = 0;
  for (const v of values) sum += Math.exp(v);
  return sum / values.length;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
