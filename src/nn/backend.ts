/**
 * Backend selection: `--backend auto|tensorflow|webgpu|wasm|cpu`.
 *
 * tfjs has one active backend per process. Every other module reads tensors with
 * `await t.data()`, never `dataSync()`, because WebGPU cannot read GPU memory synchronously.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MetarlError, listChoices } from '../core/errors.js';
import { tf } from './tf.js';
import { installWasmKernels } from './wasm-kernels.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  /** The tfjs backend now active. */
  name: BackendName;
  /** Why this backend: the user asked for it, or what `auto` found. */
  reason: string;
  /** The device, where one is known (GPU adapter description). */
  device?: string;
}

export interface InitBackendOptions {
  /** Where `auto` reports its choice; default `console.error`. Pass `() => {}` to silence. */
  log?: (line: string) => void;
}

const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const requireHere = createRequire(import.meta.url);

/**
 * Makes `choice` the active tfjs backend and says which it is and why.
 * `auto`: tfjs-node-gpu if it loads, else WebGPU on a real (hardware) adapter, else wasm.
 * Throws METARL_UNKNOWN_BACKEND for a name not in BACKEND_CHOICES and
 * METARL_BACKEND_UNAVAILABLE when an explicitly requested backend cannot start.
 */
export async function initBackend(choice: string, options: InitBackendOptions = {}): Promise<BackendInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new MetarlError('METARL_UNKNOWN_BACKEND', `unknown backend '${choice}': choose ${listChoices(BACKEND_CHOICES)}`, {
      backend: choice,
      known: [...BACKEND_CHOICES],
    });
  }
  let info: BackendInfo;
  switch (choice as BackendChoice) {
    case 'tensorflow':
      info = await useTensorflow('requested');
      break;
    case 'webgpu': {
      const device = await useWebGpu();
      info = { name: 'webgpu', reason: 'requested', device: device.description };
      break;
    }
    case 'wasm':
      info = await useWasm('requested');
      break;
    case 'cpu':
      info = await useCpu('requested');
      break;
    case 'auto':
      info = await chooseAuto();
      options.log?.(`backend: ${info.name}${info.device ? ` (${info.device})` : ''}: ${info.reason}`);
      break;
  }
  return info;
}

async function chooseAuto(): Promise<BackendInfo> {
  const notes: string[] = [];
  try {
    return await useTensorflow(`auto: ${TFJS_NODE_GPU} loaded`);
  } catch (err) {
    const missing = /Cannot find (package|module)/.test(String((err as Error).cause ?? err));
    notes.push(missing ? `${TFJS_NODE_GPU} not installed` : `${TFJS_NODE_GPU} failed to load`);
  }
  if (!mayHaveGpu()) return useWasm(`auto: ${notes.join('; ')}; no GPU device (/dev/dri/renderD*, /dev/nvidia*), so the CPU (SIMD)`);
  const adapter = await probeWebGpu().catch((err: unknown) => {
    notes.push(`WebGPU not usable (${firstLine(err)})`);
    return null;
  });
  if (adapter && !adapter.software) {
    try {
      await useWebGpu();
      return { name: 'webgpu', reason: `auto: ${notes.join('; ')}; WebGPU found a hardware adapter`, device: adapter.description };
    } catch (err) {
      notes.push(`WebGPU adapter ${adapter.description} failed to start (${firstLine(err)})`);
    }
  } else if (adapter) {
    notes.push(`the only WebGPU adapter is software (${adapter.description.split(':')[0]})`);
  }
  return useWasm(`auto: ${notes.join('; ')}, so the CPU (SIMD)`);
}

async function useTensorflow(reason: string): Promise<BackendInfo> {
  try {
    // A variable specifier keeps bundlers and tsc from resolving the optional package.
    const name = TFJS_NODE_GPU;
    await import(name);
  } catch (err) {
    throw new MetarlError(
      'METARL_BACKEND_UNAVAILABLE',
      `backend 'tensorflow' needs the optional package ${TFJS_NODE_GPU}, which could not be loaded (${firstLine(err)}). ` +
        `It needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1, and \`npm install ${TFJS_NODE_GPU}\` (which downloads libtensorflow). ` +
        `Otherwise use --backend webgpu (any modern GPU, no CUDA) or wasm (CPU).`,
      { backend: 'tensorflow' },
      { cause: err },
    );
  }
  await activate('tensorflow');
  return { name: 'tensorflow', reason };
}

async function useWasm(reason: string): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Point at the .wasm files inside node_modules: without this tfjs would fetch them from a CDN.
  const dir = path.dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dir + path.sep);
  await activate('wasm');
  // After activation: the kernels replaced call the originals, which the backend's start set up.
  installWasmKernels();
  return { name: 'wasm', reason };
}

async function useCpu(reason: string): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  await activate('cpu');
  return { name: 'cpu', reason };
}

export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  description: string;
  /** True for software rasterisers (Mesa llvmpipe, SwiftShader): correct but slower than wasm. */
  software: boolean;
}

