import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { gaussianKl, gaussianLogProb } from '../../src/nn/distributions.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { flattenParams, unflattenParams } from '../../src/nn/params.js';
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
    const a = [[4, 1, 0], [1, 3, 1], [0, 1, 2]];
    const x = await conjugateGradient((v) => Float64Array.from(a, (row) => row.reduce((s, r, j) => s + r * v[j], 0)), Float64Array.from([1, 2, 3]));
    // Exact solution by Cramer's rule: det = 18; x = [4, 2, 26] / 18.
    [4 / 18, 2 / 18, 26 / 18].forEach((e, i) => expect(x[i]).toBeCloseTo(e, 10));
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

  /** TRPO on the policy's flat θ, the products and losses taken on a tape here. */
  async function step(maxKl: number) {
    const shapes = policy.params.map((p) => p.shape);
    const at = (theta: Float32Array) => tf.tidy(() => unflattenParams(tf.tensor1d(theta), shapes));
    /** The values of `t`, which is disposed. */
    const read = async (t: tf.Tensor) => {
      const values = Float64Array.from(await t.data());
      t.dispose();
      return values;
    };
    const theta = Float32Array.from(await read(flattenParams(policy.params)));
    const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => loss(ps))([...policy.params]);
    const gradient = await read(flattenParams(grads));
    const lossBefore = (await read(value))[0];
    tf.dispose(grads);
    const result = await trpoStep({
      theta,
      gradient,
      lossBefore,
      maxKl,
      fisherProduct: async (v) => {
        const vt = tf.tensor1d(Float32Array.from(v));
        const fv = fisherVectorProduct(kl, policy.params, vt, 0);
        vt.dispose();
        return read(fv);
      },
      evaluate: async (candidate) => {
        const ps = at(candidate);
        const out = { loss: (await read(loss(ps)))[0], kl: (await read(kl(ps)))[0] };
        tf.dispose(ps);
        return out;
      },
    });
    return { ...result, lossBefore, at };
  }

  for (const maxKl of [0.01, 0.5]) {
    it(`lowers the surrogate and keeps KL ≤ ${maxKl}`, async () => {
      const before = tf.memory().numTensors;
      const done = await step(maxKl);
      expect(done.accepted).toBe(true);
      expect(done.lossAfter).toBeLessThan(done.lossBefore);
      expect(done.kl).toBeLessThanOrEqual(maxKl);
      expect(done.kl).toBeGreaterThan(maxKl / 10);
      const ps = done.at(done.theta);
      const k = kl(ps);
      expect((await k.data())[0]).toBeCloseTo(done.kl, 6);
      tf.dispose([k, ...ps]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('returns θ unchanged when no candidate passes the line search', async () => {
    const theta = Float32Array.from([1, 2]);
    const r = await trpoStep({
      theta,
      gradient: Float64Array.from([1, 0]),
      lossBefore: 0,
      fisherProduct: async (v) => v,
      evaluate: async () => ({ loss: 1, kl: 0 }),
      maxBacktracks: 3,
    });
    expect(r).toMatchObject({ accepted: false, backtracks: 3, kl: 0, lossAfter: 0 });
    expect(r.theta).toBe(theta);
  });
});
