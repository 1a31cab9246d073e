/**
 * Diagonal Gaussian factors and their product: PEARL's posterior over the task latent z.
 * Each context transition n contributes a factor N(μₙ, σₙ²); their (normalised) product is the
 * Gaussian with precision Σₙ 1/σₙ² and precision-weighted mean, in closed form. As in oyster
 * (rlkit/torch/sac/agent.py, `_product_of_gaussians`), the prior is not one of the factors:
 * it is what z is drawn from before there is any context.
 *
 * Shapes: T tasks, N factors per task, L latent dimensions.
 */
import { tf } from './tf.js';

const LOG_2PI_E = Math.log(2 * Math.PI * Math.E);

/** Factor variances are clamped from below, so one confident factor cannot make the product singular. */
export const MIN_FACTOR_VARIANCE = 1e-7;

/**
 * The product of N diagonal Gaussian factors per task.
 * mean, variance: [T, N, L] → mean [T, L], variance [T, L]:
 *   variance = 1 / Σₙ (1/σₙ²),  mean = variance · Σₙ μₙ/σₙ².
 */
export function productOfGaussians(mean: tf.Tensor3D, variance: tf.Tensor3D): { mean: tf.Tensor2D; variance: tf.Tensor2D } {
  return tf.tidy(() => {
    const precision = tf.reciprocal(tf.maximum(variance, MIN_FACTOR_VARIANCE));
    const total = tf.sum(precision, 1) as tf.Tensor2D;
    const v = tf.reciprocal(total) as tf.Tensor2D;
    return { mean: tf.mul(v, tf.sum(tf.mul(mean, precision), 1)) as tf.Tensor2D, variance: v };
  });
}

/** KL(N(mean, variance) ‖ N(0, I)) per row, summed over L: [T, L] → [T]. ½ Σ (σ² + μ² − 1 − log σ²). */
export function klToStandardNormal(mean: tf.Tensor2D, variance: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(0.5, tf.sum(tf.sub(tf.add(variance, tf.square(mean)), tf.add(1, tf.log(variance))), 1)) as tf.Tensor1D);
}

/** Differential entropy of a diagonal Gaussian given its variances, nats, on the CPU: ½ Σ log(2πe σ²). */
export function diagonalGaussianEntropy(variance: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < variance.length; i++) h += 0.5 * (LOG_2PI_E + Math.log(variance[i]));
  return h;
}
