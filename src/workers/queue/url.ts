/**
 * The URL of `--queue`, checked before anything connects, and how messages show it. Kept
 * apart from the connection code: the CLI reads flags without loading BullMQ and ioredis
 * (seconds of startup that only a queue run should pay).
 *
 * @internal
 */
import { MetarlError } from '../../core/errors.js';

/**
 * The URL of `--queue`: given, or REDIS_URL when the flag has no value. redis:// or rediss://
 * (TLS), with an optional password and database: redis://:PASSWORD@HOST:PORT/DB.
 */
export function queueUrl(given: string | true): string {
  const url = given === true ? process.env.REDIS_URL : given;
  if (!url) throw new MetarlError('METARL_CONFIG_INVALID', '--queue has no URL and REDIS_URL is not set: give --queue redis://HOST:PORT[/DB] (rediss:// for TLS)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MetarlError('METARL_CONFIG_INVALID', `--queue ${redact(url)} is not a URL: give redis://HOST:PORT[/DB] (rediss:// for TLS)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new MetarlError('METARL_CONFIG_INVALID', `--queue ${redact(url)}: the scheme must be redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
  }
  return url;
}

/** The URL with its password hidden, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
