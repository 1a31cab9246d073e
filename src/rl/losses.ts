/**
 * Policy-gradient losses (to minimise) as tensor functions. Every per-sample input is [N];
 * `mask` [N] (1 real step, 0 padding) makes means run over real steps only.
 * Built from second-order-safe ops, so MAML may differentiate them through its inner update.
 */
import { exp } from '../nn/ops.js';
import { tf } from '../nn/tf.js';

/** Σ x·mask / Σ mask (plain mean without a mask). @internal */
export function maskedMean(x: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => (mask ? tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) : tf.mean(x)) as tf.Scalar);
}

/** Vanilla policy gradient (REINFORCE with advantages): −mean(log π(a|s) · A). logProb, advantages: [N] → scalar. */
export function vpgLoss(logProb: tf.Tensor1D, advantages: tf.Tensor1D, mask?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(maskedMean(tf.mul(logProb, advantages), mask)));
}

export interface PpoLossInput {
  /** [N] log π_θ(a|s) under the policy being optimised. */
  logProb: tf.Tensor1D;
  /** [N] log π_old(a|s) from sampling time (a constant). */
  oldLogProb: tf.Tensor1D;
  /** [N] advantages (normalised by the caller if wanted). */
  advantages: tf.Tensor1D;
  mask?: tf.Tensor1D;
  /** Ratio clip ε; default 0.2. */
  clip?: number;
  /** Adds coef · ½(V − R)² (clipped around oldValues by `clip` if given), as cleanrl's PPO. */
  value?: { pred: tf.Tensor1D; returns: tf.Tensor1D; coef?: number; oldValues?: tf.Tensor1D; clip?: number };
  /** Subtracts coef · entropy; `entropy` is [N] or a scalar (state-independent std). */
  entropy?: { value: tf.Tensor; coef: number };
}

export interface PpoLoss {
  /** The total loss to minimise. */
  loss: tf.Scalar;
  policyLoss: tf.Scalar;
  valueLoss: tf.Scalar;
  entropy: tf.Scalar;
  /** Diagnostics (no gradient needed): mean((r − 1) − log r), and the fraction of clipped ratios. */
  approxKl: tf.Scalar;
  clipFraction: tf.Scalar;
}

/** PPO-clip: −mean(min(r·A, clip(r, 1±ε)·A)) + value and entropy terms; r = exp(logπ − logπ_old). */
export function ppoClipLoss(input: PpoLossInput): PpoLoss {
  const eps = input.clip ?? 0.2;
  return tf.tidy(() => {
    const { mask } = input;
    const logRatio = tf.sub(input.logProb, input.oldLogProb);
    const ratio = exp(logRatio);
    const surr1 = tf.mul(ratio, input.advantages);
    const surr2 = tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), input.advantages);
    const policyLoss = tf.neg(maskedMean(tf.minimum(surr1, surr2), mask));
    let valueLoss: tf.Scalar = tf.scalar(0);
    let total: tf.Scalar = policyLoss;
    if (input.value) {
      const { pred, returns, oldValues, clip } = input.value;
      let sq = tf.square(tf.sub(pred, returns));
      if (oldValues && clip !== undefined) {
        const clipped = tf.add(oldValues, tf.clipByValue(tf.sub(pred, oldValues), -clip, clip));
        sq = tf.maximum(sq, tf.square(tf.sub(clipped, returns)));
      }
      valueLoss = tf.mul(0.5, maskedMean(sq, mask));
      total = tf.add(total, tf.mul(input.value.coef ?? 0.5, valueLoss));
    }
    let entropy: tf.Scalar = tf.scalar(0);
    if (input.entropy) {
      entropy = input.entropy.value.rank === 0 ? (input.entropy.value as tf.Scalar) : maskedMean(input.entropy.value, mask);
      total = tf.sub(total, tf.mul(input.entropy.coef, entropy));
    }
    const approxKl = maskedMean(tf.sub(tf.sub(ratio, 1), logRatio), mask);
    const clipFraction = maskedMean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), eps), 'float32'), mask);
    return { loss: total, policyLoss, valueLoss, entropy, approxKl, clipFraction };
  });
}
