/**
 * TRPO's objective for a Gaussian MLP policy given as an explicit parameter list (Schulman et
 * al. 2015, eq. 14): the importance-sampled surrogate and the mean KL from the policy that
 * sampled the rows (π_old, held fixed). MAML-TRPO takes both at the adapted parameters θ'(θ),
 * through the inner steps, so they are built from second-order-safe ops.
 *
 * Shapes: M rows, A action size.
 */
import { gaussianKl, gaussianLogProb } from '../nn/distributions.js';
import type { GaussianMlpPolicy } from '../nn/mlp.js';
import { exp } from '../nn/ops.js';
import { tf } from '../nn/tf.js';
import { policyLogProb, stepMean, type Params, type PolicyRows } from './inner-loop.js';

/** The policy that sampled the rows, on those rows, held fixed during the outer step. */
export interface OldPolicy {
  /** [M, A] */
  mean: tf.Tensor2D;
  /** [A] */
  logStd: tf.Tensor;
  /** [M] */
  logProb: tf.Tensor1D;
}

/** π_old at `params` on `rows`; disposed by the caller (`disposeOld`). */
export function oldPolicy(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows): OldPolicy {
  return tf.tidy(() => {
    const { mean, logStd } = policy.forward(params, rows.obs);
    return { mean, logStd: tf.clone(logStd), logProb: gaussianLogProb(mean, logStd, rows.actions) };
  });
}

export function disposeOld(old: OldPolicy): void {
  tf.dispose([old.mean, old.logStd, old.logProb]);
}

/** The surrogate −mean_t r_t Â_t, r_t = π_params(a|s) / π_old(a|s). */
export function surrogateLoss(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows, old: OldPolicy): tf.Scalar {
  return tf.tidy(() => tf.neg(stepMean(tf.mul(exp(tf.sub(policyLogProb(policy, params, rows), old.logProb)), rows.advantages), rows)));
}

/** mean_t KL(π_old(·|s_t) ‖ π_params(·|s_t)). */
export function meanKl(policy: GaussianMlpPolicy, params: Params, rows: PolicyRows, old: OldPolicy): tf.Scalar {
  return tf.tidy(() => {
    const { mean, logStd } = policy.forward(params, rows.obs);
    return stepMean(gaussianKl(old.mean, old.logStd, mean, logStd), rows);
  });
}
