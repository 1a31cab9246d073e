/**
 * What an oracle observes: the numbers that define a task (goal, velocity, masses…), read off
 * the task object itself, so any family, built in or plugged in, has an oracle baseline without
 * declaring anything. The policy's input becomes observation ⊕ features.
 */
import { MetarlError } from '../core/errors.js';
import type { Task } from '../core/types.js';
import type { Batch } from '../sampling/types.js';

/** The task's numeric leaves (booleans as 0/1), depth first in key order. */
export function taskFeatures(task: Task): Float32Array {
  const out: number[] = [];
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new MetarlError('METARL_CONFIG_INVALID', `oracle: task field '${path}' is ${value}; an oracle observes finite numbers only`);
      out.push(value);
    } else if (typeof value === 'boolean') out.push(value ? 1 : 0);
    else if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}[${i}]`));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
    else throw new MetarlError('METARL_CONFIG_INVALID', `oracle: task field '${path}' is a ${value === null ? 'null' : typeof value}; an oracle observes numbers only`);
  };
  visit(task, '');
  return Float32Array.from(out);
}

/** The feature count of a family's tasks, checked on a task it drew. */
export function featureCount(sample: Task): number {
  const n = taskFeatures(sample).length;
  if (n === 0) throw new MetarlError('METARL_CONFIG_INVALID', 'oracle: the family\'s tasks hold no numbers, so an oracle has nothing to observe');
  return n;
}

/** `rows` observations of `obsSize` [rows, O], each followed by `features`: [rows, O + F], into `out` when given (a step's buffer, reused). */
export function withFeatures(obs: Float32Array, rows: number, obsSize: number, features: Float32Array, out: Float32Array = new Float32Array(rows * (obsSize + features.length))): Float32Array {
  const F = features.length;
  for (let r = 0; r < rows; r++) {
    out.set(obs.subarray(r * obsSize, (r + 1) * obsSize), r * (obsSize + F));
    out.set(features, r * (obsSize + F) + obsSize);
  }
  return out;
}

/** A one-task batch whose every observation row carries the task's features. */
export function batchWithFeatures(batch: Batch, features: Float32Array): Batch {
  const rows = batch.obs.length / batch.obsSize;
  return { ...batch, obs: withFeatures(batch.obs, rows, batch.obsSize, features), obsSize: batch.obsSize + features.length };
}
