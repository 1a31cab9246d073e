import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { isMetarlError } from '../../src/core/errors.js';
import type { SceneDescription } from '../../src/core/scene.js';
import { BINARY_KIND_FRAME, FRAME_OFFSET_VERSION, decodeServerMessage, encodeClientMessage } from '../../src/stream/protocol.js';
import type { ServerMessage } from '../../src/stream/protocol.js';
import { RECORD_ALIGN, RECORD_FRAME, RECORD_HEADER_BYTES, createRecorder, rolloutPath } from '../../src/stream/recorder.js';
import { loadRecording, startReplay } from '../../src/stream/replay.js';
import { startViewer, type ViewerServer } from '../../src/stream/server.js';
import { replayFile } from '../../src/train/view.js';

const scene: SceneDescription = {
  family: 'test-family',
  bodies: [
    { name: 'a', shapes: [{ shape: { kind: 'box', halfExtents: [0.1, 0.1, 0.1] }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#fff' }] },
    { name: 'b', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#f00' }] },
  ],
  ground: { kind: 'plane', height: 0, color: '#888' },
  markers: [{ kind: 'goal', position: [1, 0, 0], radius: 0.1, color: '#0f0' }],
  taskLabel: { goal: 1 },
};
const run = { family: 'test-family', agent: 'rl2', backend: 'cpu', mode: 'view' as const, config: {} };
const DT = 0.05;
const STEPS = 40;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'metarl-rec-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Two envs side by side (RL² episodes 1 and 2 of one task), STEPS frames each, x = step. */
function writeRecording(path: string): void {
  const rec = createRecorder(path, run);
  for (let env = 0; env < 2; env++) {
    rec.scene(env, scene, { index: env, label: `episode ${env + 1}` }, DT);
    rec.episodeStart(env);
  }
  const poses = new Float32Array(14);
  for (let t = 0; t < STEPS; t++) {
    for (let env = 0; env < 2; env++) {
      poses[0] = t;
      poses[7] = env;
      rec.frame(env, t, poses, 1);
    }
  }
  for (let env = 0; env < 2; env++) rec.episodeEnd(env, STEPS, STEPS);
  rec.close();
  rec.close(); // idempotent
}

describe('rollout recordings', () => {
  it('round-trip scenes, frames and episodes with a simulation clock', () => {
    const path = rolloutPath(join(dir, 'runs', 'r1'), 'eval it 3');
    expect(path).toBe(join(dir, 'runs', 'r1', 'rollouts', 'eval-it-3.mrr'));
    writeRecording(path);
    const recn = loadRecording(path);
    expect(recn.run).toEqual(run);
    expect(recn.messages.filter((m) => m.type === 'scene')).toHaveLength(2);
    const frames = recn.messages.filter((m): m is Extract<ServerMessage, { type: 'frame' }> => m.type === 'frame');
    expect(frames).toHaveLength(2 * STEPS);
    expect(frames[2 * 10 + 1]).toMatchObject({ envId: 1, step: 10, ret: 11 });
    expect(frames[2 * 10 + 1].poses[0]).toBe(10);
    // Side by side: both envs' step t lands at the same time.
    expect(recn.durationS).toBeCloseTo(STEPS * DT, 9);
    const times = [...recn.times];
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const ends = recn.messages.filter((m) => m.type === 'episode' && m.phase === 'end');
    expect(ends.map((e) => (e as { stage: unknown }).stage)).toEqual([
      { index: 0, label: 'episode 1' },
      { index: 1, label: 'episode 2' },
    ]);
  });

  it('a recording cut short plays up to its last whole record; a foreign file is refused', () => {
    const path = join(dir, 'a.mrr');
    writeRecording(path);
    const whole = readFileSync(path);
    writeFileSync(join(dir, 'cut.mrr'), whole.subarray(0, whole.length - 30));
    const cut = loadRecording(join(dir, 'cut.mrr'));
    expect(cut.messages.length).toBe(loadRecording(path).messages.length - 1);
    writeFileSync(join(dir, 'junk.mrr'), 'hello world, not a recording');
    let caught: unknown;
    try {
      loadRecording(join(dir, 'junk.mrr'));
    } catch (err) {
      caught = err;
    }
    expect(isMetarlError(caught, 'METARL_PROTOCOL')).toBe(true);
    expect((caught as Error).message).toMatch(/does not start with MRLROLL1/);
  });
});

describe('rollout recordings: beliefs (issue 8)', () => {
  it('are recorded with the rollout and replayed, a seek showing those alive then; a NaN one is left out, any other error thrown', async () => {
    const path = join(dir, 'beliefs.mrr');
    const rec = createRecorder(path, run);
    const poses = new Float32Array(14);
    for (let env = 0; env < 2; env++) {
      rec.scene(env, scene, { index: env, label: `episode ${env + 1}` }, DT);
      rec.episodeStart(env);
      rec.belief(env, env, { mean: new Float32Array([env, -env]), std: new Float32Array([1 / (env + 1), 1]) });
      rec.belief(env, env, { mean: [Number.NaN, 0], std: [1, 1] });
      const unreadable = { get mean(): number[] { throw new RangeError('not a protocol error'); }, std: [1] };
      expect(() => rec.belief(env, env, unreadable)).toThrow(RangeError); // only the NaN check's error is swallowed
      for (let t = 0; t < STEPS; t++) rec.frame(env, t, poses, 1);
    }
    rec.close();
    const recn = loadRecording(path);
    const beliefs = recn.messages.filter((m) => m.type === 'belief');
    expect(beliefs).toEqual([
      { type: 'belief', envId: 0, stage: { index: 0, label: 'episode 1' }, episode: 0, mean: [0, 0], std: [1, 1] },
      { type: 'belief', envId: 1, stage: { index: 1, label: 'episode 2' }, episode: 1, mean: [1, -1], std: [0.5, 1] },
    ]);

    const server = await startViewer({ viewerDir: dir, log: () => {} });
    const ws = new WebSocket(server.url.replace('http', 'ws') + 'ws');
    const got: ServerMessage[] = [];
    ws.on('message', (d, bin) => got.push(decodeServerMessage(bin ? new Uint8Array(d as Buffer) : (d as Buffer).toString())));
    await new Promise((r) => ws.once('open', r));
    const replay = startReplay(server, recn, { autoplay: false });
    try {
      const until = async (pred: () => boolean): Promise<void> => {
        const end = Date.now() + 5000;
        while (!pred()) {
          if (Date.now() > end) throw new Error(`timed out at ${got.length} messages`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      // Sequential episodes: the second lane's belief is recorded after the first lane's frames.
      await until(() => got.some((m) => m.type === 'replay-state')); // the jump to 0 has arrived
      got.length = 0;
      replay.seek(recn.durationS);
      await until(() => got.some((m) => m.type === 'replay-state'));
      expect(got.filter((m) => m.type === 'belief').map((m) => m.type === 'belief' && m.episode)).toEqual([0, 1]);
      got.length = 0;
      replay.seek(0.5 * STEPS * DT);
      await until(() => got.some((m) => m.type === 'replay-state'));
      expect(got.filter((m) => m.type === 'belief').map((m) => m.type === 'belief' && m.episode)).toEqual([0]);
    } finally {
      replay.close();
      ws.close();
      await server.close();
    }
  });

  it('a protocol v3 recording (before beliefs) still loads, its frames intact', () => {
    const path = join(dir, 'v3.mrr');
    writeRecording(path);
    const bytes = readFileSync(path);
    const v4 = loadRecording(path);
    // The header says v3 and every frame carries version byte 3, as a v3 recorder wrote them.
    const text = bytes.toString('latin1');
    const headerEnd = text.indexOf('}', text.indexOf('"protocol"'));
    const v3 = Buffer.from(text.slice(0, headerEnd).replace(/"protocol":\d+/, '"protocol":3') + text.slice(headerEnd), 'latin1');
    for (let at = 0; (at = v3.indexOf(Buffer.from([RECORD_FRAME, 0, 0, 0]), at)) >= 0; at += 4) {
      if (at % RECORD_ALIGN === 0 && v3[at + RECORD_HEADER_BYTES] === BINARY_KIND_FRAME) v3[at + RECORD_HEADER_BYTES + FRAME_OFFSET_VERSION] = 3;
    }
    writeFileSync(join(dir, 'old.mrr'), v3);
    expect(loadRecording(join(dir, 'old.mrr')).messages).toEqual(v4.messages);
    writeFileSync(join(dir, 'older.mrr'), Buffer.from(v3.toString('latin1').replace('"protocol":3', '"protocol":2'), 'latin1'));
    expect(() => loadRecording(join(dir, 'older.mrr'))).toThrow(/protocol v2; this metarl reads format 1 \/ v3–v4/);
  });
});

describe('replay through the server', () => {
  let server: ViewerServer;
  beforeEach(async () => {
    server = await startViewer({ viewerDir: dir, log: () => {} });
  });
  afterEach(async () => server.close());

  it('plays in order at speed, and the page controls pause, seek and speed', async () => {
    const path = join(dir, 'a.mrr');
    writeRecording(path);
    const ws = new WebSocket(server.url.replace('http', 'ws') + 'ws');
    const got: ServerMessage[] = [];
    ws.on('message', (d, bin) => got.push(decodeServerMessage(bin ? new Uint8Array(d as Buffer) : (d as Buffer).toString())));
    await new Promise((r) => ws.once('open', r));
    const replay = startReplay(server, loadRecording(path), { speed: 8, tickMs: 5 });
    const until = async (pred: () => boolean): Promise<void> => {
      const end = Date.now() + 5000;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out at ${got.length} messages`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // 2 s of recording at 8× is 0.25 s.
    const finished = (): boolean => got.some((m) => m.type === 'replay-state' && !m.playing && m.timeS === m.durationS);
    await until(finished);
    const frames = got.filter((m): m is Extract<ServerMessage, { type: 'frame' }> => m.type === 'frame');
    expect(frames.length).toBeGreaterThanOrEqual(2 * STEPS - 2); // the t = 0 frames may come from the jump
    const env0 = frames.filter((f) => f.envId === 0).map((f) => f.step);
    expect(env0).toEqual([...env0].sort((a, b) => a - b));
    // The first hello is the one every socket gets on connect; the replay's follows.
    expect(got.filter((m) => m.type === 'hello').at(-1)).toMatchObject({ run: { mode: 'replay' } });
    const last = got.filter((m) => m.type === 'replay-state').at(-1);
    expect(last).toMatchObject({ playing: false, file: 'a.mrr' });

    got.length = 0;
    ws.send(encodeClientMessage({ type: 'seek', timeS: 1 }));
    await until(() => got.some((m) => m.type === 'replay-state'));
    expect(replay.timeS).toBe(1);
    const shown = got.filter((m): m is Extract<ServerMessage, { type: 'frame' }> => m.type === 'frame');
    // The state at 1 s: each env's frame of step 19 (time 20 × dt), nothing from before.
    expect(shown.map((f) => [f.envId, f.step])).toEqual([
      [0, 19],
      [1, 19],
    ]);
    ws.send(encodeClientMessage({ type: 'speed', speed: 0.5 }));
    const playSent = performance.now();
    ws.send(encodeClientMessage({ type: 'play' }));
    await until(() => replay.playing);
    ws.send(encodeClientMessage({ type: 'pause' }));
    await until(() => !replay.playing);
    // At speed 0.5 the clock advances half the wall time that passed between play and pause, however busy the machine.
    const playedS = (performance.now() - playSent) / 1000;
    expect(replay.timeS).toBeGreaterThanOrEqual(1);
    expect(replay.timeS).toBeLessThanOrEqual(1 + 0.5 * playedS + 0.05);
    replay.close();
    ws.close();
  });
});

describe('metarl view --replay', () => {
  it('plays the recording from its start once a page connects, however late', async () => {
    const path = join(dir, 'late.mrr');
    writeRecording(path);
    const stop = new AbortController();
    let listening!: (server: ViewerServer) => void;
    const started = new Promise<ViewerServer>((resolve) => (listening = resolve));
    const served = replayFile(path, { signal: stop.signal, onListening: (s) => listening(s) });
    const server = await started;
    // Longer than the 2 s recording: a page that reconnects late must still see it all.
    await new Promise((r) => setTimeout(r, 2500));
    const ws = new WebSocket(server.url.replace('http', 'ws') + 'ws');
    const got: ServerMessage[] = [];
    ws.on('message', (d, bin) => got.push(decodeServerMessage(bin ? new Uint8Array(d as Buffer) : (d as Buffer).toString())));
    const end = Date.now() + 30_000;
    while (!got.some((m) => m.type === 'replay-state' && !m.playing && m.timeS === m.durationS)) {
      if (Date.now() > end) throw new Error(`the replay never finished (${got.length} messages)`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const env0 = got.filter((m): m is Extract<ServerMessage, { type: 'frame' }> => m.type === 'frame' && m.envId === 0).map((f) => f.step);
    expect(env0.length).toBeGreaterThanOrEqual(STEPS - 1);
    expect(env0.at(-1)).toBe(STEPS - 1);
    ws.close();
    stop.abort();
    await served;
  });
});
