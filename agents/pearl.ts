/**
 * PEARL (Rakelly, Zhou, Quillen, Finn & Levine 2019, "Efficient Off-Policy Meta-Reinforcement
 * Learning via Probabilistic Context Variables", and its katerakelly/oyster code): a task is
 * summarised by a latent z. A context encoder maps each transition c = (s, a, r, s') to a
 * Gaussian factor N(μ(c), σ²(c)); the belief q(z | c₁…c_N) is their product (closed form,
 * precision-weighted); an off-policy SAC agent acts on [s, z]. Adaptation is inference: on a new
 * task, z is drawn from the prior N(0, I) for the first episode, then from the posterior of
 * everything seen so far, once per episode (the paper's online evaluation, §6.2).
 *
 * One meta-iteration, as oyster's `train()`:
 *   collect  for each of the `collectTasks` tasks the loop hands in (a new replay buffer and
 *            encoder buffer each): `priorEpisodes` episodes with z ~ prior (z redrawn every
 *            episode) into both buffers, then `posteriorEpisodes` with z ~ q(z | a context
 *            batch from the encoder buffer) into the replay buffer only;
 *   learn    `numTrainSteps` gradient steps, each on a meta-batch of `metaBatchSize` tasks drawn
 *            from the live buffers: a context batch (`contextBatch` transitions from a task's
 *            encoder buffer) → q(z | c) → one reparameterised z per task; an RL batch
 *            (`batchSize` transitions from its replay buffer) → twin-Q loss + β·Σ_tasks KL(q ‖ N(0, I)),
 *            whose gradient trains the encoder (the critic's loss is the encoder's signal, as the
 *            paper); the actor's loss sees z detached; target critics trail by Polyak τ.
 *
 * Where this file differs from oyster, and why:
 *   - Training tasks are a rolling window, not a fixed set: the loop hands each iteration
 *     `collectTasks` fresh tasks from its own seeded stream, and the learner keeps the buffers of
 *     the last `trainTasks` of them (oyster draws n_train_tasks once and revisits them). A continuous
 *     family is covered rather than memorised, the loop's task stream stays the one source of
 *     tasks, and the buffers are bounded by trainTasks × replayCapacity. A task is visited once, so
 *     oyster's "clear the encoder buffer on every visit" holds trivially, and there is no
 *     separate num_initial_steps phase (the first iterations train on the few tasks they have).
 *   - SAC is the twin-Q form with target critics (Haarnoja et al. 2018b), not oyster's V network
 *     with a target V; the temperature is fixed (α = `alpha`, with rewards scaled by
 *     `rewardScale`, as oyster) unless `learnTemperature`, which tunes log α to an entropy target.
 *   - Collection counts episodes (`priorEpisodes`, `posteriorEpisodes`), not steps: oyster's
 *     num_steps_prior / max_path_length. The posterior phase draws every episode's z from one
 *     belief (the prior phase's context); oyster starts it from the prior and re-infers after
 *     each trajectory.
 *   - The context holds s' too by default (`contextNextObs`; oyster's use_next_obs_in_context is
 *     False on its locomotion configs).
 *
 * The paper's settings (oyster configs/default.py), one flag each: --hidden 300,300,300
 * --encoder-hidden 200,200,200 --latent-size 5 --meta-batch-size 16 --batch-size 256
 * --context-batch 64 --num-train-steps 2000 --lr 0.0003 --reward-scale 5 --kl-weight 0.1
 * --tau 0.005 --discount 0.99 --collect-tasks 5 --train-tasks 100 (point-robot: --reward-scale 100,
 * --train-tasks 80, --num-train-steps 1000, horizon 20). The defaults here are smaller so an
 * iteration takes seconds on two CPU cores.
 *
 * The file holds both halves (ARCHITECTURE.md "Workers"). A gradient step's meta-batch is cut into
 * shards of `tasksPerShard` tasks; the shard side (`createPearlShard`, in a task worker) computes a
 * shard's critic + encoder gradient, then, once the learner has stepped the critic, its actor
 * gradient at the new critic; the learner (`createPearl`) draws the batch, sums the shards'
 * gradients in shard order, steps each Adam and the targets, and sends the weights with the next
 * request (synchronous data-parallel). The numbers depend on `tasksPerShard`, never on the worker
 * count; one shard (the default) runs on this thread. Collection and meta-test stay with the
 * vectorised sampler (its env threads step the envs; the policy runs here, one call per step for
 * all slots): PEARL samples a few thousand steps between a hundred gradient steps, and the learner
 * holds the buffers the episodes go into. docs/api.md "PEARL" has the measured split.
 *
 * Shapes: T = tasks in a meta-batch, C = context transitions per task, B = RL transitions per
 * task, O/A = obs/action size, L = latent size, D = context width (O + A + 1, + O with s').
 *
 * Sections, in order: config · networks · beliefs and rollouts · task buffers · losses and the
 * gradient step · shard side · learner: iterate, evaluate · save/load.
 */
import { z } from 'zod';
import { MetarlError } from '../src/core/errors.js';
import { parseConfig } from '../src/core/parse-config.js';
import { letEventLoopRun } from '../src/core/event-loop.js';
import { adaptedPolicy, resolveAdaptOptions } from '../src/core/adapted-policy.js';
import type { AdaptationResult, AdaptedPolicy, AdaptOptions, EvaluateOptions, IterationMetrics, LearnerState, MetaLearner } from '../src/core/learner.js';
import { Rng } from '../src/core/rng.js';
import type { JsonValue, Task, TaskFamily } from '../src/core/types.js';
import { Adam } from '../src/nn/adam.js';
import { klToStandardNormal, productOfGaussians } from '../src/nn/gaussian-product.js';
import { applyLearnerState, checkLearnerState, saveLearnerState, type SavedPolicy } from '../src/nn/learner-state.js';
import { createMlp, type Mlp } from '../src/nn/mlp.js';
import { variableFrom } from '../src/nn/init.js';
import { softUpdate } from '../src/nn/polyak.js';
import { LOG_STD_MAX, LOG_STD_MIN, actTanhGaussian, sampleTanhGaussian } from '../src/nn/tanh-gaussian.js';
import { tf } from '../src/nn/tf.js';
import { ReplayBuffer, emptyTransitions, type ReplayState, type Transitions } from '../src/rl/replay.js';
import { resetSeed } from '../src/sampling/layout.js';
import type { Batch, SampleJob, Sampler, StepInput, VectorPolicy } from '../src/sampling/types.js';
import { InProcessPool } from '../src/workers/in-process-pool.js';
import type { ShardWorker, ShardWorkerArgs, TaskPool } from '../src/workers/types.js';
import type { AgentArgs, AgentDefinition, WatchHooks } from './types.js';

// ───────────────────────────── config ─────────────────────────────

const sizes = z.array(z.number().int().positive()).min(1);

