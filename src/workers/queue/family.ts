/**
 * A family crosses the queue as a name or a path, never as code: a worker runs only
 * families it can load from its own disk (its built-ins, or the same file at the same path).
 *
 * @internal
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtinFamilies } from '../../../envs/index.js';
import { MetarlError } from '../../core/errors.js';
import type { FamilyRef } from '../../core/registry.js';
import type { WireFamily } from './protocol.js';

/** The learner's side: a built-in by name; a file by its path and the hash of its bytes. */
export function wireFamily(ref: FamilyRef): WireFamily {
  const builtin = builtinFamilies.names().includes(ref.name) && builtinFamilies.ref(ref.name).module === ref.module;
  if (builtin) return { name: ref.name, builtin: true };
  const file = fileURLToPath(ref.module);
  return { name: ref.name, file, sha256: sha256(file) };
}

/** The worker's side: the local ref of the same family, or a refusal that says what to copy where. */
export function localFamily(wire: WireFamily, worker: string): FamilyRef {
  if ('builtin' in wire) {
    if (!builtinFamilies.names().includes(wire.name)) {
      throw new MetarlError('METARL_UNKNOWN_ENV', `${worker} has no built-in env '${wire.name}': run the learner's metarl version there`, { env: wire.name });
    }
    return builtinFamilies.ref(wire.name);
  }
  if (!existsSync(wire.file)) {
    throw new MetarlError(
      'METARL_FILE_MISSING',
      `${worker} cannot load env '${wire.name}': the file ${wire.file} does not exist on that machine. Copy it (and what it imports) to the same path there; workers never run code sent through the queue`,
      { env: wire.name, file: wire.file },
    );
  }
  if (sha256(wire.file) !== wire.sha256) {
    throw new MetarlError(
      'METARL_SPEC_MISMATCH',
      `${worker} has a different ${wire.file} than the learner (SHA-256 differs): copy the learner's file there, so that every shard runs the same env`,
      { env: wire.name, file: wire.file },
    );
  }
  return { name: wire.name, module: pathToFileURL(wire.file).href };
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
