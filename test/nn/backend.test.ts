import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { initBackend, probeWebGpu, type BackendName } from '../../src/nn/backend.js';
import { gaussianLogProb } from '../../src/nn/distributions.js';
import { createLstmPolicy } from '../../src/nn/lstm.js';
import { createGaussianMlp } from '../../src/nn/mlp.js';
import { tf } from '../../src/nn/tf.js';
import { vpgLoss } from '../../src/rl/losses.js';

const hasTfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
})();
const adapter = await probeWebGpu().catch(() => null);

async function error(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('initBackend', () => {
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('an unknown name lists the choices', async () => {
    const err = await error(initBackend('cuda'));
    expect(isMetarlError(err, 'METARL_UNKNOWN_BACKEND')).toBe(true);
    expect((err as Error).message).toBe("unknown backend 'cuda': choose 'auto', 'tensorflow', 'webgpu', 'wasm' or 'cpu'");
  });

  it.skipIf(hasTfjsNode)('tensorflow without @tensorflow/tfjs-node-gpu says what it needs', async () => {
    const err = await error(initBackend('tensorflow'));
    expect(isMetarlError(err, 'METARL_BACKEND_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toMatch(/CUDA 11\.2 and cuDNN 8\.1.*npm install @tensorflow\/tfjs-node-gpu/);
  });

  it.skipIf(hasTfjsNode || (adapter !== null && !adapter.software))('auto picks wasm over a software GPU and says why', async () => {
    const lines: string[] = [];
    const info = await initBackend('auto', { log: (l) => lines.push(l) });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toMatch(/tfjs-node-gpu not installed/);
    if (adapter) expect(info.reason).toMatch(/software|no GPU device/);
    expect(lines).toEqual([`backend: wasm: ${info.reason}`]);
  });
});

/** What each backend computes for the same weights and data, read back as plain arrays. */
async function compute(name: BackendName): Promise<Record<string, number[]>> {
  await initBackend(name);
  const rng = new Rng(9);
  const policy = createGaussianMlp({ obsSize: 4, actSize: 2, hidden: [16, 16], initStd: 0.8 }, rng);
  const lstm = createLstmPolicy({ inputSize: 4, hiddenSize: 8, actSize: 2, meanGain: 1 }, rng);
  const arr = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const n = 32;
  const out = tf.tidy(() => {
    const obs = tf.tensor2d(arr(n * 4), [n, 4]);
    const act = tf.tensor2d(arr(n * 2), [n, 2]);
    const adv = tf.tensor1d(arr(n));
    const loss = (ps: readonly tf.Tensor[]) => {
      const { mean, logStd } = policy.forward(ps, obs);
      return vpgLoss(gaussianLogProb(mean, logStd, act), adv);
    };
    const meta = (...ps: tf.Tensor[]) => {
      const g = tf.grads((...qs: tf.Tensor[]) => loss(qs))(ps);
      return loss(ps.map((p, i) => tf.sub(p, tf.mul(0.3, g[i]))));
    };
    const seq = tf.tensor3d(arr(5 * 3 * 4), [5, 3, 4]);
    const lstmLoss = (...ps: tf.Tensor[]) => {
      const o = lstm.sequence([...ps, lstm.params[7]], seq);
      return tf.add(tf.mean(tf.square(o.mean)), tf.mean(o.value)) as tf.Scalar;
    };
    const flat = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => t.flatten()));
    // A meta-batch loss sums one term per task: 20 inputs overflow WebGPU's 8 storage buffers per shader.
    const terms = Array.from({ length: 20 }, (_, i) => tf.mul(obs, i + 1));
    return {
      addN: tf.addN(terms).flatten(),
      mean: policy.forward(policy.params, obs).mean.flatten(),
      grad: flat(tf.grads((...ps: tf.Tensor[]) => loss(ps))([...policy.params])),
      metaGrad: flat(tf.grads(meta)([...policy.params])),
      lstmGrad: flat(tf.grads(lstmLoss)(lstm.params.slice(0, 7))),
    };
  });
  const result: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(out)) result[k] = Array.from(await t.data());
  tf.dispose(Object.values(out));
  policy.dispose();
  lstm.dispose();
  return result;
}

describe('backend parity', () => {
  const names: BackendName[] = adapter ? ['cpu', 'wasm', 'webgpu'] : ['cpu', 'wasm'];

  // Off CI a machine without Vulkan compares cpu and wasm only; on CI a missing adapter is a broken install.
  it.runIf(process.env.CI === 'true')('finds the WebGPU adapter that .ci/run installs (Mesa 25 llvmpipe)', () => {
    expect(adapter, 'no WebGPU adapter: .ci/run installs mesa-vulkan-drivers from bookworm-backports').not.toBeNull();
  });

  it(`forward, gradient, MAML meta-gradient, LSTM BPTT and a 20-term addN agree on ${names.join(', ')}`, async () => {
    const results: Record<string, Record<string, number[]>> = {};
    for (const name of names) results[name] = await compute(name);
    for (const name of names.slice(1)) {
      for (const key of Object.keys(results.cpu)) {
        const a = results.cpu[key];
        const b = results[name][key];
        const scale = Math.max(...a.map(Math.abs));
        const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
        expect(worst / scale, `${name} vs cpu: ${key}`).toBeLessThan(1e-4);
      }
    }
  });
});
