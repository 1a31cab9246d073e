/**
 * Conjugate gradient for TRPO's natural-gradient direction F⁻¹g, on plain arrays: the
 * learner's side of TRPO is O(parameters) work, and the products A·v may come from anywhere
 * (task workers, a tape). Float64 so that the sums of many workers' products stay exact
 * enough to be reproducible.
 */
import { letEventLoopRun } from '../core/event-loop.js';

export interface CgOptions {
  /** Iterations at most; default 10 (garage, Schulman). */
  iterations?: number;
  /** Stop when rᵀr falls below this; default 1e-10. */
  residualTol?: number;
}

/** Solves A x = b for symmetric positive-definite A given only `avp(v) = A v`. */
export async function conjugateGradient(avp: (v: Float64Array) => Promise<Float64Array> | Float64Array, b: Float64Array, options: CgOptions = {}): Promise<Float64Array> {
  const iterations = options.iterations ?? 10;
  const tol = options.residualTol ?? 1e-10;
  const x = new Float64Array(b.length);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  let rr = dot(r, r);
  for (let i = 0; i < iterations && rr >= tol; i++) {
    await letEventLoopRun();
    const ap = await avp(p);
    const alpha = rr / (dot(p, ap) + 1e-12);
    for (let k = 0; k < x.length; k++) (x[k] += alpha * p[k]), (r[k] -= alpha * ap[k]);
    const next = dot(r, r);
    const beta = next / rr;
    for (let k = 0; k < p.length; k++) p[k] = r[k] + beta * p[k];
    rr = next;
  }
  return x;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
