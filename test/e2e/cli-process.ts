/**
 * A real `metarl` process for the browser test: the CLI's TypeScript run through tsx, so
 * the test exercises the sources as they are (a stale dist/ from an earlier `npm ci` cannot
 * hide a change), with its stdout read for the `viewer: <url>` line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** The URL the process printed after `viewer: `. */
  url: Promise<string>;
  /** Exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Everything written so far to stdout and stderr. */
  output(): string;
  /** SIGINT (Ctrl-C), then SIGKILL if it has not exited within `graceMs`. */
  interrupt(graceMs?: number): Promise<number | null>;
}

export function startCli(args: string[], timeoutMs = 120_000): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/train/cli.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no viewer URL within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const m = /viewer: (http:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`metarl ${args[0]} exited (${code}) before printing a viewer URL:\n${text}`));
    });
  });
  url.catch(() => {}); // awaited by the test; a rejection nobody awaits must not crash the run
  return {
    child,
    url,
    exited,
    output: () => text,
    async interrupt(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
