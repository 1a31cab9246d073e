/**
 * Curvature products of the Gaussian MLP policy (mlp.ts: tanh hidden layers, a linear mean,
 * a state-independent logStd) in closed form, without a tape: Pearlmutter's R-operator, the
 * directional derivative of the forward and backward passes along v ("Fast Exact
 * Multiplication by the Hessian", 1994). Exact, like double backprop through the tape, at a
 * third of its kernels and none of its bookkeeping: MAML-TRPO asks for three of these per task
 * per conjugate-gradient step, on a few hundred rows each, where tfjs's per-op cost dominates.
 *
 * Rows are weighted by `mask / steps`: the masked means over a task's real steps that MAML's
 * losses take (src/rl/inner-loop.ts, src/rl/surrogate.ts). Every function returns the product as
 * one flat vector in the policy's parameter order.
 */
import { flattenParams, unflattenParams } from './params.js';
import { tf } from './tf.js';

/** The rows a product is taken over: obs [N, O], mask [N] (1 real, 0 padding), `steps` the divisor of the mean. */
export interface CurvatureRows {
  obs: tf.Tensor2D;
  mask: tf.Tensor1D;
  steps: number;
}

/**
 * F·v: the Hessian, at θ_new = θ_old = `params`, of the mean KL(π_old ‖ π_new) over the rows.
 * There it is the Fisher matrix: Jμᵀ diag(1/σ²) Jμ for the mean network (Gauss–Newton is exact
 * at the old point) and 2 on each logStd, nothing across.
 */
export function klHessianProduct(params: readonly tf.Tensor[], rows: CurvatureRows, v: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const dir = unflattenParams(v, params.map((p) => p.shape));
    const net = forward(params, rows.obs);
    const rMean = rForward(params, dir, net);
    const invVar = tf.exp(tf.mul(params[params.length - 1], -2));
    const weight = tf.expandDims(tf.div(rows.mask, rows.steps), 1);
    const netPart = backward(params, net, tf.mul(tf.mul(rMean, invVar), weight));
    const logStdPart = tf.mul(dir[dir.length - 1], tf.div(tf.mul(tf.sum(rows.mask), 2), rows.steps));
    return flattenParams([...netPart, logStdPart]);
  });
}

/**
 * H·v: the Hessian of the VPG loss −mean_t log π(a_t|s_t) Â_t (MAML's inner loss, `innerLoss` in
 * src/rl/inner-loop.ts) at `params`, along v: Pearlmutter's R-operator through the forward pass,
 * the log-prob's derivatives and the backward pass.
 */
export function vpgHessianProduct(params: readonly tf.Tensor[], rows: CurvatureRows & { actions: tf.Tensor2D; advantages: tf.Tensor1D }, v: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const dir = unflattenParams(v, params.map((p) => p.shape));
    const vLogStd = dir[dir.length - 1];
    const net = forward(params, rows.obs);
    const rMean = rForward(params, dir, net);
    const invVar = tf.exp(tf.mul(params[params.length - 1], -2));
    // L = Σ_t c_t log π(a_t|s_t), c_t = −mask_t Â_t / steps; log π = −Σ_d (e_d² / 2σ_d² + log σ_d) + const, e = a − μ.
    const c = tf.expandDims(tf.div(tf.mul(tf.neg(rows.mask), rows.advantages), rows.steps), 1);
    const e = tf.sub(rows.actions, net.mean);
    const eInvVar = tf.mul(e, invVar);
    // ∂L/∂μ = c e/σ², and its derivative along v (e moves by −Rμ, 1/σ² by −2 v_logStd / σ²).
    const gMean = tf.mul(c, eInvVar) as tf.Tensor2D;
    const rgMean = tf.mul(c, tf.sub(tf.neg(tf.mul(rMean, invVar)), tf.mul(tf.mul(eInvVar, vLogStd), 2))) as tf.Tensor2D;
    const netPart = rBackward(params, dir, net, gMean, rgMean);
    // ∂L/∂logσ_d = Σ_t c (e_d²/σ_d² − 1), along v.
    const logStdPart = tf.sum(tf.mul(c, tf.mul(tf.add(tf.mul(rMean, eInvVar), tf.mul(tf.mul(e, eInvVar), vLogStd)), -2)), 0);
    return flattenParams([...netPart, logStdPart]);
  });
}

