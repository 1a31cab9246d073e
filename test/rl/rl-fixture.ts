/**
 * What the src/rl/ MAML-building-block tests share: a small Gaussian MLP policy on the cpu
 * backend and random rows of one task (the last `padding` rows masked out).
 */
import { Rng } from '../../src/core/rng.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { flattenParams } from '../../src/nn/params.js';
import { tf } from '../../src/nn/tf.js';
import type { PolicyRows } from '../../src/rl/inner-loop.js';

export const OBS = 3;
export const ACT = 2;

export function smallPolicy(seed: number): GaussianMlpPolicy {
  return createGaussianMlp({ obsSize: OBS, actSize: ACT, hidden: [6], initStd: 0.8 }, new Rng(seed));
}

/** Random rows of one task: `n` rows of `obs`/`act` sizes, the last `padding` masked out. */
export function randomRows(rng: Rng, n: number, padding = 0, obs = OBS, act = ACT): PolicyRows {
  const fill = (size: number) => Float32Array.from({ length: size }, () => rng.normal(0, 1));
  const mask = new Float32Array(n).fill(1).fill(0, n - padding);
  return {
    obs: tf.tensor2d(fill(n * obs), [n, obs]),
    actions: tf.tensor2d(fill(n * act), [n, act]),
    advantages: tf.tensor1d(fill(n).map((x, i) => x * mask[i])),
    mask: tf.tensor1d(mask),
    steps: n - padding,
  };
}

export const paramCount = (policy: GaussianMlpPolicy): number => policy.params.reduce((n, p) => n + p.size, 0);

export async function flat(params: readonly tf.Tensor[]): Promise<Float32Array> {
  const t = flattenParams(params);
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}

export async function scalar(t: tf.Scalar): Promise<number> {
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

export const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.hypot(...Array.from(a, (x, i) => x - b[i])) / Math.hypot(...Array.from(b));