export const pearlConfigSchema = z.strictObject({
  latentSize: z.number().int().positive().default(5).describe('dimensions of the task latent z'),
  hidden: sizes.default([64, 64]).describe('hidden layer sizes of the actor and the twin critics (ReLU MLPs; paper 300,300,300)'),
  encoderHidden: sizes.default([64, 64]).describe('hidden layer sizes of the context encoder (paper 200,200,200)'),
  contextNextObs: z.boolean().default(true).describe("the context transitions hold s' as well as (s, a, r)"),
  collectTasks: z.number().int().positive().default(5).describe('tasks the loop hands each iteration, data collected for each (oyster num_tasks_sample)'),
  trainTasks: z.number().int().positive().default(40).describe('task buffers kept: the last this many collected tasks, oldest dropped (oyster n_train_tasks)'),
  replayCapacity: z.number().int().positive().default(1000).describe('transitions per task replay buffer, a ring (the encoder buffer holds the prior episodes)'),
  priorEpisodes: z.number().int().min(1).default(2).describe('episodes per collected task with z ~ prior, into the replay and encoder buffers (oyster num_steps_prior / horizon)'),
  posteriorEpisodes: z.number().int().min(0).default(2).describe('episodes per collected task with z ~ posterior, replay buffer only (oyster num_extra_rl_steps_posterior / horizon)'),
  numTrainSteps: z.number().int().positive().default(100).describe('gradient steps per iteration (paper 2000)'),
  metaBatchSize: z.number().int().positive().default(8).describe('tasks per gradient step, drawn with replacement from the live buffers (paper 16)'),
  batchSize: z.number().int().positive().default(64).describe('RL transitions per task per gradient step (paper 256)'),
  contextBatch: z.number().int().positive().default(64).describe('context transitions per task per gradient step (paper 64)'),
  lr: z.number().positive().default(3e-4).describe('Adam learning rate of the encoder, critics, actor and temperature'),
  discount: z.number().min(0).max(1).default(0.99).describe('discount γ'),
  tau: z.number().min(0).max(1).default(0.005).describe('Polyak rate of the target critics'),
  rewardScale: z.number().positive().default(5).describe('rewards are multiplied by this in the Bellman target (with a fixed α, it sets the weight of entropy)'),
  alpha: z.number().positive().default(1).describe('SAC temperature α: fixed, or the initial value when learnTemperature'),
  learnTemperature: z.boolean().default(false).describe('tune α so the policy entropy tracks targetEntropy (oyster keeps α = 1 and scales rewards instead)'),
  targetEntropy: z.number().nullable().default(null).describe('entropy target when learnTemperature; null = −actSize'),
  klWeight: z.number().min(0).default(0.1).describe('β: weight of KL(q(z|c) ‖ N(0, I)), summed over the tasks of a meta-batch (oyster kl_lambda)'),
  policyReg: z.number().min(0).default(1e-3).describe("weight of the actor's mean² and log-std² penalties (oyster's policy_mean/std_reg_weight)"),
  horizon: z.number().int().positive().nullable().default(null).describe('steps per episode at most; null = the family horizon'),
  evalEpisodes: z.number().int().min(1).default(3).describe('episodes of a meta-test trial: the first with z ~ prior, each later one with z from the posterior of the trial so far'),
  tasksPerShard: z.number().int().positive().default(8).describe("tasks of a gradient step's meta-batch differentiated as one batch (a shard); the shards run on the task workers and their gradients are summed in shard order, so the results depend on it, never on --workers (fewer: more parallel, more per-op overhead)"),
  deterministicEval: z.boolean().default(true).describe('meta-test acts with tanh(mean), as oyster; false samples actions'),
})
  .refine((c) => c.trainTasks >= c.collectTasks, { path: ['trainTasks'], message: 'must be at least collectTasks: the buffers of one iteration\'s tasks must all stay live' })
  .refine((c) => c.posteriorEpisodes === 0 || c.evalEpisodes >= 2, { path: ['evalEpisodes'], message: "must be at least 2 when posteriorEpisodes > 0: training reports (and streams) its posterior phase as stage 'episode 2'" });

export type PearlConfig = z.output<typeof pearlConfigSchema>;

/**
 * point-nav is oyster's point-robot with MAML's goals and horizon 100: its reward scale. The
 * generic defaults are cheetah-vel's: reward scale 5, KL weight 0.1 and latent size 5 are
 * oyster's defaults, which its cheetah-vel config keeps; the sizes are cut to fit two CPU cores.
 */
const familyDefaults: Record<string, Partial<z.input<typeof pearlConfigSchema>>> = {
  'point-nav': { rewardScale: 10, trainTasks: 80 },
};

// ───────────────────────────── networks ─────────────────────────────

/** The networks. Critic = encoder + twin Q (one loss trains all three). */
export interface PearlNetworks {
  /** c [N, D] → [N, 2L]: μ, then σ² before softplus. */
  encoder: Mlp;
  /** [s, z] [N, O + L] → [N, 2A]: pre-tanh mean, then log-std. */
  actor: Mlp;
  q1: Mlp;
  q2: Mlp;
  /** [s, a, z] → [N, 1], trailing q1 and q2. */
  q1Target: Mlp;
  q2Target: Mlp;
  /** [1]: log α. */
  logAlpha: tf.Variable;
}

/** The learner's networks and their optimisers (a task worker holds the networks only). */
export interface PearlNets extends PearlNetworks {
  criticAdam: Adam;
  actorAdam: Adam;
  alphaAdam: Adam | null;
}

export interface PearlSizes {
  obsSize: number;
  actSize: number;
  latentSize: number;
  /** D: width of one context transition. */
  contextSize: number;
}

function sizesOf(family: TaskFamily, config: PearlConfig): PearlSizes {
  const { obsSize: O, actSize: A } = family.spec;
  return { obsSize: O, actSize: A, latentSize: config.latentSize, contextSize: O + A + 1 + (config.contextNextObs ? O : 0) };
}

/** Builds every network from the agent's Rng: ReLU MLPs (rlkit's FlattenMlp), Glorot weights (the actor's output layer near zero, so it starts as tanh(N(0, 1))). */
function buildNetworks(sizes: PearlSizes, config: PearlConfig, rng: Rng): PearlNetworks {
  const { obsSize: O, actSize: A, latentSize: L, contextSize: D } = sizes;
  const encoder = createMlp({ inputSize: D, hidden: config.encoderHidden, outputSize: 2 * L, activation: 'relu' }, rng);
  const actor = createMlp({ inputSize: O + L, hidden: config.hidden, outputSize: 2 * A, activation: 'relu' }, rng, { outputGain: 0.01 });
  const qSpec = { inputSize: O + A + L, hidden: config.hidden, outputSize: 1, activation: 'relu' as const };
  const q1 = createMlp(qSpec, rng);
  const q2 = createMlp(qSpec, rng);
  const q1Target = createMlp(qSpec, rng);
  const q2Target = createMlp(qSpec, rng);
  softUpdate(q1Target.params, q1.params, 1);
  softUpdate(q2Target.params, q2.params, 1);
  const logAlpha = variableFrom(tf.tensor1d([Math.log(config.alpha)]));
  return { encoder, actor, q1, q2, q1Target, q2Target, logAlpha };
}

/** The networks (as `buildNetworks`) and an Adam for each trained group: critic (encoder, q1, q2), actor, temperature. */
export function buildNets(sizes: PearlSizes, config: PearlConfig, rng: Rng): PearlNets {
  const nets = buildNetworks(sizes, config, rng);
  return {
    ...nets,
    criticAdam: new Adam(criticParams(nets), { learningRate: config.lr }),
    actorAdam: new Adam(nets.actor.params, { learningRate: config.lr }),
    alphaAdam: config.learnTemperature ? new Adam([nets.logAlpha], { learningRate: config.lr }) : null,
  };
}

/** The parameter groups, each in the one order that flat weights and gradients use. */
const criticParams = (n: PearlNetworks): tf.Variable[] => [...n.encoder.params, ...n.q1.params, ...n.q2.params];
const qParams = (n: PearlNetworks): tf.Variable[] => [...n.q1.params, ...n.q2.params];
const targetParams = (n: PearlNetworks): tf.Variable[] => [...n.q1Target.params, ...n.q2Target.params];

function disposeNetworks(nets: PearlNetworks): void {
  for (const net of [nets.encoder, nets.actor, nets.q1, nets.q2, nets.q1Target, nets.q2Target]) net.dispose();
  nets.logAlpha.dispose();
}

function disposeNets(nets: PearlNets): void {
  disposeNetworks(nets);
  nets.criticAdam.dispose();
  nets.actorAdam.dispose();
  nets.alphaAdam?.dispose();
}

/** The actor at [s, z] (with `params`, default its own): pre-tanh mean and clipped log-std, [N, A] each. */
function actorHead(actor: Mlp, obs: tf.Tensor2D, z: tf.Tensor2D, A: number, params: readonly tf.Tensor[] = actor.params) {
  return tf.tidy(() => {
    const out = actor.forward(params, tf.concat([obs, z], 1));
    return { mean: tf.slice(out, [0, 0], [-1, A]) as tf.Tensor2D, logStd: tf.clipByValue(tf.slice(out, [0, A], [-1, A]), LOG_STD_MIN, LOG_STD_MAX) as tf.Tensor2D };
  });
}

