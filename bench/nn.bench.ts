// `npx tsx bench/index.ts nn`: neural-net workloads per tfjs backend, as a markdown table.
// METARL_BENCH_BACKENDS=wasm,webgpu picks backends (default: cpu, wasm, and webgpu when Dawn has an adapter).
// Timings are medians of wall-clock reps after a warm-up; every rep ends with `await data()` so
// asynchronous backends (WebGPU) are timed to completion.
// On wasm each workload also runs the way it did before metarl's wasm kernels (src/nn/wasm-kernels.ts)
// and the LSTM's hand-written BPTT: tfjs's stock kernels swapped back in, and the old per-step LSTM
// kept below for this comparison only. Both columns come from one process, side by side.
import { Rng } from '../src/core/rng.js';
import { Adam } from '../src/nn/adam.js';
import { initBackend, probeWebGpu, type BackendName } from '../src/nn/backend.js';
import { gaussianLogProb } from '../src/nn/distributions.js';
import { createLstmPolicy } from '../src/nn/lstm.js';
import { createGaussianMlp } from '../src/nn/mlp.js';
import { tf } from '../src/nn/tf.js';
import { vpgLoss } from '../src/rl/losses.js';

const OBS = 20;
const ACT = 6;
const BATCH = 4000;
const TASKS = 20;
const LSTM = { T: 200, B: 40, H: 64, IN: 30 };

/** 'stock': tfjs-backend-wasm's own kernels and the LSTM recurrence on the tape, as before. */
type Variant = 'metarl' | 'stock';

interface Workload {
  name: string;
  /** Builds tensors and returns one rep (resolving when the backend is done) plus a cleanup. */
  setup(rng: Rng, variant: Variant): { rep: () => Promise<void>; dispose: () => void };
}

const randn = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

async function finish(ts: tf.Tensor[]): Promise<void> {
  await ts[ts.length - 1].data();
  tf.dispose(ts);
}

const workloads: Workload[] = [
  {
    name: `Gaussian MLP ${OBS}-64-64-${ACT}, batch ${BATCH}: fwd + bwd + Adam`,
    setup(rng) {
      const policy = createGaussianMlp({ obsSize: OBS, actSize: ACT }, rng);
      const adam = new Adam(policy.params, { learningRate: 1e-3 });
      const obs = tf.tensor2d(randn(rng, BATCH * OBS), [BATCH, OBS]);
      const act = tf.tensor2d(randn(rng, BATCH * ACT), [BATCH, ACT]);
      const adv = tf.tensor1d(randn(rng, BATCH));
      return {
        rep: async () => {
          const grads = tf.grads((...ps: tf.Tensor[]) => {
            const { mean, logStd } = policy.forward(ps, obs);
            return vpgLoss(gaussianLogProb(mean, logStd, act), adv);
          })([...policy.params]);
          adam.apply(grads);
          tf.dispose(grads);
          await policy.params[0].data();
        },
        dispose: () => (policy.dispose(), adam.dispose(), tf.dispose([obs, act, adv])),
      };
    },
  },
  {
    name: `LSTM policy BPTT: T=${LSTM.T}, batch ${LSTM.B}, hidden ${LSTM.H}, input ${LSTM.IN}: fwd + bwd`,
    setup(rng, variant) {
      const policy = createLstmPolicy({ inputSize: LSTM.IN, hiddenSize: LSTM.H, actSize: ACT }, rng);
      const inputs = tf.tensor3d(randn(rng, LSTM.T * LSTM.B * LSTM.IN), [LSTM.T, LSTM.B, LSTM.IN]);
      const sequence = variant === 'stock' ? tapeSequence : (ps: tf.Tensor[], x: tf.Tensor3D) => policy.sequence(ps, x);
      return {
        rep: async () => {
          const grads = tf.grads((...ps: tf.Tensor[]) => {
            const out = sequence([...ps, policy.params[7]], inputs);
            return tf.add(tf.mean(tf.square(out.mean)), tf.mean(tf.square(out.value))) as tf.Scalar;
          })(policy.params.slice(0, 7));
          await finish(grads);
        },
        dispose: () => (policy.dispose(), inputs.dispose()),
      };
    },
  },
  {
    name: `MAML outer gradient, 2nd order: ${TASKS} tasks × ${BATCH / TASKS} + ${BATCH / TASKS} samples, 20-64-64-6`,
    setup(rng) {
      const policy = createGaussianMlp({ obsSize: OBS, actSize: ACT }, rng);
      const n = BATCH / TASKS;
      const task = () => ({
        obs: tf.tensor2d(randn(rng, n * OBS), [n, OBS]),
        act: tf.tensor2d(randn(rng, n * ACT), [n, ACT]),
        adv: tf.tensor1d(randn(rng, n)),
      });
      const data = Array.from({ length: TASKS }, () => ({ pre: task(), post: task() }));
      const loss = (ps: readonly tf.Tensor[], d: ReturnType<typeof task>) => {
        const { mean, logStd } = policy.forward(ps, d.obs);
        return vpgLoss(gaussianLogProb(mean, logStd, d.act), d.adv);
      };
      return {
        rep: async () => {
          const grads = tf.grads((...ps: tf.Tensor[]) => {
            const outer = data.map(({ pre, post }) => {
              const g = tf.grads((...qs: tf.Tensor[]) => loss(qs, pre))(ps);
              return loss(ps.map((p, i) => tf.sub(p, tf.mul(0.1, g[i]))), post);
            });
            return tf.div(tf.addN(outer), TASKS) as tf.Scalar;
          })([...policy.params]);
          await finish(grads);
        },
        dispose: () => (policy.dispose(), tf.dispose(data.flatMap((d) => [d.pre, d.post].flatMap((t) => [t.obs, t.act, t.adv])))),
      };
    },
  },
];

