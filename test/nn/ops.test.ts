import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { exp, sigmoid, tanh } from '../../src/nn/ops.js';
import { tf } from '../../src/nn/tf.js';

// d²/dx² of x·f(x) at x, analytically.
const cases = [
  { name: 'tanh', safe: tanh, plain: tf.tanh, exact: (x: number) => { const t = Math.tanh(x); const d = 1 - t * t; return 2 * d - 2 * x * t * d; } },
  { name: 'exp', safe: exp, plain: tf.exp, exact: (x: number) => (2 + x) * Math.exp(x) },
  { name: 'sigmoid', safe: sigmoid, plain: tf.sigmoid, exact: (x: number) => { const s = 1 / (1 + Math.exp(-x)); const d = s * (1 - s); return 2 * d + x * d * (1 - 2 * s); } },
];

async function secondDerivative(f: (x: tf.Tensor) => tf.Tensor, x: number): Promise<number> {
  const dd = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.mul(u, f(u)))(v))(tf.scalar(x)));
  const value = (await dd.data())[0];
  dd.dispose();
  return value;
}

describe('second-order-safe ops (tfjs #3252)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  for (const c of cases) {
    it(`${c.name}: the second derivative of x·${c.name}(x) is exact, where tf.${c.name}'s is wrong`, async () => {
      const x = 0.7;
      expect(await secondDerivative(c.safe, x)).toBeCloseTo(c.exact(x), 4);
      // The trap this module exists for: if tfjs ever fixes it, this line says so.
      expect(Math.abs((await secondDerivative(c.plain, x)) - c.exact(x))).toBeGreaterThan(0.03);
    });
  }

  it('third derivative of tanh is exact too (Fisher-vector products through MAML)', async () => {
    const x = 0.3;
    const d3 = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.grad((b: tf.Tensor) => tf.grad((c: tf.Tensor) => tanh(c))(b))(a))(tf.scalar(x)));
    const t = Math.tanh(x);
    expect((await d3.data())[0]).toBeCloseTo(-2 * (1 - t * t) * (1 - 3 * t * t), 4);
    d3.dispose();
  });

  it('values equal the plain ops and leave no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([-2, -0.5, 0, 0.5, 2]);
    for (const c of cases) {
      const [a, b] = [c.safe(x), c.plain(x)];
      expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
      tf.dispose([a, b]);
      const g = tf.grad((u: tf.Tensor) => tf.sum(c.safe(u)))(x);
      g.dispose();
    }
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