/** min(Q1, Q2)(s, a, z) → [N]. */
function minQ(q1: Mlp, q2: Mlp, obs: tf.Tensor2D, action: tf.Tensor2D, z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const x = tf.concat([obs, action, z], 1);
    return tf.reshape(tf.minimum(q1.forward(q1.params, x), q2.forward(q2.params, x)), [-1]) as tf.Tensor1D;
  });
}

// ───────────────────────── beliefs and rollouts ─────────────────────────

/**
 * q(z | c) per task: context [T, N, D] → mean, variance [T, L]. Each transition's factor is
 * (μ, softplus(·)) from the encoder; their product is the posterior (src/nn/gaussian-product).
 */
export function posterior(encoder: Mlp, context: tf.Tensor3D, L: number): { mean: tf.Tensor2D; variance: tf.Tensor2D } {
  return tf.tidy(() => {
    const [T, N, D] = context.shape;
    const out = encoder.forward(encoder.params, tf.reshape(context, [T * N, D]));
    const mu = tf.reshape(tf.slice(out, [0, 0], [-1, L]), [T, N, L]) as tf.Tensor3D;
    const variance = tf.reshape(tf.softplus(tf.slice(out, [0, L], [-1, L])), [T, N, L]) as tf.Tensor3D;
    return productOfGaussians(mu, variance);
  });
}

/** A belief per slot on the CPU: mean and std [S, L] each; the prior is N(0, I). */
export interface Beliefs {
  mean: Float32Array;
  std: Float32Array;
}

function priorBeliefs(slots: number, L: number): Beliefs {
  return { mean: new Float32Array(slots * L), std: new Float32Array(slots * L).fill(1) };
}

/** Context rows [N, D] = [s, a, r(, s')] from stored transitions. */
function contextRows(tr: Transitions, n: number, sizes: PearlSizes, withNext: boolean): Float32Array {
  const { obsSize: O, actSize: A, contextSize: D } = sizes;
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const row = i * D;
    out.set(tr.obs.subarray(i * O, (i + 1) * O), row);
    out.set(tr.actions.subarray(i * A, (i + 1) * A), row + O);
    out[row + O + A] = tr.rewards[i];
    if (withNext) out.set(tr.nextObs.subarray(i * O, (i + 1) * O), row + O + A + 1);
  }
  return out;
}

/** The posterior of one task from `rows` [N, D] of its context, on the CPU: mean and variance [L]. @internal (the tests' probe) */
export async function beliefOf(nets: PearlNets, rows: Float32Array, sizes: PearlSizes): Promise<{ mean: Float32Array; variance: Float32Array }> {
  const n = rows.length / sizes.contextSize;
  const q = tf.tidy(() => posterior(nets.encoder, tf.tensor3d(rows, [1, n, sizes.contextSize]), sizes.latentSize));
  const [mean, variance] = [(await q.mean.data()) as Float32Array, (await q.variance.data()) as Float32Array];
  tf.dispose([q.mean, q.variance]);
  return { mean, variance };
}

/**
 * The sampler's policy: each slot acts on [s, z] with its own z, drawn from its belief when an
 * episode starts (the sampler's `prevDone` flag) and kept for the episode, as the paper samples
 * z once per episode; the belief goes to `onBelief` then, numbered as the sampler numbers the
 * slot and episode. Noise (z and actions) comes from the given Rng on the CPU.
 */
class LatentPolicy implements VectorPolicy {
  private readonly z: Float32Array;
  private readonly actions: Float32Array<ArrayBuffer>;
  /** Episodes started per slot in this `sample` call. */
  private readonly episodes: Int32Array;

  constructor(
    private readonly nets: PearlNets,
    private readonly sizes: PearlSizes,
    private readonly slots: number,
    private readonly beliefs: Beliefs,
    private readonly rng: Rng,
    private readonly deterministic: boolean,
    /** Told each slot's belief as its episode starts (the viewer's `onBelief`). */
    private readonly onBelief?: WatchHooks['onBelief'],
  ) {
    this.z = new Float32Array(slots * sizes.latentSize);
    this.actions = new Float32Array(slots * sizes.actSize);
    this.episodes = new Int32Array(slots);
  }

  async act(input: StepInput): Promise<Float32Array> {
    const { obsSize: O, actSize: A, latentSize: L } = this.sizes;
    const S = this.slots;
    for (let s = 0; s < S; s++) {
      if (input.prevDone[s] === 1 && input.active[s] === 1) {
        for (let i = 0; i < L; i++) this.z[s * L + i] = this.beliefs.mean[s * L + i] + this.beliefs.std[s * L + i] * this.rng.normal();
        this.onBelief?.(s, this.episodes[s]++, { mean: this.beliefs.mean.subarray(s * L, (s + 1) * L), std: this.beliefs.std.subarray(s * L, (s + 1) * L) });
      }
    }
    const { mean, logStd } = tf.tidy(() => actorHead(this.nets.actor, tf.tensor2d(input.obs, [S, O]), tf.tensor2d(this.z, [S, L]), A));
    const [m, ls] = [(await mean.data()) as Float32Array, (await logStd.data()) as Float32Array];
    tf.dispose([mean, logStd]);
    return actTanhGaussian(m, ls, this.rng, this.deterministic, this.actions);
  }
}

// ───────────────────────────── task buffers ─────────────────────────────

/** A training task and its data: every transition (replay) and the prior episodes (the encoder's). */
interface TaskData {
  task: Task;
  replay: ReplayBuffer;
  context: ReplayBuffer;
}

/** Mean return of each slot's episodes [S]. */
function meanReturns(batch: Batch): number[] {
  const E = batch.episodes;
  return Array.from({ length: batch.slots }, (_, s) => {
    let sum = 0;
    for (let e = 0; e < E; e++) sum += batch.returns[s * E + e];
    return sum / E;
  });
}

/**
 * The viewer's hooks, narrowed to its watched slots (the sampler reports every slot's episode
 * ends). With `firstEpisode`, a phase of training collection streams as one lane (the prior
 * phase as 'episode 1', the posterior phase as 'episode 2'): only its first episode goes out,
 * since a viewer places a watched episode e of stage k in lane k + e.
 */
function watchedOnly(hooks: WatchHooks | undefined, firstEpisode: boolean): WatchHooks | undefined {
  if (!hooks) return undefined;
  const slots = new Set(hooks.watchSlots);
  const shown = (slot: number, episode: number) => slots.has(slot) && (!firstEpisode || episode === 0);
  return {
    watchSlots: hooks.watchSlots,
    onScene: (slot, scene) => (slots.has(slot) ? hooks.onScene?.(slot, scene) : undefined),
    onFrame: (e) => (shown(e.slot, e.episode) ? hooks.onFrame?.(e) : undefined),
    onEpisodeEnd: (slot, episode, ret, length) => (shown(slot, episode) ? hooks.onEpisodeEnd?.(slot, episode, ret, length) : undefined),
    onBelief: (slot, episode, belief) => (shown(slot, episode) ? hooks.onBelief?.(slot, episode, belief) : undefined),
  };
}

// ───────────────────── losses and the gradient step ─────────────────────

const FIGURE_NAMES = ['qLoss', 'policyLoss', 'kl', 'logPi', 'q', 'alpha', 'zStd'] as const;

/** One step's meta-batch on the CPU, as the learner draws it: T tasks, each a context batch and an RL batch, and the step's noise. */
interface MetaBatchRows {
  /** [T]: the buffer slot each task of the meta-batch was drawn from (named in errors). */
  drawn: number[];
  /** [T, C, D]. */
  context: Float32Array;
  /** [T·B] rows, task by task. */
  rl: Transitions;
  /** ε of z [T, L], of a' at s' and of ã at s [T·B, A]. */
  zNoise: Float32Array;
  nextNoise: Float32Array;
  actionNoise: Float32Array;
}

/**
 * A shard's part of one step's meta-batch: tasks [first, first + count) with their rows, plain
 * data and typed arrays (what a task worker is sent). `share` = count / T weights the shard's
 * mean terms, so the shards' losses sum to the meta-batch's.
 */
