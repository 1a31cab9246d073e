/**
 * `npm run pack:offline` makes a folder that runs metarl where there is no npm, no
 * registry and no Node (issue 11): it is packed into a temporary directory, then run
 * from another directory with a PATH that holds only the system's bin folders and,
 * first, a fake `node` and `npm` that fail, so a run that used anything but the
 * folder's own node (or reached for npm) would fail.
 *
 * node and dawn.node are xz-compressed once per version into node_modules/.cache/ (about
 * 80 s on two cores the first time); later runs reuse them and take well under a minute.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const BUDGET_BYTES = 60e6;

function folderSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderSize(path) : statSync(path).size;
  }
  return total;
}

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => pattern.test(f))
    .map((f) => join(dir, f));
}

describe('npm run pack:offline → a folder that runs metarl without npm or a system node', () => {
  let dir: string;
  let folder: string;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let packLog = '';

  const runSh = (args: string[], timeout = 120_000) => spawnSync(join(folder, 'run.sh'), args, { cwd: work, env, encoding: 'utf8', timeout });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'metarl-offline-'));
    folder = join(dir, 'offline');
    work = join(dir, 'elsewhere');
    const fakeBin = join(dir, 'fake-bin');
    mkdirSync(work);
    mkdirSync(fakeBin);
    for (const name of ['node', 'npm', 'npx']) {
      writeFileSync(join(fakeBin, name), `#!/bin/sh\necho "the system ${name} was run" >&2\nexit 97\n`);
      chmodSync(join(fakeBin, name), 0o755);
    }
    env = { PATH: `${fakeBin}:/usr/bin:/bin`, HOME: dir, LANG: 'C.UTF-8' };
    const pack = spawnSync(process.execPath, [join(repo, 'scripts/pack-offline.mjs'), '--out', folder], { cwd: repo, encoding: 'utf8', timeout: 400_000 });
    packLog = pack.stdout + pack.stderr;
    if (pack.status !== 0) throw new Error(`pack:offline failed (${pack.status}):\n${packLog}`);
  }, 420_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fits the 60 MB budget and holds node, dawn.node, the Vulkan loader and the wasm binaries', () => {
    expect(folderSize(folder)).toBeLessThanOrEqual(BUDGET_BYTES);
    for (const file of ['run.sh', 'setup.sh', 'node.xz', 'dawn.node.xz', 'lib/libvulkan.so.1', 'app/package.json', 'app/viewer/dist/index.html', 'app/node_modules/webgpu/index.js']) {
      expect(existsSync(join(folder, file)), file).toBe(true);
    }
    expect(filesUnder(join(folder, 'app/node_modules/@tensorflow/tfjs-backend-wasm'), /\.wasm$/).length).toBe(3);
  });

  it('bundles every worker entry, built-in family and bench file at its path in the repository', () => {
    const loadedByUrl = [
      ...filesUnder(join(repo, 'src'), /(^|\/)([\w-]*-)?worker\.ts$/),
      ...filesUnder(join(repo, 'envs'), /^[\w-]+\.ts$/).filter((f) => !f.endsWith('index.ts')),
      ...filesUnder(join(repo, 'bench'), /^[\w-]+\.bench\.ts$/),
    ];
    expect(loadedByUrl.length).toBeGreaterThan(10);
    for (const source of loadedByUrl) {
      const bundled = join(folder, 'app', relative(repo, source).replace(/\.ts$/, '.js'));
      expect(existsSync(bundled), bundled).toBe(true);
    }
  });

  it('`run.sh --version` unpacks and runs its own node, not the one on PATH', () => {
    const run = runSh(['--version']);
    expect(run.stderr).not.toMatch(/was run/);
    expect(run.status).toBe(0);
    const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version as string;
    expect(run.stdout).toContain(`metarl ${version}`);
    expect(run.stdout).toContain(`node ${process.version}`);
    expect(statSync(join(folder, 'bin/node')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(folder, 'app/node_modules/webgpu/dist/linux-x64/dawn.node'))).toBe(true);
  });

  it('trains MAML on point-nav for one iteration with one worker thread, from another directory', () => {
    const out = join(work, 'run');
    const run = runSh(
      ['train', '--env', 'point-nav', '--agent', 'maml', '--iterations', '1', '--workers', '1', '--backend', 'wasm', '--quiet', '--eval-tasks', '2', '--out', out,
        '--meta-batch-size', '2', '--episodes-per-task', '2', '--hidden', '[8]', '--cg-iters', '2', '--line-search-steps', '2'],
      150_000,
    );
    expect(run.stderr).not.toMatch(/was run|error/);
    expect(run.status).toBe(0);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { iteration: number });
    expect(rows.map((r) => r.iteration)).toEqual([1]);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ env: 'point-nav', agent: 'maml', workers: 1 });
  }, 160_000);
});
