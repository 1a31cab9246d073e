/**
 * The lanes a queue worker holds: lane i of a learner is one task-worker thread here, so its
 * per-task state stays between that lane's requests, and this process's own thread stays
 * free to renew its heartbeat and its BullMQ locks however long a shard computes.
 *
 * @internal
 */
import type { BackendName } from '../../nn/backend.js';
import { ThreadPool } from '../thread-pool.js';
import { localFamily } from './family.js';
import type { WireSpec } from './protocol.js';

/** A learner that vanished without saying goodbye: its lanes' threads are freed after this long unused. */
const IDLE_MS = 10 * 60_000;

interface Lane {
  spec: string;
  pool: Promise<ThreadPool>;
  lastUsed: number;
}

export class LaneTable {
  private lanes = new Map<string, Lane>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  /** `name`: how errors name this worker; `memoryMb`: each lane thread's heap limit. */
  constructor(
    private readonly name: string,
    private readonly memoryMb: number,
  ) {
    this.sweeper = setInterval(() => {
      for (const [key, lane] of this.lanes) if (Date.now() - lane.lastUsed > IDLE_MS) this.drop(key);
    }, 60_000);
    this.sweeper.unref();
  }

  /** The thread of `run`'s lane, started with `spec` on first use (refused if the family cannot be loaded here). */
  async get(run: string, lane: number, spec: WireSpec): Promise<ThreadPool> {
    const key = `${run}/${lane}`;
    const text = JSON.stringify(spec);
    const held = this.lanes.get(key);
    if (held && held.spec === text) {
      held.lastUsed = Date.now();
      return held.pool;
    }
    if (held) this.drop(key);
    const family = localFamily(spec.family, this.name);
    const poolSpec = { family, agent: spec.agent, config: spec.config, backend: spec.backend as BackendName, stepTimeoutMs: spec.stepTimeoutMs };
    const pool = ThreadPool.create(poolSpec, 1, this.memoryMb, () => `${this.name}, lane ${lane}`);
    this.lanes.set(key, { spec: text, pool, lastUsed: Date.now() });
    pool.catch(() => this.lanes.delete(key));
    return pool;
  }

  /** Ends a lane's thread (after a failure its state is suspect; the next request starts it afresh). */
  drop(key: string): void {
    const lane = this.lanes.get(key);
    if (!lane) return;
    this.lanes.delete(key);
    void lane.pool.then((p) => p.close()).catch(() => undefined);
  }

  dropRun(run: string): void {
    for (const key of [...this.lanes.keys()]) if (key.startsWith(`${run}/`)) this.drop(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const pools = [...this.lanes.values()].map((l) => l.pool);
    this.lanes.clear();
    await Promise.all(pools.map((p) => p.then((pool) => pool.close()).catch(() => undefined)));
  }
}