interface ShardRows {
  id: number;
  first: number;
  count: number;
  share: number;
  /** The buffer slot of each of its tasks (named in errors). */
  drawn: number[];
  context: Float32Array;
  obs: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  nextObs: Float32Array;
  terminals: Float32Array;
  zNoise: Float32Array;
  nextNoise: Float32Array;
  actionNoise: Float32Array;
}

/** The meta-batch cut into shards of `tasksPerShard` consecutive tasks (the last may hold fewer). */
function shardRows(b: MetaBatchRows, config: PearlConfig, sizes: PearlSizes): ShardRows[] {
  const { obsSize: O, actSize: A, latentSize: L, contextSize: D } = sizes;
  const T = config.metaBatchSize;
  const B = config.batchSize;
  const C = config.contextBatch;
  const out: ShardRows[] = [];
  for (let first = 0; first < T; first += config.tasksPerShard) {
    const count = Math.min(config.tasksPerShard, T - first);
    const rows = (a: Float32Array, width: number) => a.slice(first * B * width, (first + count) * B * width);
    out.push({
      id: out.length,
      first,
      count,
      share: count / T,
      drawn: b.drawn.slice(first, first + count),
      context: b.context.slice(first * C * D, (first + count) * C * D),
      obs: rows(b.rl.obs, O),
      actions: rows(b.rl.actions, A),
      rewards: rows(b.rl.rewards, 1),
      nextObs: rows(b.rl.nextObs, O),
      terminals: rows(b.rl.terminals, 1),
      zNoise: b.zNoise.slice(first * L, (first + count) * L),
      nextNoise: rows(b.nextNoise, A),
      actionNoise: rows(b.actionNoise, A),
    });
  }
  return out;
}

/** A shard's rows on the device. */
interface StepBatch {
  context: tf.Tensor3D;
  obs: tf.Tensor2D;
  actions: tf.Tensor2D;
  rewards: tf.Tensor1D;
  nextObs: tf.Tensor2D;
  terminals: tf.Tensor1D;
  zNoise: tf.Tensor2D;
  nextNoise: tf.Tensor2D;
  actionNoise: tf.Tensor2D;
}

function deviceBatch(r: ShardRows, config: PearlConfig, sizes: PearlSizes): StepBatch {
  const { obsSize: O, actSize: A, latentSize: L, contextSize: D } = sizes;
  const N = r.count * config.batchSize;
  return {
    context: tf.tensor3d(r.context, [r.count, config.contextBatch, D]),
    obs: tf.tensor2d(r.obs, [N, O]),
    actions: tf.tensor2d(r.actions, [N, A]),
    rewards: tf.tensor1d(r.rewards),
    nextObs: tf.tensor2d(r.nextObs, [N, O]),
    terminals: tf.tensor1d(r.terminals),
    zNoise: tf.tensor2d(r.zNoise, [r.count, L]),
    nextNoise: tf.tensor2d(r.nextNoise, [N, A]),
    actionNoise: tf.tensor2d(r.actionNoise, [N, A]),
  };
}

/** z [T, L] repeated for each of a task's B rows: [T·B, L]. */
function perRow(z: tf.Tensor2D, B: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [T, L] = z.shape;
    return tf.reshape(tf.tile(tf.expandDims(z, 1), [1, B, 1]), [T * B, L]) as tf.Tensor2D;
  });
}

/** z = mean + √variance · ε, one per task. */
function reparameterise(q: { mean: tf.Tensor2D; variance: tf.Tensor2D }, noise: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(q.mean, tf.mul(tf.sqrt(q.variance), noise)) as tf.Tensor2D);
}

/*
 * One step of SAC + encoder, over the meta-batch's shards s (share w_s = T_s / T):
 *   y        = scale·r + γ(1 − d)(min Q̄(s', a', z) − α log π(a' | s', z)),  a' ~ π(· | s', z), no gradient;
 *   critic   = Σ_s [w_s · (mean_s (Q₁(s, a, z) − y)² + mean_s (Q₂ − y)²) + β Σ_{t ∈ s} KL(q(z | c_t) ‖ N(0, I))], through the encoder;
 *   actor    = Σ_s w_s · (mean_s (α log π(ã | s, z) − min Q(s, ã, z)) + reg_s), ã ~ π(· | s, z), z detached,
 *              with Q the critic AFTER its Adam step (the order of updates of oyster and of the one-shard step);
 *   α        (if learned) ← Adam on −log α · (Σ_s w_s mean_s log π + target entropy);
 *   targets  ← τ·Q + (1 − τ)·Q̄.
 * z is the same draw in every term: the target and actor see its value, the critic recomputes it
 * from the same ε on the tape (tfjs has no stop-gradient). Each shard's terms are one batched
 * computation (`criticShare`, `actorShare`, wherever its lane runs); the learner sums the shards'
 * gradients in shard order, so the result depends on `tasksPerShard`, never on the worker count.
 */

/** A shard's critic + encoder gradient (criticParams' order), its parts [w·qLoss, KL, w·mean σ] and its z [T_s·B, L] for `actorShare`. */
function criticShare(nets: PearlNetworks, config: PearlConfig, sizes: PearlSizes, b: StepBatch, share: number) {
  const { actSize: A, latentSize: L } = sizes;
  const B = config.batchSize;
  return tf.tidy(() => {
    const alpha = tf.exp(nets.logAlpha);
    const z = perRow(reparameterise(posterior(nets.encoder, b.context, L), b.zNoise), B);
    const next = actorHead(nets.actor, b.nextObs, z, A);
    const nextAction = sampleTanhGaussian(next.mean, next.logStd, b.nextNoise);
    const bootstrap = tf.sub(minQ(nets.q1Target, nets.q2Target, b.nextObs, nextAction.action, z), tf.mul(alpha, nextAction.logProb));
    const y = tf.add(tf.mul(config.rewardScale, b.rewards), tf.mul(tf.mul(config.discount, tf.sub(1, b.terminals)), bootstrap));

    let qLoss: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    let zStd: tf.Scalar | null = null;
    const params = criticParams(nets);
    const { value, grads } = tf.variableGrads(() => {
      const q = posterior(nets.encoder, b.context, L);
      const zc = perRow(reparameterise(q, b.zNoise), B);
      const x = tf.concat([b.obs, b.actions, zc], 1);
      const q1 = tf.reshape(nets.q1.forward(nets.q1.params, x), [-1]);
      const q2 = tf.reshape(nets.q2.forward(nets.q2.params, x), [-1]);
      qLoss = tf.keep(tf.mul(share, tf.add(tf.mean(tf.square(tf.sub(q1, y))), tf.mean(tf.square(tf.sub(q2, y))))) as tf.Scalar);
      kl = tf.keep(tf.sum(klToStandardNormal(q.mean, q.variance)) as tf.Scalar);
      zStd = tf.keep(tf.mul(share, tf.mean(tf.sqrt(q.variance))) as tf.Scalar);
      return tf.add(qLoss, tf.mul(config.klWeight, kl)) as tf.Scalar;
    }, params);
    const parts = tf.stack([qLoss!, kl!, zStd!]) as tf.Tensor1D;
    tf.dispose([qLoss!, kl!, zStd!, value]); // tf.keep'd inside the gradient function: no scope frees them
    return { grads: params.map((p) => grads[p.name]), parts, z };
  });
}

