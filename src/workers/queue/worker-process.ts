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
import { Queue, Worker, type Job } from 'bullmq';
import { MetarlError, isMetarlError } from '../../core/errors.js';
import { METARL_VERSION } from '../../core/version.js';
import { serializeError } from '../../sampling/failure.js';
import { defaultWorkerMemoryMb } from '../../sampling/limits.js';
import { withShardContext } from '../shard-error.js';
import { RequestDecoder } from './codec.js';
import { PREFIX, connect, keys } from './connection.js';
import { redact } from './url.js';
import { LaneTable } from './lanes.js';
import { QUEUE_PROTOCOL, type JobOutcome, type LaneJob, type WorkerInfo, type WorkerNotice } from './protocol.js';
import { startHeartbeat, workerName } from './registry.js';
import { bounded, waitForRedis } from './wait.js';

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

  /** The lane's thread, or a refusal (another version, a family not loadable here) naming the shard and this worker. */
  async function laneOf(kind: string, job: Extract<LaneJob, { type: 'call' }>) {
    try {
      if (job.protocol !== QUEUE_PROTOCOL || job.version !== METARL_VERSION) {
        throw new MetarlError(
          'METARL_VERSION_MISMATCH',
          `${name} runs metarl ${METARL_VERSION} (queue protocol ${QUEUE_PROTOCOL}), the learner ${job.version} (protocol ${job.protocol}): install the same version on every machine`,
          { worker: info.id, version: METARL_VERSION, learner: job.version },
        );
      }
      return await lanes.get(job.run, job.lane, job.spec);
    } catch (err) {
      throw withShardContext(err, kind, job.describe ?? undefined, name);
    }
  }

  /** Runs the lane's replay, then the request; errors come from the lane's thread pool with the shard and this worker named. */
  async function serve(jobId: string, kind: string, job: Extract<LaneJob, { type: 'call' }>): Promise<unknown> {
    const pool = await laneOf(kind, job);
    try {
      // A lane taken over from a lost worker: its state is rebuilt from the same requests, bit for bit.
      for (const entry of job.replay) {
        const replayed = (await decoder.decode(Buffer.from(entry, 'base64'))) as { kind: string; request: unknown };
        await pool.run(replayed.kind, [replayed.request]);
      }
      const { request } = (await decoder.decode(Buffer.from(job.body, 'base64'))) as { request: unknown };
      const [result] = await pool.run(kind, [request], {
        onEvent: (event) => void publish(job.run, { type: 'event', jobId, event }),
        describe: job.describe ? () => job.describe! : undefined,
      });
      return result;
    } catch (err) {
      // Its state is suspect now: the lane's next request starts a fresh thread.
      if (!isMetarlError(err) || err.details.reason !== 'blob-missing') lanes.drop(`${job.run}/${job.lane}`);
      throw err;
    }
  }

  async function handleJob(job: Job<LaneJob>): Promise<void> {
    const data = job.data;
    const jobId = job.id!;
    if (data.type === 'close') return lanes.dropRun(data.run);
    let outcome: JobOutcome;
    try {
      outcome = { ok: true, result: await serve(jobId, job.name, data) };
    } catch (err) {
      outcome = { ok: false, error: serializeError(err) };
    }
    await redis.set(keys.result(jobId), serialize(outcome), 'PX', RESULT_TTL_MS);
    await publish(data.run, { type: 'done', jobId });
  }

  // Given to BullMQ, which closes only the connections it makes itself: this one is closed below.
  const bullConnection = connect(options.url);
  const worker = new Worker<LaneJob>(keys.queue(info.id), handleJob, {
    connection: bullConnection,
    prefix: PREFIX,
    concurrency: options.threads,
    // The outcome is in metarl's result key: the job itself can go at once.
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
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
        // Its queue is its own: nothing of this worker stays in Redis.
        const queue = new Queue(keys.queue(info.id), { connection: bullConnection, prefix: PREFIX });
        await bounded(queue.obliterate({ force: true }), 5000, () => new Error('timeout')).catch(() => undefined);
        await queue.close().catch(() => undefined);
        bullConnection.disconnect();
        redis.disconnect();
      })();
      return closing;
    },
  };
}
