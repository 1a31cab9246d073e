import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { gaussianKl } from '../../src/nn/distributions.js';
import { diagonalGaussianEntropy, klToStandardNormal, productOfGaussians } from '../../src/nn/gaussian-product.js';
import { tf } from '../../src/nn/tf.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const logNormal = (x: number, m: number, v: number) => -0.5 * Math.log(2 * Math.PI * v) - ((x - m) ** 2) / (2 * v);

describe('product of Gaussian factors (PEARL posterior, #8)', () => {
  // T = 2 tasks, N = 3 factors, L = 2 dimensions.
  const rng = new Rng(3);
  const T = 2;
  const N = 3;
  const L = 2;
  const mu = Array.from({ length: T * N * L }, () => rng.uniform(-2, 2));
  const variance = Array.from({ length: T * N * L }, () => rng.uniform(0.05, 3));
  const at = (t: number, n: number, l: number) => (t * N + n) * L + l;

  it('has precision Σ 1/σₙ² and the precision-weighted mean, per task and dimension', async () => {
    const q = productOfGaussians(tf.tensor3d(mu, [T, N, L]), tf.tensor3d(variance, [T, N, L]));
    const [m, v] = [await q.mean.data(), await q.variance.data()];
    tf.dispose([q.mean, q.variance]);
    for (let t = 0; t < T; t++) {
      for (let l = 0; l < L; l++) {
        let precision = 0;
        let weighted = 0;
        for (let n = 0; n < N; n++) {
          precision += 1 / variance[at(t, n, l)];
          weighted += mu[at(t, n, l)] / variance[at(t, n, l)];
        }
        expect(v[t * L + l]).toBeCloseTo(1 / precision, 5);
        expect(m[t * L + l]).toBeCloseTo(weighted / precision, 5);
        // It is the normalised product: log q(x) − Σₙ log N(x; μₙ, σₙ²) does not depend on x.
        const gap = (x: number) => logNormal(x, m[t * L + l], v[t * L + l]) - Array.from({ length: N }, (_, n) => logNormal(x, mu[at(t, n, l)], variance[at(t, n, l)])).reduce((a, b) => a + b, 0);
        expect(gap(-1.3)).toBeCloseTo(gap(0.4), 3);
        expect(gap(2.2)).toBeCloseTo(gap(0.4), 3);
      }
    }
  });

  it('of two factors is the textbook v₁v₂/(v₁+v₂), (m₁v₂ + m₂v₁)/(v₁+v₂); of one factor, the factor', async () => {
    const two = productOfGaussians(tf.tensor3d([1, 3], [1, 2, 1]), tf.tensor3d([2, 0.5], [1, 2, 1]));
    expect((await two.mean.data())[0]).toBeCloseTo((1 * 0.5 + 3 * 2) / 2.5, 5);
    expect((await two.variance.data())[0]).toBeCloseTo((2 * 0.5) / 2.5, 5);
    const one = productOfGaussians(tf.tensor3d([0.7, -0.2], [1, 1, 2]), tf.tensor3d([0.3, 4], [1, 1, 2]));
    expect(Array.from(await one.mean.data())).toEqual([Math.fround(0.7), Math.fround(-0.2)].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(await one.variance.data()).map((x) => +x.toFixed(5))).toEqual([0.3, 4]);
    tf.dispose([two.mean, two.variance, one.mean, one.variance]);
  });

  it('narrows as factors are added: entropy falls with every transition of context', async () => {
    const entropies: number[] = [];
    for (let n = 1; n <= N; n++) {
      const q = productOfGaussians(tf.tensor3d(mu.slice(0, n * L), [1, n, L]), tf.tensor3d(variance.slice(0, n * L), [1, n, L]));
      entropies.push(diagonalGaussianEntropy(await q.variance.data()));
      tf.dispose([q.mean, q.variance]);
    }
    for (let n = 1; n < N; n++) expect(entropies[n]).toBeLessThan(entropies[n - 1]);
  });
});

describe('KL to the standard normal prior', () => {
  it('is ½ Σ (σ² + μ² − 1 − log σ²), agrees with the general Gaussian KL, and is 0 at the prior', async () => {
    const mean = tf.tensor2d([[0, 0], [1, 0], [0.5, -2]]);
    const variance = tf.tensor2d([[1, 1], [1, 1], [0.25, 3]]);
    const kl = Array.from(await klToStandardNormal(mean, variance).data());
    expect(kl[0]).toBeCloseTo(0, 6);
    expect(kl[1]).toBeCloseTo(0.5, 6);
    const hand = 0.5 * (0.25 + 0.25 - 1 - Math.log(0.25)) + 0.5 * (3 + 4 - 1 - Math.log(3));
    expect(kl[2]).toBeCloseTo(hand, 5);
    const general = tf.tidy(() => gaussianKl(mean, tf.mul(0.5, tf.log(variance)), tf.zeros([3, 2]), tf.zeros([2])));
    Array.from(await general.data()).forEach((x, i) => expect(kl[i]).toBeCloseTo(x, 5));
    tf.dispose([mean, variance, general]);
  });

  it('entropy of a diagonal Gaussian is ½ Σ log(2πe σ²)', () => {
    expect(diagonalGaussianEntropy([1])).toBeCloseTo(0.5 * Math.log(2 * Math.PI * Math.E), 10);
    expect(diagonalGaussianEntropy([4, 0.25])).toBeCloseTo(Math.log(2 * Math.PI * Math.E), 10);
  });
});