/** A shard's actor gradient at z (the critic already stepped), and its parts [w·actor loss, w·mean log π, w·mean min Q]. */
function actorShare(nets: PearlNetworks, config: PearlConfig, sizes: PearlSizes, b: StepBatch, z: tf.Tensor2D, share: number) {
  const A = sizes.actSize;
  return tf.tidy(() => {
    const alpha = tf.exp(nets.logAlpha);
    let logPi: tf.Scalar | null = null;
    let qNew: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const head = actorHead(nets.actor, b.obs, z, A);
      const sampled = sampleTanhGaussian(head.mean, head.logStd, b.actionNoise);
      const q = minQ(nets.q1, nets.q2, b.obs, sampled.action, z);
      logPi = tf.keep(tf.mul(share, tf.mean(sampled.logProb)) as tf.Scalar);
      qNew = tf.keep(tf.mul(share, tf.mean(q)) as tf.Scalar);
      const reg = tf.mul(config.policyReg, tf.add(tf.mean(tf.square(head.mean)), tf.mean(tf.square(head.logStd))));
      return tf.mul(share, tf.add(tf.mean(tf.sub(tf.mul(alpha, sampled.logProb), q)), reg)) as tf.Scalar;
    }, [...nets.actor.params]);
    const parts = tf.stack([value, logPi!, qNew!]) as tf.Tensor1D;
    tf.dispose([logPi!, qNew!]);
    return { grads: nets.actor.params.map((p) => grads[p.name]), parts };
  });
}

/** The weights a lane computes at, flat in each group's order (`criticParams`, actor, `targetParams`). */
interface StepWeights {
  critic: Float32Array;
  actor: Float32Array;
  target: Float32Array;
  logAlpha: Float32Array;
}

interface CriticRequest {
  /** The step of the iteration (named in errors). */
  step: number;
  weights: StepWeights;
  shards: ShardRows[];
}

interface ActorRequest {
  step: number;
  /** q1 and q2 after the critic's Adam step (`qParams` order). */
  q: Float32Array;
  /** The shards of this lane's last 'critic' request. */
  shards: number[];
}

/** A shard's gradient (flat, in its group's order) and its parts of the step's figures. */
interface ShardGradient {
  id: number;
  gradient: Float32Array;
  parts: number[];
}

// ───────────────────────────── shard side ─────────────────────────────

/**
 * The per-shard half of a gradient step, in a task worker (or on the calling thread): it holds
 * a copy of the networks, written from each request's weights, and between a step's 'critic'
 * and 'actor' requests its shards' rows and z. It holds no state across steps.
 */
class PearlShard implements ShardWorker {
  /** The shards of the step in progress: rows on the device and z from the encoder before its step. */
  private held = new Map<number, { rows: ShardRows; batch: StepBatch; z: tf.Tensor2D }>();

  constructor(
    private readonly config: PearlConfig,
    private readonly sizes: PearlSizes,
    private readonly nets: PearlNetworks,
  ) {}

  async handle(kind: string, request: unknown): Promise<unknown> {
    switch (kind) {
      case 'critic':
        return this.critic(request as CriticRequest);
      case 'actor':
        return this.actor(request as ActorRequest);
      case 'release':
        return this.release();
      case 'tensors':
        return tf.memory().numTensors;
      default:
        throw new MetarlError('METARL_PROTOCOL', `PEARL task worker: unknown request '${kind}'`);
    }
  }

  dispose(): void {
    this.release();
    disposeNetworks(this.nets);
  }

  /** Each shard's critic + encoder gradient at the sent weights; keeps its rows and z for 'actor'. */
  private async critic(request: CriticRequest): Promise<ShardGradient[]> {
    this.release();
    const { nets, config, sizes } = this;
    const { weights } = request;
    assignFlatValues(criticParams(nets), weights.critic);
    assignFlatValues(nets.actor.params, weights.actor);
    assignFlatValues(targetParams(nets), weights.target);
    assignFlatValues([nets.logAlpha], weights.logAlpha);
    const out: ShardGradient[] = [];
    for (const rows of request.shards) {
      const batch = deviceBatch(rows, config, sizes);
      const { grads, parts, z } = criticShare(nets, config, sizes, batch, rows.share);
      this.held.set(rows.id, { rows, batch, z });
      out.push(await readShare(rows, grads, parts, 'critic', request.step));
    }
    return out;
  }

  /** Each held shard's actor gradient, with the critic's new q1 and q2; then frees the step's tensors. */
  private async actor(request: ActorRequest): Promise<ShardGradient[]> {
    const { nets, config, sizes } = this;
    assignFlatValues(qParams(nets), request.q);
    const out: ShardGradient[] = [];
    try {
      for (const id of request.shards) {
        const held = this.held.get(id);
        if (!held) throw new MetarlError('METARL_PROTOCOL', `PEARL task worker holds no rows of shard ${id}: 'actor' came before its 'critic'`);
        const { grads, parts } = actorShare(nets, config, sizes, held.batch, held.z, held.rows.share);
        out.push(await readShare(held.rows, grads, parts, 'actor', request.step));
      }
    } finally {
      this.release();
    }
    return out;
  }

  private release(): null {
    for (const { batch, z } of this.held.values()) tf.dispose([...Object.values(batch), z]);
    this.held.clear();
    return null;
  }
}

/*
 * Weights and gradients cross as one flat Float32Array per group, read and written tensor by
 * tensor: a concat or split kernel per step would cost more than the copy (per-op overhead).
 */

/** The values of `tensors`, one after another, in order. */
async function readValues(tensors: readonly tf.Tensor[]): Promise<Float32Array> {
  const out = new Float32Array(tensors.reduce((n, t) => n + t.size, 0));
  let at = 0;
  for (const t of tensors) {
    out.set((await t.data()) as Float32Array, at);
    at += t.size;
  }
  return out;
}

/** Tensors of the variables' shapes holding `flat`'s values, in order (the inverse of `readValues`). */
function tensorsOf(vars: readonly tf.Variable[], flat: Float32Array): tf.Tensor[] {
  let at = 0;
  return vars.map((v) => tf.tensor(flat.slice(at, (at += v.size)), v.shape));
}

/** Writes flat values into variables, in order. */
function assignFlatValues(vars: readonly tf.Variable[], flat: Float32Array): void {
  const parts = tensorsOf(vars, flat);
  vars.forEach((v, i) => v.assign(parts[i]));
  tf.dispose(parts);
}

/**
 * A shard's gradient and parts read to the CPU (the tensors freed). A non-finite gradient stops
 * here, naming the shard's tasks, so a diverging step is refused before any optimiser takes it.
 */
async function readShare(rows: ShardRows, grads: tf.Tensor[], parts: tf.Tensor1D, group: 'critic' | 'actor', step: number): Promise<ShardGradient> {
  const gradient = await readValues(grads);
  const values = Array.from((await parts.data()) as Float32Array);
  tf.dispose([...grads, parts]);
  const bad = gradient.findIndex((g) => !Number.isFinite(g));
  if (bad >= 0) {
    throw new MetarlError(
      'METARL_NAN_LOSS',
      `PEARL's ${group} gradient is not finite (${gradient[bad]} at index ${bad}) on meta-batch tasks ${rows.first}–${rows.first + rows.count - 1} ` +
        `(task buffers ${rows.drawn.join(', ')}) at gradient step ${step} of the iteration: the losses diverged; lower --lr or --reward-scale`,
      { group, step, drawn: rows.drawn },
    );
  }
  return { id: rows.id, gradient, parts: values };
}

/** Starts PEARL's shard side in a task worker (or on the calling thread): the networks only, their weights come with each request. */
async function createPearlShard(args: ShardWorkerArgs): Promise<ShardWorker> {
  const config = parseAgentConfig(args.config);
  const sizes = sizesOf(args.family, config);
  return new PearlShard(config, sizes, buildNetworks(sizes, config, new Rng(0)));
}

// ───────────────────── learner: iterate, evaluate ─────────────────────

interface PearlContext {
  config: PearlConfig;
  family: TaskFamily;
  sampler: Sampler;
  /**
   * Where a gradient step's shards run: the task workers when there are two or more shards, else
   * this thread's own shard side (`local`; a lone shard sent to a worker would only add the round
   * trips). The same shard side runs either way, so the numbers are the same.
   */
  pool: TaskPool;
  local: InProcessPool;
  sizes: PearlSizes;
  nets: PearlNets;
  /** Sampling seeds, z and action noise, meta-batch draws: the agent's one random stream. */
  rng: Rng;
  watch?: AgentArgs<PearlConfig>['watch'];
}

