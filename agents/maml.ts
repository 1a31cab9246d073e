/**
 * MAML for reinforcement learning (Finn, Abbeel & Levine 2017, "Model-Agnostic
 * Meta-Learning for Fast Adaptation of Deep Networks", §3.2 and the cbfinn/maml_rl code).
 *
 * One meta-iteration on a meta-batch of T tasks. Per task t, in a task worker:
 *   stage 0   sample n episodes with the meta-parameters θ ("pre");
 *   inner     θ'_t = θ − α ∇θ L_VPG(θ; stage-0 episodes of t)          (k times, one stage each);
 *   stage k   sample n episodes with θ'_t ("step k");
 *   outer     g_t = ∇θ L_TRPO(θ'_t(θ)), the gradient taken THROUGH the inner updates (second
 *             order) unless `firstOrder`.
 * On the learner: TRPO (max KL δ) on the mean over tasks. Conjugate gradient asks the workers
 * for F·v = mean_t F_t·v, each F_t the KL's Hessian through the inner steps; the line search
 * asks them for the surrogate and KL at a candidate θ. `outer: 'ppo'` instead takes Adam steps
 * on the mean clipped-surrogate gradient.
 *
 * The file holds both halves (ARCHITECTURE.md "Workers"): the shard side (`createMamlShard`:
 * rollouts and every per-task term, one task at a time) and the learner (`createMaml`: θ, the
 * optimiser, CG and the line search). A task's numbers depend only on θ, its index and the
 * iteration's seed, and the learner adds them up in task order, so an iteration gives the same
 * bits with 0, 1 or N workers.
 *
 * The policy is a function of an explicit parameter list (`policy.forward(params, obs)`), so
 * θ'_t is computed functionally and nothing is mutated until the outer step sets θ. The math the
 * workers run is in src/rl: the differentiable inner loop (inner-loop.ts), the Jacobian products
 * through it (meta-gradient.ts), TRPO's surrogate (surrogate.ts) and a task's outer-step terms
 * (meta-task.ts).
 * Shapes, per task: n episodes, H horizon, O/A obs/action size, M = n·H rows (the sampler's
 * padded layout; a mask marks the steps actually taken).
 *
 * Sections, in order: config · policy · rollout · advantages · losses · shard side · learner ·
 * save/load.
 */
import { z } from 'zod';
import { adaptedPolicy, resolveAdaptOptions } from '../src/core/adapted-policy.js';
import { MetarlError } from '../src/core/errors.js';
import { parseConfig } from '../src/core/parse-config.js';
import { letEventLoopRun } from '../src/core/event-loop.js';
import type { AdaptationResult, AdaptedPolicy, AdaptOptions, EvaluateOptions, IterationMetrics, LearnerState, MetaLearner } from '../src/core/learner.js';
import { Rng } from '../src/core/rng.js';
import type { Task, TaskFamily } from '../src/core/types.js';
import { Adam } from '../src/nn/adam.js';
import { LinearFeatureBaseline } from '../src/nn/baseline.js';
import { restoreLearnerState, saveLearnerState } from '../src/nn/learner-state.js';
import { sampleGaussian } from '../src/nn/distributions.js';
import { variableFrom } from '../src/nn/init.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../src/nn/mlp.js';
import { paramsFromFlat, readFlat, unflattenParams } from '../src/nn/params.js';
import { tf } from '../src/nn/tf.js';
import { adaptParams, disposeRows, innerUpdate, type Params, type PolicyRows, type StepSize } from '../src/rl/inner-loop.js';
import { disposeMetaTask, metaTask, taskClippedGradient, taskFisherProduct, taskGradient, taskLossKl, type MetaTask } from '../src/rl/meta-task.js';
import { surrogateLoss, type OldPolicy } from '../src/rl/surrogate.js';
import { discountedReturns, gae, normalizeAdvantages, trpoStep, validMask } from '../src/rl/index.js';
import { batchWithFeatures, featureCount, taskFeatures, withFeatures } from '../src/rl/task-features.js';
import { resetSeed } from '../src/sampling/layout.js';
import type { Batch, Sampler, VectorPolicy } from '../src/sampling/types.js';
import { askTaskShards, indexedTasks, meanVector, shardRanges, weightedSum, type IndexedTask } from '../src/workers/shards.js';
import { emittingHooks, routeEvents } from '../src/workers/events.js';
import type { ShardEvent, ShardWorker, ShardWorkerArgs, TaskPool } from '../src/workers/types.js';
import type { AgentArgs, AgentDefinition } from './types.js';

// ───────────────────────────── config ─────────────────────────────

