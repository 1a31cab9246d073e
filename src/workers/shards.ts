/** Lane i's share of `count` tasks: contiguous, as even as integers allow, none empty. */
export function shardRanges(count: number, lanes: number): Array<[number, number]> {
  const n = Math.max(1, Math.min(lanes, count));
  return Array.from({ length: n }, (_, i) => [Math.floor((i * count) / n), Math.floor(((i + 1) * count) / n)] as [number, number]);
}