class PearlLearner implements MetaLearner {
  readonly agent = 'pearl';
  readonly stages: readonly string[];
  readonly tasksPerIteration: number;
  /** The live task buffers, a ring of `trainTasks`: slot `nextTask` is replaced next. */
  private tasks: TaskData[] = [];
  private nextTask = 0;
  private disposed = false;

  constructor(private readonly ctx: PearlContext) {
    this.stages = stageNames(ctx.config.evalEpisodes);
    this.tasksPerIteration = ctx.config.collectTasks;
  }

  /**
   * Collects data on the loop's tasks (z ~ prior, then z ~ posterior), then takes `numTrainSteps`
   * gradient steps over the live buffers. Stage returns: the prior episodes' mean as 'episode 1',
   * the posterior episodes' mean for every later stage (they all see the same belief in training;
   * `evaluate` measures the online protocol). Figures are means over the steps.
   */
  async iterate(tasks: Task[]): Promise<IterationMetrics> {
    this.alive();
    const { config, sizes, rng } = this.ctx;
    const t0 = performance.now();
    const fresh = tasks.map((task) => this.admit(task));
    const prior = await this.collect(fresh, priorBeliefs(fresh.length, sizes.latentSize), config.priorEpisodes, 0, true);
    let posteriorReturn = Number.NaN;
    let envSteps = prior.envSteps;
    if (config.posteriorEpisodes > 0) {
      const beliefs = await this.contextBeliefs(fresh);
      const post = await this.collect(fresh, beliefs, config.posteriorEpisodes, 1, false);
      posteriorReturn = average(meanReturns(post));
      envSteps += post.envSteps;
    }
    const sampleSeconds = (performance.now() - t0) / 1000;
    const sums = new Float64Array(FIGURE_NAMES.length);
    try {
      for (let step = 0; step < config.numTrainSteps; step++) {
        const values = await this.gradientStep(this.metaBatch(rng), step);
        values.forEach((x, i) => (sums[i] += x));
        if (step % 20 === 19) await letEventLoopRun();
      }
    } catch (err) {
      // A step that failed halfway leaves its rows in the lanes that answered.
      await this.lanes.run('release', Array.from({ length: Math.min(this.lanes.lanes, this.shardCount) }, () => null)).catch(() => undefined);
      throw err;
    }
    const priorReturn = average(meanReturns(prior));
    const figures: Record<string, number> = Object.fromEntries(FIGURE_NAMES.map((name, i) => [name, sums[i] / config.numTrainSteps]));
    figures.bufferedTransitions = this.tasks.reduce((n, t) => n + t.replay.size, 0);
    return {
      stageReturns: this.stages.map((_, e) => (e === 0 || config.posteriorEpisodes === 0 ? priorReturn : posteriorReturn)),
      figures,
      envSteps,
      sampleSeconds,
      learnSeconds: (performance.now() - t0) / 1000 - sampleSeconds,
    };
  }

  /** A new task takes the next buffer slot of the ring (dropping the oldest task once full). */
  private admit(task: Task): TaskData {
    const { config, sizes } = this.ctx;
    const data: TaskData = {
      task,
      replay: new ReplayBuffer(config.replayCapacity, sizes.obsSize, sizes.actSize),
      context: new ReplayBuffer(config.replayCapacity, sizes.obsSize, sizes.actSize),
    };
    this.tasks[this.nextTask] = data;
    this.nextTask = (this.nextTask + 1) % config.trainTasks;
    return data;
  }

  /** Samples `episodes` episodes per task with z from `beliefs` (redrawn per episode), into the replay (and encoder) buffers. */
  private async collect(data: TaskData[], beliefs: Beliefs, episodes: number, stage: number, intoContext: boolean): Promise<Batch> {
    const { config, sizes, rng, nets } = this.ctx;
    const hooks = watchedOnly(this.ctx.watch?.(stage, this.stages[Math.min(stage, this.stages.length - 1)]), true);
    const job: SampleJob = { tasks: data.map((d) => d.task), slotsPerTask: 1, episodesPerSlot: episodes, seed: rng.seed() };
    if (config.horizon !== null) job.horizon = config.horizon;
    if (hooks?.watchSlots.length) job.watchSlots = hooks.watchSlots.filter((s) => s < data.length);
    const batch = await this.ctx.sampler.sample(job, new LatentPolicy(nets, sizes, data.length, beliefs, new Rng(rng.seed()), false, hooks?.onBelief), hooks ?? {});
    data.forEach((d, s) => {
      d.replay.addEpisodes(batch, s);
      if (intoContext) d.context.addEpisodes(batch, s);
    });
    return batch;
  }

  /** Each task's belief from a context batch of its encoder buffer (oyster's `sample_context` + `infer_posterior`). */
  private async contextBeliefs(data: TaskData[]): Promise<Beliefs> {
    const { config, sizes, rng, nets } = this.ctx;
    const C = config.contextBatch;
    const rows = new Float32Array(data.length * C * sizes.contextSize);
    const scratch = emptyTransitions(C, sizes.obsSize, sizes.actSize);
    data.forEach((d, t) => {
      d.context.sample(rng, C, scratch);
      rows.set(contextRows(scratch, C, sizes, config.contextNextObs), t * C * sizes.contextSize);
    });
    const q = tf.tidy(() => posterior(nets.encoder, tf.tensor3d(rows, [data.length, C, sizes.contextSize]), sizes.latentSize));
    const mean = (await q.mean.data()) as Float32Array;
    const variance = (await q.variance.data()) as Float32Array;
    tf.dispose([q.mean, q.variance]);
    return { mean, std: variance.map(Math.sqrt) };
  }

  /** A meta-batch: `metaBatchSize` live tasks (with replacement), each a context batch and an RL batch, and the step's noise. */
  private metaBatch(rng: Rng): MetaBatchRows {
    const { config, sizes } = this.ctx;
    const { obsSize: O, actSize: A, latentSize: L, contextSize: D } = sizes;
    const T = config.metaBatchSize;
    const B = config.batchSize;
    const C = config.contextBatch;
    const rl = emptyTransitions(T * B, O, A);
    const ctx = emptyTransitions(C, O, A);
    const context = new Float32Array(T * C * D);
    const drawn: number[] = [];
    for (let t = 0; t < T; t++) {
      drawn.push(rng.int(this.tasks.length));
      const data = this.tasks[drawn[t]];
      data.context.sample(rng, C, ctx);
      context.set(contextRows(ctx, C, sizes, config.contextNextObs), t * C * D);
      data.replay.sample(rng, B, rl, t * B);
    }
    const normals = (n: number) => {
      const out = new Float32Array(n);
      rng.fillNormal(out);
      return out;
    };
    // Drawn in this order: z, then a' at s', then ã at s.
    const zNoise = normals(T * L);
    const nextNoise = normals(T * B * A);
    const actionNoise = normals(T * B * A);
    return { drawn, context, rl, zNoise, nextNoise, actionNoise };
  }

  /**
   * One gradient step (the losses above `criticShare`): the shards' critic gradients at the
   * current weights, summed in shard order, step the critic's Adam; their actor gradients at the
   * stepped critic step the actor's; then α and the targets. Returns FIGURE_NAMES.
   */
  private async gradientStep(batch: MetaBatchRows, step: number): Promise<number[]> {
    const { config, sizes, nets } = this.ctx;
    const shards = shardRows(batch, config, sizes);
    const weights: StepWeights = {
      critic: await readValues(criticParams(nets)),
      actor: await readValues(nets.actor.params),
      target: await readValues(targetParams(nets)),
      logAlpha: await readValues([nets.logAlpha]),
    };
    const critic = await this.ask('critic', step, shards, (mine) => ({ step, weights, shards: mine }) satisfies CriticRequest);
    stepSum(nets.criticAdam, criticParams(nets), critic);
    const q = await readValues(qParams(nets));
    const actor = await this.ask('actor', step, shards, (mine) => ({ step, q, shards: mine.map((r) => r.id) }) satisfies ActorRequest);
    stepSum(nets.actorAdam, nets.actor.params, actor);
    const [qLoss, kl, zStd] = sumParts(critic);
    const [policyLoss, logPi, qNew] = sumParts(actor);
    if (nets.alphaAdam) {
      // d/d log α of −log α · (log π + H̄), log π held fixed.
      const target = config.targetEntropy ?? -sizes.actSize;
      const grad = tf.tensor1d([-(logPi + target)]);
      nets.alphaAdam.apply([grad]);
      grad.dispose();
    }
    softUpdate(nets.q1Target.params, nets.q1.params, config.tau);
    softUpdate(nets.q2Target.params, nets.q2.params, config.tau);
    return [qLoss, policyLoss, kl, logPi, qNew, Math.exp(weights.logAlpha[0]), zStd];
  }

