/**
 * One TRPO update on a list of variables: natural-gradient direction by conjugate gradient on
 * Fisher-vector products, scaled to the trust region, then a backtracking line search that
 * accepts only a step that lowers the surrogate and keeps KL ≤ maxKl (garage's defaults).
 */
import { assignFlat, flattenParams } from '../nn/params.js';
import { tf } from '../nn/tf.js';
import { conjugateGradient } from './cg.js';
import { fisherVectorProduct } from './fvp.js';
import { backtrackingLineSearch } from './line-search.js';

export interface TrpoStepInput {
  /** Updated in place (left unchanged when no step is accepted). */
  params: readonly tf.Variable[];
  /** Surrogate loss to minimise, as a function of the parameters. */
  loss: (params: tf.Tensor[]) => tf.Scalar;
  /** Mean KL(π_old ‖ π_params), π_old fixed; second-order-safe (gaussianKl). */
  kl: (params: tf.Tensor[]) => tf.Scalar;
  /** Trust region; default 0.01 (MAML-TRPO). */
  maxKl?: number;
  /** Added to the Fisher matrix's diagonal; default 0.1 (garage: reg_coeff 1e-5 … 0.1). */
  damping?: number;
  cgIterations?: number;
  backtrackRatio?: number;
  maxBacktracks?: number;
}

export interface TrpoStepResult {
  lossBefore: number;
  lossAfter: number;
  kl: number;
  accepted: boolean;
  backtracks: number;
}

export async function trpoStep(input: TrpoStepInput): Promise<TrpoStepResult> {
  const maxKl = input.maxKl ?? 0.01;
  const damping = input.damping ?? 0.1;
  const params = input.params;
  const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => input.loss(ps))([...params]);
  const lossBefore = (await value.data())[0];
  const negGrad = tf.tidy(() => tf.neg(flattenParams(grads)) as tf.Tensor1D);
  tf.dispose([value, ...grads]);

  const fvp = (v: tf.Tensor1D) => fisherVectorProduct(input.kl, params, v, damping);
  const direction = await conjugateGradient(fvp, negGrad, { iterations: input.cgIterations ?? 10 });
  const fullStep = tf.tidy(() => {
    const shs = tf.dot(direction, fvp(direction));
    // β = √(2δ / sᵀFs): the step whose quadratic KL estimate is exactly the trust region.
    return tf.mul(direction, tf.sqrt(tf.div(2 * maxKl, tf.add(shs, 1e-8)))) as tf.Tensor1D;
  });
  const start = flattenParams(params);
  tf.dispose([negGrad, direction]);

  const moveTo = (fraction: number) => {
    const at = tf.tidy(() => tf.add(start, tf.mul(fraction, fullStep)) as tf.Tensor1D);
    assignFlat(params, at);
    at.dispose();
  };
  const result = await backtrackingLineSearch(
    async (fraction) => {
      moveTo(fraction);
      const [l, k] = tf.tidy(() => [input.loss([...params]), input.kl([...params])]);
      const out = { loss: (await l.data())[0], kl: (await k.data())[0] };
      tf.dispose([l, k]);
      return out;
    },
    lossBefore,
    { maxKl, backtrackRatio: input.backtrackRatio, maxBacktracks: input.maxBacktracks },
  );
  if (!result.accepted) moveTo(0);
  tf.dispose([start, fullStep]);
  return {
    lossBefore,
    lossAfter: result.accepted ? result.loss : lossBefore,
    kl: result.accepted ? result.kl : 0,
    accepted: result.accepted,
    backtracks: result.backtracks,
  };
}
