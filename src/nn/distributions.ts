/**
 * Diagonal Gaussian distributions, second-order-safe (exp from ./ops.js), for policies
 * whose mean is [N, A] and whose log-std is [A] (state-independent) or [N, A].
 */
import type { Rng } from '../core/rng.js';
import { exp } from './ops.js';
import { tf } from './tf.js';

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * log π(x) of a diagonal Gaussian, summed over the action dimension.
 * mean, x: [N, A]; logStd: [A] or [N, A] → [N].
 */
export function gaussianLogProb(mean: tf.Tensor2D, logStd: tf.Tensor, x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const actSize = mean.shape[1];
    const z = tf.mul(tf.sub(x, mean), exp(tf.neg(logStd)));
    const quad = tf.sum(tf.square(z), -1);
    const logDet = logStd.rank === 1 ? tf.sum(logStd) : tf.sum(logStd, -1);
    return tf.sub(tf.mul(-0.5, quad), tf.add(logDet, 0.5 * actSize * LOG_2PI)) as tf.Tensor1D;
  });
}

/** Entropy of a diagonal Gaussian: logStd [A] → scalar, or [N, A] → [N]. */
export function gaussianEntropy(logStd: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.sum(logStd, -1), 0.5 * logStd.shape[logStd.rank - 1] * (1 + LOG_2PI)));
}

/**
 * KL(p ‖ q) between diagonal Gaussians, summed over actions.
 * meanP, meanQ: [N, A]; logStdP, logStdQ: [A] or [N, A] → [N].
 * In TRPO p is the old (fixed) policy and q the new one being optimised.
 */
export function gaussianKl(meanP: tf.Tensor2D, logStdP: tf.Tensor, meanQ: tf.Tensor2D, logStdQ: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const varRatio = exp(tf.mul(2, tf.sub(logStdP, logStdQ)));
    const meanTerm = tf.mul(tf.square(tf.sub(meanP, meanQ)), exp(tf.mul(-2, logStdQ)));
    const perDim = tf.add(tf.sub(logStdQ, logStdP), tf.mul(0.5, tf.sub(tf.add(varRatio, meanTerm), 1)));
    return tf.sum(tf.broadcastTo(perDim, meanP.shape), -1) as tf.Tensor1D;
  });
}

/**
 * Samples actions on the CPU with metarl's Rng, so rollouts are reproducible on every backend.
 * mean: [N·A] (row-major [N, A]); logStd: [A] (or [N·A]); writes [N·A] into `out`.
 */
export function sampleGaussian(mean: Float32Array, logStd: Float32Array, rng: Rng, out = new Float32Array(mean.length)): Float32Array {
  const actSize = logStd.length;
  for (let i = 0; i < mean.length; i++) out[i] = mean[i] + Math.exp(logStd[i % actSize]) * rng.normal();
  return out;
}
