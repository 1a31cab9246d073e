/**
 * MAML's inner loop, differentiable (Finn et al. 2017, §2.2): VPG steps θ' = θ − α ⊙ ∇θ L_in(θ)
 * on a Gaussian MLP policy that is a function of an explicit parameter list
 * (`policy.forward(params, obs)`), so θ' is computed and nothing is mutated. The step size is
 * MAML's one α or Meta-SGD's α per parameter (Li et al. 2017).
 *
 * Two ways to differentiate through it: on the tape (`innerStep`, `adaptParams`, with every op of
 * the policy and the log-prob from src/nn/ops.ts, tfjs#3252), which is the definition the
 * finite-difference tests check; or in closed form (`innerPath` here, then ./meta-gradient.ts),
 * which is what the task workers run.
 *
 * Shapes: M rows (n episodes × H steps, padding masked out), O/A obs/action size, P parameters.
 */
import type { CurvatureRows } from '../nn/curvature.js';
import { gaussianLogProb } from '../nn/distributions.js';
import type { GaussianMlpPolicy } from '../nn/mlp.js';
import { flattenParams, unflattenParams } from '../nn/params.js';
import { tf } from '../nn/tf.js';

/** A parameter list in the policy's order: weights [in, out], biases and logStd [size]. */
export type Params = readonly tf.Tensor[];

/** The rows a loss is taken over: obs [M, O], actions [M, A], advantages [M], mask [M], `steps` real rows (≥ 1). */
export interface PolicyRows extends CurvatureRows {
  actions: tf.Tensor2D;
  advantages: tf.Tensor1D;
}

export function disposeRows(rows: PolicyRows): void {
  tf.dispose([rows.obs, rows.actions, rows.advantages, rows.mask]);
}

/**
 * The inner step size: MAML's one α, or Meta-SGD's α per parameter (tensors in the policy's
 * shapes on the tape; flat [P] in `innerPath`).
 */
export type StepSize = number | readonly tf.Tensor[];

/** Mean over the real steps: x [M] → scalar. */
export function stepMean(x: tf.Tensor, rows: CurvatureRows): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, rows.mask)), rows.steps) as tf.Scalar;
}

/** log π(a_t | s_t) of every row under `params`: [M]. */
export function policyLogProb(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows): tf.Tensor1D {
  return tf.tidy(() => {
    const { mean, logStd } = policy.forward(params, rows.obs);
    return gaussianLogProb(mean, logStd, rows.actions);
  });
}

/** The inner loss, VPG: −mean_t log π(a_t|s_t) Â_t. */
export function innerLoss(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows): tf.Scalar {
  return tf.tidy(() => tf.neg(stepMean(tf.mul(policyLogProb(policy, params, rows), rows.advantages), rows)));
}

/**
 * One VPG step θ' = θ − α ⊙ ∇ L_in(θ) on the tape. Called inside an outer `tf.grads`, the inner
 * gradient is itself on the tape and the meta-gradient flows through it (second order); with
 * `firstOrder` the inner gradient is a constant.
 */
export function innerStep(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows, alpha: StepSize, firstOrder: boolean): tf.Tensor[] {
  return tf.tidy(() => {
    const grads = tf.grads((...ps: tf.Tensor[]) => innerLoss(policy, ps, rows))([...params]);
    return params.map((p, i) => tf.sub(p, tf.mul(firstOrder ? stopGradient(grads[i]) : grads[i], typeof alpha === 'number' ? alpha : alpha[i])));
  });
}

/** θ' after the inner steps on the tape: step j uses `stages[j]`. */
export function adaptParams(policy: GaussianMlpPolicy, theta: Params, stages: readonly PolicyRows[], alpha: StepSize, firstOrder: boolean): tf.Tensor[] {
  return tf.tidy(() => {
    let p: Params = theta;
    for (const stage of stages) p = innerStep(policy, p, stage, alpha, firstOrder);
    return [...p];
  });
}

/** Identity whose gradient is zero (tfjs has no stop_gradient). */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * Meta-SGD's view of the inner steps: the flat per-parameter α and each step's inner gradient
 * g_j (flat), which is ∂θ'_j/∂α = −diag(g_j).
 */
export interface LearnedStep {
  /** [P] */
  alpha: tf.Tensor1D;
  /** g_j at θ'_{j−1} on stage j−1's rows, [P] each. */
  grads: tf.Tensor1D[];
}

/** The inner gradient ∇θ L_in at `params`, flat [P]. */
function innerGradient(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows): tf.Tensor1D {
  return tf.tidy(() => flattenParams(tf.grads((...ps: tf.Tensor[]) => innerLoss(policy, ps, rows))([...params])));
}

/**
 * One inner step off the tape, from `params` on `rows`: with MAML's α, θ − α∇L_in (`grad` null);
 * with Meta-SGD's flat α [P], θ − α ⊙ g, and g is kept (`grad`) for the Jacobian products.
 */
export function innerUpdate(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows, alpha: number | tf.Tensor1D): { params: tf.Tensor[]; grad: tf.Tensor1D | null } {
  if (typeof alpha === 'number') return { params: innerStep(policy, params, rows, alpha, false), grad: null };
  const grad = innerGradient(policy, params, rows);
  const next = tf.tidy(() => unflattenParams(tf.sub(flattenParams(params), tf.mul(alpha, grad)), params.map((p) => p.shape)));
  return { params: next, grad };
}

/**
 * The inner path [θ, θ'_1, …, θ'_k] from θ on stages 0..k−1 and, with Meta-SGD's flat α, the
 * inner gradients of its steps (`step`; null with MAML's α). The caller disposes path[1..] and
 * step.grads; θ and α stay the caller's.
 */
export function innerPath(policy: GaussianMlpPolicy, theta: Params, stages: readonly PolicyRows[], alpha: number | tf.Tensor1D): { path: tf.Tensor[][]; step: LearnedStep | null } {
  const path: tf.Tensor[][] = [[...theta]];
  const grads: tf.Tensor1D[] = [];
  for (const rows of stages) {
    const next = innerUpdate(policy, path[path.length - 1], rows, alpha);
    path.push(next.params);
    if (next.grad) grads.push(next.grad);
  }
  return { path, step: typeof alpha === 'number' ? null : { alpha, grads } };
}
