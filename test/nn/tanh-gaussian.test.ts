import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { variableFrom } from '../../src/nn/init.js';
import { actTanhGaussian, sampleTanhGaussian, tanhGaussianLogProb } from '../../src/nn/tanh-gaussian.js';
import { tf } from '../../src/nn/tf.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

describe('tanh-squashed Gaussian (SAC policy, #8)', () => {
  it('log π(a) is the Gaussian density of u = atanh(a) divided by |da/du| = 1 − a², per dimension', async () => {
    const mean = [0.3, -1, 0, 2];
    const logStd = [-0.5, 0.2, 0, -1];
    const u = [0.1, -1.7, 0.9, 2.4];
    const lp = await tanhGaussianLogProb(tf.tensor2d(mean, [2, 2]), tf.tensor2d(logStd, [2, 2]), tf.tensor2d(u, [2, 2])).data();
    for (let row = 0; row < 2; row++) {
      let expected = 0;
      for (let i = row * 2; i < row * 2 + 2; i++) {
        const std = Math.exp(logStd[i]);
        expected += -0.5 * Math.log(2 * Math.PI) - logStd[i] - ((u[i] - mean[i]) ** 2) / (2 * std * std) - Math.log(1 - Math.tanh(u[i]) ** 2);
      }
      expect(lp[row]).toBeCloseTo(expected, 4);
    }
  });

  it('stays finite where tanh(u) rounds to ±1 in float32', async () => {
    const lp = await tanhGaussianLogProb(tf.tensor2d([[0]]), tf.tensor2d([[0]]), tf.tensor2d([[25]])).data();
    expect(Number.isFinite(lp[0])).toBe(true);
    // −½·25² − ½ log 2π − 2(log 2 − 25 − softplus(−50))
    expect(lp[0]).toBeCloseTo(-312.5 - 0.5 * Math.log(2 * Math.PI) - 2 * (Math.LN2 - 25), 2);
  });

  it('a reparameterised sample is tanh(mean + std·ε) and carries the gradient to the mean', async () => {
    const mean = variableFrom(tf.tensor2d([[0.2]])) as tf.Variable<tf.Rank.R2>;
    const noise = tf.tensor2d([[0.5]]);
    const { action } = sampleTanhGaussian(mean, tf.tensor2d([[Math.log(0.4)]]), noise);
    expect((await action.data())[0]).toBeCloseTo(Math.tanh(0.2 + 0.4 * 0.5), 6);
    const g = tf.variableGrads(() => tf.sum(sampleTanhGaussian(mean, tf.tensor2d([[Math.log(0.4)]]), noise).action) as tf.Scalar, [mean]);
    expect((await g.grads[mean.name].data())[0]).toBeCloseTo(1 - Math.tanh(0.4) ** 2, 5);
    tf.dispose([mean, noise, action, g.value, ...Object.values(g.grads)]);
  });

  it("a sample's log π takes its Gaussian term from ε, exact where std ≪ |mean| (rebuilding ε from u loses it in float32)", async () => {
    // mean 1000, std e^−12 ≈ 6e−6: u = 1000 + 6e−6·ε rounds to 1000 in float32, so (u − mean)/std is 0, not ε.
    const [mean, logStd, noise] = [tf.tensor2d([[1000]]), tf.tensor2d([[-12]]), tf.tensor2d([[1.5]])];
    const { action, logProb } = sampleTanhGaussian(mean, logStd, noise);
    // u = 1000: −log(1 − tanh²u) = 2(u − log 2 + softplus(−2u)) = 2(1000 − log 2).
    const expected = -0.5 * 1.5 ** 2 + 12 - 0.5 * Math.log(2 * Math.PI) + 2 * (1000 - Math.LN2);
    expect((await logProb.data())[0]).toBeCloseTo(expected, 1);
    const u = tf.add(mean, tf.mul(tf.exp(logStd), noise)) as tf.Tensor2D;
    const rebuilt = (await tanhGaussianLogProb(mean, logStd, u).data())[0];
    expect(Math.abs(rebuilt - expected)).toBeGreaterThan(1); // the from-u form lost −½ε² = −1.125
    tf.dispose([mean, logStd, noise, action, logProb, u]);
  });

  it('acts on the CPU: tanh(mean) when deterministic, reproducible noise under a seed otherwise', () => {
    const mean = Float32Array.from([0.5, -3]);
    const logStd = Float32Array.from([0, 0]);
    expect(Array.from(actTanhGaussian(mean, logStd, new Rng(1), true))).toEqual([Math.tanh(0.5), Math.tanh(-3)].map(Math.fround));
    const a = actTanhGaussian(mean, logStd, new Rng(7), false);
    expect(Array.from(actTanhGaussian(mean, logStd, new Rng(7), false))).toEqual(Array.from(a));
    expect(a.every((x) => x > -1 && x < 1)).toBe(true);
    expect(a[0]).not.toBeCloseTo(Math.tanh(0.5), 3);
  });
});
