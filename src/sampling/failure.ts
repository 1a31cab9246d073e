/**
 * The errors a sampling job raises from inside an env, with the context a user
 * needs to reproduce them (family, task, slot, episode, step), and their round
 * trip through `postMessage`.
 *
 * @internal
 */
import { MetarlError, isMetarlError } from '../core/errors.js';
import type { Task } from '../core/types.js';
import type { EnvCall } from './layout.js';
import type { SerializedError } from './messages.js';

/** Where in a job an env call happened. `step` is the step within the episode (−1 before the first). */
export interface EnvCallSite {
  family: string;
  task: Task;
  slot: number;
  episode: number;
  step: number;
  call: EnvCall;
}

function where(site: EnvCallSite): string {
  const at = site.step < 0 ? 'before its first step' : `at step ${site.step}`;
  return `slot ${site.slot}, episode ${site.episode}, ${at} (task ${JSON.stringify(site.task)})`;
}

function siteDetails(site: EnvCallSite): Record<string, unknown> {
  return { family: site.family, task: site.task, slot: site.slot, episode: site.episode, step: site.step, call: site.call };
}

/** An exception thrown by the env's own code, wrapped with where it happened. */
export function envFailed(site: EnvCallSite, err: unknown): MetarlError {
  const original = err instanceof Error ? err.message : String(err);
  return new MetarlError(
    'METARL_ENV_FAILED',
    `env '${site.family}' threw in ${site.call}() at ${where(site)}: ${original}`,
    { ...siteDetails(site), original, originalStack: err instanceof Error ? err.stack : undefined },
    { cause: err },
  );
}

/** A NaN or infinite observation or reward returned by an env. */
export function nonFinite(site: EnvCallSite, what: string, value: number): MetarlError {
  return new MetarlError(
    'METARL_NON_FINITE',
    `env '${site.family}' returned a non-finite ${what} (${value}) from ${site.call}() at ${where(site)}: ` +
      'the simulation blew up or a reward term divides by zero; check the family\'s dynamics and reward',
    { ...siteDetails(site), what, value: String(value) },
  );
}

/** An observation of the wrong length: the env breaks its own spec. */
export function obsMismatch(site: EnvCallSite, got: number, want: number): MetarlError {
  return new MetarlError(
    'METARL_SPEC_MISMATCH',
    `env '${site.family}' returned an observation of length ${got} from ${site.call}() at ${where(site)}, but its spec says obsSize ${want}`,
    { ...siteDetails(site), got, want },
  );
}

/**
 * An env call that a worker was still inside after the timeout; the worker has been
 * stopped, and with it the sampler. (The inline watchdog in `watchdog.ts` repeats the
 * first sentence.)
 */
export function stepTimedOut(site: EnvCallSite, timeoutMs: number, worker: number, kind: 'sampler' | 'task' = 'sampler'): MetarlError {
  const owner = kind === 'sampler' ? 'sampler' : 'task pool';
  return new MetarlError(
    'METARL_STEP_TIMEOUT',
    `env '${site.family}' did not return from ${site.call}() within ${timeoutMs / 1000} s at ${where(site)} on ${kind} worker ${worker}, ` +
      'which was stopped. Look for an endless loop or a blocking wait in the env, or raise the step timeout (--step-timeout <seconds>, ' +
      `createSampler's stepTimeoutMs) if its calls are really this slow. The ${owner} cannot go on: close() it and create a new one`,
    { ...siteDetails(site), worker, timeoutMs },
  );
}

export function serializeError(err: unknown): SerializedError {
  if (isMetarlError(err)) return { code: err.code, message: err.message, details: { ...err.details }, stack: err.stack };
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: 'METARL_ENV_FAILED', message: e.message, details: {}, stack: e.stack };
}

export function deserializeError(s: SerializedError): MetarlError {
  const err = new MetarlError(s.code, s.message, s.details);
  if (s.stack) err.stack = `${err.name}: ${s.message}\n    [in sampler worker]\n${s.stack.split('\n').slice(1).join('\n')}`;
  return err;
}
