/**
 * The packed package works from a separate project (issue 5): `npm pack`, install the
 * tarball into a temporary project, then import metarl from an
 * `.mjs` file, define a family in its own file, train 2 iterations, and type-check a
 * `.ts` file against the published declarations.
 *
 * The dependencies come from the npm cache where it has them (`--prefer-offline`): after
 * `npm ci` it holds every tarball, but not the registry metadata a fresh project needs to
 * resolve version ranges, so `--offline` failed with ENOTCACHED on a machine whose cache
 * only `npm ci` had filled; the metadata (KBs) comes from the registry. The project pins
 * `@types/node` (a dependency of a dependency, `*`) to the version installed here with
 * `overrides`, so it type-checks as this repository does. The package is built and packed
 * from a copy of the sources, so the tarball holds the code under test, never a stale
 * dist/, and the repository's own dist/ is not rewritten under the tests that run it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quietNpm = { ...process.env, npm_config_update_notifier: 'false', npm_config_loglevel: 'error' };

const FAMILY_MJS = `import { defineTaskFamily } from 'metarl';
// A point on a line that must reach a goal: no physics, so the test stays cheap.
class LineEnv {
  constructor(spec, goal) { this.spec = spec; this.goal = goal; this.x = 0; this.t = 0; }
  reset() { this.x = 0; this.t = 0; return Float32Array.of(this.x); }
  step(a) {
    this.x += 0.1 * Math.max(-1, Math.min(1, a[0]));
    this.t++;
    return { obs: Float32Array.of(this.x), reward: -Math.abs(this.x - this.goal), terminated: false, truncated: this.t >= this.spec.horizon };
  }
  scene() {
    return { family: 'line-user', bodies: [{ name: 'dot', shapes: [{ shape: { kind: 'sphere', radius: 0.05 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#c04040' }] }],
      ground: { kind: 'plane', height: 0, color: '#cccccc' }, markers: [{ kind: 'goal', position: [this.goal, 0, 0], radius: 0.03, color: '#30a050' }], taskLabel: { goal: this.goal } };
  }
  frame(out = new Float32Array(7)) { out.set([this.x, 0.05, 0, 0, 0, 0, 1]); return out; }
  dispose() {}
}
const spec = { obsSize: 1, actSize: 1, actLow: Float32Array.of(-1), actHigh: Float32Array.of(1), horizon: 10, dt: 0.05, bodyCount: 1 };
export default defineTaskFamily({
  name: 'line-user',
  description: 'a point on a line reaching a goal',
  spec,
  sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ goal: rng.uniform(-1, 1) })),
  makeEnv: (task) => new LineEnv(spec, task.goal),
});
`;

const MAIN_MJS = `import { defineTaskFamily, train } from 'metarl';
if (typeof defineTaskFamily !== 'function') throw new Error('defineTaskFamily is not exported');
const result = await train({
  env: './family.mjs', agent: 'maml', iterations: 2, workers: 1, backend: 'cpu', out: 'run', skipFinalEval: true, quiet: true,
  agentConfig: { metaBatchSize: 2, episodesPerTask: 2, hidden: [8], cgIters: 2, lineSearchSteps: 2 },
});
console.log('RESULT ' + JSON.stringify({ iteration: result.iteration, rows: result.metrics.length }));
`;

const USER_TS = `import { defineTaskFamily, robot, train, type Env, type EnvSpec, type Task, type TrainResult } from 'metarl';
interface GoalTask extends Task { goal: number }
const spec: EnvSpec = { obsSize: 1, actSize: 1, ...robot.unitActionSpec(1), horizon: 10, dt: 0.05, bodyCount: 1 };
declare function makeLineEnv(goal: number): Env;
export const family = defineTaskFamily<GoalTask>({
  name: 'typed-line', description: 'typed', spec,
  sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ goal: rng.uniform(-1, 1) })),
  makeEnv: (task) => makeLineEnv(task.goal),
});
export const run: () => Promise<TrainResult> = () => train({ env: './family.mjs', agent: 'maml', iterations: 1 });
// @ts-expect-error a task must be plain JSON, not a typed array
export const bad = defineTaskFamily<{ goal: Float32Array }>({ name: 'bad', description: '', spec, sampleTasks: () => [], makeEnv: () => makeLineEnv(0) });
`;

describe('npm pack → install from the cache → use from another project', () => {
  let dir: string;
  let project: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'metarl-pack-'));
    project = join(dir, 'user-project');
    const staging = join(dir, 'metarl');
    for (const entry of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'src', 'envs', 'agents', 'examples', 'docs', 'scripts', 'viewer/src', 'viewer/index.html']) {
      cpSync(join(repo, entry), join(staging, entry), { recursive: true });
    }
    symlinkSync(join(repo, 'node_modules'), join(staging, 'node_modules'));
    execFileSync(npm, ['run', 'build'], { cwd: staging, stdio: 'pipe', env: quietNpm });
    execFileSync(npm, ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: staging, stdio: 'pipe', env: quietNpm });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
    const typesNode = JSON.parse(readFileSync(join(repo, 'node_modules/@types/node/package.json'), 'utf8')).version as string;
    execFileSync('mkdir', [project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true, type: 'module', overrides: { '@types/node': typesNode } }));
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)], { cwd: project, stdio: 'pipe', env: quietNpm, timeout: 240_000 });
    writeFileSync(join(project, 'family.mjs'), FAMILY_MJS);
    writeFileSync(join(project, 'main.mjs'), MAIN_MJS);
    writeFileSync(join(project, 'user.ts'), USER_TS);
  }, 300_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs metarl with its declarations and the built viewer', () => {
    const installed = join(project, 'node_modules/metarl');
    expect(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).name).toBe('metarl');
    expect(existsSync(join(installed, 'dist/src/index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'viewer/dist/index.html'))).toBe(true);
  });

  it("imports { defineTaskFamily, train } from 'metarl' in an .mjs file and trains 2 iterations", () => {
    const run = spawnSync(process.execPath, ['main.mjs'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/RESULT \{"iteration":2,"rows":2\}/);
    const rows = readFileSync(join(project, 'run/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.iteration)).toEqual([1, 2]);
  }, 120_000);

  it('runs `metarl check` through the installed bin', () => {
    const run = spawnSync(process.execPath, ['node_modules/metarl/bin/metarl.js', 'check', './family.mjs'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toMatch(/all checks passed/);
    expect(run.status).toBe(0);
  }, 60_000);

  it('loads a TypeScript env file through the installed bin without a build step', () => {
    writeFileSync(join(project, 'family.ts'), FAMILY_MJS.replace("import { defineTaskFamily } from 'metarl';", "import { defineTaskFamily, type Task } from 'metarl';\nconst typed: Task = { goal: 1 };\nvoid typed;"));
    const run = spawnSync(process.execPath, ['node_modules/metarl/bin/metarl.js', 'check', './family.ts'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toMatch(/line-user: obs 1, act 1/);
    expect(run.stdout).toMatch(/all checks passed/);
    expect(run.status).toBe(0);
  }, 60_000);

  it("type-checks a .ts file against the package's declarations", () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['user.ts'] }),
    );
    const run = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});
