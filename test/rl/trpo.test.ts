import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { gaussianKl, gaussianLogProb } from '../../src/nn/distributions.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { flattenParams } from '../../src/nn/params.js';
import { tf } from '../../src/nn/tf.js';
import { conjugateGradient } from '../../src/rl/cg.js';
import { fisherVectorProduct } from '../../src/rl/fvp.js';
import { backtrackingLineSearch } from '../../src/rl/line-search.js';
import { trpoStep } from '../../src/rl/trpo.js';

describe('conjugate gradient', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('solves a small SPD system', async () => {
    const a = tf.tensor2d([[4, 1, 0], [1, 3, 1], [0, 1, 2]]);
    const b = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numTensors;
    const x = await conjugateGradient((v) => tf.tidy(() => tf.squeeze(tf.matMul(a, tf.expandDims(v, 1))) as tf.Tensor1D), b);
    expect(tf.memory().numTensors).toBe(before + 1);
    // Exact solution by Cramer's rule: det = 18; x = [4, 2, 26] / 18.
    const got = await x.data();
    [4 / 18, 2 / 18, 26 / 18].forEach((e, i) => expect(got[i]).toBeCloseTo(e, 5));
    tf.dispose([a, b, x]);
  });
});

describe('line search', () => {
  it('accepts the largest fraction that improves within the KL bound', async () => {
    // loss(f) = −f, kl(f) = f²: fractions 1 and 0.8 break the bound 0.5 (KL 1, 0.64), 0.64 passes (0.41).
    const r = await backtrackingLineSearch(async (f) => ({ loss: -f, kl: f * f }), 0, { maxKl: 0.5 });
    expect(r).toMatchObject({ accepted: true, backtracks: 2 });
    expect(r.fraction).toBeCloseTo(0.64, 10);
  });

  it('rejects when nothing improves', async () => {
    const r = await backtrackingLineSearch(async (f) => ({ loss: 1 + f, kl: 0 }), 1, { maxKl: 1, maxBacktracks: 4 });
    expect(r.accepted).toBe(false);
  });
});

describe('TRPO step on a toy policy', () => {
  let policy: GaussianMlpPolicy;
  let obs: tf.Tensor2D;
  let actions: tf.Tensor2D;
  let adv: tf.Tensor1D;
  let oldMean: tf.Tensor2D;
  let oldLogStd: tf.Tensor1D;
  let oldLogProb: tf.Tensor1D;

  beforeEach(async () => {
    await initBackend('cpu');
    const rng = new Rng(5);
    policy = createGaussianMlp({ obsSize: 3, actSize: 2, hidden: [8] }, rng);
    const n = 64;
    obs = tf.tensor2d(Float32Array.from({ length: n * 3 }, () => rng.normal()), [n, 3]);
    actions = tf.tensor2d(Float32Array.from({ length: n * 2 }, () => rng.normal()), [n, 2]);
    adv = tf.tensor1d(Float32Array.from({ length: n }, () => rng.normal()));
    ({ mean: oldMean } = policy.forward(policy.params, obs));
    oldLogStd = tf.clone(policy.params[policy.params.length - 1]) as tf.Tensor1D;
    oldLogProb = gaussianLogProb(oldMean, oldLogStd, actions);
  });
  afterEach(() => {
    policy.dispose();
    tf.dispose([obs, actions, adv, oldMean, oldLogStd, oldLogProb]);
  });

  const loss = (ps: tf.Tensor[]) =>
    tf.tidy(() => {
      const { mean, logStd } = policy.forward(ps, obs);
      return tf.neg(tf.mean(tf.mul(tf.exp(tf.sub(gaussianLogProb(mean, logStd, actions), oldLogProb)), adv))) as tf.Scalar;
    });
  const kl = (ps: tf.Tensor[]) =>
    tf.tidy(() => {
      const { mean, logStd } = policy.forward(ps, obs);
      return tf.mean(gaussianKl(oldMean, oldLogStd, mean, logStd)) as tf.Scalar;
    });

  it('the Fisher-vector product equals the finite-difference Hessian of the KL', async () => {
    const params = policy.params;
    const v = tf.tidy(() => tf.div(tf.onesLike(flattenParams(params)), 10) as tf.Tensor1D);
    const fv = fisherVectorProduct(kl, params, v, 0);
    // (∇kl(θ + εv) − ∇kl(θ − εv)) / 2ε with θ the current parameters.
    const eps = 1e-2;
    const gradAt = (sign: number) =>
      tf.tidy(() => {
        const shifted = flattenParams(params).add(v.mul(sign * eps)) as tf.Tensor1D;
        const sizes = params.map((p) => p.size);
        const ps = tf.split(shifted, sizes).map((t, i) => t.reshape(params[i].shape));
        return flattenParams(tf.grads((...qs: tf.Tensor[]) => kl(qs))(ps));
      });
    const fd = tf.tidy(() => tf.div(tf.sub(gradAt(1), gradAt(-1)), 2 * eps));
    const rel = tf.tidy(() => tf.div(tf.norm(tf.sub(fv, fd)), tf.norm(fd)));
    expect((await rel.data())[0]).toBeLessThan(2e-2);
    tf.dispose([v, fv, fd, rel]);
  });

  for (const maxKl of [0.01, 0.5]) {
    it(`lowers the surrogate and keeps KL ≤ ${maxKl}`, async () => {
      const before = tf.memory().numTensors;
      const r = await trpoStep({ params: policy.params, loss, kl, maxKl });
      expect(r.accepted).toBe(true);
      expect(r.lossAfter).toBeLessThan(r.lossBefore);
      expect(r.kl).toBeLessThanOrEqual(maxKl);
      expect(r.kl).toBeGreaterThan(maxKl / 10);
      const k = kl([...policy.params]);
      expect((await k.data())[0]).toBeCloseTo(r.kl, 6);
      k.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
