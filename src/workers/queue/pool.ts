/**
 * The pool of `--queue redis://…`: lanes on `metarl worker` processes, anywhere. Lane i is
 * assigned to one live worker; each request becomes a BullMQ job on that worker's queue,
 * and its outcome comes back as a Redis key announced on the learner's channel.
 *
 * A worker that stops answering (its heartbeat lapses: kill -9, a lost machine) or a job
 * that vanishes (Redis restarted empty) loses nothing: the lane moves to a live worker with
 * its log, the requests since its state was last replaced, and that worker replays them
 * before the pending request. Every request is deterministic, so the replayed state and the
 * result are the same bits. With no live worker for `waitMs`, the pending requests fail
 * with an error naming their shards.
 *
 * @internal
 */
import { randomBytes } from 'node:crypto';
import { deserialize } from 'node:v8';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { MetarlError, isMetarlError } from '../../core/errors.js';
import { METARL_VERSION } from '../../core/version.js';
import { deserializeError } from '../../sampling/failure.js';
import type { PoolProgress, PoolSpec, RunOptions, ShardEvent, TaskPool } from '../types.js';
import { RequestEncoder, isBlobMissing } from './codec.js';
import { PREFIX, connect, keys } from './connection.js';
import { redact } from './url.js';
import { wireFamily } from './family.js';
import { QUEUE_PROTOCOL, type JobOutcome, type LaneJob, type WireSpec, type WorkerInfo, type WorkerNotice } from './protocol.js';
import { liveWorkers, workerName } from './registry.js';
import { bounded, sleep, unreachable, waitForRedis } from './wait.js';

export interface QueuePoolOptions {
  url: string;
  /** Lanes; default one per thread of the workers alive at the start. */
  lanes?: number;
  /** How long to wait for a live worker (at the start, or for a lane whose worker was lost), and for Redis, ms. */
  waitMs: number;
  log?: (line: string) => void;
}

/** The progress line's counts, and this learner's traffic (requests and blobs out, results in). */
export interface QueueStats extends PoolProgress {
  bytesSent: number;
  bytesReceived: number;
}

/** A lane's request is retried on another worker at most this often before the run stops. */
const MAX_ATTEMPTS = 5;
const TICK_MS = 1000;
/** A job not yet seen by Redis after this long, with no outcome, is taken for lost. */
const VANISHED_AFTER_MS = 3000;

type Outcome = JobOutcome | 'lost';

interface Pending {
  jobId: string;
  queue: string;
  worker: string;
  lane: number;
  sentAt: number;
  added: boolean;
  onEvent?: (event: ShardEvent) => void;
  settle: (outcome: Outcome | MetarlError) => void;
}

interface Lane {
  worker: WorkerInfo;
  /** Requests since the lane's state was last replaced ('iterate') or cleared ('release'). */
  log: Array<{ kind: string; request: unknown }>;
  /** Its worker does not hold its state: the next request replays `log` first. */
  moved: boolean;
}

