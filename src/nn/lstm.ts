/**
 * LSTM Gaussian policy with a value head, for RL²: batched over B envs, state carried between
 * steps (RL²'s sampler zeroes a row's state where a trial starts; in `sequence` a column is one
 * whole trial, so the state starts at `initial` and never resets). Like the MLP it is a function
 * of an explicit parameter list, in this order (the contract for checkpoints):
 *   lstm.wx [in, 4H], lstm.wh [H, 4H], lstm.b [4H], mean.w [H, A], mean.b [A], value.w [H, 1], value.b [1], logStd [A]
 * Gate order in the 4H axis: input, forget, cell, output (forget bias starts at 1).
 *
 * RL² differentiates once (PPO), so the gates use plain tf.sigmoid/tf.tanh, and `sequence` runs
 * the recurrence as one op with a hand-written backward (BPTT): both correct to first order only.
 * Do not put this policy inside a second-order (MAML) path.
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
  /** Full sequence for BPTT: inputs [T, B, in] from state `initial` (default zeros). */
  sequence(params: readonly tf.Tensor[], inputs: tf.Tensor3D, initial?: LstmState): LstmSequenceOutput;
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

  // tanh(z) = 2σ(2z) − 1: doubling the cell-candidate block of the pre-activations lets one
  // sigmoid serve all four gates (one kernel instead of four, and wasm's sigmoid is its fast one).
  // Made per call inside the caller's tidy, so the policy owns only its parameters.
  const scaleValues = Float32Array.from({ length: 4 * H }, (_, j) => (j >= 2 * H && j < 3 * H ? 2 : 1));
  const gateScale = () => tf.tensor1d(scaleValues);
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
        const z = tf.add(tf.add(tf.matMul(input, p[0] as tf.Tensor2D), p[2]), tf.matMul(state.h, p[1] as tf.Tensor2D));
        const next = cell(tf.mul(z, gateScale()) as tf.Tensor2D, state.c);
        const { mean, value } = heads(p, next.h);
        return { mean, value, logStd: tf.clone(p[7]) as tf.Tensor1D, state: { h: next.h, c: next.c } };
      }),
    sequence: (p, inputs, initial) =>
      tf.tidy(() => {
        const [T, B] = inputs.shape;
        // Project every step's input at once: one big matmul instead of T small ones.
        const xw = tf.reshape(tf.add(tf.matMul(tf.reshape(inputs, [T * B, I]), p[0] as tf.Tensor2D), p[2]), [T, B, 4 * H]) as tf.Tensor3D;
        const h0 = initial ? initial.h : tf.zeros<tf.Rank.R2>([B, H]);
        const c0 = initial ? initial.c : tf.zeros<tf.Rank.R2>([B, H]);
        const out = recurrence(xw, p[1] as tf.Tensor2D, h0, c0, gateScale());
        const hs = tf.slice(out, [0, 0, 0], [T, B, H]);
        const { mean, value } = heads(p, tf.reshape(hs, [T * B, H]) as tf.Tensor2D);
        return {
          mean: tf.reshape(mean, [T, B, A]) as tf.Tensor3D,
          value: tf.reshape(value, [T, B]) as tf.Tensor2D,
          logStd: tf.clone(p[7]) as tf.Tensor1D,
          state: { h: tf.reshape(tf.slice(hs, [T - 1, 0, 0], [1, B, H]), [B, H]) as tf.Tensor2D, c: tf.reshape(tf.slice(out, [T, 0, 0], [1, B, H]), [B, H]) as tf.Tensor2D },
        };
      }),
    dispose: disposeOnce(params),
  };
}

type Cell = { s: tf.Tensor2D; c: tf.Tensor2D; tc: tf.Tensor2D; h: tf.Tensor2D };

/** One cell update from gate pre-activations zs [B, 4H] with the candidate block doubled (see gateScale). */
function cell(zs: tf.Tensor2D, c: tf.Tensor2D): Cell {
  const s = tf.sigmoid(zs);
  const [i, f, sg, o] = tf.split(s, 4, 1);
  const nextC = tf.add(tf.mul(f, c), tf.mul(i, tf.sub(tf.mul(sg, 2), 1))) as tf.Tensor2D;
  const tc = tf.tanh(nextC);
  return { s, c: nextC, tc, h: tf.mul(o, tc) as tf.Tensor2D };
}

