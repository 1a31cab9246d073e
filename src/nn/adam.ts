/**
 * Adam over an explicit list of variables, with state that saves and restores exactly
 * (checkpoint/resume gives the same next step). Hand-written rather than tf.train.adam so the
 * moments are ours to read and write.
 */
import { MetarlError } from '../core/errors.js';
import { variableFrom } from './init.js';
import { tf } from './tf.js';

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface AdamState {
  step: number;
  /** First and second moments, one array per variable, in order. */
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private disposed = false;

  /** `vars` are the parameters this optimiser updates, in a fixed order. */
  constructor(
    private readonly vars: readonly tf.Variable[],
    options: AdamOptions,
  ) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.m = vars.map((p) => variableFrom(tf.zerosLike(p), false));
    this.v = vars.map((p) => variableFrom(tf.zerosLike(p), false));
  }

  /** One Adam step: vars[i] −= lr · m̂ / (√v̂ + ε). `grads[i]` has vars[i]'s shape; not disposed here. */
  apply(grads: readonly tf.Tensor[]): void {
    if (this.disposed) throw new MetarlError('METARL_DISPOSED', 'Adam.apply after dispose()');
    if (grads.length !== this.vars.length) throw new MetarlError('METARL_SPEC_MISMATCH', `Adam got ${grads.length} gradients for ${this.vars.length} variables`);
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const m = tf.add(tf.mul(this.beta1, this.m[i]), tf.mul(1 - this.beta1, grads[i]));
        const v = tf.add(tf.mul(this.beta2, this.v[i]), tf.mul(1 - this.beta2, tf.square(grads[i])));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.mul(this.learningRate / c1, m), tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon));
        p.assign(tf.sub(p, update));
      });
    });
  }

  async state(): Promise<AdamState> {
    const read = (vs: tf.Variable[]) => Promise.all(vs.map(async (t) => new Float32Array(await t.data())));
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  /** Restores a state from `state()`; throws METARL_CHECKPOINT_CORRUPT when it does not fit. */
  load(state: AdamState): void {
    const fits = (arrays: Float32Array[]) => arrays.length === this.vars.length && arrays.every((a, i) => a.length === this.vars[i].size);
    if (!Number.isInteger(state.step) || state.step < 0 || !fits(state.m) || !fits(state.v)) {
      throw new MetarlError('METARL_CHECKPOINT_CORRUPT', 'optimiser state does not fit the model (variable count or sizes differ)');
    }
    this.step = state.step;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        this.m[i].assign(tf.tensor(state.m[i], p.shape));
        this.v[i].assign(tf.tensor(state.v[i], p.shape));
      });
    });
  }

  /** Frees the moment buffers (not the variables it updates); idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...this.m, ...this.v]);
  }
}

/**
 * Scales gradients so their global L2 norm is at most maxNorm (PPO's clip_grad_norm).
 * Returns new tensors and the norm before clipping, as a scalar tensor.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    return { grads: grads.map((g) => tf.mul(g, scale)), norm };
  });
}
