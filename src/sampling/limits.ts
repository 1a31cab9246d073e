/**
 * How much a sampler may take: the default step timeout, the memory a job's buffers may
 * need (checked before they are allocated), and the memory each worker's envs may hold.
 *
 * A worker's JS heap is capped by V8 (`resourceLimits.maxOldGenerationSizeMb`; the worker
 * is stopped with ERR_WORKER_OUT_OF_MEMORY). Typed arrays live outside that heap and V8
 * never stops a thread for them, so a worker also measures its own ArrayBuffer memory as
 * it steps. WebAssembly memory (a Rapier world) is counted by neither.
 *
 * @internal
 */
import { totalmem } from 'node:os';
import { MetarlError } from '../core/errors.js';
import { jobBytes } from './layout.js';
import type { JobShape } from './layout.js';

export const DEFAULT_STEP_TIMEOUT_MS = 60_000;

const MB = 2 ** 20;

/** The memory this process can have: the machine's, or its cgroup's limit (a container) when lower. */
export function memoryBytes(): number {
  const constrained = process.constrainedMemory() ?? 0;
  const total = totalmem();
  return constrained > 0 && constrained < total ? constrained : total;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GB`;
  return `${Math.ceil(bytes / MB)} MB`;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * Refuses a job whose buffers would take more than half of `memoryBytes()`: the learner
 * copies the batch at least once more (into tensors), so a larger one cannot fit, and
 * finding out by swapping or by the kernel's OOM killer comes much later and says nothing.
 */
export function assertJobFits(shape: JobShape, subject: string, fix: string): void {
  const bytes = jobBytes(shape);
  const memory = memoryBytes();
  const limit = memory / 2;
  if (bytes <= limit) return;
  throw new MetarlError(
    'METARL_RESOURCE_LIMIT',
    `${subject} (${count(shape.slots, 'slot')} × ${count(shape.episodes, 'episode')} × ${count(shape.horizon, 'step')}, obs ${shape.obsSize} + act ${shape.actSize} floats a step) ` +
      `needs ${formatBytes(bytes)} for its rollouts, more than the ${formatBytes(limit)} allowed (half of this machine's ${formatBytes(memory)}): ${fix}`,
    { ...shape, bytes, limit },
  );
}

/** One worker's share of half the memory, between 256 MB and 4 GB: every worker runs the same env, so one that leaks leaks in all of them at once. */
export function defaultWorkerMemoryMb(workers: number): number {
  return Math.round(Math.min(4096, Math.max(256, memoryBytes() / 2 / Math.max(1, workers) / MB)));
}

const RAISE = "if the env really needs more, raise the limit (--worker-memory-mb <MB>, createSampler's workerMemoryMb)";

/** V8 stopped a worker at its heap limit. */
export function heapLimitReached(family: string, worker: number, limitMb: number, cause: unknown, kind: 'sampler' | 'task' = 'sampler'): MetarlError {
  return new MetarlError(
    'METARL_RESOURCE_LIMIT',
    `env '${family}' filled the ${limitMb} MB JS heap of ${kind} worker ${worker}, which was stopped: an env that keeps objects from every step ` +
      `grows without bound (keep what it needs, reuse the rest); ${RAISE}. The ${kind === 'sampler' ? 'sampler' : 'task pool'} cannot go on: close() it and create a new one`,
    { family, worker, limitMb },
    { cause },
  );
}

const CHECK_EVERY_MS = 10;

/**
 * Measures the worker's ArrayBuffer memory after a step, at most every `CHECK_EVERY_MS`
 * (a measurement costs tens of µs; a slot's step can cost less than one).
 */
export class ArrayBufferGuard {
  private nextCheck = 0;

  constructor(
    private readonly limitMb: number,
    private readonly family: string,
    private readonly worker: number,
  ) {}

  /** Throws METARL_RESOURCE_LIMIT once the worker's typed arrays outgrow the limit. */
  check(slotBegin: number, slotEnd: number): void {
    const now = performance.now();
    if (now < this.nextCheck) return;
    this.nextCheck = now + CHECK_EVERY_MS;
    const bytes = process.memoryUsage().arrayBuffers;
    if (bytes <= this.limitMb * MB) return;
    throw new MetarlError(
      'METARL_RESOURCE_LIMIT',
      `env '${this.family}' holds ${formatBytes(bytes)} of typed arrays on sampler worker ${this.worker} (slots ${slotBegin}–${slotEnd - 1}), over its ${this.limitMb} MB limit: ` +
        `an env that makes a new typed array every step and keeps it grows without bound (write into arrays made once); ${RAISE}`,
      { family: this.family, worker: this.worker, slotBegin, slotEnd, bytes, limitMb: this.limitMb },
    );
  }
}
