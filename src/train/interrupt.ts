/**
 * Ctrl-C that works even when the main thread cannot answer it.
 *
 * `train()` handles SIGINT with a listener (the first stops after the iteration, the second
 * quits), and Node runs a signal listener only from the event loop. An env step that never
 * returns on the main thread (`--workers 0`, or a family's `sampleTasks`) holds the loop for
 * good: Node takes every Ctrl-C and nothing happens, until SIGKILL. No thread of ours can
 * see the signal either (Node gives signals to the main thread only). A child process can:
 * the terminal sends Ctrl-C to its whole foreground process group, so this sentinel gets
 * each one too, and at the second it gives the main process a moment to quit by itself,
 * then kills it.
 *
 * @internal
 */
import { spawn } from 'node:child_process';

const GRACE_MS = 1000;

const SENTINEL_SOURCE = `
const [parent, graceMs] = process.argv.slice(1).map(Number);
let presses = 0;
process.on('SIGINT', () => {
  if (++presses !== 2) return;
  setTimeout(() => {
    try {
      process.kill(parent, 'SIGKILL');
    } catch {
      process.exit(0);
    }
    require('node:fs').writeSync(2, '\\nmetarl: the main thread did not answer Ctrl-C (an env step that never returns, with --workers 0?), so it was killed; ' +
      'the checkpoints written so far are kept. With worker threads, --step-timeout stops such a step with an error naming it\\n');
    process.exit(0);
  }, graceMs);
});
// The parent has gone (an exit, a crash, SIGKILL): so does the sentinel.
process.on('disconnect', () => process.exit(0));
`;

/** Starts the sentinel for this process; call the returned function to stop it. It never keeps the process alive. */
export function startInterruptSentinel(): () => void {
  const child = spawn(process.execPath, ['-e', SENTINEL_SOURCE, String(process.pid), String(GRACE_MS)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // Loaders in NODE_OPTIONS (tsx, a test runner's) would only slow the sentinel's start.
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  child.unref();
  child.channel?.unref();
  return () => {
    if (child.connected) child.disconnect();
  };
}