/**
 * On Linux a GPU shows up as a device node; without one, Dawn could only offer a
 * software adapter (and prints warnings while finding that out), so auto skips it.
 */
function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  const has = (dir: string, pattern: RegExp) => {
    try {
      return readdirSync(dir).some((name) => pattern.test(name));
    } catch {
      return false;
    }
  };
  return has('/dev/dri', /^renderD\d+$/) || has('/dev', /^nvidia\d+$/);
}

/** Installs Dawn's WebGPU as `navigator.gpu` (once) and describes the adapter it offers, or null if none. */
export async function probeWebGpu(): Promise<WebGpuAdapter | null> {
  const gpu = await installDawn();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const description = info.description || `${info.vendor} ${info.device}`.trim() || 'unknown adapter';
  const software =
    info.isFallbackAdapter === true ||
    info.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(`${description} ${info.device}`);
  return { vendor: info.vendor, architecture: info.architecture, description, software };
}

async function useWebGpu(): Promise<WebGpuAdapter> {
  let adapter: WebGpuAdapter | null;
  try {
    adapter = await probeWebGpu();
  } catch (err) {
    throw webGpuUnavailable(firstLine(err), err);
  }
  if (!adapter) throw webGpuUnavailable('Dawn found no WebGPU adapter');
  // The tfjs backend registers itself at import time, and only if navigator.gpu exists.
  await import('@tensorflow/tfjs-backend-webgpu');
  await activate('webgpu');
  chunkWebGpuAddN();
  return adapter;
}

let addNChunked = false;

/**
 * tfjs-webgpu 4.22 compiles tf.addN(xs) into one shader with a storage buffer per input, but
 * WebGPU allows only `maxStorageBuffersPerShaderStage` (8 by default, and tfjs asks for no
 * more). With 8+ inputs the pipeline is invalid and the result is silently wrong (seen with a
 * 20-task MAML loss). Its concat kernel chunks its inputs; this makes AddN do the same.
 */
function chunkWebGpuAddN(): void {
  const original = tf.getKernel('AddN', 'webgpu');
  if (addNChunked || !original) return;
  addNChunked = true;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const limits = (backend as unknown as { device: GPUDevice }).device.limits;
      const maxInputs = Math.max(2, limits.maxStorageBuffersPerShaderStage - 1); // one buffer is the output
      let xs = inputs as unknown as tf.TensorInfo[];
      const partials: tf.TensorInfo[] = [];
      while (xs.length > maxInputs) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < xs.length; i += maxInputs) {
          const chunk = xs.slice(i, i + maxInputs);
          if (chunk.length === 1) {
            next.push(chunk[0]);
            continue;
          }
          const sum = original.kernelFunc({ inputs: chunk as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
          partials.push(sum);
          next.push(sum);
        }
        xs = next;
      }
      const out = original.kernelFunc({ inputs: xs as unknown as tf.NamedTensorInfoMap, backend, attrs });
      for (const p of partials) (backend as tf.KernelBackend).disposeData(p.dataId);
      return out;
    },
  });
}

function webGpuUnavailable(why: string, cause?: unknown): MetarlError {
  return new MetarlError(
    'METARL_BACKEND_UNAVAILABLE',
    `backend 'webgpu' could not start: ${why}. It needs a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver; ` +
      `on a CPU-only Linux machine install Mesa's llvmpipe Vulkan driver (mesa-vulkan-drivers, Mesa 25 or newer), or use --backend wasm.`,
    { backend: 'webgpu' },
    cause === undefined ? undefined : { cause },
  );
}

let dawn: GPU | null = null;

async function installDawn(): Promise<GPU> {
  if (dawn) return dawn;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator === undefined) g.navigator = { gpu };
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  dawn = g.navigator.gpu ?? gpu;
  return dawn;
}

/**
 * Lets go of the GPU before the process ends: waits for submitted work, frees tfjs's WebGPU
 * buffers, destroys the device and drops the last reference to Dawn's instance. Left to process
 * teardown, Dawn's native destructors race Node's (its README: the instance lives, with threads
 * of its own, while anything references it), and a process that printed its last line could
 * still end in a segmentation fault. A no-op when WebGPU was never started.
 */
export async function releaseBackend(): Promise<void> {
  if (!dawn) return;
  const backend = tf.findBackend('webgpu') as (tf.KernelBackend & { device?: GPUDevice }) | null;
  if (backend?.device) {
    await backend.device.queue.onSubmittedWorkDone();
    tf.removeBackend('webgpu');
    backend.device.destroy();
  }
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu === dawn) delete g.navigator.gpu;
  dawn = null;
}

async function activate(name: BackendName): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new MetarlError('METARL_BACKEND_UNAVAILABLE', `backend '${name}' failed to start: ${firstLine(err)}`, { backend: name }, { cause: err });
  }
  if (!ok || tf.getBackend() !== name) {
    throw new MetarlError('METARL_BACKEND_UNAVAILABLE', `backend '${name}' failed to initialise (tf.setBackend returned false); try --backend wasm`, {
      backend: name,
    });
  }
  await tf.ready();
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].slice(0, 200);
}
