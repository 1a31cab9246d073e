/**
 * The pool of `--workers 0`: one lane, the agent's shard side on the calling thread. The
 * same code as a task worker runs, so results are the same numbers.
 *
 * @internal
 */
import { MetarlError } from '../core/errors.js';
import { withShardContext } from './shard-error.js';
import type { Sampler } from '../sampling/types.js';
import type { RunOptions, ShardWorker, TaskPool } from './types.js';

export class InProcessPool implements TaskPool {
  readonly workers = 0;
  readonly lanes = 1;
  private closed = false;

  constructor(
    private readonly shard: ShardWorker,
    /** The shard side's own sampler, closed with the pool (null: the caller's, or none). */
    private readonly sampler: Sampler | null,
  ) {}

  async run(kind: string, requests: readonly unknown[], options: RunOptions = {}): Promise<unknown[]> {
    if (this.closed) throw new MetarlError('METARL_DISPOSED', 'task pool is closed');
    if (requests.length > this.lanes) throw new MetarlError('METARL_PROTOCOL', `task pool has ${this.lanes} lane, got ${requests.length} requests`);
    const results: unknown[] = [];
    for (const [i, request] of requests.entries()) {
      try {
        results.push(await this.shard.handle(kind, request, (event) => options.onEvent?.(event)));
      } catch (err) {
        throw withShardContext(err, kind, options.describe?.(i), 'the main thread');
      }
    }
    return results;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shard.dispose();
    await this.sampler?.close();
  }
}
