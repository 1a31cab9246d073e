// The cost of watching: a training-like loop (a real cheetah-vel env stepped with a fixed
// gait, each step's poses published to the viewer server) with 0, 1 and 5 WebSocket viewers
// connected, in one run. Viewers run in a child process, as browsers would, so their reading
// does not share this thread. Rounds alternate the configurations to spread out machine noise.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtinFamilies } from '../envs/index.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import { startViewer, type ViewerServer } from '../src/stream/server.js';

const SECONDS_PER_RUN = 2;
const ROUNDS = 3;
/** Steps between yields to the event loop: a sampler hands control back about this often. */
const STEPS_PER_YIELD = 20;
/** Paced is the server's default (frames sent as fast as a page plays them); unpaced sends every frame. */
const CONFIGS = [
  { viewers: 0, pace: true },
  { viewers: 1, pace: true },
  { viewers: 5, pace: true },
  { viewers: 1, pace: false },
  { viewers: 5, pace: false },
];

/** Connects `n` ws clients, counts what each receives, prints the counts as JSON when told. */
const PUBLISH_BATCHES = 500;

const VIEWERS_SCRIPT = `
import { WebSocket } from 'ws';
const [url, n] = [process.argv[1], Number(process.argv[2])];
const bytes = new Array(n).fill(0), frames = new Array(n).fill(0);
let open = 0;
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url);
  ws.on('open', () => { if (++open === n) console.log('ready'); });
  ws.on('message', (d, bin) => { bytes[i] += d.length; if (bin) frames[i]++; });
}
if (n === 0) console.log('ready');
process.stdin.on('data', () => console.log(JSON.stringify({ bytes, frames })));
process.stdin.on('end', () => process.exit(0));
`;

interface Viewers {
  /** What each viewer received so far. */
  report(): Promise<{ bytes: number[]; frames: number[] }>;
  close(): void;
}

function startViewers(server: ViewerServer, n: number): Promise<Viewers> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', VIEWERS_SCRIPT, server.url.replace('http', 'ws') + 'ws', String(n)], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const lines: Array<(line: string) => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      lines.shift()?.(line);
    }
  });
  const nextLine = (): Promise<string> => new Promise((resolve) => lines.push(resolve));
  return nextLine().then(async () => {
    const end = Date.now() + 5000;
    while (server.clientCount < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return {
      async report() {
        const line = nextLine();
        child.stdin.write('report\n');
        return JSON.parse(await line) as { bytes: number[]; frames: number[] };
      },
      close: () => child.stdin.end(),
    };
  });
}

interface RunResult {
  viewers: number;
  stepsPerS: number;
  publishUsPerStep: number;
  bytesPerSPerViewer: number;
  framesPerSPerViewer: number;
  dropped: number;
  paced: number;
}

async function run(server: ViewerServer, viewers: number): Promise<RunResult> {
  const family = await loadFamily(builtinFamilies.ref('cheetah-vel'));
  const [task] = family.sampleTasks(new Rng(1), 1);
  const env = family.makeEnv(task);
  const { actSize, dt } = family.spec;
  const poses = new Float32Array(family.spec.bodyCount * 7);
  const action = new Float32Array(actSize);
  server.reset();
  server.scene(0, env.scene(), { index: 0, label: 'pre' }, dt);
  const watchers = await startViewers(server, viewers);
  const before = server.stats();
  env.reset(1);

  let steps = 0;
  const start = performance.now();
  const endMs = start + SECONDS_PER_RUN * 1000;
  while (performance.now() < endMs) {
    for (let k = 0; k < STEPS_PER_YIELD; k++) {
      for (let j = 0; j < actSize; j++) action[j] = Math.sin(steps * dt * 9 + j * 1.3);
      const r = env.step(action);
      env.frame(poses);
      server.frame(0, steps % 200, poses, r.reward);
      steps++;
      if (steps % 200 === 0) env.reset(steps);
    }
    await new Promise((r) => setImmediate(r));
  }
  const elapsedS = (performance.now() - start) / 1000;
  // Let the sockets drain before counting what arrived.
  await new Promise((r) => setTimeout(r, 300));
  const { bytes, frames } = await watchers.report();
  const after = server.stats();
  // Publishing alone, timed per batch (one timer pair per 20 calls keeps the timer out of the figure).
  let publishMs = 0;
  let published = 0;
  for (let b = 0; b < PUBLISH_BATCHES; b++) {
    const t0 = performance.now();
    for (let k = 0; k < STEPS_PER_YIELD; k++) server.frame(0, (steps + published++) % 200, poses, 0);
    publishMs += performance.now() - t0;
    await new Promise((r) => setImmediate(r));
  }
  watchers.close();
  env.dispose();
  const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    viewers,
    stepsPerS: steps / elapsedS,
    publishUsPerStep: (publishMs * 1000) / published,
    bytesPerSPerViewer: mean(bytes) / elapsedS,
    framesPerSPerViewer: mean(frames) / elapsedS,
    dropped: after.framesDropped - before.framesDropped,
    paced: after.framesPaced - before.framesPaced,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export default async function streamBench(): Promise<void> {
  const servers = new Map([true, false].map((pace) => [pace, startViewer({ log: () => {}, paceFrames: pace })]));
  const results = CONFIGS.map(() => [] as RunResult[]);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of CONFIGS.entries()) {
        const server = await servers.get(c.pace)!;
        results[i].push(await run(server, c.viewers));
        await waitForNoClients(server);
      }
    }
  } finally {
    for (const s of servers.values()) await (await s).close();
  }
  const base = median(results[0].map((r) => r.stepsPerS));
  console.log(`cheetah-vel env step + frame publish (${SECONDS_PER_RUN} s per run, median of ${ROUNDS} alternating rounds; publish µs: frame() alone, ${PUBLISH_BATCHES * STEPS_PER_YIELD} calls)\n`);
  console.log('| viewers | frames | steps/s | vs 0 viewers | publish µs/frame | per viewer: bytes/s | frames/s | dropped (slow client) | held back (paced) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [i, c] of CONFIGS.entries()) {
    const rs = results[i];
    const sps = median(rs.map((r) => r.stepsPerS));
    const watched = c.viewers > 0;
    console.log(
      `| ${c.viewers} | ${c.viewers === 0 ? '—' : c.pace ? 'paced' : 'all'} | ${sps.toFixed(0)} | ${(sps / base).toFixed(3)} | ${median(rs.map((r) => r.publishUsPerStep)).toFixed(3)} | ` +
        `${watched ? (median(rs.map((r) => r.bytesPerSPerViewer)) / 1024).toFixed(1) + ' KiB/s' : '—'} | ` +
        `${watched ? median(rs.map((r) => r.framesPerSPerViewer)).toFixed(0) : '—'} | ${median(rs.map((r) => r.dropped))} | ${median(rs.map((r) => r.paced))} |`,
    );
  }
}

async function waitForNoClients(server: ViewerServer): Promise<void> {
  const end = Date.now() + 5000;
  while (server.clientCount > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}