export class QueuePool implements TaskPool {
  readonly workers: number;
  /** This learner's id: its jobs, results and channel are named by it. */
  private readonly learner = randomBytes(6).toString('hex');
  private readonly encoder: RequestEncoder;
  private readonly queues = new Map<string, Queue>();
  private readonly pending = new Map<string, Pending>();
  private alive = new Map<string, WorkerInfo>();
  private refused: WorkerInfo[] = [];
  private seq = 0;
  private closed = false;
  private ticking = false;
  private unreachableSince: number | null = null;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly counts = { done: 0, retried: 0, bytesReceived: 0 };

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly spec: WireSpec,
    private readonly laneState: Lane[],
    private readonly options: QueuePoolOptions,
  ) {
    this.workers = laneState.length;
    this.encoder = new RequestEncoder(redis);
    subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.receive(message));
    // Redis may have come back empty: blobs are stored again on their next use.
    redis.on('ready', () => this.encoder.forget());
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  get lanes(): number {
    return this.laneState.length;
  }

  /** Connects, waits up to `waitMs` for a live worker of this metarl version, and spreads the lanes over the live ones. */
  static async create(spec: PoolSpec, options: QueuePoolOptions): Promise<QueuePool> {
    const wire: WireSpec = { family: wireFamily(spec.family), agent: spec.agent, config: spec.config, backend: spec.backend, stepTimeoutMs: spec.stepTimeoutMs };
    const redis = connect(options.url);
    const subscriber = connect(options.url);
    try {
      await waitForRedis(redis, options.url, options.waitMs);
      const deadline = Date.now() + options.waitMs;
      let usable: WorkerInfo[] = [];
      let refused: WorkerInfo[] = [];
      for (;;) {
        ({ usable, refused } = sortOut(await liveWorkers(redis)));
        if (usable.length > 0 || Date.now() > deadline) break;
        await sleep(250);
      }
      if (usable.length === 0) throw noWorkers(options, refused, null);
      const count = options.lanes ?? usable.reduce((n, w) => n + w.threads, 0);
      const laneState: Lane[] = [];
      for (let i = 0; i < count; i++) laneState.push({ worker: leastLoaded(usable, laneState), log: [], moved: false });
      const pool = new QueuePool(redis, subscriber, wire, laneState, options);
      pool.alive = new Map(usable.map((w) => [w.id, w]));
      pool.refused = refused;
      await subscriber.subscribe(keys.channel(pool.learner));
      const spread = usable.map((w) => `${w.id} ×${laneState.filter((l) => l.worker.id === w.id).length}`).join(', ');
      options.log?.(`queue ${redact(options.url)}: ${count} lane${count === 1 ? '' : 's'} on ${usable.length} worker${usable.length === 1 ? '' : 's'} (${spread})`);
      return pool;
    } catch (err) {
      redis.disconnect();
      subscriber.disconnect();
      throw err;
    }
  }

  progress(): QueueStats {
    return { ...this.counts, inFlight: this.pending.size, workersAlive: this.alive.size, bytesSent: this.encoder.bytesSent };
  }

  async run(kind: string, requests: readonly unknown[], options: RunOptions = {}): Promise<unknown[]> {
    if (this.closed) throw new MetarlError('METARL_DISPOSED', 'task pool is closed');
    if (requests.length > this.lanes) throw new MetarlError('METARL_PROTOCOL', `task pool has ${this.lanes} lanes, got ${requests.length} requests`);
    const seq = this.seq++;
    const settled = await Promise.allSettled(requests.map((r, i) => this.call(seq, i, kind, r, options)));
    const failures = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ i, err: s.reason as unknown }] : []));
    if (failures.length === 0) return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
    const orphans = failures.filter((f) => isMetarlError(f.err, 'METARL_NO_WORKERS'));
    // Every shard left without a worker, in one message: the user sees what is missing.
    if (orphans.length > 0) throw noWorkers(this.options, this.refused, orphans.map((f) => `lane ${f.i} (${options.describe?.(f.i) ?? `'${kind}'`})`));
    throw failures[0].err;
  }

  /** One lane's request, moved to another worker (with its log) as often as its worker is lost. */
  private async call(seq: number, i: number, kind: string, request: unknown, options: RunOptions): Promise<unknown> {
    const lane = this.laneState[i];
    const describe = options.describe?.(i) ?? null;
    for (let attempt = 0; ; attempt++) {
      if (attempt >= MAX_ATTEMPTS) {
        throw new MetarlError('METARL_WORKER_FAILED', `'${kind}'${describe ? ` of ${describe}` : ''} was lost ${MAX_ATTEMPTS} times (its workers died or Redis lost it); stopping`, { request: kind, shard: describe });
      }
      const worker = await this.workerFor(i);
      // 'iterate' replaces the lane's state and 'release' clears it: nothing before them needs replaying.
      const replay = lane.moved && kind !== 'iterate' && kind !== 'release' ? lane.log : [];
      const outcome = await this.send(`${this.learner}.${seq}.${i}.${attempt}`, worker, i, { kind, request }, replay, describe, options.onEvent);
      if (outcome === 'lost' || (!outcome.ok && isBlobMissing(outcome.error.details))) {
        this.counts.retried++;
        lane.moved = true;
        if (outcome !== 'lost') this.encoder.forget();
        continue;
      }
      lane.moved = false;
      if (!outcome.ok) throw deserializeError(outcome.error);
      this.counts.done++;
      if (kind === 'release') lane.log = [];
      else if (kind === 'iterate') lane.log = [{ kind, request }];
      else lane.log.push({ kind, request });
      return outcome.result;
    }
  }

  /** Lane i's worker if it is alive; else the least loaded live one, waiting up to `waitMs` for one. */
  private async workerFor(i: number): Promise<WorkerInfo> {
    const lane = this.laneState[i];
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      if (this.closed) throw disposed();
      if (this.alive.has(lane.worker.id)) return lane.worker;
      const live = [...this.alive.values()];
      if (live.length > 0) {
        const next = leastLoaded(live, this.laneState.filter((l) => l !== lane));
        this.options.log?.(`lane ${i} moves from ${workerName(lane.worker)}, which stopped answering, to ${workerName(next)}`);
        lane.worker = next;
        lane.moved = true;
        return next;
      }
      if (Date.now() > deadline) throw new MetarlError('METARL_NO_WORKERS', `lane ${i} has no live worker`);
      await sleep(TICK_MS / 4);
    }
  }

  private async send(jobId: string, worker: WorkerInfo, i: number, body: { kind: string; request: unknown }, replay: Lane['log'], describe: string | null, onEvent?: (e: ShardEvent) => void): Promise<Outcome> {
    // Storing blobs waits while Redis is away: no longer than a tick would.
    const encode = async (v: unknown) =>
      (await bounded(this.encoder.encode(v), this.options.waitMs, () => unreachable(this.options.url, Math.round(this.options.waitMs / 1000)))).toString('base64');
    const job: LaneJob = {
      type: 'call',
      protocol: QUEUE_PROTOCOL,
      version: METARL_VERSION,
      run: this.learner,
      lane: i,
      spec: this.spec,
      body: await encode(body),
      replay: await Promise.all(replay.map(encode)),
      describe,
    };
    const queue = keys.queue(worker.id);
    return new Promise<Outcome>((resolve, reject) => {
      const p: Pending = {
        jobId, queue, worker: worker.id, lane: i, sentAt: Date.now(), added: false, onEvent,
        settle: (outcome) => {
          if (this.pending.get(jobId) !== p) return;
          this.pending.delete(jobId);
          if (outcome instanceof MetarlError) reject(outcome);
          else resolve(outcome);
        },
      };
      this.pending.set(jobId, p);
      // Not awaited: while Redis is away the add waits, and the tick decides how long is too long.
      this.queueOf(queue)
        .add(body.kind, job, { jobId, removeOnComplete: true, removeOnFail: true })
        .then(() => (p.added = true))
        .catch(() => p.settle('lost'));
    });
  }

  private queueOf(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      // Outcomes travel in metarl's own keys: BullMQ's event stream is kept short.
      queue = new Queue(name, { connection: this.redis, prefix: PREFIX, streams: { events: { maxLen: 100 } } });
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** A worker's notice: an event for the viewer, or an outcome to collect. Notices of jobs no longer awaited are stale and dropped. */
  private receive(message: Buffer): void {
    const notice = deserialize(message) as WorkerNotice;
    const p = this.pending.get(notice.jobId);
    if (!p) return;
    if (notice.type === 'event') p.onEvent?.(notice.event);
    else void this.collect(p);
  }

  /** Settles `p` if its outcome is stored; true when it was. */
  private async collect(p: Pending): Promise<boolean> {
    const bytes = await this.redis.getBuffer(keys.result(p.jobId));
    if (!bytes) return false;
    this.counts.bytesReceived += bytes.length;
    void this.redis.del(keys.result(p.jobId)).catch(() => undefined);
    p.settle(deserialize(bytes) as JobOutcome);
    return true;
  }

  /**
   * Once a second: who is alive; each pending job's outcome if its notice was missed (pub/sub
   * drops messages while a connection is down); a job whose worker is gone, or that Redis no
   * longer has, is lost. Redis silent for `waitMs` fails everything pending.
   */
  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      // Bounded as a whole: while Redis is away its commands wait, and this tick must end.
      await bounded(this.check(), TICK_MS * 5, () => new Error('no answer'));
      this.unreachableSince = null;
    } catch (err) {
      this.unreachableSince ??= Date.now();
      if (Date.now() - this.unreachableSince > this.options.waitMs) {
        const error = unreachable(this.options.url, Math.round(this.options.waitMs / 1000), err);
        for (const p of [...this.pending.values()]) p.settle(error);
      }
    } finally {
      this.ticking = false;
    }
  }

  private async check(): Promise<void> {
    const { usable, refused } = sortOut(await liveWorkers(this.redis));
    this.alive = new Map(usable.map((w) => [w.id, w]));
    this.refused = refused;
    for (const p of [...this.pending.values()]) {
      if (await this.collect(p)) continue;
      if (!this.alive.has(p.worker)) p.settle('lost');
      else if (p.added && Date.now() - p.sentAt > VANISHED_AFTER_MS && (await this.queueOf(p.queue).getJobState(p.jobId)) === 'unknown') {
        // Added, not finished and not there: Redis restarted without its data.
        if (!(await this.collect(p))) p.settle('lost');
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const p of [...this.pending.values()]) p.settle(disposed());
    // Tell each worker to free this learner's lanes; a worker that is gone frees them when idle.
    const used = new Set(this.laneState.map((l) => l.worker.id));
    const bye: LaneJob = { type: 'close', protocol: QUEUE_PROTOCOL, run: this.learner };
    await bounded(
      Promise.all([...used].map((id) => this.queueOf(keys.queue(id)).add('close', bye, { removeOnComplete: true, removeOnFail: true }))),
      2000,
      () => new Error('timeout'),
    ).catch(() => undefined);
    await Promise.all([...this.queues.values()].map((q) => bounded(q.close(), 2000, () => new Error('timeout')).catch(() => undefined)));
    this.redis.disconnect();
    this.subscriber.disconnect();
  }
}

