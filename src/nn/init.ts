/** Deterministic weight initialisers drawn from metarl's Rng (never Math.random). @internal */
import type { Rng } from '../core/rng.js';
import { tf } from './tf.js';

/** Glorot/Xavier uniform, as garage's policies use: U(±√(6 / (fanIn + fanOut))) · gain. [fanIn, fanOut] row-major. */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, gain = 1): Float32Array {
  const limit = gain * Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

/** A trainable variable holding a copy of `initial`, which it disposes (tf.variable copies and would leak it). */
export function variableFrom(initial: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(initial, trainable);
  initial.dispose();
  return v;
}