/** The LSTM sequence as metarl ran it before the hand-written BPTT: every step's ops on the tape. */
function tapeSequence(p: tf.Tensor[], inputs: tf.Tensor3D): { mean: tf.Tensor; value: tf.Tensor } {
  return tf.tidy(() => {
    const [T, B, I] = inputs.shape;
    const [H, A] = [p[1].shape[0] as number, p[3].shape[1] as number];
    const xw = tf.reshape(tf.add(tf.matMul(tf.reshape(inputs, [T * B, I]), p[0] as tf.Tensor2D), p[2]), [T, B, 4 * H]);
    const xs = tf.unstack(xw) as tf.Tensor2D[];
    let h: tf.Tensor2D = tf.zeros([B, H]);
    let c: tf.Tensor2D = tf.zeros([B, H]);
    const hs: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      const [i, f, g, o] = tf.split(tf.add(xs[t], tf.matMul(h, p[1] as tf.Tensor2D)), 4, 1);
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      hs.push(h);
    }
    const flat = tf.reshape(tf.stack(hs), [T * B, H]) as tf.Tensor2D;
    return {
      mean: tf.reshape(tf.add(tf.matMul(flat, p[3] as tf.Tensor2D), p[4]), [T, B, A]),
      value: tf.reshape(tf.add(tf.matMul(flat, p[5] as tf.Tensor2D), p[6]), [T, B]),
    };
  });
}

/** Median ms per rep: one warm-up, then reps until 5 are done or ~20 s have passed (at least 2). */
async function time(w: Workload, variant: Variant): Promise<{ ms: number; reps: number }> {
  const { rep, dispose } = w.setup(new Rng(1), variant);
  await rep();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 && (samples.length < 2 || performance.now() - start < 20_000)) {
    const t0 = performance.now();
    await rep();
    samples.push(performance.now() - t0);
  }
  dispose();
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)], reps: samples.length };
}

/** Swaps kernel registrations for one backend (tfjs keeps one registry, keyed by kernel and backend name). */
function useKernels(configs: readonly tf.KernelConfig[]): void {
  for (const k of configs) {
    tf.unregisterKernel(k.kernelName, k.backendName);
    tf.registerKernel(k);
  }
}

export default async function nnBench(): Promise<void> {
  const adapter = await probeWebGpu().catch(() => null);
  const requested = process.env.METARL_BENCH_BACKENDS?.split(',').filter(Boolean) as BackendName[] | undefined;
  const backends = requested ?? (adapter ? (['cpu', 'wasm', 'webgpu'] as BackendName[]) : (['cpu', 'wasm'] as BackendName[]));
  // tfjs-backend-wasm registers its kernels on import; initBackend('wasm') replaces some (src/nn/wasm-kernels.ts).
  await import('@tensorflow/tfjs-backend-wasm');
  const stockWasm = tf.getKernelsForBackend('wasm');
  const results: Record<string, Record<string, { ms: number; reps: number }>> = {};
  const notes: string[] = [];
  const columns: string[] = [];
  for (const backend of backends) {
    const info = await initBackend(backend);
    notes.push(`${backend}${info.device ? `: ${info.device}` : ''}`);
    const runs: [string, Variant][] = backend === 'wasm' ? [['wasm stock', 'stock'], ['wasm', 'metarl']] : [[backend, 'metarl']];
    for (const [column, variant] of runs) {
      columns.push(column);
      const ours = tf.getKernelsForBackend('wasm');
      const replaced = stockWasm.filter((k) => ours.find((o) => o.kernelName === k.kernelName)?.kernelFunc !== k.kernelFunc);
      if (variant === 'stock') useKernels(replaced);
      for (const w of workloads) {
        const before = tf.memory().numTensors;
        (results[w.name] ??= {})[column] = await time(w, variant);
        if (tf.memory().numTensors !== before) notes.push(`LEAK: ${w.name} on ${column} left ${tf.memory().numTensors - before} tensors`);
      }
      if (variant === 'stock') useKernels(ours.filter((o) => replaced.some((k) => k.kernelName === o.kernelName)));
    }
  }
  const ref = columns.includes('wasm') ? 'wasm' : columns[0];
  const others = columns.filter((b) => b !== ref);
  console.log(`| workload | ${columns.map((b) => `${b} ms`).join(' | ')} | ${others.map((b) => `${b} / ${ref}`).join(' | ')} |`);
  console.log(`|---|${columns.map(() => '---:').join('|')}|${others.map(() => '---:').join('|')}|`);
  for (const w of workloads) {
    const row = results[w.name];
    const cells = columns.map((b) => `${row[b].ms.toFixed(1)} (n=${row[b].reps})`);
    const ratios = others.map((b) => `${(row[b].ms / row[ref].ms).toFixed(2)}x`);
    console.log(`| ${w.name} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  console.log(`\nBackends: ${notes.join('; ')}. Node ${process.version}, tfjs ${tf.version_core}.`);
  if (columns.includes('wasm stock')) console.log('wasm stock: tfjs-backend-wasm\'s own kernels and the LSTM recurrence on the tape (metarl before its wasm kernels and hand-written BPTT).');
}
