// What crosses Redis (#9): requests keep every bit of their typed arrays, large ones go to Redis
// once however often they are sent, a missing blob says so; URLs are checked and passwords hidden.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RequestDecoder, RequestEncoder, isBlobMissing } from '../../src/workers/queue/codec.js';
import { connect } from '../../src/workers/queue/connection.js';
import { queueUrl, redact } from '../../src/workers/queue/url.js';
import { failure } from '../fixtures/rejection.js';
import { startRedis, type RedisServer } from './queue-harness.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = connect(server.url);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('request codec', () => {
  it('round-trips typed arrays bit for bit (NaN payloads, -0, subarray views), small and large, in plain data', async () => {
    const big = new Float32Array(5000).map((_, i) => Math.sin(i) * 1e-30);
    big[1] = -0;
    new Uint32Array(big.buffer)[2] = 0x7fc00abc; // a NaN with a payload
    const view = new Float32Array(big.buffer, 400, 1000);
    const request = { seed: 7, theta: big, part: view, small: new Int32Array([1, -2, 3]), tasks: [{ goal: [0.5, -1] }], name: 'x', none: null };
    const decoded = (await new RequestDecoder(redis).decode(await new RequestEncoder(redis).encode(request))) as typeof request;
    expect(decoded.theta).toBeInstanceOf(Float32Array);
    expect(Buffer.from(decoded.theta.buffer).equals(Buffer.from(big.buffer))).toBe(true);
    expect(Array.from(new Uint8Array(decoded.part.buffer, decoded.part.byteOffset, decoded.part.byteLength))).toEqual(Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)));
    expect(decoded.small).toEqual(new Int32Array([1, -2, 3]));
    expect({ ...decoded, theta: null, part: null, small: null }).toEqual({ ...request, theta: null, part: null, small: null });
  });

  it('stores a large array once, however many requests carry it', async () => {
    const encoder = new RequestEncoder(redis);
    const theta = new Float32Array(4096).fill(0.25);
    const first = await encoder.encode({ theta, lane: 0 });
    const afterFirst = encoder.bytesSent;
    const second = await encoder.encode({ theta, lane: 1 });
    expect(afterFirst).toBeGreaterThan(theta.byteLength);
    expect(encoder.bytesSent - afterFirst).toBe(second.length);
    expect(second.length).toBeLessThan(200);
    expect(first.length).toBeLessThan(200);
  });

  it('a blob gone from Redis (expired, or the server restarted empty) is a blob-missing error the learner recovers from', async () => {
    const body = await new RequestEncoder(redis).encode({ theta: new Float32Array(2048).fill(3) });
    await redis.flushdb();
    const err = await failure(new RequestDecoder(redis).decode(body));
    expect(isBlobMissing(err.details)).toBe(true);
    expect(err.message).toMatch(/not in Redis \(expired, or the server restarted empty\)/);
  });
});

describe('queue URL', () => {
  it('takes redis:// and rediss:// URLs, REDIS_URL without a value, and refuses anything else by name', () => {
    expect(queueUrl('rediss://:pw@host:6380/2')).toBe('rediss://:pw@host:6380/2');
    const saved = process.env.REDIS_URL;
    try {
      process.env.REDIS_URL = 'redis://h:1';
      expect(queueUrl(true)).toBe('redis://h:1');
      delete process.env.REDIS_URL;
      expect(() => queueUrl(true)).toThrow(/--queue has no URL and REDIS_URL is not set/);
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
    expect(() => queueUrl('http://:secret@host')).toThrow(/--queue http:\/\/:\*\*\*@host: the scheme must be redis:\/\/ or rediss:\/\//);
  });

  it('hides the password in what it prints', () => {
    expect(redact('redis://user:s3cret@host:6379/1')).toBe('redis://user:***@host:6379/1');
    expect(redact('rediss://:s3cret@host')).toBe('rediss://:***@host');
    expect(redact('redis://host:6379')).toBe('redis://host:6379');
  });
});
