/**
 * The one place metarl loads Rapier. `@dimforge/rapier3d-simd-compat` 0.20 is the
 * fastest build that passes the determinism test (bench/physics.bench.ts measures it
 * against `-compat`); both are the same engine and API.
 *
 * The top-level `await` initialises the WASM module once per thread, so every other
 * module can build worlds synchronously (`makeEnv` stays synchronous).
 */
import RAPIER from '@dimforge/rapier3d-simd-compat';

/**
 * Rapier's compat build keeps its `WebAssembly.Memory` private. We catch it while the
 * module instantiates, so tests and benches can check that disposed worlds give their
 * memory back (WASM memory never shrinks, but a freed world's pages are reused).
 */
let memory: WebAssembly.Memory | null = null;

async function initCapturingMemory(init: () => Promise<void>): Promise<void> {
  const original = WebAssembly.instantiate;
  const capture = (async (...args: Parameters<typeof WebAssembly.instantiate>) => {
    const result = (await (original as (...a: unknown[]) => Promise<unknown>)(...args)) as
      | WebAssembly.WebAssemblyInstantiatedSource
      | WebAssembly.Instance;
    const instance = 'instance' in result ? result.instance : result;
    const mem = instance.exports.memory;
    if (mem instanceof WebAssembly.Memory && memory === null) memory = mem;
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

/** Bytes of WASM linear memory the Rapier module holds now (0 if it could not be found). */
export function wasmMemoryBytes(): number {
  return memory ? memory.buffer.byteLength : 0;
}

export { RAPIER };
export default RAPIER;
