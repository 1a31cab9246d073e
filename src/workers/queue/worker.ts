/**
 * `metarl worker --queue redis://…`: a process that takes shards from its own BullMQ queue
 * and answers them. It registers itself (id, metarl version, threads) with a heartbeat; a
 * learner assigns it lanes and puts their requests on its queue. It runs only families it
 * can load from its own disk and refuses a learner of another metarl version.
 *
 * @internal
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { serialize } from 'node:v8';
import { Worker, type Job } from 'bullmq';
import { MetarlError } from '../../core/errors.js';
import { METARL_VERSION } from '../../core/version.js';
import { serializeError } from '../../sampling/failure.js';
import { defaultWorkerMemoryMb } from '../../sampling/limits.js';
import { withShardContext } from '../shard-error.js';
import { RequestDecoder } from './codec.js';
import { PREFIX, connect, keys, redact } from './connection.js';
import { LaneTable } from './lanes.js';
import { QUEUE_PROTOCOL, type JobOutcome, type LaneJob, type WorkerInfo, type WorkerNotice } from './protocol.js';
import { startHeartbeat, workerName } from './registry.js';
import { waitForRedis } from './wait.js';

/** A result waits this long for its learner (which reads and deletes it at once). */
const RESULT_TTL_MS = 3_600_000;

export interface QueueWorkerOptions {
  url: string;
  /** Lanes run at once, one task-worker thread each. */
  threads: number;
  /** Each lane thread's JS heap limit, MB; default a share of the machine's memory. */
  memoryMb?: number;
  /** How long to wait for Redis at start, ms. */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface QueueWorker {
  readonly info: WorkerInfo;
  /** Unregisters, lets the job in hand finish, frees every lane; idempotent. */
  close(): Promise<void>;
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const log = options.log ?? ((line: string) => console.log(line));
  const redis = connect(options.url);
  await waitForRedis(redis, options.url, options.connectTimeoutMs ?? 30_000).catch(async (err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const info: WorkerInfo = { id: randomBytes(6).toString('hex'), version: METARL_VERSION, protocol: QUEUE_PROTOCOL, host: hostname(), pid: process.pid, threads: options.threads };
  const name = workerName(info);
  const lanes = new LaneTable(name, options.memoryMb ?? defaultWorkerMemoryMb(options.threads));
  const decoder = new RequestDecoder(redis);
  const publish = (run: string, notice: WorkerNotice) => redis.publish(keys.channel(run), serialize(notice)).catch(() => undefined);

  async function serve(jobId: string, job: Extract<LaneJob, { type: 'call' }>): Promise<unknown> {
    if (job.version !== METARL_VERSION) {
      throw new MetarlError('METARL_VERSION_MISMATCH', `${name} runs metarl ${METARL_VERSION}, the learner ${job.version}: install the same version on every machine`, { worker: info.id, version: METARL_VERSION, learner: job.version });
    }
    const pool = await lanes.get(job.run, job.lane, job.spec);
    try {
      // A lane taken over from a lost worker: its state is rebuilt from the same requests, bit for bit.
      for (const entry of job.replay) {
        const { kind, request } = (await decoder.decode(Buffer.from(entry, 'base64'))) as { kind: string; request: unknown };
        await pool.run(kind, [request]);
      }
      const { kind, request } = (await decoder.decode(Buffer.from(job.body, 'base64'))) as { kind: string; request: unknown };
      const [result] = await pool.run(kind, [request], {
        onEvent: (event) => void publish(job.run, { type: 'event', jobId, event }),
        describe: job.describe ? () => job.describe! : undefined,
      });
      return result;
    } catch (err) {
      lanes.drop(`${job.run}/${job.lane}`);
      throw err;
    }
  }

  async function handleJob(job: Job<LaneJob>): Promise<void> {
    const data = job.data;
    const jobId = job.id!;
    if (data.type === 'close') return lanes.dropRun(data.run);
    let outcome: JobOutcome;
    try {
      if (data.protocol !== QUEUE_PROTOCOL) throw new MetarlError('METARL_VERSION_MISMATCH', `${name} speaks queue protocol ${QUEUE_PROTOCOL}, the learner ${data.protocol}: install the same metarl version on every machine`);
      outcome = { ok: true, result: await serve(jobId, data) };
    } catch (err) {
      // Whatever failed (a refusal, an env), the learner's error says which shard and which machine.
      const named = err instanceof Error && err.message.includes(name) ? err : withShardContext(err, job.name, data.describe ?? undefined, name);
      outcome = { ok: false, error: serializeError(named) };
    }
    await redis.set(keys.result(jobId), serialize(outcome), 'PX', RESULT_TTL_MS);
    await publish(data.run, { type: 'done', jobId });
  }

  const worker = new Worker<LaneJob>(keys.queue(info.id), handleJob, {
    connection: connect(options.url),
    prefix: PREFIX,
    concurrency: options.threads,
    removeOnComplete: { age: RESULT_TTL_MS / 1000 },
    removeOnFail: { age: RESULT_TTL_MS / 1000 },
  });
  worker.on('error', (err) => log(`${name}: ${err.message}`));
  await worker.waitUntilReady();
  const stopHeartbeat = startHeartbeat(redis, info);
  log(`metarl worker ${info.id} (${info.host}, pid ${info.pid}, metarl ${METARL_VERSION}) on ${redact(options.url)}: ${options.threads} thread${options.threads === 1 ? '' : 's'}`);

  let closing: Promise<void> | null = null;
  return {
    info,
    close() {
      closing ??= (async () => {
        await stopHeartbeat();
        await worker.close();
        await lanes.close();
        redis.disconnect();
      })();
      return closing;
    },
  };
}
