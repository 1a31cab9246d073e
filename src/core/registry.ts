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
    family = importFamily(ref);
    loaded.set(ref.module, family);
    family.catch(() => loaded.delete(ref.module));
  }
  return family;
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
