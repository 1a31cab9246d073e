/**
 * The one place metarl loads Rapier. `@dimforge/rapier3d-simd-compat` 0.20 is the
 * fastest build that passes the determinism test (bench/physics.bench.ts measures it
 * against `-compat`); both are the same engine and API. `METARL_RAPIER_BUILD=compat`
 * picks the plain build instead (for that benchmark, or a CPU without WASM SIMD).
 *
 * The top-level `await` initialises the WASM module once per thread, so every other
 * module can build worlds synchronously (`makeEnv` stays synchronous).
 *
 * Types: use `RAPIER.World` etc. as values and `R.World` (`import type { R }`) as types.
 */
import type SimdModule from '@dimforge/rapier3d-simd-compat';

export type * as R from '@dimforge/rapier3d-simd-compat';

/** Which build this thread loaded: 'simd' (default) or 'compat'. */
export const RAPIER_BUILD: 'simd' | 'compat' = process.env.METARL_RAPIER_BUILD === 'compat' ? 'compat' : 'simd';

const RAPIER = (
  RAPIER_BUILD === 'compat' ? (await import('@dimforge/rapier3d-compat')).default : (await import('@dimforge/rapier3d-simd-compat')).default
) as typeof SimdModule;

/**
 * Rapier's compat build keeps its `WebAssembly.Memory` private. We catch it while the
 * module instantiates, so tests and benches can check that disposed worlds give their
 * memory back (WASM memory never shrinks, but a freed world's pages are reused).
 *
 * The list lives on `globalThis`: a test runner may load this module twice (a static
 * import and a family's `import(fileUrl)` can resolve to two module instances, each
 * with its own Rapier), and the count must cover every copy in the thread.
 */
const MEMORIES = Symbol.for('metarl.rapier.memories');
const registry = globalThis as unknown as Record<symbol, WebAssembly.Memory[] | undefined>;
const memories: WebAssembly.Memory[] = (registry[MEMORIES] ??= []);
let memory: WebAssembly.Memory | null = null;

async function initCapturingMemory(init: () => Promise<void>): Promise<void> {
  const original = WebAssembly.instantiate;
  const capture = (async (...args: Parameters<typeof WebAssembly.instantiate>) => {
    const result = (await (original as (...a: unknown[]) => Promise<unknown>)(...args)) as
      | WebAssembly.WebAssemblyInstantiatedSource
      | WebAssembly.Instance;
    const instance = 'instance' in result ? result.instance : result;
    const mem = instance.exports.memory;
    // Other modules may instantiate WASM while we wait (a test runner's parser, say):
    // keep only the instance that exports Rapier's own entry points.
    const isRapier = typeof instance.exports.reserve_memory === 'function' && typeof instance.exports.rawrigidbodyset_new === 'function';
    if (isRapier && mem instanceof WebAssembly.Memory && memory === null) {
      memory = mem;
      memories.push(mem);
    }
    return result;
  }) as typeof WebAssembly.instantiate;
  WebAssembly.instantiate = capture;
  try {
    await init();
  } finally {
    WebAssembly.instantiate = original;
  }
}

await initCapturingMemory(() => RAPIER.init());

/** Bytes of WASM linear memory that Rapier holds in this thread now, over every loaded copy (0 if none was found). */
export function wasmMemoryBytes(): number {
  let bytes = 0;
  for (const m of memories) bytes += m.buffer.byteLength;
  return bytes;
}

/** How many Rapier module instances this thread has loaded (more than 1 wastes memory; see above). */
export function rapierInstanceCount(): number {
  return memories.length;
}

export { RAPIER };
export default RAPIER;
