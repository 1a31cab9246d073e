import { MetarlError } from './errors.js';
import type { Task, TaskFamily } from './types.js';

/** Marks objects made by `defineTaskFamily`; a global symbol, so two copies of metarl agree. */
export const TASK_FAMILY_BRAND = Symbol.for('metarl.taskFamily');

/**
 * Declares a task family: the one default export of an env file.
 * Checks the definition's shape at once, so a mistake is reported at load time
 * with the family's name and the field at fault, never mid-training.
 */
export function defineTaskFamily<T extends Task>(family: TaskFamily<T>): TaskFamily<T> {
  const name = typeof family?.name === 'string' && family.name ? family.name : '<unnamed>';
  const fail = (field: string, why: string): never => {
    throw new MetarlError('METARL_FAMILY_INVALID', `task family '${name}': ${field} ${why}`, { family: name, field });
  };
  if (name === '<unnamed>') fail('name', 'must be a non-empty string');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) fail('name', 'must be kebab-case (lowercase letters, digits, dashes)');
  if (typeof family.description !== 'string') fail('description', 'must be a string');
  if (typeof family.sampleTasks !== 'function') fail('sampleTasks', 'must be a function (rng, n) => Task[]');
  if (typeof family.makeEnv !== 'function') fail('makeEnv', 'must be a function (task) => Env');
  const spec = family.spec;
  if (!spec || typeof spec !== 'object') fail('spec', 'must be an object { obsSize, actSize, actLow, actHigh, horizon, dt, bodyCount }');
  for (const key of ['obsSize', 'actSize', 'horizon', 'bodyCount'] as const) {
    if (!Number.isInteger(spec[key]) || spec[key] < (key === 'bodyCount' ? 0 : 1)) fail(`spec.${key}`, `must be a positive integer, got ${String(spec[key])}`);
  }
  if (!(spec.dt > 0)) fail('spec.dt', `must be a positive number of seconds, got ${String(spec.dt)}`);
  for (const key of ['actLow', 'actHigh'] as const) {
    if (!(spec[key] instanceof Float32Array) || spec[key].length !== spec.actSize) {
      fail(`spec.${key}`, `must be a Float32Array of length actSize (${spec.actSize})`);
    }
  }
  for (let i = 0; i < spec.actSize; i++) {
    if (!(spec.actLow[i] < spec.actHigh[i])) fail('spec.actLow/actHigh', `must satisfy actLow[${i}] < actHigh[${i}]`);
  }
  Object.defineProperty(family, TASK_FAMILY_BRAND, { value: true, enumerable: false });
  return Object.freeze(family);
}

export function isTaskFamily(value: unknown): value is TaskFamily {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TASK_FAMILY_BRAND] === true;
}
