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

/** Named parameters as plain data: JSON-able `entries` plus one Float32Array holding all values in order. */
export interface SavedParams {
  entries: { name: string; shape: number[] }[];
  data: Float32Array;
}

/** Reads the parameters to the CPU (`await data()`, so it works on WebGPU). */
export async function saveParams(names: readonly string[], params: readonly tf.Tensor[]): Promise<SavedParams> {
  if (names.length !== params.length) throw new MetarlError('METARL_SPEC_MISMATCH', `${names.length} names for ${params.length} parameters`);
  const data = new Float32Array(paramCount(params));
  let offset = 0;
  for (const p of params) {
    const values = await p.data();
    data.set(values as Float32Array, offset);
    offset += values.length;
  }
  return { entries: names.map((name, i) => ({ name, shape: [...params[i].shape] })), data };
}

/**
 * Checks `saved` against the expected names and shapes and returns one Float32Array per
 * parameter (views into saved.data). Throws METARL_CHECKPOINT_CORRUPT naming the first mismatch.
 */
export function loadParamArrays(saved: SavedParams, expected: readonly { name: string; shape: readonly number[] }[]): Float32Array[] {
  const bad = (why: string): never => {
    throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `saved parameters do not fit this model: ${why}`);
  };
  if (saved.entries.length !== expected.length) bad(`${saved.entries.length} tensors saved, the model has ${expected.length}`);
  const out: Float32Array[] = [];
  let offset = 0;
  expected.forEach((e, i) => {
    const s = saved.entries[i];
    if (s.name !== e.name) bad(`tensor ${i} is '${s.name}', expected '${e.name}'`);
    if (s.shape.join('x') !== e.shape.join('x')) bad(`'${e.name}' has shape [${s.shape}], expected [${e.shape}]`);
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (offset + size > saved.data.length) bad(`data ends before '${e.name}'`);
    out.push(saved.data.subarray(offset, offset + size));
    offset += size;
  });
  if (offset !== saved.data.length) bad(`${saved.data.length - offset} values left over`);
  return out;
}

/** Assigns saved values into variables after checking names and shapes. */
export function loadParamsInto(saved: SavedParams, names: readonly string[], vars: readonly tf.Variable[]): void {
  const arrays = loadParamArrays(saved, vars.map((v, i) => ({ name: names[i], shape: v.shape })));
  vars.forEach((v, i) => {
    const t = tf.tensor(arrays[i], v.shape);
    v.assign(t);
    t.dispose();
  });
}
