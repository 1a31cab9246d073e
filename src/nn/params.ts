/**
 * Parameter lists: flat vectors (TRPO, finite differences) and (de)serialisation for checkpoints.
 * A policy's parameters are an ordered list of tensors with names; order is the contract.
 */
import { MetarlError } from '../core/errors.js';
import { tf } from './tf.js';

/** Concatenates the parameters into one vector: [Σ size]. */
export function flattenParams(params: readonly tf.Tensor[]): tf.Tensor1D {
  return tf.tidy(() => tf.concat(params.map((p) => tf.reshape(p, [-1])), 0) as tf.Tensor1D);
}

/** Splits a flat vector back into tensors of the given shapes (the inverse of flattenParams). */
export function unflattenParams(flat: tf.Tensor1D, shapes: readonly number[][]): tf.Tensor[] {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (flat.size !== total) throw new MetarlError('METARL_SPEC_MISMATCH', `flat vector has ${flat.size} values, the shapes need ${total}`);
  return tf.tidy(() => tf.split(flat, sizes).map((part, i) => tf.reshape(part, shapes[i])));
}

/** Writes a flat vector into variables, in order. */
export function assignFlat(vars: readonly tf.Variable[], flat: tf.Tensor1D): void {
  const parts = unflattenParams(flat, vars.map((v) => v.shape));
  vars.forEach((v, i) => v.assign(parts[i]));
  tf.dispose(parts);
}

/** Number of scalars in a parameter list. */
export function paramCount(params: readonly { shape: number[] }[]): number {
  return params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Tensors of the given shapes holding a flat vector's values (the inverse of `readFlat`). */
export function paramsFromFlat(flat: Float32Array, shapes: readonly number[][]): tf.Tensor[] {
  return tf.tidy(() => unflattenParams(tf.tensor1d(flat), shapes));
}

/** The values of a parameter list, flat, in order (read asynchronously: WebGPU has no sync read). */
export async function readFlat(params: readonly tf.Tensor[]): Promise<Float32Array> {
  const flat = flattenParams(params);
  const values = (await flat.data()) as Float32Array;
  flat.dispose();
  return values;
}
