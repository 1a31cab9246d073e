import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { tf } from '../../src/nn/tf.js';

/** Every kernel src/nn/wasm-kernels.ts replaces, on the shapes and attributes that take each of its paths. */
function cases(rng: Rng): Record<string, () => tf.Tensor | tf.Tensor[]> {
  const t = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  const x4 = t([3, 4, 5, 6]);
  const x5 = t([2, 3, 2, 4, 3]);
  const ints = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');
  const a = t([7, 5]);
  const b = t([5, 9]);
  const batched = t([2, 5, 7]);
  const wide = tf.mul(t([50, 40]), 8);
  return {
    sliceContiguous: () => tf.slice(x4, [1, 0, 0, 0], [2, 4, 5, 6]),
    sliceRows: () => tf.slice(x4, [0, 1, 2, 3], [3, 2, 3, 2]),
    sliceRank5: () => tf.slice(x5, [1, 0, 1, 1, 0], [1, 3, 1, 2, 2]),
    sliceInt: () => tf.slice(ints, [0, 1], [2, 2]),
    sliceEmpty: () => tf.slice(x4, [0, 0, 0, 0], [3, 0, 5, 6]),
    split: () => tf.split(x4, [1, 3, 2], 3),
    unstack: () => tf.unstack(x4, 1),
    matMul: () => tf.matMul(a, b),
    matMulTransposeA: () => tf.matMul(tf.transpose(a), b, true, false),
    matMulTransposeB: () => tf.matMul(a, tf.transpose(b), false, true),
    matMulTransposeBoth: () => tf.matMul(tf.transpose(a), tf.transpose(b), true, true),
    matMulBatched: () => tf.matMul(batched, batched, false, true),
    tanh: () => tf.tanh(wide),
    tanhEdges: () => tf.tanh(tf.tensor1d([0, 1e-3, -1e-3, 20, -20, 100, -100])),
  };
}

type Results = Record<string, { shape: number[]; values: number[] }[]>;

/** The cases' outputs on `backend`, and how many buffers the backend holds afterwards that it did not before. */
async function run(backend: 'cpu' | 'wasm'): Promise<{ out: Results; leaked: number }> {
  await initBackend(backend);
  const held = tf.engine().backend.numDataIds();
  const out: Results = {};
  const all = tf.tidy(() => Object.entries(cases(new Rng(3))).map(([name, f]) => [name, [f()].flat()] as const));
  for (const [name, ts] of all) out[name] = await Promise.all(ts.map(async (x) => ({ shape: x.shape, values: Array.from(await x.data()) })));
  tf.dispose(all.flatMap(([, ts]) => ts));
  return { out, leaked: tf.engine().backend.numDataIds() - held };
}

describe('wasm kernels', () => {
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('Slice, SplitV, Unpack, BatchMatMul and Tanh agree with the cpu backend', async () => {
    const { out: cpu } = await run('cpu');
    const { out: wasm, leaked } = await run('wasm');
    // The replacements free their temporaries (transposes, the doubled input of Tanh).
    expect(leaked).toBe(0);
    for (const name of Object.keys(cpu)) {
      expect(wasm[name].map((o) => o.shape), name).toEqual(cpu[name].map((o) => o.shape));
      cpu[name].forEach((o, k) => {
        // Tanh is 2σ(2x) − 1 on wasm: absolute error ~1e-7.
        const worst = Math.max(0, ...o.values.map((v, i) => Math.abs(v - wasm[name][k].values[i])));
        expect(worst, `${name}[${k}]`).toBeLessThan(name.startsWith('tanh') ? 3e-7 : 1e-5);
      });
    }
  });
});