/** The forward pass, keeping each layer's input: hs[0] = obs, hs[l] = tanh(z_{l−1}). */
interface Pass {
  hs: tf.Tensor2D[];
  mean: tf.Tensor2D;
}

const layerCount = (params: readonly tf.Tensor[]) => (params.length - 1) / 2;

function forward(params: readonly tf.Tensor[], obs: tf.Tensor2D): Pass {
  const L = layerCount(params);
  const hs: tf.Tensor2D[] = [obs];
  let mean = obs;
  for (let l = 0; l < L; l++) {
    const z = tf.add(tf.matMul(hs[l], params[2 * l] as tf.Tensor2D), params[2 * l + 1]) as tf.Tensor2D;
    if (l < L - 1) hs.push(tf.tanh(z) as tf.Tensor2D);
    else mean = z;
  }
  return { hs, mean };
}

/** Rμ, the mean's derivative along the network part of `dir`; records Rh of each hidden layer in `net.rhs`. */
function rForward(params: readonly tf.Tensor[], dir: readonly tf.Tensor[], net: Pass & { rhs?: (tf.Tensor2D | null)[] }): tf.Tensor2D {
  const L = layerCount(params);
  const rhs: (tf.Tensor2D | null)[] = [null];
  let rz: tf.Tensor2D = net.mean;
  for (let l = 0; l < L; l++) {
    // Rz = Rh W + h RW + Rb; the observation does not move (Rh_0 = 0).
    rz = tf.add(tf.matMul(net.hs[l], dir[2 * l] as tf.Tensor2D), dir[2 * l + 1]) as tf.Tensor2D;
    const rh = rhs[l];
    if (rh) rz = tf.add(rz, tf.matMul(rh, params[2 * l] as tf.Tensor2D)) as tf.Tensor2D;
    if (l < L - 1) rhs.push(tf.mul(tf.sub(1, tf.square(net.hs[l + 1])), rz) as tf.Tensor2D);
  }
  net.rhs = rhs;
  return rz;
}

/** The gradient of Σ gMean ⊙ μ with respect to each weight and bias (a plain backward pass). */
function backward(params: readonly tf.Tensor[], net: Pass, gMean: tf.Tensor2D): tf.Tensor[] {
  const L = layerCount(params);
  const grads: tf.Tensor[] = new Array(2 * L);
  let dz = gMean;
  for (let l = L - 1; l >= 0; l--) {
    grads[2 * l] = tf.matMul(net.hs[l], dz, true, false);
    grads[2 * l + 1] = tf.sum(dz, 0);
    if (l > 0) dz = tf.mul(tf.matMul(dz, params[2 * l] as tf.Tensor2D, false, true), tf.sub(1, tf.square(net.hs[l]))) as tf.Tensor2D;
  }
  return grads;
}

/** The derivative along `dir` of `backward(params, net, gMean)`, given gMean's own derivative rgMean. */
function rBackward(params: readonly tf.Tensor[], dir: readonly tf.Tensor[], net: Pass & { rhs?: (tf.Tensor2D | null)[] }, gMean: tf.Tensor2D, rgMean: tf.Tensor2D): tf.Tensor[] {
  const L = layerCount(params);
  const rhs = net.rhs!;
  const out: tf.Tensor[] = new Array(2 * L);
  let dz = gMean;
  let rdz = rgMean;
  for (let l = L - 1; l >= 0; l--) {
    const rh = rhs[l];
    const rdW = tf.matMul(net.hs[l], rdz, true, false);
    out[2 * l] = rh ? tf.add(rdW, tf.matMul(rh, dz, true, false)) : rdW;
    out[2 * l + 1] = tf.sum(rdz, 0);
    if (l === 0) break;
    const w = params[2 * l] as tf.Tensor2D;
    const dh = tf.matMul(dz, w, false, true);
    const rdh = tf.add(tf.matMul(rdz, w, false, true), tf.matMul(dz, dir[2 * l] as tf.Tensor2D, false, true));
    const h = net.hs[l];
    const slope = tf.sub(1, tf.square(h));
    // z = atanh(h): d(1 − h²) = −2 h Rh.
    rdz = tf.sub(tf.mul(rdh, slope), tf.mul(tf.mul(dh, h), tf.mul(rh!, 2))) as tf.Tensor2D;
    dz = tf.mul(dh, slope) as tf.Tensor2D;
  }
  return out;
}