function disposed(): MetarlError {
  return new MetarlError('METARL_DISPOSED', 'task pool is closed');
}

/** Workers of this metarl version and queue protocol, and the others (named in errors). */
function sortOut(workers: WorkerInfo[]): { usable: WorkerInfo[]; refused: WorkerInfo[] } {
  const fits = (w: WorkerInfo) => w.version === METARL_VERSION && w.protocol === QUEUE_PROTOCOL;
  return { usable: workers.filter(fits), refused: workers.filter((w) => !fits(w)) };
}

/** The worker with the fewest lanes per thread; ties go to the first (workers are sorted by id). */
function leastLoaded(workers: WorkerInfo[], lanes: Lane[]): WorkerInfo {
  const load = (w: WorkerInfo) => lanes.filter((l) => l.worker.id === w.id).length / w.threads;
  return workers.reduce((best, w) => (load(w) < load(best) ? w : best));
}

/** No worker to run on: at the start (`orphans` null) or for the shards listed. */
function noWorkers(options: QueuePoolOptions, refused: WorkerInfo[], orphans: string[] | null): MetarlError {
  const seconds = Math.round(options.waitMs / 1000);
  const what = orphans ? `no live queue worker for ${seconds} s, so these shards were not done: ${orphans.join('; ')}` : `no queue worker registered on ${redact(options.url)} within ${seconds} s`;
  const others = refused.map((w) => `${workerName(w)} runs metarl ${w.version} (queue protocol ${w.protocol}), this learner ${METARL_VERSION} (protocol ${QUEUE_PROTOCOL})`);
  const note = others.length > 0 ? `; refused: ${others.join('; ')}: install the same version on every machine` : '';
  return new MetarlError(
    others.length > 0 && !orphans ? 'METARL_VERSION_MISMATCH' : 'METARL_NO_WORKERS',
    `${what}${note}. Start workers with \`npx metarl worker --queue ${redact(options.url)}\` (or raise --queue-wait)`,
    { url: redact(options.url), shards: orphans ?? [], refused: refused.map((w) => w.id) },
  );
}
