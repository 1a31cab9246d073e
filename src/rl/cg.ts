/** Conjugate gradient on tensors, for TRPO's natural-gradient direction F⁻¹g. */
import { tf } from '../nn/tf.js';
import { letEventLoopRun } from '../core/event-loop.js';

export interface CgOptions {
  /** Iterations at most; default 10 (garage, Schulman). */
  iterations?: number;
  /** Stop when rᵀr falls below this; default 1e-10. */
  residualTol?: number;
}

/**
 * Solves A x = b for symmetric positive-definite A given only `avp(v) = A v`.
 * b: [n] → x: [n]. `avp` must return a new tensor; this function disposes what it is given
 * back and every temporary, and never disposes b. Reads one scalar per iteration (await data()).
 */
export async function conjugateGradient(avp: (v: tf.Tensor1D) => tf.Tensor1D, b: tf.Tensor1D, options: CgOptions = {}): Promise<tf.Tensor1D> {
  const iterations = options.iterations ?? 10;
  const tol = options.residualTol ?? 1e-10;
  let x = tf.zerosLike(b);
  let r = tf.clone(b);
  let p = tf.clone(b);
  let rr = tf.dot(r, r) as tf.Scalar;
  for (let i = 0; i < iterations; i++) {
    if ((await rr.data())[0] < tol) break;
    await letEventLoopRun();
    const ap = avp(p);
    const [nx, nr, nrr] = tf.tidy(() => {
      const alpha = tf.div(rr, tf.add(tf.dot(p, ap), 1e-12));
      const nextR = tf.sub(r, tf.mul(alpha, ap));
      return [tf.add(x, tf.mul(alpha, p)), nextR, tf.dot(nextR, nextR)] as [tf.Tensor1D, tf.Tensor1D, tf.Scalar];
    });
    const np = tf.tidy(() => tf.add(nr, tf.mul(tf.div(nrr, rr), p)) as tf.Tensor1D);
    tf.dispose([x, r, p, rr, ap]);
    [x, r, p, rr] = [nx, nr, np, nrr];
  }
  tf.dispose([r, p, rr]);
  return x;
}
