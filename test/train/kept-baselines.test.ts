import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keptBaselines } from '../../src/train/kept-baselines.js';

describe('keptBaselines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'metarl-kept-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const stage = (name: string) => ({ stage: name, mean: -1, stderr: 0.1, tasks: 40 });
  const row = { name: 'random-init', label: 'random init + fine-tune', adaptation: [stage('pre'), stage('step 1')] };
  const table = (fields: Record<string, unknown>) => {
    const path = join(dir, `${Math.random()}.json`);
    writeFileSync(path, typeof fields.raw === 'string' ? fields.raw : JSON.stringify({ agent: 'maml', family: 'point-nav', seed: 1, tasks: 40, adaptation: [], baselines: [row], ...fields }));
    return path;
  };
  const of = { agent: 'maml', family: 'point-nav', seed: 1, tasks: 40, stages: 2 };

  it('keeps the rows of a table on the same held-out tasks over as many stages', () => {
    expect(keptBaselines(table({}), of)).toEqual([row]);
  });

  it('keeps nothing from another agent, family, seed, task count or stage count, a table without rows, a broken file or none', () => {
    expect(keptBaselines(table({ agent: 'rl2' }), of)).toBeUndefined();
    expect(keptBaselines(table({ family: 'cheetah-vel' }), of)).toBeUndefined();
    expect(keptBaselines(table({ seed: 2 }), of)).toBeUndefined();
    expect(keptBaselines(table({ tasks: 10 }), of)).toBeUndefined();
    expect(keptBaselines(table({}), { ...of, stages: 3 })).toBeUndefined();
    expect(keptBaselines(table({ baselines: [] }), of)).toBeUndefined();
    expect(keptBaselines(table({ baselines: [{ name: 'x' }] }), of)).toBeUndefined();
    expect(keptBaselines(table({ raw: '{"seed": 1, "tasks": 4' }), of)).toBeUndefined();
    expect(keptBaselines(join(dir, 'none.json'), of)).toBeUndefined();
  });
});
