import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { createLstmPolicy, type LstmGaussianPolicy } from '../../src/nn/lstm.js';
import { tf } from '../../src/nn/tf.js';

const T = 6;
const B = 3;
const IN = 4;

describe('LSTM Gaussian policy', () => {
  let policy: LstmGaussianPolicy;
  let inputs: tf.Tensor3D;
  let target: tf.Tensor3D;

  beforeAll(async () => {
    await initBackend('cpu');
    const rng = new Rng(11);
    policy = createLstmPolicy({ inputSize: IN, hiddenSize: 5, actSize: 2, meanGain: 1 }, rng);
    inputs = tf.tensor3d(Float32Array.from({ length: T * B * IN }, () => rng.normal()), [T, B, IN]);
    target = tf.tensor3d(Float32Array.from({ length: T * B * 2 }, () => rng.normal()), [T, B, 2]);
  });
  afterAll(() => {
    policy.dispose();
    tf.dispose([inputs, target]);
  });

  const loss = (params: readonly tf.Tensor[]) =>
    tf.tidy(() => {
      const out = policy.sequence(params, inputs);
      return tf.add(tf.mean(tf.square(tf.sub(out.mean, target))), tf.mean(tf.square(out.value))) as tf.Scalar;
    });

  it('BPTT gradient matches central finite differences on every weight', async () => {
    const params = policy.params;
    // logStd is not in this loss, and tf.grads refuses inputs with no path to the output.
    const grads = tf.grads((...ps: tf.Tensor[]) => loss([...ps, params[params.length - 1]]))(params.slice(0, -1));
    const h = 1e-2;
    let num = 0;
    let den = 0;
    let worst = { err: 0, at: '' };
    // Every entry of every parameter tensor but logStd (≈ 220 in this net): a gradient wrong in
    // one gate's columns or one time step's path shows up as a wrong entry, not a diluted norm.
    for (let i = 0; i < params.length - 1; i++) {
      const base = Float32Array.from(await params[i].data());
      const g = await grads[i].data();
      for (let j = 0; j < base.length; j++) {
        const at = async (delta: number) => {
          const v = base.slice();
          v[j] += delta;
          const p = tf.tensor(v, params[i].shape);
          const l = loss(params.map((q, k) => (k === i ? p : q)));
          const value = (await l.data())[0];
          tf.dispose([p, l]);
          return value;
        };
        const fd = ((await at(h)) - (await at(-h))) / (2 * h);
        num += (g[j] - fd) ** 2;
        den += fd * fd;
        const err = Math.abs(g[j] - fd);
        if (err > worst.err) worst = { err, at: `${policy.names[i]}[${j}]: BPTT ${g[j]}, finite differences ${fd}` };
      }
    }
    tf.dispose(grads);
    // Measured: relative error 9e-5 overall, worst entry 1.8e-5 against a gradient norm of 0.45.
    expect(Math.sqrt(num / den)).toBeLessThan(1e-3);
    expect(worst.err, worst.at).toBeLessThan(1e-3 * Math.sqrt(den));
  });

  it('step-by-step sampling equals the full-sequence forward', async () => {
    const seq = policy.sequence(policy.params, inputs);
    let state = policy.initialState(B);
    const steps = tf.unstack(inputs) as tf.Tensor2D[];
    for (let t = 0; t < T; t++) {
      const out = policy.step(policy.params, steps[t], state);
      const expected = tf.tidy(() => tf.squeeze(tf.slice(seq.mean, [t, 0, 0], [1, B, 2]), [0]));
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(out.mean, expected))));
      expect((await diff.data())[0]).toBeLessThan(1e-5);
      tf.dispose([expected, diff, out.mean, out.logStd, out.value, state.h, state.c]);
      state = out.state;
    }
    tf.dispose([...steps, state.h, state.c, seq.mean, seq.value, seq.logStd, seq.state.h, seq.state.c]);
  });
});

describe('LSTM sequence backward (hand-written BPTT)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('equals the tape gradient of a plain step-by-step LSTM, initial state included', async () => {
    const [T, B, I, H, A] = [7, 3, 4, 5, 2];
    const rng = new Rng(5);
    const policy = createLstmPolicy({ inputSize: I, hiddenSize: H, actSize: A, meanGain: 1 }, rng);
    const arr = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const inputs = tf.tensor3d(arr(T * B * I), [T, B, I]);
    const h0 = tf.tensor2d(arr(B * H), [B, H]);
    const c0 = tf.tensor2d(arr(B * H), [B, H]);
    // Weights every output, the final state too, so each path back through the recurrence is checked.
    const w = { mean: tf.tensor3d(arr(T * B * A), [T, B, A]), value: tf.tensor2d(arr(T * B), [T, B]), h: tf.tensor2d(arr(B * H), [B, H]), c: tf.tensor2d(arr(B * H), [B, H]) };
    const objective = (out: { mean: tf.Tensor; value: tf.Tensor; h: tf.Tensor; c: tf.Tensor }) =>
      tf.addN([tf.sum(tf.mul(out.mean, w.mean)), tf.sum(tf.mul(out.value, w.value)), tf.sum(tf.mul(out.h, w.h)), tf.sum(tf.mul(out.c, w.c))]) as tf.Scalar;

    /** The textbook LSTM, one tf op at a time, differentiated by the tape. */
    const reference = (p: tf.Tensor[], h: tf.Tensor, c: tf.Tensor) => {
      const means: tf.Tensor[] = [];
      const values: tf.Tensor[] = [];
      const xs = tf.unstack(inputs);
      for (let t = 0; t < T; t++) {
        const z = tf.add(tf.add(tf.matMul(xs[t], p[0] as tf.Tensor2D), p[2]), tf.matMul(h as tf.Tensor2D, p[1] as tf.Tensor2D));
        const [i, f, g, o] = tf.split(z, 4, 1);
        c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
        h = tf.mul(tf.sigmoid(o), tf.tanh(c));
        means.push(tf.add(tf.matMul(h as tf.Tensor2D, p[3] as tf.Tensor2D), p[4]));
        values.push(tf.reshape(tf.add(tf.matMul(h as tf.Tensor2D, p[5] as tf.Tensor2D), p[6]), [B]));
      }
      return objective({ mean: tf.stack(means), value: tf.stack(values), h, c });
    };
    const ours = (p: tf.Tensor[], h: tf.Tensor, c: tf.Tensor) => {
      const out = policy.sequence([...p, policy.params[7]], inputs, { h: h as tf.Tensor2D, c: c as tf.Tensor2D });
      return objective({ mean: out.mean, value: out.value, h: out.state.h, c: out.state.c });
    };
    const grad = (f: typeof ours) => tf.grads((...xs: tf.Tensor[]) => f(xs.slice(0, 7), xs[7], xs[8]))([...policy.params.slice(0, 7), h0, c0]);
    const want = grad(reference);
    const got = grad(ours);
    const names = [...policy.names.slice(0, 7), 'h0', 'c0'];
    for (let k = 0; k < want.length; k++) {
      const a = await want[k].data();
      const b = await got[k].data();
      const scale = Math.max(...Array.from(a, Math.abs));
      expect(scale, names[k]).toBeGreaterThan(1e-3);
      const worst = Math.max(...Array.from(a, (x, j) => Math.abs(x - b[j])));
      expect(worst / scale, names[k]).toBeLessThan(1e-5);
    }
    tf.dispose([...want, ...got, inputs, h0, c0, ...Object.values(w)]);
    policy.dispose();
  });
});