export const mamlConfigSchema = z.strictObject({
  innerLr: z.number().min(0).default(0.1).describe('inner-loop step size α of the VPG adaptation step (0: not adapted, as `eval` measures the oracle)'),
  innerSteps: z.number().int().min(0).default(1).describe('inner gradient steps k; each samples its own episodes. 0 = no meta-learning: one policy trained on all tasks by the same outer step (the pretrained baseline of `metarl eval --baselines`)'),
  episodesPerTask: z.number().int().min(1).default(20).describe('episodes n sampled per task at each adaptation stage'),
  metaBatchSize: z.number().int().min(1).default(20).describe('tasks per meta-iteration (the meta-batch)'),
  horizon: z.number().int().positive().nullable().default(null).describe('steps per episode at most; null = the family horizon'),
  hidden: z.array(z.number().int().positive()).min(1).default([64, 64]).describe('hidden layer sizes of the tanh MLP policy'),
  initStd: z.number().positive().default(1).describe('initial action standard deviation (state-independent, learned)'),
  discount: z.number().min(0).max(1).default(0.99).describe('discount γ'),
  gaeLambda: z.number().min(0).max(1).default(1).describe('GAE λ; 1 = discounted return minus the linear baseline, as the original MAML'),
  baselineReg: z.number().positive().default(1e-5).describe('ridge coefficient of the linear feature baseline (raised ×10 until the fit is finite)'),
  firstOrder: z.boolean().default(false).describe('first-order MAML: treat the inner gradient as a constant in the meta-gradient'),
  learnInnerLr: z.boolean().default(false).describe('Meta-SGD (Li et al. 2017): a per-parameter inner step size, initialised at innerLr and meta-learned by the outer step with the weights'),
  oracle: z.boolean().default(false).describe("the policy also observes the task's numbers (goal, velocity, masses…): with innerSteps 0, the oracle baseline of `metarl eval --baselines`, an upper bound rather than meta-learning"),
  outer: z.enum(['trpo', 'ppo']).default('trpo').describe("outer optimiser: 'trpo' (the paper) or 'ppo' (clipped surrogate + Adam)"),
  maxKl: z.number().positive().default(0.01).describe('TRPO: mean KL bound δ between the old and new adapted policies'),
  cgIters: z.number().int().min(1).default(10).describe('TRPO: conjugate-gradient iterations'),
  cgDamping: z.number().min(0).default(1e-5).describe('TRPO: damping λ added to the Fisher matrix (F + λI)'),
  fisherSubsample: z.number().gt(0).max(1).default(0.2).describe("TRPO: fraction of each task's steps (every k-th) used in Fisher-vector products, as the TRPO paper: post-update steps for the Fisher matrix, pre-update ones for the inner step's Hessian; the line search checks the KL on all of them"),
  lineSearchSteps: z.number().int().min(1).default(15).describe('TRPO: backtracking line-search steps at most'),
  lineSearchDecay: z.number().gt(0).lt(1).default(0.8).describe('TRPO: step shrink factor per backtrack'),
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
  createShardWorker: (args) => createMamlShard(args),
  randomInitLabel: 'random init + fine-tune',
  adaptationConfig: ['innerLr', 'episodesPerTask'],
};

const parseAgentConfig = (config: unknown): MamlConfig => parseConfig(mamlConfigSchema, config, 'maml config');

// ──────────────────────────────── policy ────────────────────────────────

/** 'pre', 'step 1', …, 'step k'. */
function stageNames(steps: number): string[] {
  return ['pre', ...Array.from({ length: steps }, (_, i) => `step ${i + 1}`)];
}

/** The MLP policy; an oracle's input is the observation followed by the task's features. */
function buildPolicy(family: TaskFamily, config: MamlConfig, rng: Rng): GaussianMlpPolicy {
  const { obsSize, actSize } = family.spec;
  const extra = config.oracle ? featureCount(family.sampleTasks(new Rng(0), 1)[0]) : 0;
  return createGaussianMlp({ obsSize: obsSize + extra, actSize, hidden: config.hidden, initStd: config.initStd }, rng);
}

// ─────────────────────────────── rollout ───────────────────────────────

/** A slot of the meta-batch (task index × n + episode) streamed to the viewer at a stage. */
interface WatchedSlot {
  stage: number;
  slot: number;
}

/**
 * Samples `episodesPerTask` episodes of one task (one slot each) with `params`. Reset seeds and
 * action noise come from (seed, task index, stage) alone, so a rollout is the same wherever it runs.
 */
async function rollout(shard: ShardContext, task: IndexedTask, params: Params, stage: number, seed: number, watch: readonly WatchedSlot[], emit: Emit): Promise<Batch> {
  const n = shard.config.episodesPerTask;
  const rng = new Rng(resetSeed(seed, task.index, stage));
  const first = task.index * n;
  const watchSlots = watch.filter((w) => w.stage === stage && w.slot >= first && w.slot < first + n).map((w) => w.slot - first);
  const hooks = emittingHooks(emit, stage, first);
  const features = shard.config.oracle ? taskFeatures(task.task) : null;
  if (features && features.length !== shard.policy.obsSize - shard.obsSize) {
    throw new MetarlError('METARL_SPEC_MISMATCH', `oracle: task ${task.index} has ${features.length} numbers, the family's first task ${shard.policy.obsSize - shard.obsSize}; an oracle needs tasks of one shape`);
  }
  const job = {
    tasks: [task.task],
    slotsPerTask: n,
    episodesPerSlot: 1,
    seed: rng.seed(),
    ...(shard.config.horizon !== null ? { horizon: shard.config.horizon } : {}),
    ...(watchSlots.length > 0 ? { watchSlots } : {}),
  };
  const batch = await shard.sampler.sample(job, await actor(shard.policy, params, rng, features), watchSlots.length > 0 ? hooks : {});
  return features ? batchWithFeatures(batch, features) : batch;
}

/** The VectorPolicy the sampler calls each step: one forward over the task's slots, plus Gaussian noise. */
async function actor(policy: GaussianMlpPolicy, params: Params, rng: Rng, features: Float32Array | null): Promise<VectorPolicy> {
  const logStd = (await params[params.length - 1].data()) as Float32Array;
  let widened: Float32Array | undefined;
  return {
    act: async (input) => {
      const rows = input.active.length;
      const out = features ? (widened ??= new Float32Array(rows * policy.obsSize)) : undefined;
      return sampleGaussian(await meanActions(policy, params, input.obs, rows, features, out), logStd, rng);
    },
  };
}

/** The policy's mean at `rows` observations [rows, O], an oracle's each followed by the task's features (widened into `out`): [rows, A]. */
async function meanActions(policy: GaussianMlpPolicy, params: Params, obs: Float32Array, rows: number, features: Float32Array | null, out?: Float32Array): Promise<Float32Array> {
  const input = features ? withFeatures(obs, rows, policy.obsSize - features.length, features, out) : obs;
  const mean = tf.tidy(() => policy.forward(params, tf.tensor2d(input, [rows, policy.obsSize])).mean);
  const values = (await mean.data()) as Float32Array;
  mean.dispose();
  return values;
}

// ────────────────────────────── advantages ──────────────────────────────

/**
 * One adaptation stage of one task: its n episodes × H steps as rows (M = n·H; padding zero and
 * masked out, advantages normalised), with the episodes' mean undiscounted return.
 */
export interface StageData extends PolicyRows {
  meanReturn: number;
  envSteps: number;
}

/**
 * As the original MAML code: fit the linear feature baseline to the discounted returns of the
 * task's own n episodes, take GAE(γ, λ) against it (λ = 1: return − baseline), and normalise
 * over the task's steps. The baseline is refitted for every task and stage, so it carries no
 * state between iterations.
 */
function prepareStage(batch: Batch, config: Pick<MamlConfig, 'discount' | 'gaeLambda' | 'baselineReg'>): StageData {
  const { horizon: H, obsSize: O, actSize: A, slots: n } = batch;
  if (batch.episodes !== 1 || batch.tasks.length !== 1) throw new MetarlError('METARL_SPEC_MISMATCH', `MAML prepares one task's slots of one episode each, the batch has ${batch.tasks.length} tasks × ${batch.episodes} episodes`);
  const M = n * H;
  const mask = validMask(batch.lengths, H);
  const baseline = new LinearFeatureBaseline(O, config.baselineReg);
  baseline.fit(batch.obs, discountedReturns(batch.rewards, batch.lengths, H, config.discount), batch.lengths, H);
  const values = baseline.predict(batch.obs, batch.lengths, H);
  const { advantages } = gae({ rewards: batch.rewards, values, lengths: batch.lengths, terminated: batch.terminated, horizon: H, gamma: config.discount, lambda: config.gaeLambda });
  let steps = 0;
  let sumReturn = 0;
  for (let e = 0; e < n; e++) (steps += batch.lengths[e]), (sumReturn += batch.returns[e]);
  return {
    obs: tf.tensor2d(batch.obs, [M, O]),
    actions: tf.tensor2d(batch.actions, [M, A]),
    advantages: tf.tensor1d(normalizeAdvantages(advantages, mask)),
    mask: tf.tensor1d(mask),
    steps: Math.max(1, steps),
    meanReturn: sumReturn / n,
    envSteps: batch.envSteps,
  };
}

// ──────────────────────────────── losses ────────────────────────────────
//
// Inner: VPG, −mean_t log π_θ(a_t|s_t) Â_t on a stage's episodes (src/rl/inner-loop.ts `innerLoss`),
// one step per stage: θ'_j = θ'_{j−1} − α ⊙ ∇L_in.
// Outer: TRPO's surrogate −mean_t r_t Â_t, r_t = π_θ'(a|s) / π_old(a|s), and its bound on the mean
// KL(π_old ‖ π_θ') (src/rl/surrogate.ts), on the post-update episodes, with θ' = θ'(θ) through the
// inner steps: the meta-gradient and the Fisher product carry the outer terms back to θ
// (src/rl/meta-gradient.ts, closed-form Hessian-vector products).

/**
 * One task's MAML objective as a function of θ: the surrogate of its post-update episodes under
 * θ'(θ), differentiable through the inner steps on the tape. @internal The definition the
 * finite-difference tests check; the workers take its gradient in closed form (`metaGradient`).
 */
export function metaObjective(policy: GaussianMlpPolicy, theta: Params, pre: readonly StageData[], post: StageData, old: OldPolicy, alpha: StepSize, firstOrder: boolean): tf.Scalar {
  return tf.tidy(() => surrogateLoss(policy, adaptParams(policy, theta, pre, alpha, firstOrder), post, old));
}

// ────────────────────────────── shard side ──────────────────────────────

type Emit = (event: ShardEvent) => void;

interface ShardContext {
  config: MamlConfig;
  policy: GaussianMlpPolicy;
  sampler: Sampler;
  /** The family's observation size (the policy's input is larger for an oracle). */
  obsSize: number;
}

interface IterateRequest {
  seed: number;
  theta: Float32Array;
  tasks: IndexedTask[];
  watch: WatchedSlot[];
  /** TRPO: also the outer gradient and loss at θ. */
  gradient: boolean;
}

interface TaskIterateResult {
  index: number;
  stageReturns: number[];
  envSteps: number;
  /** Real post-update steps: PPO's loss is a mean over all of them. */
  postSteps: number;
  sampleSeconds: number;
  /** The surrogate at θ (0 by construction) and its gradient through the inner steps. */
  loss: number;
  gradient: Float32Array | null;
}

/** Meta-test: `stages` inner steps on each task, then the adapted policy's episodes. */
interface EvaluateRequest {
  seed: number;
  theta: Float32Array;
  tasks: IndexedTask[];
  stages: number;
  watch: WatchedSlot[];
}

/** `MetaLearner.adapt`: meta-test's `stages` inner steps on one task; the answer is θ'_k, flat. */
interface AdaptRequest {
  seed: number;
  theta: Float32Array;
  task: IndexedTask;
  stages: number;
}

/** Starts the shard side in a task worker (or on the calling thread with `--workers 0`). */
async function createMamlShard(args: ShardWorkerArgs): Promise<ShardWorker> {
  const config = parseAgentConfig(args.config);
  // Only `forward` and the shapes are used: θ comes with every request.
  const policy = buildPolicy(args.family, config, new Rng(0));
  return new MamlShard({ config, policy, sampler: args.sampler, obsSize: args.family.spec.obsSize });
}

/**
 * The meta-parameters φ a request carries, split: θ, and with Meta-SGD the flat α that follows
 * it (φ = [θ, α], both [P]).
 */
function splitMeta(flat: Float32Array, policy: GaussianMlpPolicy, learnInnerLr: boolean): { theta: tf.Tensor[]; alpha: tf.Tensor1D | null } {
  const shapes = policy.params.map((p) => p.shape);
  if (!learnInnerLr) return { theta: paramsFromFlat(flat, shapes), alpha: null };
  const P = flat.length / 2;
  return { theta: paramsFromFlat(flat.subarray(0, P), shapes), alpha: tf.tensor1d(flat.subarray(P)) };
}

/** One task's stages as `sampleStages` leaves them. */
interface Sampled {
  path: tf.Tensor[][];
  stages: StageData[];
  grads: tf.Tensor1D[];
  sampleSeconds: number;
}

/** Frees a task's stages, its path past θ and its inner gradients. */
function disposeSampled(sampled: Sampled): void {
  sampled.stages.forEach(disposeRows);
  tf.dispose([...sampled.path.slice(1).flat(), ...sampled.grads]);
}

class MamlShard implements ShardWorker {
  private theta: tf.Tensor[] = [];
  private alpha: tf.Tensor1D | null = null;
  private runs: Array<MetaTask<StageData>> = [];

  constructor(private readonly ctx: ShardContext) {}

  async handle(kind: string, request: unknown, emit: Emit): Promise<unknown> {
    switch (kind) {
      case 'iterate':
        return this.iterate(request as IterateRequest, emit);
      case 'fisherProduct':
        return this.fisherProducts((request as { v: Float32Array }).v);
      case 'lossKl':
        return this.lossKl((request as { theta: Float32Array }).theta);
      case 'clippedGradient':
        return this.clippedGradients((request as { theta: Float32Array }).theta);
      case 'evaluate':
        return this.evaluate(request as EvaluateRequest, emit);
      case 'adapt':
        return this.adapt(request as AdaptRequest);
      case 'release':
        return this.release();
      case 'tensors':
        return tf.memory().numTensors;
      default:
        throw new MetarlError('METARL_PROTOCOL', `MAML task worker: unknown request '${kind}'`);
    }
  }

  dispose(): void {
    this.release();
    this.ctx.policy.dispose();
  }

  /** Samples every stage of each task, adapts, and (TRPO) takes the outer gradient at θ. */
  private async iterate(request: IterateRequest, emit: Emit): Promise<TaskIterateResult[]> {
    const { config, policy } = this.ctx;
    this.release();
    ({ theta: this.theta, alpha: this.alpha } = splitMeta(request.theta, policy, config.learnInnerLr));
    const results: TaskIterateResult[] = [];
    for (const task of request.tasks) {
      const { path, stages, grads, sampleSeconds } = await this.sampleStages(task, this.theta, this.alpha, config.innerSteps, request.seed, request.watch, emit);
      const run = await metaTask(policy, path, stages, this.alpha ? { alpha: this.alpha, grads } : null, config.fisherSubsample);
      this.runs.push(run);
      const outer = request.gradient ? await read(taskGradient(policy, run, config)) : null;
      results.push({
        index: task.index,
        stageReturns: stages.map((s) => s.meanReturn),
        envSteps: stages.reduce((n, s) => n + s.envSteps, 0),
        postSteps: run.post.steps,
        sampleSeconds,
        loss: outer?.loss ?? 0,
        gradient: outer?.gradient ?? null,
      });
    }
    return results;
  }

  private async fisherProducts(v: Float32Array): Promise<Float32Array[]> {
    const vector = tf.tensor1d(v);
    const out: Float32Array[] = [];
    for (const run of this.runs) {
      const fv = taskFisherProduct(run, vector, this.ctx.config);
      out.push((await fv.data()) as Float32Array);
      fv.dispose();
    }
    vector.dispose();
    return out;
  }

  /** The surrogate and KL at a candidate φ, each task re-adapted from it (as the paper). */
  private async lossKl(phi: Float32Array): Promise<Array<{ loss: number; kl: number }>> {
    const { config, policy } = this.ctx;
    const { theta: candidate, alpha } = splitMeta(phi, policy, config.learnInnerLr);
    const out: Array<{ loss: number; kl: number }> = [];
    for (const run of this.runs) {
      const [loss, kl] = taskLossKl(policy, run, candidate, alpha ?? config.innerLr);
      out.push({ loss: (await loss.data())[0], kl: (await kl.data())[0] });
      tf.dispose([loss, kl]);
    }
    tf.dispose([...candidate, ...(alpha ? [alpha] : [])]);
    return out;
  }

  /** PPO: each task's clipped surrogate (a mean over its post-update steps) and its meta-gradient at θ. */
  private async clippedGradients(phi: Float32Array): Promise<Array<{ loss: number; gradient: Float32Array }>> {
    const { config, policy } = this.ctx;
    const { theta: at, alpha } = splitMeta(phi, policy, config.learnInnerLr);
    const out: Array<{ loss: number; gradient: Float32Array }> = [];
    for (const run of this.runs) out.push(await read(taskClippedGradient(policy, run, at, alpha ?? config.innerLr, config)));
    tf.dispose([...at, ...(alpha ? [alpha] : [])]);
    return out;
  }

  /** Meta-test: per task, the mean return before adaptation and after each of 1..K inner steps. */
  private async evaluate(request: EvaluateRequest, emit: Emit): Promise<number[][]> {
    const { theta, alpha } = splitMeta(request.theta, this.ctx.policy, this.ctx.config.learnInnerLr);
    const out: number[][] = [];
    try {
      for (const task of request.tasks) {
        const sampled = await this.sampleStages(task, theta, alpha, request.stages, request.seed, request.watch, emit);
        out.push(sampled.stages.map((s) => s.meanReturn));
        disposeSampled(sampled);
      }
    } finally {
      tf.dispose([...theta, ...(alpha ? [alpha] : [])]);
    }
    return out;
  }

  /** θ'_K of one task, adapted as `evaluate` adapts it (without sampling its stage K), and the mean return of each stage it stepped on. */
  private async adapt(request: AdaptRequest): Promise<{ params: Float32Array; returns: number[] }> {
    const { theta, alpha } = splitMeta(request.theta, this.ctx.policy, this.ctx.config.learnInnerLr);
    try {
      const sampled = await this.sampleStages(request.task, theta, alpha, request.stages, request.seed, [], () => {}, false);
      const params = await readFlat(sampled.path[request.stages]);
      disposeSampled(sampled);
      return { params, returns: sampled.stages.map((s) => s.meanReturn) };
    } finally {
      tf.dispose([...theta, ...(alpha ? [alpha] : [])]);
    }
  }

  /**
   * Samples stages 0..K of one task, stage j with θ'_j, taking the inner step on each stage before
   * K: the path [θ, θ'_1, …, θ'_K], the stages' rows (stage K's only with `sampleLast`), Meta-SGD's
   * inner gradients and the seconds spent sampling.
   */
  private async sampleStages(task: IndexedTask, theta: Params, alpha: tf.Tensor1D | null, K: number, seed: number, watch: readonly WatchedSlot[], emit: Emit, sampleLast = true): Promise<Sampled> {
    const { config, policy } = this.ctx;
    const sampled: Sampled = { path: [[...theta]], stages: [], grads: [], sampleSeconds: 0 };
    for (let j = 0; j <= K; j++) {
      if (j === K && !sampleLast) break;
      const t0 = performance.now();
      const batch = await rollout(this.ctx, task, sampled.path[j], j, seed, watch, emit);
      sampled.sampleSeconds += (performance.now() - t0) / 1000;
      sampled.stages.push(prepareStage(batch, config));
      if (j === K) break;
      const next = innerUpdate(policy, sampled.path[j], sampled.stages[j], alpha ?? config.innerLr);
      sampled.path.push(next.params);
      if (next.grad) sampled.grads.push(next.grad);
    }
    return sampled;
  }

  private release(): null {
    this.runs.forEach(disposeMetaTask);
    tf.dispose([...this.theta, ...(this.alpha ? [this.alpha] : [])]);
    this.runs = [];
    this.theta = [];
    this.alpha = null;
    return null;
  }
}

// ──────────────────────────────── learner ────────────────────────────────

/** Starts the learner on the main thread; its per-task work goes to `args.pool`. */
export async function createMaml(args: AgentArgs<MamlConfig>): Promise<MetaLearner> {
  const config = parseAgentConfig(args.config);
  if (!args.pool) throw new MetarlError('METARL_CONFIG_INVALID', 'MAML runs its tasks in task workers: pass `pool` (createTaskPool()) in its AgentArgs');
  const rng = new Rng(args.seed);
  // The initial weights take the first draw of the agent's stream; everything after is seeds.
  const policy = buildPolicy(args.family, config, rng.fork());
  const innerLr = config.learnInnerLr ? policy.params.map((p) => variableFrom(tf.fill(p.shape, config.innerLr))) : null;
  return new MamlLearner(config, args.pool, policy, innerLr, rng, args.watch);
}

class MamlLearner implements MetaLearner {
  readonly agent = 'maml';
  readonly stages: readonly string[];
  readonly tasksPerIteration: number;
  private readonly adam: Adam | null;
  private disposed = false;

  /** What the outer step learns: θ, then with Meta-SGD the per-parameter α (φ = [θ, α]). */
  private readonly metaParams: tf.Variable[];
  private readonly metaNames: string[];

  constructor(
    private readonly config: MamlConfig,
    private readonly pool: TaskPool,
    private readonly policy: GaussianMlpPolicy,
    private readonly innerLr: tf.Variable[] | null,
    private rng: Rng,
    private readonly watch: AgentArgs<MamlConfig>['watch'],
  ) {
    this.stages = stageNames(config.innerSteps);
    this.tasksPerIteration = config.metaBatchSize;
    this.metaParams = [...policy.params, ...(innerLr ?? [])];
    this.metaNames = [...policy.names, ...(innerLr ? policy.names.map((n) => `innerLr.${n}`) : [])];
    this.adam = config.outer === 'ppo' ? new Adam(this.metaParams, { learningRate: config.ppoLr }) : null;
  }

  async iterate(tasks: Task[]): Promise<IterationMetrics> {
    this.checkAlive('iterate');
    const { config } = this;
    const started = performance.now();
    const shards = shardRanges(tasks.length, this.pool.lanes);
    const watched = this.watched(config.innerSteps);
    const theta = await readFlat(this.metaParams);
    const seed = this.rng.seed();
    const request = (from: number, to: number): IterateRequest => ({ seed, theta, tasks: indexedTasks(tasks, from, to), watch: watched.slots, gradient: config.outer === 'trpo' });
    try {
      const results = await askTaskShards<TaskIterateResult>(this.pool, 'MAML', 'iterate', shards, request, watched.onEvent);
      // The shards sample side by side: the slowest one's sampling is the iteration's.
      const sampleSeconds = Math.max(...shards.map(([from, to]) => results.slice(from, to).reduce((s, r) => s + r.sampleSeconds, 0)));
      const t0 = performance.now();
      const figures = this.adam ? await this.ppoStep(shards, results, this.adam) : await this.trpoStep(shards, results, theta);
      figures.std = await meanStd(this.policy);
      if (this.innerLr) Object.assign(figures, await innerLrSpread(this.innerLr));
      figures.outerSeconds = (performance.now() - t0) / 1000;
      return {
        stageReturns: this.stages.map((_, j) => mean(results.map((r) => r.stageReturns[j]))),
        figures,
        envSteps: results.reduce((n, r) => n + r.envSteps, 0),
        sampleSeconds,
        learnSeconds: (performance.now() - started) / 1000 - sampleSeconds,
      };
    } finally {
      await this.pool.run('release', shards.map(() => null)).catch(() => undefined);
    }
  }

  /**
   * TRPO on the meta-objective: g = mean_t g_t; the direction F⁻¹g by conjugate gradient; the
   * step size √(2δ / gᵀF⁻¹g); backtracking until the surrogate improves and the mean KL between
   * the old and the new ADAPTED policies is ≤ δ (both re-adapted from the candidate θ, as the paper).
   */
  private async trpoStep(shards: Array<[number, number]>, results: TaskIterateResult[], theta: Float32Array): Promise<Record<string, number>> {
    const { config } = this;
    const step = await trpoStep({
      theta,
      gradient: meanVector(results.map((r) => r.gradient!)),
      // The surrogate before the step is 0 by construction (ratio 1, advantages normalised to mean 0).
      lossBefore: mean(results.map((r) => r.loss)),
      fisherProduct: async (v) => meanVector(await this.ask<Float32Array>('fisherProduct', shards, { v: Float32Array.from(v) })),
      evaluate: async (candidate) => {
        const at = await this.ask<{ loss: number; kl: number }>('lossKl', shards, { theta: candidate });
        return { loss: mean(at.map((r) => r.loss)), kl: mean(at.map((r) => r.kl)) };
      },
      maxKl: config.maxKl,
      damping: config.cgDamping,
      cgIterations: config.cgIters,
      backtrackRatio: config.lineSearchDecay,
      maxBacktracks: config.lineSearchSteps,
    });
    this.setTheta(step.theta);
    return { surrogate: step.lossAfter, kl: step.kl, gradNorm: step.gradNorm, stepAccepted: step.accepted ? 1 : 0, backtracks: step.backtracks };
  }

  /** PPO-clip on the meta-objective: `ppoEpochs` Adam steps, each re-adapting from the current θ. */
  private async ppoStep(shards: Array<[number, number]>, results: TaskIterateResult[], adam: Adam): Promise<Record<string, number>> {
    const total = results.reduce((n, r) => n + r.postSteps, 0);
    // Each task's loss is a mean over its steps; weighted by its share of them, the sum is the mean over all steps.
    const weights = results.map((r) => r.postSteps / total);
    for (let epoch = 0; epoch < this.config.ppoEpochs; epoch++) {
      const at = await this.ask<{ loss: number; gradient: Float32Array }>('clippedGradient', shards, { theta: await readFlat(this.metaParams) });
      const grads = tf.tidy(() => unflattenParams(tf.tensor1d(Float32Array.from(weightedSum(at.map((r) => r.gradient), weights))), this.metaParams.map((p) => p.shape)));
      adam.apply(grads);
      tf.dispose(grads);
      await letEventLoopRun();
    }
    const after = await this.ask<{ loss: number; kl: number }>('lossKl', shards, { theta: await readFlat(this.metaParams) });
    return { surrogate: mean(after.map((r) => r.loss)), kl: mean(after.map((r) => r.kl)) };
  }

  /** The same request to every shard's lane; the per-task answers in task order. */
  private ask<R>(kind: string, shards: Array<[number, number]>, request: unknown): Promise<R[]> {
    return askTaskShards<R>(this.pool, 'MAML', kind, shards, () => request);
  }

  /**
   * Meta-test: on each task, the mean return of n episodes before adaptation and after each of
   * 1..K inner steps (each step on the previous stage's episodes). Seeded by `seed` alone, so the
   * learner's stream and weights are untouched.
   */
  async evaluate(tasks: Task[], options: EvaluateOptions = {}): Promise<AdaptationResult> {
    this.checkAlive('evaluate');
    const K = options.adaptationSteps ?? this.config.innerSteps;
    const shards = shardRanges(tasks.length, this.pool.lanes);
    const watched = this.watched(K, options.watch !== false);
    const theta = await readFlat(this.metaParams);
    const request = (from: number, to: number): EvaluateRequest => ({ seed: options.seed ?? 0, theta, tasks: indexedTasks(tasks, from, to), stages: K, watch: watched.slots });
    const perTask = await askTaskShards<number[]>(this.pool, 'MAML', 'evaluate', shards, request, watched.onEvent);
    return { stages: stageNames(K), returns: stageNames(K).map((_, j) => perTask.map((r) => r[j])) };
  }

  /**
   * Meta-test on one task, handed over: the inner steps `evaluate` takes on it (as task 0 of
   * `evaluate([task], { seed })`), in a task worker; the policy acts with the adapted mean.
   */
  async adapt(task: Task, options: AdaptOptions = {}): Promise<AdaptedPolicy> {
    this.checkAlive('adapt');
    const { steps, seed } = resolveAdaptOptions(options, this.config.innerSteps, 'MAML');
    const request: AdaptRequest = { seed, theta: await readFlat(this.metaParams), task: { index: 0, task }, stages: steps };
    const [adapted] = await askTaskShards<{ params: Float32Array; returns: number[] }>(this.pool, 'MAML', 'adapt', [[0, 1]], () => request);
    const { policy } = this;
    const params = paramsFromFlat(adapted.params, policy.params.map((p) => p.shape));
    const features = this.config.oracle ? taskFeatures(task) : null;
    return adaptedPolicy('MAML', {
      obsSize: policy.obsSize - (features?.length ?? 0),
      returns: adapted.returns,
      act: (obs) => meanActions(policy, params, obs, 1, features),
      free: () => tf.dispose(params),
    });
  }

  /** The viewer's hooks of each stage 0..K (none when `on` is false), as the slots the workers stream and a router for their events. */
  private watched(K: number, on = true): { slots: WatchedSlot[]; onEvent: Emit } {
    const names = stageNames(K);
    const hooks = on ? names.map((name, j) => this.watch?.(j, name)) : [];
    return {
      slots: hooks.flatMap((h, stage) => (h?.watchSlots ?? []).map((slot) => ({ stage, slot }))),
      onEvent: routeEvents(hooks),
    };
  }

  private setTheta(phi: Float32Array): void {
    const parts = paramsFromFlat(phi, this.metaParams.map((p) => p.shape));
    this.metaParams.forEach((p, i) => p.assign(parts[i]));
    tf.dispose(parts);
  }

  // ─────────────────────────────── save / load ───────────────────────────────

  /** Weights (and Meta-SGD's α), the PPO optimiser's moments and the agent's Rng: the next iterate() is then exact. */
  async state(): Promise<LearnerState> {
    this.checkAlive('state');
    return saveLearnerState({ names: this.metaNames, params: this.metaParams }, this.adam, this.rng, { baseline: 'refitted per task and stage: no state' });
  }

  async restore(state: LearnerState): Promise<void> {
    this.checkAlive('restore');
    this.rng = restoreLearnerState(state, { names: this.metaNames, params: this.metaParams }, this.adam, 'MAML').rng;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.adam?.dispose();
    this.policy.dispose();
    tf.dispose(this.innerLr ?? []);
  }

  private checkAlive(what: string): void {
    if (this.disposed) throw new MetarlError('METARL_DISPOSED', `MAML learner: ${what}() after dispose()`);
  }
}


/** A loss and its gradient as numbers; the tensors are disposed. */
async function read(g: { value: tf.Scalar; gradient: tf.Tensor1D }): Promise<{ loss: number; gradient: Float32Array }> {
  const out = { loss: (await g.value.data())[0], gradient: (await g.gradient.data()) as Float32Array };
  tf.dispose([g.value, g.gradient]);
  return out;
}

/** Meta-SGD's learned α: its mean and spread over all parameters. */
async function innerLrSpread(innerLr: readonly tf.Tensor[]): Promise<{ innerLrMean: number; innerLrStd: number }> {
  const values = await readFlat(innerLr);
  const m = mean(Array.from(values));
  return { innerLrMean: m, innerLrStd: Math.sqrt(mean(Array.from(values, (v) => (v - m) ** 2))) };
}

async function meanStd(policy: GaussianMlpPolicy): Promise<number> {
  const values = await policy.params[policy.params.length - 1].data();
  let sum = 0;
  for (const v of values) sum += Math.exp(v);
  return sum / values.length;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