  /** Shards per gradient step. */
  private get shardCount(): number {
    return Math.ceil(this.ctx.config.metaBatchSize / this.ctx.config.tasksPerShard);
  }

  /** The pool the steps' shards go to (see PearlContext.pool). */
  private get lanes(): TaskPool {
    return this.shardCount > 1 ? this.ctx.pool : this.ctx.local;
  }

  /**
   * Sends each lane the request for its shards and returns the shards' gradients by shard id.
   * Lane i always gets shards i, i + lanes, …: a step's 'actor' finds the rows its 'critic' left.
   */
  private async ask(kind: 'critic' | 'actor', step: number, shards: ShardRows[], request: (mine: ShardRows[]) => unknown): Promise<ShardGradient[]> {
    const pool = this.lanes;
    const lanes = lanesOf(shards, pool.lanes);
    const describe = (i: number) => {
      const tasks = lanes[i].map((r) => `${r.first}–${r.first + r.count - 1}`).join(', ');
      const buffers = lanes[i].flatMap((r) => r.drawn).join(', ');
      return `shards ${lanes[i].map((r) => r.id).join(', ')} (meta-batch tasks ${tasks}, from task buffers ${buffers}) of gradient step ${step} (PEARL '${kind}')`;
    };
    const answers = (await pool.run(kind, lanes.map(request), { describe })) as ShardGradient[][];
    const out: ShardGradient[] = [];
    for (const r of answers.flat()) out[r.id] = r;
    return out;
  }

  /**
   * The paper's online meta-test: per task, a trial of episodes; the first with z ~ prior, each
   * later one with z drawn once from the posterior of every transition of the trial so far.
   * Seeded by `seed` alone, so evaluating leaves the learner exactly as it was.
   */
  async evaluate(tasks: Task[], options: EvaluateOptions = {}): Promise<AdaptationResult> {
    this.alive();
    const episodes = options.adaptationSteps !== undefined ? options.adaptationSteps + 1 : this.ctx.config.evalEpisodes;
    const trial = await this.trial(tasks, episodes, options.seed ?? 0, options.watch !== false);
    return { stages: stageNames(episodes), returns: trial.returns };
  }

  /**
   * Meta-test on one task, handed over: the first `steps` episodes of the trial `evaluate([task],
   * { seed })` runs, their transitions into the posterior; the policy acts with tanh(mean) at z =
   * the posterior mean (the prior's, 0, without episodes), where the trial's next episode draws z
   * from the posterior.
   */
  async adapt(task: Task, options: AdaptOptions = {}): Promise<AdaptedPolicy> {
    this.alive();
    const { sizes, nets } = this.ctx;
    const { steps, seed } = resolveAdaptOptions(options, this.ctx.config.evalEpisodes - 1, 'PEARL');
    const trial = steps > 0 ? await this.trial([task], steps, seed, false) : null;
    const z = trial ? (await this.trialBeliefs(trial.context)).mean : priorBeliefs(1, sizes.latentSize).mean;
    const params = nets.actor.params.map((p) => tf.clone(p));
    const zRow = tf.tensor2d(z, [1, sizes.latentSize]);
    return adaptedPolicy('PEARL', {
      obsSize: sizes.obsSize,
      returns: trial?.returns.map((r) => r[0]) ?? [],
      act: async (obs) => {
        const { mean, logStd } = tf.tidy(() => actorHead(nets.actor, tf.tensor2d(obs, [1, sizes.obsSize]), zRow, sizes.actSize, params));
        const m = (await mean.data()) as Float32Array;
        tf.dispose([mean, logStd]);
        return m.map(Math.tanh);
      },
      free: () => tf.dispose([...params, zRow]),
    });
  }

  /**
   * Runs the meta-test trial: returns [episode][task] and the belief each episode acted on.
   * @internal (the tests read the beliefs)
   */
  async trial(tasks: Task[], episodes: number, seed: number, watched = true): Promise<{ returns: number[][]; beliefs: Beliefs[]; context: ReplayBuffer[] }> {
    const { config, sizes, nets, sampler } = this.ctx;
    const rng = new Rng(seed);
    const horizon = config.horizon ?? this.ctx.family.spec.horizon;
    const context = tasks.map(() => new ReplayBuffer(episodes * horizon, sizes.obsSize, sizes.actSize));
    const returns: number[][] = [];
    const beliefs: Beliefs[] = [];
    const names = stageNames(episodes);
    for (let e = 0; e < episodes; e++) {
      const belief = e === 0 ? priorBeliefs(tasks.length, sizes.latentSize) : await this.trialBeliefs(context);
      beliefs.push(belief);
      const hooks = watched ? watchedOnly(this.ctx.watch?.(e, names[e]), false) : undefined;
      // Each episode of the trial is its own sampling call with its own reset seed: e goes in layout's
      // slot argument (every call's episode index is 0). Kept so, as the tests' recorded numbers rest on it.
      const callIndex = e;
      const job: SampleJob = { tasks, slotsPerTask: 1, episodesPerSlot: 1, seed: resetSeed(seed, callIndex, 0) };
      if (config.horizon !== null) job.horizon = config.horizon;
      if (hooks?.watchSlots.length) job.watchSlots = hooks.watchSlots.filter((s) => s < tasks.length);
      const batch = await sampler.sample(job, new LatentPolicy(nets, sizes, tasks.length, belief, rng, config.deterministicEval, hooks?.onBelief), hooks ?? {});
      context.forEach((c, s) => c.addEpisodes(batch, s));
      returns.push(Array.from(batch.returns));
    }
    return { returns, beliefs, context };
  }

  /** Each task's posterior from all of its trial's transitions so far. */
  private async trialBeliefs(context: ReplayBuffer[]): Promise<Beliefs> {
    const { config, sizes, nets } = this.ctx;
    const L = sizes.latentSize;
    const out = priorBeliefs(context.length, L);
    for (const [k, c] of context.entries()) {
      const saved = c.state();
      const q = await beliefOf(nets, contextRows(saved, saved.size, sizes, config.contextNextObs), sizes);
      out.mean.set(q.mean, k * L);
      out.std.set(q.variance.map(Math.sqrt), k * L);
    }
    return out;
  }

  // ─────────────────────────── save/load ───────────────────────────

  /**
   * Everything, so a resumed run continues bit for bit: every network and Adam, log α, the Rng,
   * and every live task's replay and encoder buffers (the rows written, their cursors and the task).
   */
  async state(): Promise<LearnerState> {
    this.alive();
    const { nets, rng } = this.ctx;
    const parts = await Promise.all(savedParts(nets).map(({ prefix, policy, adam }) => saveLearnerState(policy, adam, rng, {}, prefix)));
    const arrays: LearnerState['arrays'] = Object.assign({}, ...parts.map((p) => p.arrays));
    const meta: LearnerState['meta'] = Object.assign({}, ...parts.map((p) => p.meta));
    const { obsSize: O, actSize: A } = this.ctx.sizes;
    const buffers: JsonValue[] = [];
    this.tasks.forEach((data, k) => {
      const entry: Record<string, JsonValue> = { task: data.task };
      for (const kind of ['replay', 'context'] as const) {
        const s = data[kind].state();
        entry[kind] = { size: s.size, next: s.next };
        arrays[`${kind}/${k}/obs`] = { shape: [s.size, O], data: s.obs };
        arrays[`${kind}/${k}/actions`] = { shape: [s.size, A], data: s.actions };
        arrays[`${kind}/${k}/rewards`] = { shape: [s.size], data: s.rewards };
        arrays[`${kind}/${k}/nextObs`] = { shape: [s.size, O], data: s.nextObs };
        arrays[`${kind}/${k}/terminals`] = { shape: [s.size], data: s.terminals };
      }
      buffers.push(entry);
    });
    return { arrays, meta: { ...meta, nextTask: this.nextTask, buffers } };
  }

