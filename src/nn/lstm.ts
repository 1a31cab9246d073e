/**
 * LSTM Gaussian policy with a value head, for RL²: batched over B envs, state carried between
 * steps, reset where a mask says so (trial starts). Like the MLP it is a function of an explicit
 * parameter list, in this order (the contract for checkpoints):
 *   lstm.wx [in, 4H], lstm.wh [H, 4H], lstm.b [4H], mean.w [H, A], mean.b [A], value.w [H, 1], value.b [1], logStd [A]
 * Gate order in the 4H axis: input, forget, cell, output (forget bias starts at 1).
 *
 * RL² differentiates once (PPO), so the gates use plain tf.sigmoid/tf.tanh, which are correct to
 * first order and cheaper. Do not put this policy inside a second-order (MAML) path.
 */
import type { Rng } from '../core/rng.js';
import { MetarlError } from '../core/errors.js';
import { glorotUniform, variableFrom } from './init.js';
import { disposeOnce } from './mlp.js';
import { tf } from './tf.js';

export interface LstmPolicySpec {
  inputSize: number;
  hiddenSize: number;
  actSize: number;
  /** Initial action std; default 1. */
  initStd?: number;
  /** Gain on the mean head's Glorot init; default 0.01 (cleanrl's PPO: start near-deterministic mean 0). */
  meanGain?: number;
}

/** Recurrent state: h, c [B, H]. */
// A type alias, not an interface: tf.tidy only returns types with an implicit index signature.
export type LstmState = {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
}

export type LstmStepOutput = {
  /** [B, A] */
  mean: tf.Tensor2D;
  /** [A] */
  logStd: tf.Tensor1D;
  /** [B] */
  value: tf.Tensor1D;
  state: LstmState;
}

export type LstmSequenceOutput = {
  /** [T, B, A] */
  mean: tf.Tensor3D;
  /** [A] */
  logStd: tf.Tensor1D;
  /** [T, B] */
  value: tf.Tensor2D;
  /** State after the last step. */
  state: LstmState;
}

export interface LstmGaussianPolicy {
  readonly spec: Required<LstmPolicySpec>;
  readonly names: readonly string[];
  readonly params: readonly tf.Variable[];
  /** Zeros [batch, H]; the caller disposes. */
  initialState(batch: number): LstmState;
  /** One step for sampling: input [B, in], state → outputs and the next state (the caller disposes the old one). */
  step(params: readonly tf.Tensor[], input: tf.Tensor2D, state: LstmState): LstmStepOutput;
  /**
   * Full sequence for BPTT: inputs [T, B, in]. `resets` [T, B]: 1 where the state is zeroed
   * before step t (a trial start), else 0. `initial` defaults to zeros.
   */
  sequence(params: readonly tf.Tensor[], inputs: tf.Tensor3D, resets?: tf.Tensor2D, initial?: LstmState): LstmSequenceOutput;
  dispose(): void;
}

const NAMES = ['lstm.wx', 'lstm.wh', 'lstm.b', 'mean.w', 'mean.b', 'value.w', 'value.b', 'logStd'] as const;

export function createLstmPolicy(spec: LstmPolicySpec, rng: Rng): LstmGaussianPolicy {
  const full: Required<LstmPolicySpec> = { initStd: 1, meanGain: 0.01, ...spec };
  const { inputSize: I, hiddenSize: H, actSize: A } = full;
  for (const [key, value] of Object.entries({ inputSize: I, hiddenSize: H, actSize: A })) {
    if (!Number.isInteger(value) || value < 1) throw new MetarlError('METARL_CONFIG_INVALID', `LSTM ${key} must be a positive integer, got ${value}`);
  }
  if (!(full.initStd > 0)) throw new MetarlError('METARL_CONFIG_INVALID', `initStd must be > 0, got ${full.initStd}`);
  const bias = new Float32Array(4 * H);
  bias.fill(1, H, 2 * H); // forget gate: remember by default
  const params = [
    variableFrom(tf.tensor2d(glorotUniform(rng, I, 4 * H), [I, 4 * H])),
    variableFrom(tf.tensor2d(glorotUniform(rng, H, 4 * H), [H, 4 * H])),
    variableFrom(tf.tensor1d(bias)),
    variableFrom(tf.tensor2d(glorotUniform(rng, H, A, full.meanGain), [H, A])),
    variableFrom(tf.zeros([A])),
    variableFrom(tf.tensor2d(glorotUniform(rng, H, 1), [H, 1])),
    variableFrom(tf.zeros([1])),
    variableFrom(tf.fill([A], Math.log(full.initStd))),
  ];

  /** One cell update from a precomputed input projection xw [B, 4H]. */
  const cell = (p: readonly tf.Tensor[], xw: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D): LstmState => {
    const gates = tf.add(xw, tf.matMul(h, p[1] as tf.Tensor2D));
    const [i, f, g, o] = tf.split(gates, 4, 1) as tf.Tensor2D[];
    const nextC = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D;
    return { c: nextC, h: tf.mul(tf.sigmoid(o), tf.tanh(nextC)) as tf.Tensor2D };
  };
  const heads = (p: readonly tf.Tensor[], h: tf.Tensor2D) => ({
    mean: tf.add(tf.matMul(h, p[3] as tf.Tensor2D), p[4]) as tf.Tensor2D,
    value: tf.reshape(tf.add(tf.matMul(h, p[5] as tf.Tensor2D), p[6]), [-1]) as tf.Tensor1D,
  });

  return {
    spec: full,
    names: [...NAMES],
    params,
    initialState: (batch) => ({ h: tf.zeros([batch, H]), c: tf.zeros([batch, H]) }),
    step: (p, input, state) =>
      tf.tidy(() => {
        const xw = tf.add(tf.matMul(input, p[0] as tf.Tensor2D), p[2]) as tf.Tensor2D;
        const next = cell(p, xw, state.h, state.c);
        const { mean, value } = heads(p, next.h);
        return { mean, value, logStd: tf.clone(p[7]) as tf.Tensor1D, state: next };
      }),
    sequence: (p, inputs, resets, initial) =>
      tf.tidy(() => {
        const [T, B] = inputs.shape;
        // Project every step's input at once: one big matmul instead of T small ones.
        const xw = tf.reshape(tf.add(tf.matMul(tf.reshape(inputs, [T * B, I]), p[0] as tf.Tensor2D), p[2]), [T, B, 4 * H]);
        const xs = tf.unstack(xw) as tf.Tensor2D[];
        const keeps = resets ? (tf.unstack(tf.expandDims(tf.sub(1, resets), 2)) as tf.Tensor2D[]) : null;
        let h: tf.Tensor2D = initial ? initial.h : tf.zeros([B, H]);
        let c: tf.Tensor2D = initial ? initial.c : tf.zeros([B, H]);
        const hs: tf.Tensor2D[] = [];
        for (let t = 0; t < T; t++) {
          if (keeps) {
            h = tf.mul(h, keeps[t]);
            c = tf.mul(c, keeps[t]);
          }
          ({ h, c } = cell(p, xs[t], h, c));
          hs.push(h);
        }
        const { mean, value } = heads(p, tf.reshape(tf.stack(hs), [T * B, H]) as tf.Tensor2D);
        return {
          mean: tf.reshape(mean, [T, B, A]) as tf.Tensor3D,
          value: tf.reshape(value, [T, B]) as tf.Tensor2D,
          logStd: tf.clone(p[7]) as tf.Tensor1D,
          state: { h, c },
        };
      }),
    dispose: disposeOnce(params),
  };
}
