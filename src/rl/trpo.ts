/**
 * One TRPO update (Schulman et al. 2015) of a flat parameter vector: the natural-gradient
 * direction by conjugate gradient on Fisher-vector products, scaled so its quadratic KL
 * estimate is the trust region, then a backtracking line search that accepts only a step
 * that lowers the surrogate and keeps the KL ≤ maxKl (garage's defaults). The caller says
 * how to compute F·v and the loss and KL at a candidate θ (on a tape, or summed over task
 * workers): this side is O(parameters).
 */
import { conjugateGradient, dot } from './cg.js';
import { backtrackingLineSearch } from './line-search.js';

export interface TrpoStepInput {
  /** θ before the step. */
  theta: Float32Array;
  /** ∇θ of the surrogate loss at θ. */
  gradient: Float64Array;
  /** The surrogate loss at θ. */
  lossBefore: number;
  /** F·v, the Fisher matrix (the KL's Hessian) at θ times v, without damping. */
  fisherProduct: (v: Float64Array) => Promise<Float64Array>;
  /** The surrogate loss and mean KL(π_θ ‖ π_candidate) at a candidate θ. */
  evaluate: (candidate: Float32Array) => Promise<{ loss: number; kl: number }>;
  /** Trust region; default 0.01 (MAML-TRPO). */
  maxKl?: number;
  /** Added to the Fisher matrix's diagonal; default 1e-5 (garage's reg_coeff). */
  damping?: number;
  cgIterations?: number;
  backtrackRatio?: number;
  maxBacktracks?: number;
}

export interface TrpoStepResult {
  /** θ after the step: the accepted candidate, or θ itself when the line search rejected every one. */
  theta: Float32Array;
  accepted: boolean;
  lossAfter: number;
  kl: number;
  backtracks: number;
  gradNorm: number;
}

export async function trpoStep(input: TrpoStepInput): Promise<TrpoStepResult> {
  const maxKl = input.maxKl ?? 0.01;
  const damping = input.damping ?? 1e-5;
  const damped = async (v: Float64Array) => {
    const fv = await input.fisherProduct(v);
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = fv[i] + damping * v[i];
    return out;
  };
  const direction = await conjugateGradient(damped, input.gradient, { iterations: input.cgIterations ?? 10 });
  // β = √(2δ / dᵀFd): the step whose quadratic KL estimate is exactly the trust region.
  const scale = Math.sqrt((2 * maxKl) / Math.max(dot(direction, await damped(direction)), 1e-12));
  const candidate = (fraction: number) => {
    const out = new Float32Array(input.theta.length);
    for (let i = 0; i < out.length; i++) out[i] = input.theta[i] - fraction * scale * direction[i];
    return out;
  };
  const search = await backtrackingLineSearch((fraction) => input.evaluate(candidate(fraction)), input.lossBefore, {
    maxKl,
    backtrackRatio: input.backtrackRatio,
    maxBacktracks: input.maxBacktracks,
  });
  return {
    // Rejected (rllab: "Line search condition violated. Rejecting the step!"): keep θ.
    theta: search.accepted ? candidate(search.fraction) : input.theta,
    accepted: search.accepted,
    lossAfter: search.accepted ? search.loss : input.lossBefore,
    kl: search.accepted ? search.kl : 0,
    backtracks: search.backtracks,
    gradNorm: Math.sqrt(dot(input.gradient, input.gradient)),
  };
}
