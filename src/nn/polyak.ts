/** Target networks (DQN, DDPG, SAC): copies of a network that trail it by Polyak averaging. */
import { tf } from './tf.js';

/** target ← τ·source + (1 − τ)·target, variable by variable (τ = 1 copies). */
export function softUpdate(target: readonly tf.Variable[], source: readonly tf.Tensor[], tau: number): void {
  tf.tidy(() => target.forEach((t, i) => t.assign(tf.add(tf.mul(tau, source[i]), tf.mul(1 - tau, t)))));
}
