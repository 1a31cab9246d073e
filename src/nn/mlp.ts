/**
 * MLPs as functions of an explicit parameter list, so MAML can evaluate the policy at
 * θ' = θ − α∇L(θ) without mutating anything: `forward(params, obs)` reads only `params`.
 *
 * Parameter order (the contract for flat vectors and checkpoints), for hidden sizes h1..hk:
 *   l0.w [in, h1], l0.b [h1], …, l{k-1}.w, l{k-1}.b, out.w [hk, out], out.b [out]  (+ logStd [act] for the policy).
 * Hidden layers use the second-order-safe tanh (./ops.js) by default, so the MAML meta-gradient is
 * exact; `activation: 'relu'` gives rlkit's FlattenMlp (PEARL's networks).
 */
import type { Rng } from '../core/rng.js';
import { MetarlError } from '../core/errors.js';
import { glorotUniform, variableFrom } from './init.js';
import { tanh } from './ops.js';
import { tf } from './tf.js';

export interface MlpSpec {
  inputSize: number;
  hidden: readonly number[];
  outputSize: number;
  /** The hidden layers' nonlinearity; default 'tanh'. */
  activation?: MlpActivation;
}

export type MlpActivation = 'tanh' | 'relu';

/**
 * Applies the MLP: x [N, inputSize] → [N, outputSize]; `activation` (default tanh) on hidden
 * layers, linear output. `params` must start with the 2·(hidden.length + 1) weight and bias
 * tensors in the order above.
 */
export function mlpForward(params: readonly tf.Tensor[], x: tf.Tensor2D, layerCount: number, activation: MlpActivation = 'tanh'): tf.Tensor2D {
  const act = (z: tf.Tensor2D): tf.Tensor2D => (activation === 'relu' ? tf.relu(z) : tanh(z));
  return tf.tidy(() => {
    let h: tf.Tensor2D = x;
    for (let l = 0; l < layerCount; l++) {
      const z = tf.add(tf.matMul(h, params[2 * l] as tf.Tensor2D), params[2 * l + 1]) as tf.Tensor2D;
      h = l < layerCount - 1 ? act(z) : z;
    }
    return h;
  });
}

/** Names and shapes of an MLP's parameters, in order. */
export function mlpShapes(spec: MlpSpec): { name: string; shape: number[] }[] {
  const sizes = [spec.inputSize, ...spec.hidden, spec.outputSize];
  const out: { name: string; shape: number[] }[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const prefix = l + 2 === sizes.length ? 'out' : `l${l}`;
    out.push({ name: `${prefix}.w`, shape: [sizes[l], sizes[l + 1]] }, { name: `${prefix}.b`, shape: [sizes[l + 1]] });
  }
  return out;
}

/** Glorot-uniform weights (output layer scaled by `outputGain`), zero biases: garage's defaults. */
function initMlp(spec: MlpSpec, rng: Rng, outputGain: number): tf.Variable[] {
  const sizes: [string, number][] = [['inputSize', spec.inputSize], ['outputSize', spec.outputSize], ...spec.hidden.map((h, i): [string, number] => [`hidden[${i}]`, h])];
  for (const [key, value] of sizes) {
    if (!Number.isInteger(value) || value < 1) throw new MetarlError('METARL_CONFIG_INVALID', `MLP size ${key} must be a positive integer, got ${value}`);
  }
  const shapes = mlpShapes(spec);
  return shapes.map(({ name, shape }, i) => {
    const isOut = i >= shapes.length - 2;
    const values = shape.length === 2 ? glorotUniform(rng, shape[0], shape[1], isOut ? outputGain : 1) : new Float32Array(shape[0]);
    return variableFrom(tf.tensor(values, shape));
  });
}

/** A plain MLP (e.g. a value function: outputSize 1). */
export interface Mlp {
  readonly spec: MlpSpec;
  readonly names: readonly string[];
  /** The live parameters; pass them (or tensors derived from them) to `forward`. */
  readonly params: readonly tf.Variable[];
  /** x [N, inputSize] → [N, outputSize], with the spec's activation on hidden layers. */
  forward(params: readonly tf.Tensor[], x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export function createMlp(spec: MlpSpec, rng: Rng, options: { outputGain?: number } = {}): Mlp {
  const params = initMlp(spec, rng, options.outputGain ?? 1);
  const layers = spec.hidden.length + 1;
  const activation = spec.activation ?? 'tanh';
  return {
    spec,
    names: mlpShapes(spec).map((s) => s.name),
    params,
    forward: (p, x) => mlpForward(p, x, layers, activation),
    dispose: disposeOnce(params),
  };
}

export interface GaussianMlpSpec {
  obsSize: number;
  actSize: number;
  /** Hidden layer sizes; default [64, 64]. */
  hidden?: readonly number[];
  /** Initial standard deviation of every action dimension; default 1 (garage). */
  initStd?: number;
  /** Gain on the output layer's Glorot init; default 1 (garage). cleanrl's PPO uses ~0.01. */
  outputGain?: number;
}

/**
 * Gaussian policy π(a|s) = N(mean(s), diag(exp(logStd))²) with a state-independent,
 * learned log-std. Parameters: the MLP's (see above), then `logStd` [actSize] last.
 */
export interface GaussianMlpPolicy {
  readonly obsSize: number;
  readonly actSize: number;
  readonly names: readonly string[];
  readonly params: readonly tf.Variable[];
  /** obs [N, obsSize] → mean [N, actSize], logStd [actSize] (the last entry of params). */
  forward(params: readonly tf.Tensor[], obs: tf.Tensor2D): { mean: tf.Tensor2D; logStd: tf.Tensor1D };
  dispose(): void;
}

export function createGaussianMlp(spec: GaussianMlpSpec, rng: Rng): GaussianMlpPolicy {
  const hidden = spec.hidden ?? [64, 64];
  const initStd = spec.initStd ?? 1;
  if (!(initStd > 0)) throw new MetarlError('METARL_CONFIG_INVALID', `initStd must be > 0, got ${initStd}`);
  const mlpSpec = { inputSize: spec.obsSize, hidden, outputSize: spec.actSize };
  const params = [...initMlp(mlpSpec, rng, spec.outputGain ?? 1), variableFrom(tf.fill([spec.actSize], Math.log(initStd)))];
  const layers = hidden.length + 1;
  return {
    obsSize: spec.obsSize,
    actSize: spec.actSize,
    names: [...mlpShapes(mlpSpec).map((s) => s.name), 'logStd'],
    params,
    forward: (p, obs) => ({ mean: mlpForward(p, obs, layers), logStd: p[p.length - 1] as tf.Tensor1D }),
    dispose: disposeOnce(params),
  };
}

/** @internal */
export function disposeOnce(tensors: readonly tf.Tensor[]): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    tf.dispose([...tensors]);
  };
}