  /**
   * Checks every part (each network group, its optimiser, the Rng, every task buffer) before it
   * loads any, so a checkpoint that does not fit is refused with METARL_CHECKPOINT_CORRUPT naming
   * the field, and the learner is left exactly as it was.
   */
  async restore(state: LearnerState): Promise<void> {
    this.alive();
    const { config, sizes } = this.ctx;
    const corrupt = (why: string): never => {
      throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `PEARL checkpoint does not fit this learner: ${why}`, { agent: 'PEARL' });
    };
    const { nextTask, buffers } = state.meta;
    if (!Array.isArray(buffers)) corrupt('meta.buffers is missing or not a list');
    const list = buffers as JsonValue[];
    if (list.length > config.trainTasks) corrupt(`meta.buffers holds ${list.length} task buffers, more than --train-tasks ${config.trainTasks}`);
    if (typeof nextTask !== 'number' || !Number.isInteger(nextTask) || nextTask < 0 || nextTask >= config.trainTasks) {
      corrupt(`meta.nextTask is ${JSON.stringify(nextTask)}, not a buffer slot in [0, ${config.trainTasks}) (--train-tasks)`);
    }
    if (list.length < config.trainTasks && nextTask !== list.length) {
      corrupt(`meta.nextTask is ${nextTask} with ${list.length} of ${config.trainTasks} task buffers: a ring that is not full fills slot ${list.length} next`);
    }
    const tasks = list.map((entry, k): TaskData => {
      const field = `meta.buffers[${k}]`;
      if (!isRecord(entry)) return corrupt(`${field} is not an object`);
      if (!isRecord(entry.task)) return corrupt(`${field}.task is not an object (a task is a JSON object)`);
      const data: TaskData = { task: entry.task, replay: new ReplayBuffer(config.replayCapacity, sizes.obsSize, sizes.actSize), context: new ReplayBuffer(config.replayCapacity, sizes.obsSize, sizes.actSize) };
      for (const kind of ['replay', 'context'] as const) {
        const cursor = entry[kind];
        if (!isRecord(cursor)) return corrupt(`${field}.${kind} is not an object`);
        const array = (name: string) => state.arrays[`${kind}/${k}/${name}`]?.data ?? corrupt(`'${kind}/${k}/${name}' is missing`);
        const saved: ReplayState = { size: cursor.size as number, next: cursor.next as number, obs: array('obs'), actions: array('actions'), rewards: array('rewards'), nextObs: array('nextObs'), terminals: array('terminals') };
        try {
          data[kind].load(saved); // a new buffer: the learner's are untouched until every part has passed
        } catch (err) {
          if (err instanceof MetarlError) corrupt(`${field}.${kind}: ${err.message}`);
          throw err;
        }
      }
      return data;
    });
    const parts = savedParts(this.ctx.nets).map((part) => ({ part, checked: checkLearnerState(state, part.policy, part.adam, 'PEARL', part.prefix) }));
    for (const { part, checked } of parts) applyLearnerState(checked, part.policy, part.adam);
    this.ctx.rng = parts[parts.length - 1].checked.rng;
    this.tasks = tasks;
    this.nextTask = nextTask as number;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeNets(this.ctx.nets);
    void this.ctx.local.close(); // frees its shard side at once: it owns no sampler
  }

  private alive(): void {
    if (this.disposed) throw new MetarlError('METARL_DISPOSED', 'this PEARL learner was disposed: create a new one');
  }
}

/** Adam on Σ_shards gradient, summed in shard order (the shards' results are indexed by id). */
function stepSum(adam: Adam, vars: readonly tf.Variable[], shares: readonly ShardGradient[]): void {
  const total = new Float64Array(shares[0].gradient.length);
  for (const s of shares) for (let i = 0; i < total.length; i++) total[i] += s.gradient[i];
  const grads = tensorsOf(vars, Float32Array.from(total));
  adam.apply(grads);
  tf.dispose(grads);
}

/** Σ_shards of each part, in shard order. */
function sumParts(shares: readonly ShardGradient[]): number[] {
  return shares[0].parts.map((_, i) => shares.reduce((sum, s) => sum + s.parts[i], 0));
}

/** Shards by lane: lane i gets shards i, i + lanes, …; only lanes with a shard. */
function lanesOf<S extends { id: number }>(shards: S[], lanes: number): S[][] {
  const out: S[][] = Array.from({ length: Math.min(lanes, shards.length) }, () => []);
  shards.forEach((s) => out[s.id % out.length].push(s));
  return out;
}

/** The checkpoint's parts: each network group under its prefix, with its optimiser. */
function savedParts(nets: PearlNets): Array<{ prefix: string; policy: SavedPolicy; adam: Adam | null }> {
  const named = (...mlps: Array<[string, Mlp]>): SavedPolicy => ({
    names: mlps.flatMap(([name, m]) => m.names.map((n) => `${name}.${n}`)),
    params: mlps.flatMap(([, m]) => m.params),
  });
  return [
    { prefix: 'critic/', policy: named(['encoder', nets.encoder], ['q1', nets.q1], ['q2', nets.q2]), adam: nets.criticAdam },
    { prefix: 'actor/', policy: named(['actor', nets.actor]), adam: nets.actorAdam },
    { prefix: 'target/', policy: named(['q1', nets.q1Target], ['q2', nets.q2Target]), adam: null },
    { prefix: 'temperature/', policy: { names: ['logAlpha'], params: [nets.logAlpha] }, adam: nets.alphaAdam },
  ];
}

function isRecord(x: JsonValue | undefined): x is { [key: string]: JsonValue } {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function stageNames(episodes: number): string[] {
  return Array.from({ length: episodes }, (_, e) => `episode ${e + 1}`);
}

const average = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

const parseAgentConfig = (config: unknown): PearlConfig => parseConfig(pearlConfigSchema, config, 'pearl config');

/** Builds the networks from the agent's seed; the factory `metarl train --agent pearl` calls. */
export async function createPearl(args: AgentArgs<PearlConfig>): Promise<PearlLearner> {
  const config = parseAgentConfig(args.config);
  if (!args.sampler) throw new MetarlError('METARL_CONFIG_INVALID', 'PEARL steps its envs with a sampler: pass `sampler` (createSampler()) in its AgentArgs');
  const rng = new Rng(args.seed);
  const sizes = sizesOf(args.family, config);
  // The shard side on this thread: a lone shard's, and every shard's when there is no pool.
  const local = new InProcessPool(await createPearlShard({ config, family: args.family, familyRef: args.familyRef, sampler: args.sampler }), null);
  return new PearlLearner({ config, family: args.family, sampler: args.sampler, pool: args.pool ?? local, local, sizes, nets: buildNets(sizes, config, rng), rng, watch: args.watch });
}

/**
 * A shipped run keeps the networks, their optimisers and the Rng, and no task buffers: acting and
 * meta-testing read only the networks, and a run resumed from it refills its buffers from new tasks.
 */
function shippedState(state: LearnerState): LearnerState {
  const arrays = Object.fromEntries(Object.entries(state.arrays).filter(([name]) => !/^(replay|context)\//.test(name)));
  return { arrays, meta: { ...state.meta, buffers: [], nextTask: 0 } };
}

export const definition: AgentDefinition<typeof pearlConfigSchema> = {
  name: 'pearl',
  description: 'PEARL: a context encoder infers a Gaussian belief over a task latent z (product of per-transition factors); SAC acts on [s, z]',
  configSchema: pearlConfigSchema,
  familyDefaults,
  create: createPearl,
  createShardWorker: createPearlShard,
  samplesWithSampler: true,
  usesTaskWorkers: (config) => config.tasksPerShard < config.metaBatchSize,
  shippedState,
};

export type { PearlLearner };
