import { register } from 'node:module';
import { MetarlError, listChoices } from './errors.js';
import { isTaskFamily } from './define.js';
import type { TaskFamily } from './types.js';

/**
 * Where a family lives: a module whose default export is the family. A ref is plain
 * data, so a worker thread (or another machine) can load the same family.
 */
export interface FamilyRef {
  name: string;
  /** A `file:` URL of the module. */
  module: string;
}

/** Name → module of the families a registry knows; built-ins are registered by `envs/index.ts`. */
export class FamilyRegistry {
  private readonly modules = new Map<string, string>();

  register(name: string, module: string): void {
    this.modules.set(name, module);
  }

  names(): string[] {
    return [...this.modules.keys()].sort();
  }

  ref(name: string): FamilyRef {
    const module = this.modules.get(name);
    if (!module) {
      throw new MetarlError(
        'METARL_UNKNOWN_ENV',
        `unknown env '${name}': choose one of ${listChoices(this.names())}, or give the path of a file that default-exports defineTaskFamily({...})`,
        { env: name, known: this.names() },
      );
    }
    return { name, module };
  }
}

const loaded = new Map<string, Promise<TaskFamily>>();

/** Imports the family a ref names (once per module per thread) and checks what it found. */
export function loadFamily(ref: FamilyRef): Promise<TaskFamily> {
  let family = loaded.get(ref.module);
  if (!family) {
    if (isTypeScript(ref.module)) loadTypeScriptAsEsm();
    family = importFamily(ref);
    loaded.set(ref.module, family);
    family.catch(() => loaded.delete(ref.module));
  }
  return family;
}

/**
 * A resolve hook: a `.ts` file outside node_modules is an ES module, whatever the
 * nearest package.json says. tsx otherwise takes a `.ts` file in a folder without
 * `"type": "module"` for CommonJS, and Node then fails with "Cannot require() ES
 * Module … in a cycle", or, where the file imports metarl, on metarl's top-level
 * await. Family files and their helpers are written with import/export, so ESM is what
 * they mean. tsx marks a CommonJS `.ts` file's URL with a query (in the path, as
 * `%3F…`, or in the search), so the plain file URL is given back: one URL per file,
 * one module instance. Written as JavaScript: Node runs hooks on its own loader
 * thread, where nothing transpiles.
 */
const TS_AS_ESM_HOOK = `import { pathToFileURL } from 'node:url';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (!resolved.url.startsWith('file:') || (resolved.format && resolved.format !== 'commonjs')) return resolved;
  const path = decodeURIComponent(new URL(resolved.url).pathname).split('?')[0];
  if (!path.endsWith('.ts') || path.includes('/node_modules/')) return resolved;
  return { url: pathToFileURL(path).href, format: 'module' };
}`;

let tsAsEsm = false;

/**
 * Hooks are per thread, so every thread that loads a TypeScript family (the main
 * thread and each sampler worker) registers this once. It works on either side of
 * tsx's hooks: after them (the usual order) it overrules tsx's answer; before them,
 * tsx keeps the format it is given.
 */
function loadTypeScriptAsEsm(): void {
  if (tsAsEsm) return;
  register(`data:text/javascript,${encodeURIComponent(TS_AS_ESM_HOOK)}`);
  tsAsEsm = true;
}

function isTypeScript(module: string): boolean {
  return module.startsWith('file:') && new URL(module).pathname.endsWith('.ts');
}

async function importFamily(ref: FamilyRef): Promise<TaskFamily> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ref.module)) as Record<string, unknown>;
  } catch (err) {
    throw new MetarlError('METARL_FAMILY_INVALID', `could not load env '${ref.name}' from ${ref.module}: ${(err as Error).message}`, { env: ref.name }, { cause: err });
  }
  const found = mod.default;
  if (!isTaskFamily(found)) {
    const what = found === undefined ? `no default export (exports: ${Object.keys(mod).join(', ') || 'none'})` : `a default export of type ${typeof found} not made by defineTaskFamily`;
    throw new MetarlError(
      'METARL_FAMILY_INVALID',
      `env module ${ref.module} has ${what}: end the file with \`export default defineTaskFamily({ ... })\``,
      { env: ref.name },
    );
  }
  return found;
}
