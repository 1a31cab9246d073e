/**
 * A TypeScript family anywhere on disk loads without a build step and without
 * `"type": "module"` (reliability issue, item 13): tsx took such a file for CommonJS and
 * Node failed with "Cannot require() ES Module … in a cycle", or, for a helper file that
 * imports metarl, on metarl's top-level await. The loading runs in a real Node process
 * (vitest's own loader transpiles any file as ESM, so it would hide the fault), on the
 * main thread and in a sampler worker.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const metarl = new URL('../../src/index.ts', import.meta.url).href;

/** Imports metarl too, so a CommonJS reading of it would hit metarl's top-level await. */
const HELPER_TS = `import { robot } from '${metarl}';
export const actionBox = robot.unitActionSpec(1);
export function toward(x: number, goal: number, a: number): number { return x + 0.1 * Math.max(-1, Math.min(1, a)) + 0 * goal; }
`;

const FAMILY_TS = `import { defineTaskFamily, type Env, type EnvSpec, type Task } from '${metarl}';
import { actionBox, toward } from './helper.js';
interface GoalTask extends Task { goal: number }
const spec: EnvSpec = { obsSize: 1, actSize: 1, ...actionBox, horizon: 8, dt: 0.05, bodyCount: 0 };
function makeEnv(task: GoalTask): Env {
  let x = 0;
  let t = 0;
  const obs = new Float32Array(1);
  return {
    spec,
    reset: () => { x = 0; t = 0; return Float32Array.of(x); },
    step: (a) => {
      x = toward(x, task.goal, a[0]);
      t++;
      obs[0] = x;
      return { obs, reward: -Math.abs(x - task.goal), terminated: false, truncated: t >= spec.horizon };
    },
    scene: () => ({ family: 'line-ts', bodies: [], ground: { kind: 'plane', height: 0, color: '#cccccc' }, markers: [], taskLabel: {} }),
    frame: (out) => out ?? new Float32Array(0),
    dispose: () => {},
  };
}
export default defineTaskFamily<GoalTask>({
  name: 'line-ts', description: 'a point on a line', spec,
  sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ goal: rng.uniform(-1, 1) })),
  makeEnv,
});
`;

/** Loads, checks and samples each family given on the command line; prints one JSON line per family. */
const RUNNER = `
import { checkFamily, createSampler, loadFamily, Rng } from '${metarl}';
for (const file of process.argv.slice(1)) {
  const ref = { name: file, module: file };
  const family = await loadFamily(ref);
  const failed = checkFamily(family).filter((r) => !r.ok).map((r) => r.check + ': ' + r.detail);
  const returns = [];
  for (const workers of [0, 1]) {
    const sampler = await createSampler({ family: ref, workers });
    try {
      const tasks = family.sampleTasks(new Rng(3), 2);
      const batch = await sampler.sample({ tasks, slotsPerTask: 1, episodesPerSlot: 1, seed: 5 }, { act: (input) => new Float32Array(input.active.length).fill(1) });
      returns.push(Array.from(batch.returns));
    } finally {
      await sampler.close();
    }
  }
  console.log('RESULT ' + JSON.stringify({ name: family.name, failed, returns }));
}
`;

let dir: string;
const families: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'metarl-registry-'));
  for (const [kind, packageJson] of [['no-package-json', null], ['commonjs', { type: 'commonjs' }]] as const) {
    const file = join(dir, kind, 'line-ts.ts');
    mkdirSync(dirname(file));
    if (packageJson) writeFileSync(join(dir, kind, 'package.json'), JSON.stringify(packageJson));
    writeFileSync(join(dir, kind, 'helper.ts'), HELPER_TS);
    writeFileSync(file, FAMILY_TS);
    families[kind] = pathToFileURL(file).href;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a .ts family outside an ESM package (issue item 13)', () => {
  it('has no package.json above the plain folder to make it ESM', () => {
    for (let d = join(dir, 'no-package-json'); d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'package.json'))).toBe(false);
  });

  it('loads, passes every check and samples the same returns with 0 and 1 workers', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RUNNER, families['no-package-json'], families.commonjs], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const results = run.stdout.split('\n').filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)));
    expect(run.stderr).toBe('');
    expect(results).toHaveLength(2);
    for (const { name, failed, returns } of results) {
      expect(name).toBe('line-ts');
      expect(failed).toEqual([]);
      expect(returns[0]).toHaveLength(2);
      expect(returns[0].every(Number.isFinite)).toBe(true);
      expect(returns[1]).toEqual(returns[0]);
    }
    expect(run.status).toBe(0);
  }, 120_000);
});
