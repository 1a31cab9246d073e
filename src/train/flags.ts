import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { MetarlError } from '../core/errors.js';

/**
 * No count or size in metarl comes near this; past it, typed arrays and tfjs's int32 shapes
 * fail with a RangeError deep inside training instead of a message naming the flag.
 */
export const MAX_FLAG_NUMBER = 2 ** 31 - 1;

export function intFlag(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > MAX_FLAG_NUMBER) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${MAX_FLAG_NUMBER}, got '${value}'.`);
    return n;
  };
}

/** Rejects an infinite or absurdly large number anywhere in a hyperparameter value (`1e12`, `[1e999]`). */
export function assertSaneNumbers(value: unknown, name: string): void {
  const bad = numbersIn(value).find((n) => !Number.isFinite(n) || Math.abs(n) > MAX_FLAG_NUMBER);
  if (bad !== undefined) {
    throw new MetarlError('METARL_CONFIG_INVALID', `${name} is out of range (${bad}): hyperparameters are finite numbers no larger than ${MAX_FLAG_NUMBER}`, { option: name, value: bad });
  }
}

function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.flatMap(numbersIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(numbersIn);
  return [];
}

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Agent hyperparameters come as extra flags (`--inner-lr 0.1`, `--first-order`), named
 * after the agent schema's keys in kebab-case; an unknown one is an error that lists
 * the valid ones with their descriptions.
 */
export function parseAgentFlags(args: string[], schema: z.ZodObject, agent: string): Record<string, unknown> {
  const shape = schema.shape as Record<string, z.ZodType>;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const token = args[i];
    if (!token.startsWith('--')) {
      throw new MetarlError('METARL_CONFIG_INVALID', `unexpected argument '${token}' (agent hyperparameters are given as --name value)`, { argument: token });
    }
    const [flag, inline] = token.slice(2).split(/=(.*)/s, 2);
    const key = camel(flag);
    if (!(key in shape)) {
      const known = Object.entries(shape).map(([k, s]) => `  --${kebab(k)}  ${s.description ?? ''}`);
      throw new MetarlError('METARL_CONFIG_INVALID', `unknown option '--${flag}' for agent '${agent}'. Its hyperparameters:\n${known.join('\n')}`, { option: flag });
    }
    let raw = inline;
    if (raw === undefined) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) raw = 'true';
      else raw = args[++i];
    }
    out[key] = isArraySchema(shape[key]) && !raw.trimStart().startsWith('[') ? raw.split(',').map((part) => coerce(part.trim())) : coerce(raw);
    assertSaneNumbers(out[key], `--${flag}`);
  }
  return out;
}

/** A list hyperparameter (e.g. MAML's `hidden`), which takes `--hidden 64,64` as well as JSON `[64,64]`. */
function isArraySchema(schema: z.ZodType): boolean {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) inner = inner.unwrap() as z.ZodType;
  return inner instanceof z.ZodArray;
}

function coerce(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function describeSchema(schema: z.ZodObject, defaults: Record<string, unknown>): string {
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.entries(shape)
    .map(([k, s]) => `  --${kebab(k)} <value>  ${s.description ?? ''} (default: ${JSON.stringify(defaults[k])})`)
    .join('\n');
}
