// The closed-form curvature products against double backprop through the tape (src/rl/fvp.ts with
// the second-order-safe ops), on random rows with padding, for one and two hidden layers.
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { klHessianProduct, vpgHessianProduct } from '../../src/nn/curvature.js';
import { gaussianKl, gaussianLogProb } from '../../src/nn/distributions.js';
import { createGaussianMlp } from '../../src/nn/mlp.js';
import { flattenParams } from '../../src/nn/params.js';
import { tf } from '../../src/nn/tf.js';
import { fisherVectorProduct } from '../../src/rl/fvp.js';

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
});

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.hypot(...Array.from(a, (x, i) => x - b[i])) / Math.hypot(...Array.from(b));

describe.each([[[5]], [[6, 4]]])('curvature products of a Gaussian MLP with hidden %j', (hidden) => {
  const [O, A, N, padding] = [3, 2, 40, 7];
  const setup = () => {
    const rng = new Rng(hidden.length);
    const policy = createGaussianMlp({ obsSize: O, actSize: A, hidden, initStd: 0.6 }, rng.fork());
    const fill = (n: number) => Float32Array.from({ length: n }, () => rng.normal(0, 1));
    const mask = tf.tensor1d(new Float32Array(N).fill(1).fill(0, N - padding));
    const rows = { obs: tf.tensor2d(fill(N * O), [N, O]), actions: tf.tensor2d(fill(N * A), [N, A]), advantages: tf.tensor1d(fill(N)), mask, steps: N - padding };
    const v = tf.tensor1d(fill(flattenParams(policy.params).size));
    return { policy, rows, v };
  };
  const masked = (x: tf.Tensor, rows: { mask: tf.Tensor1D; steps: number }) => tf.div(tf.sum(tf.mul(x, rows.mask)), rows.steps) as tf.Scalar;

  it('H·v of the VPG loss equals the tape’s', async () => {
    const { policy, rows, v } = setup();
    const loss = (ps: tf.Tensor[]) => {
      const { mean, logStd } = policy.forward(ps, rows.obs);
      return tf.neg(masked(tf.mul(gaussianLogProb(mean, logStd, rows.actions), rows.advantages), rows));
    };
    const tape = await fisherVectorProduct(loss, policy.params, v, 0).data();
    const closed = await vpgHessianProduct(policy.params, rows, v).data();
    expect(relErr(closed, tape)).toBeLessThan(1e-4);
    // It is not the Gauss–Newton part alone: the padding's rows and the second derivatives matter.
    expect(relErr(await klHessianProduct(policy.params, rows, v).data(), tape)).toBeGreaterThan(0.1);
  });

  it('F·v, the KL’s Hessian at the old policy, equals the tape’s', async () => {
    const { policy, rows, v } = setup();
    const old = policy.forward(policy.params, rows.obs);
    const oldMean = tf.clone(old.mean);
    const oldLogStd = tf.clone(old.logStd);
    const kl = (ps: tf.Tensor[]) => {
      const { mean, logStd } = policy.forward(ps, rows.obs);
      return masked(gaussianKl(oldMean, oldLogStd, mean, logStd), rows);
    };
    const tape = await fisherVectorProduct(kl, policy.params, v, 0).data();
    const closed = await klHessianProduct(policy.params, rows, v).data();
    expect(relErr(closed, tape)).toBeLessThan(1e-4);
  });
});
