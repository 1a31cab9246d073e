import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinFamilies } from '../../envs/index.js';
import { MetarlError } from '../core/errors.js';
import { loadFamily, type FamilyRef } from '../core/registry.js';
import type { TaskFamily } from '../core/types.js';

const FILE_PATTERN = /\.(m?[jt]s|cjs|cts)$/;

/** A built-in family name, or a path to a module whose default export is a family. */
export function familyRef(env: string): FamilyRef {
  if (!FILE_PATTERN.test(env) && !env.includes('/')) return builtinFamilies.ref(env);
  const path = resolve(env);
  if (!existsSync(path)) {
    throw new MetarlError('METARL_UNKNOWN_ENV', `env file '${env}' does not exist (resolved to ${path})`, { env });
  }
  return { name: env, module: pathToFileURL(path).href };
}

let tsxRegistered = false;

/** Loads the family on this thread; TypeScript files are transpiled on load by tsx. */
export async function resolveFamily(env: string): Promise<{ ref: FamilyRef; family: TaskFamily }> {
  const ref = familyRef(env);
  if (/\.[mc]?ts$/.test(ref.module) && !tsxRegistered && !import.meta.url.endsWith('.ts')) {
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  }
  return { ref, family: await loadFamily(ref) };
}
