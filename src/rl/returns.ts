/**
 * Discounted returns, GAE(λ) and advantage normalisation on the padded episode layout:
 * index (e, t) → e·horizon + t, for E episodes of at most `horizon` steps; steps t ≥ lengths[e]
 * are padding, written as 0 in every output.
 */
import { MetarlError } from '../core/errors.js';

/** y[t] = Σ_{k≥t} γ^{k−t} x[k] over one sequence. */
export function discountCumsum(x: ArrayLike<number>, gamma: number, out = new Float32Array(x.length)): Float32Array {
  let acc = 0;
  for (let t = x.length - 1; t >= 0; t--) {
    acc = x[t] + gamma * acc;
    out[t] = acc;
  }
  return out;
}

/** Discounted reward-to-go per episode (no bootstrapping, as garage's VPG/MAML): rewards [E·H] → [E·H]. */
export function discountedReturns(rewards: Float32Array, lengths: Int32Array, horizon: number, gamma: number): Float32Array {
  checkPadded(rewards, lengths, horizon, 'rewards');
  const out = new Float32Array(rewards.length);
  for (let e = 0; e < lengths.length; e++) {
    const start = e * horizon;
    discountCumsum(rewards.subarray(start, start + lengths[e]), gamma, out.subarray(start, start + lengths[e]));
  }
  return out;
}

export interface GaeInput {
  /** [E·H] */
  rewards: Float32Array;
  /** [E·H]: V(s_t) for the steps taken. */
  values: Float32Array;
  /** [E] steps per episode. */
  lengths: Int32Array;
  /** [E] 1 where the episode ended in a terminal state (V after it is 0), 0 where it was truncated. */
  terminated: Uint8Array;
  horizon: number;
  gamma: number;
  lambda: number;
  /**
   * [E] V of the state after the last step, used only for truncated episodes. When absent the
   * last step's own value V(s_{len−1}) stands in (the sampler's batch has no final observation).
   */
  bootstrap?: Float32Array;
}

/**
 * GAE(λ): A_t = Σ (γλ)^k δ_{t+k}, δ_t = r_t + γ V(s_{t+1}) − V(s_t). Returns advantages and the
 * λ-returns A_t + V(s_t) (the value-function targets), both [E·H].
 */
export function gae(input: GaeInput): { advantages: Float32Array; returns: Float32Array } {
  const { rewards, values, lengths, terminated, horizon, gamma, lambda, bootstrap } = input;
  checkPadded(rewards, lengths, horizon, 'rewards');
  checkPadded(values, lengths, horizon, 'values');
  if (terminated.length !== lengths.length || (bootstrap && bootstrap.length !== lengths.length)) {
    throw new MetarlError('METARL_SPEC_MISMATCH', `gae: terminated${bootstrap ? '/bootstrap' : ''} must have one entry per episode (${lengths.length})`);
  }
  const advantages = new Float32Array(rewards.length);
  const returns = new Float32Array(rewards.length);
  for (let e = 0; e < lengths.length; e++) {
    const start = e * horizon;
    const len = lengths[e];
    if (len === 0) continue;
    let next = terminated[e] ? 0 : (bootstrap ? bootstrap[e] : values[start + len - 1]);
    let acc = 0;
    for (let t = len - 1; t >= 0; t--) {
      const i = start + t;
      const delta = rewards[i] + gamma * next - values[i];
      acc = delta + gamma * lambda * acc;
      advantages[i] = acc;
      returns[i] = acc + values[i];
      next = values[i];
    }
  }
  return { advantages, returns };
}

/** [E·H] of 1 for real steps and 0 for padding. */
export function validMask(lengths: Int32Array, horizon: number): Float32Array {
  const mask = new Float32Array(lengths.length * horizon);
  for (let e = 0; e < lengths.length; e++) mask.fill(1, e * horizon, e * horizon + Math.min(lengths[e], horizon));
  return mask;
}

/**
 * (a − mean) / (std + eps) over the entries where mask is 1 (all entries without a mask);
 * masked-out entries become 0. Returns a new array.
 */
export function normalizeAdvantages(adv: Float32Array, mask?: Float32Array, eps = 1e-8): Float32Array {
  if (mask && mask.length !== adv.length) throw new MetarlError('METARL_SPEC_MISMATCH', `mask has ${mask.length} entries, advantages ${adv.length}`);
  let n = 0;
  let sum = 0;
  for (let i = 0; i < adv.length; i++) if (!mask || mask[i]) (n++, (sum += adv[i]));
  const out = new Float32Array(adv.length);
  if (n === 0) return out;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < adv.length; i++) if (!mask || mask[i]) sq += (adv[i] - mean) ** 2;
  const std = Math.sqrt(sq / n);
  for (let i = 0; i < adv.length; i++) if (!mask || mask[i]) out[i] = (adv[i] - mean) / (std + eps);
  return out;
}

function checkPadded(x: Float32Array, lengths: Int32Array, horizon: number, what: string): void {
  if (x.length !== lengths.length * horizon) {
    throw new MetarlError('METARL_SPEC_MISMATCH', `${what} has ${x.length} entries, expected episodes × horizon = ${lengths.length} × ${horizon}`);
  }
  for (let e = 0; e < lengths.length; e++) {
    if (lengths[e] < 0 || lengths[e] > horizon) throw new MetarlError('METARL_SPEC_MISMATCH', `lengths[${e}] = ${lengths[e]} is outside [0, ${horizon}]`);
  }
}
