import type { z } from 'zod';
import { MetarlError } from '../core/errors.js';

/**
 * Parses a family's options with its zod schema; on failure throws
 * `METARL_CONFIG_INVALID` listing every issue with its dotted path.
 */
export function parseFamilyOptions<S extends z.ZodType>(family: string, schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(options)'}: ${i.message}`);
  throw new MetarlError('METARL_CONFIG_INVALID', `options of env '${family}' are invalid:\n${issues.join('\n')}`, { env: family, issues: parsed.error.issues });
}
