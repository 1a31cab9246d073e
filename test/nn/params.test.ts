import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { Adam } from '../../src/nn/adam.js';
import { initBackend } from '../../src/nn/backend.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { assignFlat, flattenParams, paramCount, unflattenParams } from '../../src/nn/params.js';
import { tf } from '../../src/nn/tf.js';

const values = async (ts: readonly tf.Tensor[]) => Promise.all(ts.map(async (t) => Array.from(await t.data())));

describe('parameter lists', () => {
  let policy: GaussianMlpPolicy;
  beforeAll(async () => {
    await initBackend('cpu');
  });
  beforeEach(() => {
    policy = createGaussianMlp({ obsSize: 3, actSize: 2, hidden: [4, 4] }, new Rng(1));
  });
  afterEach(() => policy.dispose());

  it('names and shapes follow the documented order', () => {
    expect(policy.names).toEqual(['l0.w', 'l0.b', 'l1.w', 'l1.b', 'out.w', 'out.b', 'logStd']);
    expect(policy.params.map((p) => p.shape)).toEqual([[3, 4], [4], [4, 4], [4], [4, 2], [2], [2]]);
    expect(paramCount(policy.params)).toBe(12 + 4 + 16 + 4 + 8 + 2 + 2);
  });

  it('the same seed gives the same weights', async () => {
    const other = createGaussianMlp({ obsSize: 3, actSize: 2, hidden: [4, 4] }, new Rng(1));
    expect(await values(other.params)).toEqual(await values(policy.params));
    other.dispose();
  });

  it('flatten → unflatten and assignFlat round-trip', async () => {
    const flat = flattenParams(policy.params);
    const parts = unflattenParams(flat, policy.params.map((p) => p.shape));
    expect(await values(parts)).toEqual(await values(policy.params));
    const doubled = tf.mul(flat, 2) as tf.Tensor1D;
    assignFlat(policy.params, doubled);
    const after = await values(policy.params);
    expect(after[0][0]).toBeCloseTo(2 * (await parts[0].data())[0], 6);
    tf.dispose([flat, doubled, ...parts]);
  });

});

describe('Adam', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('first step moves each weight by lr against the gradient sign', async () => {
    const w = tf.variable(tf.tensor1d([1, -1, 0.5]));
    const adam = new Adam([w], { learningRate: 0.1 });
    const g = tf.tensor1d([3, -0.001, 0]);
    adam.apply([g]);
    const got = await w.data();
    // m̂ = g, v̂ = g², so the step is lr · g / (|g| + ε).
    [0.9, -0.9, 0.5].forEach((e, i) => expect(got[i]).toBeCloseTo(e, 4));
    adam.dispose();
    tf.dispose([w, g]);
  });

  it('a restored state gives exactly the same next step as an uninterrupted run', async () => {
    const run = async (interrupt: boolean) => {
      const w = tf.variable(tf.tensor1d([1, 2]));
      let adam = new Adam([w], { learningRate: 0.05 });
      const grad = (k: number) => tf.tensor1d([Math.sin(k), Math.cos(k)]);
      for (let k = 0; k < 6; k++) {
        if (interrupt && k === 3) {
          const state = JSON.parse(JSON.stringify(await adam.state(), (_, v) => (v instanceof Float32Array ? Array.from(v) : v)));
          adam.dispose();
          adam = new Adam([w], { learningRate: 0.05 });
          adam.load({ step: state.step, m: state.m.map((a: number[]) => Float32Array.from(a)), v: state.v.map((a: number[]) => Float32Array.from(a)) });
        }
        const g = grad(k);
        adam.apply([g]);
        g.dispose();
      }
      const out = Array.from(await w.data());
      adam.dispose();
      w.dispose();
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
  });
});
