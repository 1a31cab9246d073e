/**
 * `metarl view` without a browser: a tiny RL² run is trained here, viewed on one task
 * (the recording it writes is checked for side-by-side vs sequential timing), and a
 * recording is replayed through `replayFile` with a real `ws` client driving pause and seek.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { isMetarlError } from '../../src/core/errors.js';
import type { SceneDescription } from '../../src/core/scene.js';
import { decodeServerMessage, encodeClientMessage, type RunInfo, type ServerMessage } from '../../src/stream/protocol.js';
import { createRecorder } from '../../src/stream/recorder.js';
import { loadRecording } from '../../src/stream/replay.js';
import type { ViewerServer } from '../../src/stream/server.js';
import { readMetrics } from '../../src/train/metrics.js';
import { train } from '../../src/train/train.js';
import { replayFile, viewRun } from '../../src/train/view.js';
import { ViewerProbe } from '../fixtures/viewer-probe.js';

async function expectCode(promise: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isMetarlError(err) && err.code).toBe(code);
  expect((err as Error).message).toMatch(text);
}

/** Time on the recording clock of each env's scene record. */
function sceneTimes(path: string): Map<number, number> {
  const rec = loadRecording(path);
  const out = new Map<number, number>();
  rec.messages.forEach((m, i) => {
    if (m.type === 'scene') out.set(m.envId, rec.times[i]);
  });
  return out;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'metarl-view-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A one-iteration run on the calling thread with no final table: something for `view` to show. */
const tinyRun = (runDir: string, env: string, agent: string, agentConfig: Record<string, unknown>) =>
  train({ env, agent, iterations: 1, seed: 2, backend: 'cpu', workers: 0, out: runDir, quiet: true, log: () => {}, skipFinalEval: true, agentConfig });

describe('metarl view <run>', () => {
  it('records each task with every stage, side by side or in turn, and plays it', async () => {
    const runDir = join(dir, 'rl2-run');
    await tinyRun(runDir, 'cheetah-vel', 'rl2', { metaBatchSize: 1, trialsPerTask: 1, episodesPerTrial: 2, horizon: 10, hidden: 8, epochs: 1, minibatches: 1 });

    const servers: ViewerServer[] = [];
    const side = await viewRun(runDir, { tasks: 1, speed: 16, workers: 0, log: () => {}, onListening: (s) => servers.push(s) });
    expect(side).toHaveLength(1);
    expect(side[0].stages).toEqual(['episode 1', 'episode 2']);
    expect(side[0].returns.every(Number.isFinite)).toBe(true);
    expect(side[0].path).toBe(join(runDir, 'rollouts', 'view-it1-seed2-task0.mrr'));
    // Side by side: both episodes start at time 0 and play together.
    expect([...sceneTimes(side[0].path).entries()]).toEqual([
      [0, 0],
      [1, 0],
    ]);
    const recording = loadRecording(side[0].path);
    expect(recording.run).toMatchObject({ family: 'cheetah-vel', agent: 'rl2', mode: 'view' });
    expect(recording.durationS).toBeCloseTo(10 * 0.05, 6);
    expect(recording.messages.filter((m) => m.type === 'metrics')).toHaveLength(1); // the run's training curve comes along
    expect(servers[0].clientCount).toBe(0);

    // Sequential, another seed: episode 2 starts where episode 1 ended; the seed names the file.
    const seq = await viewRun(runDir, { tasks: 1, speed: 16, workers: 0, mode: 'sequential', seed: 9, log: () => {} });
    expect(seq[0].path).toBe(join(runDir, 'rollouts', 'view-it1-seed9-task0.mrr'));
    const times = sceneTimes(seq[0].path);
    expect(times.get(0)).toBe(0);
    expect(times.get(1)).toBeCloseTo(10 * 0.05, 6);
    expect(loadRecording(seq[0].path).durationS).toBeCloseTo(20 * 0.05, 6);
  }, 60_000);

  it("sends a run's checks on validation tasks with the training curve, each on the row of its iteration", async () => {
    const runDir = join(dir, 'rl2-validated');
    await train({
      env: 'cheetah-vel', agent: 'rl2', iterations: 2, seed: 2, backend: 'cpu', workers: 0, out: runDir, quiet: true, log: () => {}, skipFinalEval: true,
      validateEvery: 2, validateTasks: 2,
      agentConfig: { metaBatchSize: 1, trialsPerTask: 1, episodesPerTrial: 2, horizon: 10, hidden: 8, epochs: 1, minibatches: 1 },
    });
    const [viewed] = await viewRun(runDir, { tasks: 1, speed: 16, workers: 0, log: () => {} });
    const curve = loadRecording(viewed.path).messages.flatMap((m) => (m.type === 'metrics' ? m.rows : []));
    const [check] = readMetrics(runDir, 'validation');
    expect(curve.map((r) => r.validation)).toEqual([
      undefined,
      { returns: [check.return0, check.return1], stderr: [check.stderr0, check.stderr1], tasks: 2 },
    ]);
  }, 60_000);

  it("a PEARL run's recording carries each episode's belief, in its lane after its scene: the prior, then the posteriors (issue 8)", async () => {
    const runDir = join(dir, 'pearl-run');
    await tinyRun(runDir, 'point-nav', 'pearl', { hidden: [8], encoderHidden: [8], latentSize: 3, collectTasks: 1, numTrainSteps: 1, metaBatchSize: 1, batchSize: 8, contextBatch: 8, trainTasks: 2, evalEpisodes: 3, horizon: 10 });
    const [shown] = await viewRun(runDir, { tasks: 1, speed: 16, workers: 0, log: () => {} });
    const messages = loadRecording(shown.path).messages;
    const beliefs = messages.filter((m): m is Extract<ServerMessage, { type: 'belief' }> => m.type === 'belief');
    expect(beliefs.map((b) => [b.envId, b.episode, b.stage.label])).toEqual([
      [0, 0, 'episode 1'],
      [1, 1, 'episode 2'],
      [2, 2, 'episode 3'],
    ]);
    expect(beliefs[0]).toMatchObject({ mean: [0, 0, 0], std: [1, 1, 1] });
    for (const b of beliefs.slice(1)) expect(b.std.every((s) => s > 0 && s < 1)).toBe(true);
    for (const b of beliefs) {
      const at = messages.indexOf(b);
      expect(messages.findIndex((m) => m.type === 'scene' && m.envId === b.envId)).toBeLessThan(at);
      expect(messages.findIndex((m) => m.type === 'frame' && m.envId === b.envId)).toBeGreaterThan(at);
    }
  }, 60_000);

  it("a page's layout toggle decides how the next task is timed", async () => {
    let ws: WebSocket | null = null;
    const results = await viewRun(join(dir, 'rl2-run'), {
      tasks: 2,
      speed: 16,
      workers: 1, // the page's message must get in while a task is sampled
      seed: 4,
      log: () => {},
      onListening: (server) => {
        ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
        ws.once('open', () => ws!.send(encodeClientMessage({ type: 'view-mode', mode: 'sequential' })));
      },
    });
    (ws as WebSocket | null)?.close();
    // Task 0 may have been written before the message came; task 1 surely after.
    expect(sceneTimes(results[1].path).get(1)).toBeCloseTo(10 * 0.05, 6);
  }, 30_000);

  it('stops at once when aborted, and names a missing run', async () => {
    await expectCode(viewRun(join(dir, 'nope'), { log: () => {} }), 'METARL_CHECKPOINT_MISSING', /nope is not a run directory/);
    const stop = new AbortController();
    stop.abort();
    expect(await viewRun(join(dir, 'rl2-run'), { signal: stop.signal, workers: 0, log: () => {} })).toEqual([]);
  }, 30_000);
});

describe('metarl view <run> draws the run\'s eval.json beside the task on screen (issue 10)', () => {
  const evalPath = () => join(dir, 'rl2-run', 'eval.json');
  afterEach(() => rmSync(evalPath(), { force: true }));
  const row = (stage: string, mean: number, stderr: number) => ({ stage, mean, stderr, tasks: 40 });
  const evalJson = {
    agent: 'rl2',
    family: 'cheetah-vel',
    iteration: 1,
    seed: 2,
    tasks: 40,
    adaptation: [row('episode 1', -40.1, 1.2), row('episode 2', -20.3, 0.9)],
    baselines: [
      { name: 'random-init', label: 'random init + fine-tune', adaptation: [row('episode 1', -45, 1), row('episode 2', -44, 1.1)] },
      // Fine-tuned by VPG steps, it names its stages as MAML does; stage k still lines up with the run's.
      { name: 'pretrained', label: 'pretrained + fine-tune', adaptation: [row('pre', -30, 0.5), row('step 1', -29, 0.6)] },
    ],
  };

  /** Views one task of the RL² run with a page connected: the hello it got, the recording's run info and the log. */
  async function view(): Promise<{ hello: RunInfo | null; recorded: RunInfo | null; lines: string[] }> {
    const lines: string[] = [];
    let probe: ViewerProbe | null = null;
    const results = await viewRun(join(dir, 'rl2-run'), { tasks: 1, speed: 16, workers: 0, log: (l) => lines.push(l), onListening: (s) => (probe = new ViewerProbe(s.url)) });
    const page = probe as ViewerProbe | null;
    page?.close();
    expect(results).toHaveLength(1); // the task was shown whatever eval.json held
    const hello = page?.of('hello')[0];
    expect(hello).toBeDefined();
    return { hello: hello!.run, recorded: loadRecording(results[0].path).run, lines };
  }

  it('sends the held-out eval first, then each baseline, one value and stderr per stage', async () => {
    writeFileSync(evalPath(), JSON.stringify(evalJson));
    const { hello, recorded, lines } = await view();
    const reference = [
      { label: 'rl2 (held-out eval)', returns: [-40.1, -20.3], stderr: [1.2, 0.9] },
      { label: 'random init + fine-tune', returns: [-45, -44], stderr: [1, 1.1] },
      { label: 'pretrained + fine-tune', returns: [-30, -29], stderr: [0.5, 0.6] },
    ];
    expect(hello?.reference).toEqual(reference);
    expect(hello?.stages).toEqual(['episode 1', 'episode 2']);
    expect(recorded?.reference).toEqual(reference); // a replay of the recording shows them too
    expect(lines.filter((l) => l.startsWith('warning'))).toEqual([]);

    // A baseline with another number of stages is left out, with a warning; the other rows are drawn.
    const short = { name: 'oracle', label: 'oracle (observes the task)', adaptation: [row('pre', -10, 1)] };
    writeFileSync(evalPath(), JSON.stringify({ ...evalJson, baselines: [...evalJson.baselines, short] }));
    const skipped = await view();
    expect(skipped.hello?.reference).toEqual(reference);
    expect(skipped.lines.filter((l) => l.startsWith('warning'))).toEqual([expect.stringMatching(/a baseline left out of the adaptation chart: "oracle \(observes the task\)" has 1 stage\(s\) \[pre\]/)]);

    // An unreadable baseline row is left out on its own, naming its field.
    writeFileSync(evalPath(), JSON.stringify({ ...evalJson, baselines: [{ name: 'x', adaptation: evalJson.adaptation }, ...evalJson.baselines] }));
    const unlabelled = await view();
    expect(unlabelled.hello?.reference).toEqual(reference);
    expect(unlabelled.lines.filter((l) => l.startsWith('warning'))).toEqual([expect.stringMatching(/a baseline left out of the adaptation chart: baselines\.0: label: /)]);

    // Without baselines (an older eval.json), of an earlier checkpoint: the label says which.
    writeFileSync(evalPath(), JSON.stringify({ ...evalJson, iteration: 0, baselines: undefined }));
    expect((await view()).hello?.reference).toEqual([{ label: 'rl2 (held-out eval, iteration 0)', returns: [-40.1, -20.3], stderr: [1.2, 0.9] }]);
  }, 30_000);

  it.each([
    ['not JSON', '{"agent": "rl2", "adaptation": [', /eval\.json: not drawn in the adaptation chart: .*JSON/],
    ['a negative stderr', JSON.stringify({ ...evalJson, adaptation: [row('episode 1', 1, -1), row('episode 2', 1, 1)] }), /adaptation\.0\.stderr: /],
    ['another number of stages', JSON.stringify({ ...evalJson, adaptation: [row('episode 1', 1, 1)] }), /not drawn in the adaptation chart: "rl2 \(held-out eval\)" has 1 stage\(s\) \[episode 1\], the run has 2 \[episode 1, episode 2\]/],
  ])('a malformed eval.json (%s) is one warning line, and the viewer runs without it', async (_what, text, warning) => {
    writeFileSync(evalPath(), text);
    const { hello, lines } = await view();
    expect(hello).toMatchObject({ family: 'cheetah-vel', mode: 'view' });
    expect(hello?.reference).toBeUndefined();
    const warnings = lines.filter((l) => l.startsWith('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(warning);
    expect(warnings[0]).not.toMatch(/\n/);
  }, 30_000);
});

// ---------------------------------------------------------------- replay

const scene: SceneDescription = {
  family: 'test-family',
  bodies: [{ name: 'a', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#f00' }] }],
  ground: { kind: 'plane', height: 0, color: '#888' },
  markers: [],
  taskLabel: { goal: 1 },
};
const DT = 0.05;
const STEPS = 200; // 10 s: long enough to pause in the middle

function writeRecording(path: string): void {
  const rec = createRecorder(path, { family: 'test-family', agent: 'maml', backend: 'cpu', mode: 'view', config: {} });
  rec.scene(0, scene, { index: 0, label: 'pre' }, DT);
  rec.episodeStart(0);
  const poses = new Float32Array(7);
  for (let t = 0; t < STEPS; t++) {
    poses[0] = t; // x = step: a frame says when it is from
    rec.frame(0, t, poses, 1);
  }
  rec.episodeEnd(0, STEPS, STEPS);
  rec.close();
}

describe('metarl view --replay', () => {
  it('replays a recorded file; pause and seek from a client change what is sent', async () => {
    const path = join(dir, 'rollouts', 'r.mrr');
    writeRecording(path);
    const stop = new AbortController();
    let listening: (s: ViewerServer) => void = () => {};
    const started = new Promise<ViewerServer>((resolve) => (listening = resolve));
    const done = replayFile(path, { signal: stop.signal, onListening: (s) => listening(s) });
    const server = await started;
    const received: ServerMessage[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    ws.on('message', (data: Buffer, isBinary: boolean) => received.push(decodeServerMessage(isBinary ? new Uint8Array(data) : data.toString('utf8'))));
    await new Promise((r) => ws.once('open', r));
    const frames = () => received.filter((m): m is Extract<ServerMessage, { type: 'frame' }> => m.type === 'frame');
    const lastState = () => received.filter((m): m is Extract<ServerMessage, { type: 'replay-state' }> => m.type === 'replay-state').at(-1);
    const until = async (ok: () => boolean, what: string) => {
      for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      if (!ok()) throw new Error(`timed out waiting for ${what}`);
    };

    await until(() => frames().length > 5, 'frames');
    expect(received.find((m) => m.type === 'hello')).toMatchObject({ run: { mode: 'replay', family: 'test-family' } });
    expect(received.some((m) => m.type === 'scene')).toBe(true);
    expect(lastState()).toMatchObject({ file: 'r.mrr', durationS: STEPS * DT });

    ws.send(encodeClientMessage({ type: 'pause' }));
    await until(() => lastState()?.playing === false, 'paused');
    await new Promise((r) => setTimeout(r, 100));
    const whenPaused = frames().length;
    await new Promise((r) => setTimeout(r, 300));
    expect(frames().length).toBe(whenPaused); // paused: nothing more is sent

    ws.send(encodeClientMessage({ type: 'seek', timeS: 7.5 }));
    await until(() => Math.abs((lastState()?.timeS ?? 0) - 7.5) < 1e-9, 'seek');
    await until(() => frames().length > whenPaused, 'the frame at the seek');
    // The frame at 7.5 s is step 149 (the clock counts a step's end).
    expect(frames().at(-1)!.poses[0]).toBe(7.5 / DT - 1);

    ws.send(encodeClientMessage({ type: 'play' }));
    await until(() => frames().at(-1)!.poses[0] > 155, 'playing on from the seek');

    const closed = new Promise((r) => ws.once('close', r));
    stop.abort();
    await done;
    await closed; // the server went down with the replay
  }, 30_000);

  it('names a missing or corrupt recording', async () => {
    await expectCode(replayFile(join(dir, 'missing.mrr')), 'METARL_FILE_MISSING', /no recording at .*missing\.mrr/);
    const bad = join(dir, 'bad.mrr');
    writeFileSync(bad, 'not a recording at all');
    await expectCode(replayFile(bad), 'METARL_PROTOCOL', /bad\.mrr is not a readable metarl rollout recording/);
  });
});
