import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { MetricsWriter, readMetrics } from '../../src/train/metrics.js';

const row = (iteration: number) => ({ iteration, return0: -iteration, envSteps: 10 * iteration });

describe('metrics files', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-metrics-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeRows = (n: number) => {
    const writer = new MetricsWriter(dir);
    for (let i = 1; i <= n; i++) writer.write(row(i));
  };

  it('drops a torn last line (a write cut short by a full disk) instead of failing on it', () => {
    writeRows(3);
    const text = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    writeFileSync(join(dir, 'metrics.jsonl'), text.slice(0, text.length - 12));
    expect(readMetrics(dir)).toEqual([row(1), row(2)]);
  });

  it('keeps a whole last row that only lacks its newline', () => {
    writeRows(2);
    writeFileSync(join(dir, 'metrics.jsonl'), readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trimEnd());
    expect(readMetrics(dir)).toEqual([row(1), row(2)]);
  });

  it('reports a damaged line before the last one with its line number', () => {
    writeRows(3);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n');
    lines[1] = lines[1].slice(0, 5);
    writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n'));
    try {
      readMetrics(dir);
      throw new Error('expected an error');
    } catch (err) {
      expect(isMetarlError(err, 'METARL_FILE_ERROR')).toBe(true);
      expect((err as Error).message).toMatch(/metrics\.jsonl line 2 is not a JSON row/);
    }
  });

  it('on resume keeps the rows up to the checkpoint, drops a torn tail and the rows after, and rewrites the CSV to match', () => {
    writeRows(5);
    const text = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    writeFileSync(join(dir, 'metrics.jsonl'), `${text}{"iteration":6,"ret`);
    const writer = new MetricsWriter(dir, { resumeAfter: 3 });
    writer.write(row(4));
    expect(readMetrics(dir).map((r) => r.iteration)).toEqual([1, 2, 3, 4]);
    expect(readFileSync(join(dir, 'metrics.csv'), 'utf8')).toBe('iteration,return0,envSteps\n1,-1,10\n2,-2,20\n3,-3,30\n4,-4,40\n');
  });

  it('on resume says which rows before the checkpoint were lost, rather than leaving a silent gap', () => {
    writeRows(4);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n');
    writeFileSync(join(dir, 'metrics.jsonl'), [lines[0], lines[3], ''].join('\n'));
    const logged: string[] = [];
    new MetricsWriter(dir, { resumeAfter: 4, log: (line) => logged.push(line) });
    expect(logged).toEqual([expect.stringMatching(/metrics\.jsonl has no rows for iteration\(s\) 2, 3; they were lost before this resume/)]);
  });
});
