/**
 * The tanh-squashed diagonal Gaussian of SAC (Haarnoja et al. 2018, appendix C): u ~ N(μ, σ²),
 * a = tanh(u) ∈ (−1, 1)ᴬ, with log π(a) = log N(u; μ, σ) − Σ log(1 − tanh(u)²).
 * The correction is written as 2(log 2 − u − softplus(−2u)), which is exact and stays finite
 * where tanh(u) rounds to ±1 (the `+ 1e-6` of the usual form biases it instead).
 *
 * Shapes: N rows, A action dimensions.
 */
import type { Rng } from '../core/rng.js';
import { tf } from './tf.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** SAC's bounds on a state-dependent log-std (rlkit: LOG_SIG_MIN, LOG_SIG_MAX). */
export const LOG_STD_MIN = -20;
export const LOG_STD_MAX = 2;

/** log π(tanh(u)) for pre-squash samples u under N(mean, exp(logStd)²): mean, logStd, u [N, A] → [N]. */
export function tanhGaussianLogProb(mean: tf.Tensor2D, logStd: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => squashedLogProb(tf.mul(tf.sub(u, mean), tf.exp(tf.neg(logStd))) as tf.Tensor2D, logStd, u));
}

/** Σ over dims of log N(u; μ, σ) − log(1 − tanh(u)²), given the standardised ε = (u − μ)/σ. */
function squashedLogProb(standardised: tf.Tensor2D, logStd: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const gaussian = tf.sub(tf.mul(-0.5, tf.square(standardised)), tf.add(logStd, 0.5 * LOG_2PI));
    const logDetJacobian = tf.mul(2, tf.sub(tf.sub(Math.LN2, u), tf.softplus(tf.mul(-2, u))));
    return tf.sum(tf.sub(gaussian, logDetJacobian), 1) as tf.Tensor1D;
  });
}

/**
 * A reparameterised sample: u = mean + exp(logStd)·ε with ε given (drawn on the CPU from the
 * agent's Rng, so a seed gives the same draws on every backend); returns the action tanh(u) and
 * its log-probability, both differentiable in mean and logStd. The Gaussian term comes from ε
 * itself: rebuilding it as (u − mean)/std loses float32 precision where std ≪ |mean|.
 */
export function sampleTanhGaussian(mean: tf.Tensor2D, logStd: tf.Tensor2D, noise: tf.Tensor2D): { action: tf.Tensor2D; logProb: tf.Tensor1D } {
  return tf.tidy(() => {
    const u = tf.add(mean, tf.mul(tf.exp(logStd), noise)) as tf.Tensor2D;
    return { action: tf.tanh(u), logProb: squashedLogProb(noise, logStd, u) };
  });
}

/** Actions on the CPU: tanh(mean + std·ε), or tanh(mean) where `deterministic`. mean, logStd: [N·A]; writes [N·A] into `out`. */
export function actTanhGaussian(mean: Float32Array, logStd: Float32Array, rng: Rng, deterministic: boolean, out = new Float32Array(mean.length)): Float32Array {
  for (let i = 0; i < mean.length; i++) out[i] = Math.tanh(deterministic ? mean[i] : mean[i] + Math.exp(logStd[i]) * rng.normal());
  return out;
}
