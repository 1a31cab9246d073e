import { MetarlError, isMetarlError } from '../core/errors.js';

/**
 * The error of a failed shard request, with what was being done where: the request kind
 * (the stage of the algorithm), the shard's tasks and the worker. A MetarlError keeps its
 * code (an env's METARL_ENV_FAILED stays one); anything else becomes METARL_WORKER_FAILED.
 */
export function withShardContext(err: unknown, kind: string, shard: string | undefined, where: string): MetarlError {
  const context = `'${kind}'${shard ? ` of ${shard}` : ''} on ${where}`;
  if (isMetarlError(err)) {
    const wrapped = new MetarlError(err.code, `${err.message} [during ${context}]`, { ...err.details, request: kind, shard: shard ?? null }, { cause: err });
    wrapped.stack = err.stack;
    return wrapped;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new MetarlError('METARL_WORKER_FAILED', `${context} failed: ${message}`, { request: kind, shard: shard ?? null }, { cause: err });
}
