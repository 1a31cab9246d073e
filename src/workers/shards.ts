import type { Task } from '../core/types.js';
import type { ShardEvent, TaskPool } from './types.js';

/** A task with its place in the meta-batch: its index seeds its rollouts and orders the sums. */
export interface IndexedTask {
  index: number;
  task: Task;
}

/** Lane i's share of `count` tasks: contiguous, as even as integers allow, none empty. */
export function shardRanges(count: number, lanes: number): Array<[number, number]> {
  const n = Math.max(1, Math.min(lanes, count));
  return Array.from({ length: n }, (_, i) => [Math.floor((i * count) / n), Math.floor(((i + 1) * count) / n)] as [number, number]);
}

/** The mean of per-task vectors, added up in task order in float64: the same bits however the tasks were sharded. */
export function meanVector(vectors: readonly Float32Array[]): Float64Array {
  return weightedSum(vectors, vectors.map(() => 1 / vectors.length));
}

/** Σ_t weights[t] · vectors[t], in task order in float64. */
export function weightedSum(vectors: readonly Float32Array[], weights: readonly number[]): Float64Array {
  const out = new Float64Array(vectors[0].length);
  vectors.forEach((v, t) => {
    for (let i = 0; i < out.length; i++) out[i] += weights[t] * v[i];
  });
  return out;
}

/** Tasks [from, to) with their meta-batch indices. */
export function indexedTasks(tasks: readonly Task[], from: number, to: number): IndexedTask[] {
  return tasks.slice(from, to).map((task, i) => ({ index: from + i, task }));
}

/**
 * Sends `kind` to the lanes of `pool`, lane i with the message `request` builds for the tasks
 * [from, to) of `ranges[i]`, and returns the lanes' per-task answers in task order. A failing lane
 * is named by its tasks and the request.
 */
export async function askTaskShards<R>(pool: TaskPool, agent: string, kind: string, ranges: Array<[number, number]>, request: (from: number, to: number) => unknown, onEvent?: (event: ShardEvent) => void): Promise<R[]> {
  const describe = (i: number) => {
    const [from, to] = ranges[i];
    return `${to - from === 1 ? `task ${from}` : `tasks ${from}–${to - 1}`} of the meta-batch (${agent} '${kind}')`;
  };
  return (await pool.run(kind, ranges.map(([from, to]) => request(from, to)), { onEvent, describe })).flat() as R[];
}
