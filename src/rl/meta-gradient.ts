/**
 * Derivatives through MAML's inner steps (./inner-loop.ts) in closed form: the Jacobian of the
 * adapted parameters θ'_k(θ) and its transpose applied to a vector, by Hessian-vector products
 * of the inner loss (src/nn/curvature.ts, Pearlmutter's R-operator), instead of a second- or
 * third-order tape. On them rest a task's meta-gradient (`metaGradient`) and the TRPO outer
 * step's Fisher product through the inner update (`metaFisherProduct`).
 *
 * J = dθ'_k/dθ = J_k ⋯ J_1 with J_j = I − α H_j, H_j the inner loss's Hessian at the step's
 * start (symmetric, so Jᵀ = J_1 ⋯ J_k). With Meta-SGD the meta-parameters are φ = (θ, α), flat
 * [2P], and ∂θ'_j/∂α = −diag(g_j). First order drops every H_j term.
 *
 * `path` is always [θ, θ'_1, …, θ'_k] and `stages` the k stages the steps were taken on.
 */
import { klHessianProduct, vpgHessianProduct, type CurvatureRows } from '../nn/curvature.js';
import { flattenParams } from '../nn/params.js';
import { tf } from '../nn/tf.js';
import type { LearnedStep, Params, PolicyRows } from './inner-loop.js';

/** How the inner steps were taken: MAML's one α (ignored with a LearnedStep) and first or second order. */
export interface InnerStepOptions {
  innerLr: number;
  firstOrder: boolean;
}

/**
 * A task's meta-gradient ∇θ loss(θ'_k(θ)) = Jᵀ ∇θ' loss(θ'_k): a first-order gradient at the
 * adapted parameters, carried back through the inner steps (the same as differentiating through
 * the inner update on the tape, which the finite-difference tests check, at a fraction of its
 * cost). With Meta-SGD (`learned`) the gradient is with respect to φ = (θ, α): [2P].
 */
export function metaGradient(path: readonly Params[], stages: readonly PolicyRows[], loss: (adapted: tf.Tensor[]) => tf.Scalar, options: InnerStepOptions, learned: LearnedStep | null = null): { value: tf.Scalar; gradient: tf.Tensor1D } {
  return tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => loss(ps))([...path[stages.length]]);
    const atAdapted = flattenParams(grads);
    if (learned) return { value, gradient: learnedJacobianTransposeProduct(path, stages, learned, atAdapted, options.firstOrder) };
    return { value, gradient: options.firstOrder ? atAdapted : jacobianProduct(path, stages, atAdapted, options.innerLr, true) };
  });
}

/**
 * F·v, the Hessian at θ of a task's KL(π_θ'(θ_old) ‖ π_θ'(θ)) on `post`'s rows, as
 * pytorch-maml-rl's, which differentiates the KL through the inner update. Its gradient is zero
 * at θ_old, so the Hessian is Jᵀ F J, F the adapted policy's Fisher matrix: 2k + 1
 * Hessian-vector products and no third-order tape. Holding the inner step's offset fixed instead
 * (F alone) was exact only for first-order MAML: its steps overshot the trust region, the line
 * search backtracked 3–6 times per iteration and learning per iteration fell behind the reference.
 */
export function metaFisherProduct(path: readonly Params[], stages: readonly PolicyRows[], post: CurvatureRows, v: tf.Tensor1D, options: InnerStepOptions, learned: LearnedStep | null): tf.Tensor1D {
  return tf.tidy(() => {
    const adapted = path[stages.length];
    if (learned) {
      const u = learnedJacobianProduct(path, stages, learned, v, options.firstOrder);
      return learnedJacobianTransposeProduct(path, stages, learned, klHessianProduct(adapted, post, u), options.firstOrder);
    }
    if (options.firstOrder) return klHessianProduct(adapted, post, v);
    const u = jacobianProduct(path, stages, v, options.innerLr, false);
    return jacobianProduct(path, stages, klHessianProduct(adapted, post, u), options.innerLr, true);
  });
}

/** J·x, or Jᵀ·x with `transpose`, for MAML's one α. */
function jacobianProduct(path: readonly Params[], stages: readonly PolicyRows[], x: tf.Tensor1D, alpha: number, transpose: boolean): tf.Tensor1D {
  const order = stages.map((_, j) => j);
  if (transpose) order.reverse();
  return order.reduce((acc, j) => tf.sub(acc, tf.mul(vpgHessianProduct(path[j], stages[j], acc), alpha)) as tf.Tensor1D, x);
}

/**
 * Meta-SGD's J_φ·v, φ = (θ, α), v = [v_θ, v_α]: the steps run forward,
 * u_j = u_{j−1} − α ⊙ H_j u_{j−1} − g_j ⊙ v_α from u_0 = v_θ (first order: without the H_j term).
 */
function learnedJacobianProduct(path: readonly Params[], stages: readonly PolicyRows[], learned: LearnedStep, v: tf.Tensor1D, firstOrder: boolean): tf.Tensor1D {
  const [vTheta, vAlpha] = tf.split(v, 2) as [tf.Tensor1D, tf.Tensor1D];
  return stages.reduce((u, stage, j) => {
    const through = firstOrder ? u : tf.sub(u, tf.mul(learned.alpha, vpgHessianProduct(path[j], stage, u)));
    return tf.sub(through, tf.mul(learned.grads[j], vAlpha)) as tf.Tensor1D;
  }, vTheta);
}

/**
 * Meta-SGD's J_φᵀ·w = [w_θ, w_α]: back from w_k = w, step j adds −g_j ⊙ w_j to w_α and passes
 * w_{j−1} = w_j − H_j (α ⊙ w_j) on (H_j symmetric; first order: w_{j−1} = w_j).
 */
function learnedJacobianTransposeProduct(path: readonly Params[], stages: readonly PolicyRows[], learned: LearnedStep, w: tf.Tensor1D, firstOrder: boolean): tf.Tensor1D {
  let wTheta = w;
  let wAlpha: tf.Tensor1D = tf.zerosLike(w);
  for (let j = stages.length - 1; j >= 0; j--) {
    wAlpha = tf.sub(wAlpha, tf.mul(learned.grads[j], wTheta));
    if (!firstOrder) wTheta = tf.sub(wTheta, vpgHessianProduct(path[j], stages[j], tf.mul(learned.alpha, wTheta)));
  }
  return tf.concat([wTheta, wAlpha]);
}

/** Every k-th row of `rows` (k = round(1 / fraction)): the rows Fisher products are taken over, as the TRPO paper subsamples. */
export async function fisherRows<Rows extends PolicyRows>(rows: Rows, fraction: number): Promise<Rows> {
  const stride = Math.max(1, Math.round(1 / fraction));
  const picked = tf.tidy(() => {
    const at = tf.range(0, rows.obs.shape[0], stride, 'int32');
    return { obs: tf.gather(rows.obs, at), actions: tf.gather(rows.actions, at), advantages: tf.gather(rows.advantages, at), mask: tf.gather(rows.mask, at) };
  });
  // Read asynchronously: WebGPU cannot read a tensor synchronously in Node (no OffscreenCanvas).
  const steps = ((await picked.mask.data()) as Float32Array).reduce((a, b) => a + b, 0);
  return { ...rows, ...picked, steps: Math.max(1, steps) };
}
