/**
 * A real Redis server and real `metarl worker` processes for the queue tests: redis-server on
 * 127.0.0.1 at a free port with a temporary directory and no persistence, workers started
 * through the CLI's TypeScript (tsx), each stopped by the test that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
// Resolved when a worker starts: the offline bundle (which ships no tsx) may import this file and skip.
const tsx = () => pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGKILL: nothing is saved, as with a crash). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'metarl-redis-'));
  let child: ChildProcess | null = null;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server did not start within 20 s:\n${out}`)), 20_000);
        proc.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          if (out.includes('Ready to accept connections')) {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server exited (${code}):\n${out}`));
        });
      });
    },
    async stop() {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    },
  };
  await server.start();
  // A test that failed before its afterAll must not leave a server behind.
  process.once('exit', () => {
    (child as ChildProcess | null)?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

export interface WorkerProcess {
  id: string;
  child: ChildProcess;
  output(): string;
  /** kill -9, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop), then SIGKILL after 30 s. */
  stop(): Promise<void>;
}

/** `metarl worker --queue url --threads 1`, resolved once it has registered. `cli`: another install's CLI source. */
export function startWorker(url: string, options: { cli?: string; threads?: number } = {}): Promise<WorkerProcess> {
  const cli = options.cli ?? join(root, 'src/train/cli.ts');
  const child = spawn(process.execPath, ['--import', tsx(), cli, 'worker', '--queue', url, '--threads', String(options.threads ?? 1)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, METARL_DEBUG: '' },
  });
  let text = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`metarl worker did not register within 120 s:\n${text}`));
    }, 120_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const m = /metarl worker ([0-9a-f]+) /.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ id: m[1], child, output: () => text, kill: () => kill('SIGKILL'), stop: () => kill('SIGTERM') });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`metarl worker exited before registering:\n${text}`));
    });
  });
}

/**
 * Another install of metarl, at `version`: a copy of the sources with that version in its
 * package.json, sharing this one's node_modules. Returns its CLI entry and a cleanup.
 */
export function otherInstall(version: string): { cli: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'metarl-other-'));
  for (const part of ['src', 'agents', 'envs']) cpSync(join(root, part), join(dir, part), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return { cli: join(dir, 'src/train/cli.ts'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