/**
 * The recurrence over a whole sequence as ONE op on the tape, with backpropagation through time
 * written by hand. Per-kernel overhead is the cost at these sizes: the tape's version ran ~67
 * kernels per step (forward and back), this ~17, with the gates' local derivatives computed for
 * all steps at once so the backward loop only chains them.
 * xw [T, B, 4H] (the input projection, bias included), wh [H, 4H], h0 and c0 [B, H] → [T + 1, B, H]:
 * h after every step, then the last c. First order only: the backward reads saved activations,
 * so its own gradient would be wrong (fine for PPO; never in MAML's second-order path).
 */
function recurrence(xw: tf.Tensor3D, wh: tf.Tensor2D, h0: tf.Tensor2D, c0: tf.Tensor2D, gateScale: tf.Tensor1D): tf.Tensor3D {
  const [T, B, G] = xw.shape;
  const H = G / 4;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xwIn, whIn, h0In, c0In] = args as tf.Tensor[];
    const xs = tf.unstack(tf.mul(xwIn, gateScale)) as tf.Tensor2D[];
    const whs = tf.mul(whIn, gateScale) as tf.Tensor2D;
    let h = h0In as tf.Tensor2D;
    let c = c0In as tf.Tensor2D;
    const steps: Cell[] = [];
    const hIn: tf.Tensor2D[] = [];
    const cIn: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      hIn.push(h);
      cIn.push(c);
      const next = cell(tf.add(xs[t], tf.matMul(h, whs)) as tf.Tensor2D, c);
      steps.push(next);
      ({ h, c } = next);
    }
    save([tf.stack(steps.map((s) => s.s)), tf.stack(steps.map((s) => s.tc)), tf.stack(hIn), tf.stack(cIn), whIn]);
    return {
      value: tf.stack([...steps.map((s) => s.h), c]) as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => backward(dy as tf.Tensor3D, saved)),
    };
  });

  /** BPTT. saved: sigmoid outputs [T, B, 4H], tanh(c) [T, B, H], the h and c entering each step, wh. */
  const backward = (dy: tf.Tensor3D, saved: tf.Tensor[]): tf.Tensor[] => {
    const [s, tc, hIn, cIn, whSaved] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D];
    const [i, f, sg, o] = tf.split(s, 4, 2);
    const g = tf.sub(tf.mul(sg, 2), 1);
    const sigmoidSlope = (x: tf.Tensor) => tf.mul(x, tf.sub(1, x));
    // Every step's local derivatives at once; the loop below only chains them.
    // dL/dc_t gains dL/dh_t · o_t (1 − tanh² c_t); the gates' pre-activations get dc_t or dh_t times these:
    const dcdh = tf.unstack(tf.mul(o, tf.sub(1, tf.square(tc)))) as tf.Tensor2D[];
    const local = tf.unstack(
      tf.concat([tf.mul(g, sigmoidSlope(i)), tf.mul(cIn, sigmoidSlope(f)), tf.mul(i, tf.sub(1, tf.square(g))), tf.mul(tc, sigmoidSlope(o))], 2),
    ) as tf.Tensor2D[];
    // dL/dc_{t−1} = dL/dc_t · f_t.
    const carry = tf.unstack(f) as tf.Tensor2D[];
    const dhs = tf.unstack(tf.slice(dy, [0, 0, 0], [T, B, H])) as tf.Tensor2D[];
    const whT = tf.transpose(whSaved);
    let dc = tf.reshape(tf.slice(dy, [T, 0, 0], [1, B, H]), [B, H]) as tf.Tensor2D;
    let dhPrev: tf.Tensor2D | null = null;
    const dz: tf.Tensor2D[] = new Array<tf.Tensor2D>(T);
    for (let t = T - 1; t >= 0; t--) {
      const dh = dhPrev ? tf.add(dhs[t], dhPrev) : dhs[t];
      const dct = tf.add(dc, tf.mul(dh, dcdh[t])) as tf.Tensor2D;
      dz[t] = tf.mul(tf.concat([dct, dct, dct, dh], 1), local[t]);
      dhPrev = tf.matMul(dz[t], whT) as tf.Tensor2D;
      dc = tf.mul(dct, carry[t]) as tf.Tensor2D;
    }
    const dxw = tf.stack(dz) as tf.Tensor3D;
    const dwh = tf.matMul(tf.reshape(hIn, [T * B, H]), tf.reshape(dxw, [T * B, G]), true, false);
    return [dxw, dwh, dhPrev as tf.Tensor2D, dc];
  };

  return op(xw, wh, h0, c0) as tf.Tensor3D;
}
