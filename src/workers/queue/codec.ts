/**
 * Requests as bytes in Redis. `node:v8` serialization keeps typed arrays exact (a Float32
 * round trip changes no bit), and a large typed array (weights, a CG direction) is stored
 * once under the SHA-256 of its bytes: the same θ sent to every lane, or again in a replay,
 * crosses the network once, and each worker keeps the last ones it fetched.
 *
 * @internal
 */
import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { Redis } from 'ioredis';
import { MetarlError } from '../../core/errors.js';
import { keys } from './connection.js';
import type { BlobRef } from './protocol.js';

/** Typed arrays at least this large go to a blob; smaller ones ride in the job. */
const BLOB_MIN_BYTES = 2048;
/** Blobs outlive any iteration by far; a learner that stops leaves nothing behind for long. */
export const BLOB_TTL_MS = 3_600_000;
/** How many fetched blobs a worker keeps (a few policy versions and CG directions). */
const WORKER_CACHE = 64;

type TypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;
const TYPES: Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => TypedArray> = {
  Float32Array, Float64Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Int8Array, Uint8Array,
};

function isBlobRef(value: unknown): value is BlobRef {
  return typeof value === 'object' && value !== null && typeof (value as BlobRef).$blob === 'string';
}

/** Copies `value`, replacing each part that `swap` answers for; plain data only (what shard requests are). */
function mapDeep(value: unknown, swap: (v: unknown) => unknown): unknown {
  const swapped = swap(value);
  if (swapped !== undefined) return swapped;
  if (Array.isArray(value)) return value.map((v) => mapDeep(v, swap));
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapDeep(v, swap)]));
  }
  return value;
}

/** The learner's side: bytes out, counting what it sends. */
export class RequestEncoder {
  /** Blobs this learner has stored, with when: stored again once half their life has passed. */
  private stored = new Map<string, number>();
  bytesSent = 0;

  constructor(private readonly redis: Redis) {}

  /** Forget what was stored (Redis restarted empty): the next encode stores its blobs again. */
  forget(): void {
    this.stored.clear();
  }

  async encode(value: unknown): Promise<Buffer> {
    const uploads: Array<[string, Buffer]> = [];
    const now = Date.now();
    const out = mapDeep(value, (v) => {
      if (!ArrayBuffer.isView(v) || v instanceof DataView || v.byteLength < BLOB_MIN_BYTES) return undefined;
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      const type = v.constructor.name;
      const hash = createHash('sha256').update(type).update(bytes).digest('hex');
      const at = this.stored.get(hash);
      if (at === undefined || now - at > BLOB_TTL_MS / 2) {
        uploads.push([hash, bytes]);
        this.stored.set(hash, now);
      }
      return { $blob: hash, type } satisfies BlobRef;
    });
    // Every CG direction is a new blob: forget the expired ones, so a long run's memory stays flat.
    if (this.stored.size > 4096) for (const [hash, at] of this.stored) if (now - at > BLOB_TTL_MS / 2) this.stored.delete(hash);
    if (uploads.length > 0) {
      const multi = this.redis.multi();
      for (const [hash, bytes] of uploads) multi.set(keys.blob(hash), bytes, 'PX', BLOB_TTL_MS);
      await multi.exec();
      this.bytesSent += uploads.reduce((n, [, b]) => n + b.length, 0);
    }
    const body = serialize(out);
    this.bytesSent += body.length;
    return body;
  }
}

/** Thrown by a worker whose blob is gone (it expired, or Redis restarted empty): the learner stores it again and resends. */
export function isBlobMissing(details: Readonly<Record<string, unknown>>): boolean {
  return details.reason === 'blob-missing';
}

/** The worker's side: bytes in, blobs fetched once and kept. */
export class RequestDecoder {
  /** Raw bytes by hash, oldest first. */
  private cache = new Map<string, Uint8Array>();

  constructor(private readonly redis: Redis) {}

  async decode(body: Buffer): Promise<unknown> {
    const value = deserialize(body) as unknown;
    const wanted = new Set<string>();
    mapDeep(value, (v) => (isBlobRef(v) ? (wanted.add(v.$blob), v) : undefined));
    const missing = [...wanted].filter((h) => !this.cache.has(h));
    if (missing.length > 0) {
      const fetched = await this.redis.mgetBuffer(...missing.map(keys.blob));
      missing.forEach((hash, i) => {
        const bytes = fetched[i];
        if (!bytes) throw new MetarlError('METARL_PROTOCOL', `blob ${hash.slice(0, 12)}… of a request is not in Redis (expired, or the server restarted empty)`, { reason: 'blob-missing', hash });
        this.remember(hash, bytes);
      });
    }
    return mapDeep(value, (v) => {
      if (!isBlobRef(v)) return undefined;
      const Type = TYPES[v.type];
      if (!Type) throw new MetarlError('METARL_PROTOCOL', `a request holds a blob of unknown type ${v.type}`);
      // A fresh copy per use: a shard may keep the array it is given.
      const bytes = this.cache.get(v.$blob)!.slice();
      return new Type(bytes.buffer as ArrayBuffer, 0, bytes.byteLength / (Type as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
    });
  }

  private remember(hash: string, bytes: Buffer): void {
    this.cache.set(hash, new Uint8Array(bytes));
    if (this.cache.size > WORKER_CACHE) this.cache.delete(this.cache.keys().next().value!);
  }
}
