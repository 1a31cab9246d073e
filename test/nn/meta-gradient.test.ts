// The MAML meta-gradient through one inner VPG step must match finite differences (issue 3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { gaussianLogProb } from '../../src/nn/distributions.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { tf } from '../../src/nn/tf.js';
import { vpgLoss } from '../../src/rl/losses.js';

const OBS = 3;
const ACT = 2;
const N = 24;
const ALPHA = 0.5;

interface Data {
  obs: tf.Tensor2D;
  actions: tf.Tensor2D;
  adv: tf.Tensor1D;
}

function randomData(rng: Rng): Data {
  const arr = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal(0, scale));
  return { obs: tf.tensor2d(arr(N * OBS), [N, OBS]), actions: tf.tensor2d(arr(N * ACT), [N, ACT]), adv: tf.tensor1d(arr(N)) };
}

type Forward = (params: readonly tf.Tensor[], obs: tf.Tensor2D) => { mean: tf.Tensor2D; logStd: tf.Tensor1D };
type LogProb = (mean: tf.Tensor2D, logStd: tf.Tensor1D, x: tf.Tensor2D) => tf.Tensor1D;

function vpg(forward: Forward, logProb: LogProb, params: readonly tf.Tensor[], d: Data): tf.Scalar {
  const { mean, logStd } = forward(params, d.obs);
  return vpgLoss(logProb(mean, logStd, d.actions), d.adv);
}

/** Outer loss at θ' = θ − α ∇ L_inner(θ), as a function of the original θ. */
function metaLoss(forward: Forward, logProb: LogProb, params: readonly tf.Tensor[], inner: Data, outer: Data): tf.Scalar {
  const g = tf.grads((...ps: tf.Tensor[]) => vpg(forward, logProb, ps, inner))([...params]);
  const adapted = params.map((p, i) => tf.sub(p, tf.mul(ALPHA, g[i])));
  return vpg(forward, logProb, adapted, outer);
}

// What a naive implementation writes: plain tf.tanh and tf.exp.
const plainForward: Forward = (p, obs) => {
  const h = tf.tanh(tf.add(tf.matMul(obs, p[0] as tf.Tensor2D), p[1]));
  return { mean: tf.add(tf.matMul(h as tf.Tensor2D, p[2] as tf.Tensor2D), p[3]) as tf.Tensor2D, logStd: p[4] as tf.Tensor1D };
};
const plainLogProb: LogProb = (mean, logStd, x) =>
  tf.sub(tf.mul(-0.5, tf.sum(tf.square(tf.div(tf.sub(x, mean), tf.exp(logStd))), -1)), tf.add(tf.sum(logStd), ACT * 0.5 * Math.log(2 * Math.PI))) as tf.Tensor1D;

async function relativeError(forward: Forward, logProb: LogProb, policy: GaussianMlpPolicy, inner: Data, outer: Data): Promise<number> {
  const params = policy.params;
  const analytic = tf.tidy(() => tf.concat(tf.grads((...ps: tf.Tensor[]) => metaLoss(forward, logProb, ps, inner, outer))([...params]).map((g) => g.flatten())));
  const grad = await analytic.data();
  analytic.dispose();
  const values = await Promise.all(params.map(async (p) => Float32Array.from(await p.data())));
  const h = 3e-3;
  const fd: number[] = [];
  for (let i = 0; i < params.length; i++) {
    for (let j = 0; j < values[i].length; j++) {
      const at = async (delta: number) => {
        const loss = tf.tidy(() => {
          const ps = params.map((p, k) => {
            if (k !== i) return p;
            const v = values[i].slice();
            v[j] += delta;
            return tf.tensor(v, p.shape);
          });
          return metaLoss(forward, logProb, ps, inner, outer);
        });
        const value = (await loss.data())[0];
        loss.dispose();
        return value;
      };
      fd.push(((await at(h)) - (await at(-h))) / (2 * h));
    }
  }
  let num = 0;
  let den = 0;
  fd.forEach((f, k) => {
    num += (grad[k] - f) ** 2;
    den += f * f;
  });
  return Math.sqrt(num / den);
}

describe('MAML meta-gradient (second order, issue 3)', () => {
  let policy: GaussianMlpPolicy;
  let inner: Data;
  let outer: Data;

  beforeAll(async () => {
    await initBackend('cpu');
    const rng = new Rng(3);
    policy = createGaussianMlp({ obsSize: OBS, actSize: ACT, hidden: [5], initStd: 0.7 }, rng);
    inner = randomData(rng);
    outer = randomData(rng);
  });
  afterAll(() => {
    policy.dispose();
    tf.dispose([inner, outer].flatMap((d) => [d.obs, d.actions, d.adv]));
  });

  it('matches central finite differences with metarl ops', async () => {
    const err = await relativeError(policy.forward, gaussianLogProb, policy, inner, outer);
    expect(err).toBeLessThan(2e-3);
  });

  it('would fail with plain tf.tanh / tf.exp (so the check above can fail)', async () => {
    const err = await relativeError(plainForward, plainLogProb, policy, inner, outer);
    expect(err).toBeGreaterThan(2e-2);
  });
});
