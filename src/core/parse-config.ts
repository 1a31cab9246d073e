import type { z } from 'zod';
import { MetarlError } from './errors.js';

/** Parses with a schema; every issue is reported with its dotted path. */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(root)';
    return `  - ${path}: ${issue.message}`;
  });
  throw new MetarlError('METARL_CONFIG_INVALID', `invalid ${what}:\n${issues.join('\n')}`, {
    issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}
