// Tensor count must stay flat over repeated forward/backward/update cycles (issue 3: no leak).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Adam, clipByGlobalNorm } from '../../src/nn/adam.js';
import { initBackend } from '../../src/nn/backend.js';
import { gaussianEntropy, gaussianKl, gaussianLogProb } from '../../src/nn/distributions.js';
import { createLstmPolicy, type LstmGaussianPolicy } from '../../src/nn/lstm.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { assignFlat, flattenParams, unflattenParams } from '../../src/nn/params.js';
import { tf } from '../../src/nn/tf.js';
import { fisherVectorProduct } from '../../src/rl/fvp.js';
import { ppoClipLoss, vpgLoss } from '../../src/rl/losses.js';
import { trpoStep } from '../../src/rl/trpo.js';

describe('tensor count', () => {
  let mlp: GaussianMlpPolicy;
  let lstm: LstmGaussianPolicy;
  let adam: Adam;
  let data: tf.Tensor[];

  beforeAll(async () => {
    await initBackend('cpu');
    const rng = new Rng(4);
    mlp = createGaussianMlp({ obsSize: 3, actSize: 2, hidden: [8] }, rng);
    lstm = createLstmPolicy({ inputSize: 3, hiddenSize: 6, actSize: 2 }, rng);
    adam = new Adam(lstm.params, { learningRate: 1e-3 });
    const arr = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    data = [tf.tensor2d(arr(40 * 3), [40, 3]), tf.tensor2d(arr(40 * 2), [40, 2]), tf.tensor1d(arr(40)), tf.tensor3d(arr(40 * 3), [10, 4, 3])];
  });
  afterAll(() => {
    mlp.dispose();
    lstm.dispose();
    adam.dispose();
    tf.dispose(data);
  });

  /** One MAML-style TRPO update of the MLP and one PPO update of the LSTM. */
  async function iteration(): Promise<void> {
    const [obs, act, adv, seq] = data;
    const { mean: oldMean, logStd } = mlp.forward(mlp.params, obs as tf.Tensor2D);
    const oldLogStd = tf.clone(logStd);
    const adapted = (ps: tf.Tensor[]) => {
      const inner = (...qs: tf.Tensor[]) => {
        const o = mlp.forward(qs, obs as tf.Tensor2D);
        return vpgLoss(gaussianLogProb(o.mean, o.logStd, act as tf.Tensor2D), adv as tf.Tensor1D);
      };
      const g = tf.grads(inner)(ps);
      return ps.map((p, i) => tf.sub(p, tf.mul(0.1, g[i])));
    };
    const loss = (ps: tf.Tensor[]) =>
      tf.tidy(() => {
        const o = mlp.forward(adapted(ps), obs as tf.Tensor2D);
        return vpgLoss(gaussianLogProb(o.mean, o.logStd, act as tf.Tensor2D), adv as tf.Tensor1D);
      });
    const kl = (ps: tf.Tensor[]) =>
      tf.tidy(() => {
        const o = mlp.forward(ps, obs as tf.Tensor2D);
        return tf.mean(gaussianKl(oldMean, oldLogStd, o.mean, o.logStd)) as tf.Scalar;
      });
    const read = async (t: tf.Tensor) => {
      const values = Float64Array.from(await t.data());
      t.dispose();
      return values;
    };
    const outer = tf.valueAndGrads((...ps: tf.Tensor[]) => loss(ps))([...mlp.params]);
    const shapes = mlp.params.map((p) => p.shape);
    const result = await trpoStep({
      theta: Float32Array.from(await read(flattenParams(mlp.params))),
      gradient: await read(flattenParams(outer.grads)),
      lossBefore: (await read(outer.value))[0],
      fisherProduct: async (v) => {
        const vt = tf.tensor1d(Float32Array.from(v));
        const fv = fisherVectorProduct(kl, mlp.params, vt, 0);
        vt.dispose();
        return read(fv);
      },
      evaluate: async (candidate) => {
        const ps = tf.tidy(() => unflattenParams(tf.tensor1d(candidate), shapes));
        const out = { loss: (await read(loss(ps)))[0], kl: (await read(kl(ps)))[0] };
        tf.dispose(ps);
        return out;
      },
      cgIterations: 3,
      maxBacktracks: 3,
    });
    tf.dispose(outer.grads);
    tf.tidy(() => assignFlat(mlp.params, tf.tensor1d(result.theta)));
    tf.dispose([oldMean, oldLogStd]);

    const target = tf.zeros([10, 4, 2]);
    const { grads, value } = tf.variableGrads(() => {
      const o = lstm.sequence(lstm.params, seq as tf.Tensor3D);
      const logp = gaussianLogProb(tf.reshape(o.mean, [40, 2]) as tf.Tensor2D, o.logStd, tf.reshape(target, [40, 2]) as tf.Tensor2D);
      return ppoClipLoss({
        logProb: logp,
        oldLogProb: tf.zerosLike(logp),
        advantages: adv as tf.Tensor1D,
        value: { pred: tf.reshape(o.value, [40]) as tf.Tensor1D, returns: adv as tf.Tensor1D },
        entropy: { value: gaussianEntropy(o.logStd), coef: 0.01 },
      }).loss;
    }, [...lstm.params]);
    const clipped = clipByGlobalNorm(lstm.params.map((p) => grads[p.name]), 0.5);
    adam.apply(clipped.grads);
    tf.dispose([target, value, clipped.norm, ...clipped.grads, ...Object.values(grads)]);
  }

  it('creating and disposing policies and optimisers leaves nothing behind', () => {
    const before = tf.memory().numTensors;
    const p = createGaussianMlp({ obsSize: 3, actSize: 2 }, new Rng(1));
    const l = createLstmPolicy({ inputSize: 3, hiddenSize: 4, actSize: 2 }, new Rng(1));
    const a = new Adam(p.params, { learningRate: 1e-3 });
    expect(tf.memory().numTensors).toBe(before + 3 * p.params.length + 8); // params, Adam m and v, LSTM params
    p.dispose();
    l.dispose();
    a.dispose();
    a.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is flat over repeated MAML-TRPO and LSTM-PPO updates', async () => {
    await iteration();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) await iteration();
    expect(tf.memory().numTensors).toBe(before);
  });
});
