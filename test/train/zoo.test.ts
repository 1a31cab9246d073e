/**
 * The trained runs shipped under zoo/ (issue 10, item 4): each loads, evaluates and replays, and
 * `zoo/<name>` names it from any working directory without writing into the package.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, type EvaluateRunResult } from '../../src/train/evaluate.js';
import { viewRun } from '../../src/train/view.js';
import { zooDir } from '../../src/train/zoo.js';
import { expectOneLineError, metarl } from './run-cli.js';

const runs = readdirSync(zooDir()).filter((name) => statSync(join(zooDir(), name)).isDirectory());

/** Bytes under a directory. */
function size(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? size(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

describe('zoo/', () => {
  it('ships runs', () => {
    expect(runs.length).toBeGreaterThan(0);
  });

  describe.each(runs)('zoo/%s', (name) => {
    const dir = join(zooDir(), name);

    it('holds its config, one checkpoint (weights only, no optimiser state) and its eval.json: no more than 250 KB', () => {
      expect(readdirSync(dir).sort()).toEqual(['checkpoints', 'config.json', 'eval.json']);
      expect(readdirSync(join(dir, 'checkpoints'))).toHaveLength(1);
      expect(size(dir)).toBeLessThan(250_000);
    });

    it('loads, evaluates on fresh held-out tasks and replays', async () => {
      const shipped = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')) as EvaluateRunResult;
      const result = await evaluate(dir, { tasks: 1, seed: 12345, out: false });
      expect(result.adaptation.map((s) => s.stage)).toEqual(shipped.adaptation.map((s) => s.stage));
      expect(result.iteration).toBe(shipped.iteration);
      expect(result.adaptation.every((s) => Number.isFinite(s.mean))).toBe(true);

      // In a scratch working directory: a shipped run's recordings go to ./runs/zoo/<name>.
      const home = process.cwd();
      const cwd = mkdtempSync(join(tmpdir(), 'metarl-zoo-view-'));
      process.chdir(cwd);
      try {
        const viewed = await viewRun(dir, { tasks: 1, speed: 64, workers: 0, log: () => {} });
        expect(viewed).toHaveLength(1);
        expect(viewed[0].path.startsWith(join('runs', 'zoo', name, 'rollouts'))).toBe(true);
        expect(existsSync(viewed[0].path)).toBe(true);
        expect(existsSync(join(dir, 'rollouts'))).toBe(false);
      } finally {
        process.chdir(home);
        rmSync(cwd, { recursive: true, force: true });
      }
    }, 180_000);
  });

  it('refuses to train into zoo/ or resume a shipped run: the package is read, never written', () => {
    const name = runs[0];
    expectOneLineError(metarl(['train', '--resume', `zoo/${name}`]), 'METARL_CONFIG_INVALID', new RegExp(`zoo/${name} is a run shipped with metarl \\(zoo/\\): it is read, never written; copy it elsewhere`));
    expectOneLineError(metarl(['train', '--env', 'point-nav', '--agent', 'maml', '--out', 'zoo/new-run']), 'METARL_CONFIG_INVALID', /zoo\/new-run is a run shipped with metarl .*choose another --out/);
    expect(existsSync(join(zooDir(), 'new-run'))).toBe(false);
  });

  it('`metarl eval zoo/<name>` works from any directory and writes under ./runs/zoo, not into the package', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'metarl-zoo-'));
    try {
      const name = runs[0];
      const run = metarl(['eval', `zoo/${name}`, '--tasks', '1'], { cwd });
      expect(run.status, run.stderr).toBe(0);
      expect(existsSync(join(cwd, 'runs', 'zoo', name, 'eval.json'))).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 180_000);
});
