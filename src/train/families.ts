import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtinFamilies } from '../../envs/index.js';
import { MetarlError } from '../core/errors.js';
import { loadFamily, type FamilyRef } from '../core/registry.js';
import type { TaskFamily } from '../core/types.js';

const FILE_PATTERN = /\.(m?[jt]s|cjs|cts)$/;

/** Whether `env` names a module file rather than a built-in family. */
export function isEnvFile(env: string): boolean {
  return FILE_PATTERN.test(env) || env.includes('/');
}

/** How a run records its env: a file as an absolute path, so `eval` and `view` find it from any directory. */
export function storedEnv(env: string): string {
  return isEnvFile(env) ? resolve(env) : env;
}

/** A run trained on an env file cannot be loaded without it: name the path it was stored under. */
export function assertRunEnvExists(env: string, runDir: string): void {
  if (isEnvFile(env) && !existsSync(resolve(env))) {
    throw new MetarlError(
      'METARL_FILE_MISSING',
      `run ${runDir} was trained on the env file ${env}, which no longer exists: move it back there, or set "env" in ${join(runDir, 'config.json')} to where it is now`,
      { env, runDir },
    );
  }
}

/** A built-in family name, or a path to a module whose default export is a family. */
export function familyRef(env: string): FamilyRef {
  if (!isEnvFile(env)) return builtinFamilies.ref(env);
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
