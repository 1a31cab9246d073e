/**
 * Bounded waits on Redis. ioredis holds commands while it reconnects (forever, as BullMQ
 * needs), so every wait of metarl's own has a deadline and ends in an error that names the
 * server.
 *
 * @internal
 */
import type { Redis } from 'ioredis';
import { MetarlError } from '../../core/errors.js';
import { redact } from './url.js';

export function unreachable(url: string, seconds: number, cause?: unknown): MetarlError {
  return new MetarlError(
    'METARL_QUEUE_UNREACHABLE',
    `the queue's Redis server at ${redact(url)} did not answer for ${seconds} s: check that it runs and that this machine can reach it (host, port, password, rediss:// for TLS)`,
    { url: redact(url) },
    { cause },
  );
}

/** Resolves with `promise`, or rejects with `onTimeout()` after `ms`. */
export function bounded<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until the connection answers a PING, up to `timeoutMs`. */
export async function waitForRedis(redis: Redis, url: string, timeoutMs: number): Promise<void> {
  await bounded(redis.ping(), timeoutMs, () => unreachable(url, Math.round(timeoutMs / 1000)));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
