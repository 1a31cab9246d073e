/**
 * Plays a recording (format in ./recorder.ts) through the viewer server, with play,
 * pause, seek and speed driven from the page (or from code). Wall-clock time drives
 * playback here: it is presentation, not simulation.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { MetarlError } from '../core/errors.js';
import { FRAME_OFFSET_VERSION, MAX_PLAYBACK_SPEED, OLDEST_READABLE_RECORDING, PROTOCOL_VERSION, beliefOutlivesScene, decodeFrame, decodeServerMessage } from './protocol.js';
import type { BeliefMessage, ClientMessage, RunInfo, ServerMessage } from './protocol.js';
import {
  RECORDING_FORMAT,
  RECORDING_MAGIC,
  RECORD_FRAME,
  RECORD_HEADER_BYTES,
  RECORD_JSON,
  RECORD_OFFSET_BYTES,
  RECORD_OFFSET_KIND,
  RECORD_OFFSET_TIME,
  alignUp,
} from './recorder.js';
import type { ViewerServer } from './server.js';

export interface Recording {
  path: string;
  run: RunInfo | null;
  /** Decoded messages in file order, each with its time on the recording clock. */
  messages: ServerMessage[];
  times: Float64Array;
  durationS: number;
}

/** Reads and validates a whole `.mrr` file. */
export function loadRecording(path: string): Recording {
  const bytes = readFileSync(path);
  const bad = (why: string): MetarlError =>
    new MetarlError('METARL_PROTOCOL', `${path} is not a readable metarl rollout recording: ${why}`, { path });
  if (bytes.length < RECORDING_MAGIC.length + 4 || bytes.toString('latin1', 0, RECORDING_MAGIC.length) !== RECORDING_MAGIC) {
    throw bad(`it does not start with ${RECORDING_MAGIC}`);
  }
  const headerBytes = bytes.readUInt32LE(RECORDING_MAGIC.length);
  let header: { format?: unknown; protocol?: unknown; run?: RunInfo | null };
  try {
    header = JSON.parse(bytes.toString('utf8', RECORDING_MAGIC.length + 4, RECORDING_MAGIC.length + 4 + headerBytes));
  } catch {
    throw bad('its header is not JSON');
  }
  const protocol = header.protocol;
  if (header.format !== RECORDING_FORMAT || typeof protocol !== 'number' || protocol < OLDEST_READABLE_RECORDING || protocol > PROTOCOL_VERSION) {
    throw bad(
      `it was written as format ${String(header.format)} / protocol v${String(header.protocol)}; this metarl reads format ${RECORDING_FORMAT} / v${OLDEST_READABLE_RECORDING}–v${PROTOCOL_VERSION}`,
    );
  }
  const messages: ServerMessage[] = [];
  const times: number[] = [];
  let at = alignUp(RECORDING_MAGIC.length + 4 + headerBytes);
  while (at + RECORD_HEADER_BYTES <= bytes.length) {
    const kind = bytes.readUInt8(at + RECORD_OFFSET_KIND);
    const n = bytes.readUInt32LE(at + RECORD_OFFSET_BYTES);
    const time = bytes.readDoubleLE(at + RECORD_OFFSET_TIME);
    const start = at + RECORD_HEADER_BYTES;
    if (start + n > bytes.length) break; // a recording cut short (a crash) plays up to its last whole record
    const payload = bytes.subarray(start, start + n);
    if (kind === RECORD_FRAME) {
      // Copy: the poses must not pin the whole file buffer through a view.
      const frame = new Uint8Array(payload);
      // An older recording's frames carry its version; their layout is this version's.
      if (frame.byteLength > FRAME_OFFSET_VERSION && frame[FRAME_OFFSET_VERSION] === protocol) frame[FRAME_OFFSET_VERSION] = PROTOCOL_VERSION;
      messages.push(decodeFrame(frame));
    } else if (kind === RECORD_JSON) {
      messages.push(decodeServerMessage(payload.toString('utf8')));
    } else {
      throw bad(`unknown record kind ${kind} at byte ${at}`);
    }
    times.push(time);
    at = start + alignUp(n);
  }
  const t = Float64Array.from(times);
  return { path, run: header.run ?? null, messages, times: t, durationS: t.length > 0 ? t[t.length - 1] : 0 };
}

export interface Replay {
  readonly durationS: number;
  readonly timeS: number;
  readonly playing: boolean;
  play(): void;
  pause(): void;
  seek(timeS: number): void;
  setSpeed(speed: number): void;
  /** Stops the timer and stops listening to the page; the server stays up. */
  close(): void;
}

export interface ReplayOptions {
  speed?: number;
  autoplay?: boolean;
  /** Start again at the end instead of pausing. */
  loop?: boolean;
  /** Timer period in ms. */
  tickMs?: number;
}

const STATE_EVERY_MS = 250;

export function startReplay(server: ViewerServer, recording: Recording, options: ReplayOptions = {}): Replay {
  const { messages, times } = recording;
  const tickMs = options.tickMs ?? 1000 / 60;
  let speed = clampSpeed(options.speed ?? 1);
  let playing = false;
  let clock = 0;
  let cursor = 0; // next message to send
  let lastTick = performance.now();
  let lastStateMs = 0;
  let shownEnvs = '';

  server.hello(recording.run === null ? null : { ...recording.run, mode: 'replay' });

  function publishState(): void {
    lastStateMs = performance.now();
    server.publish({ type: 'replay-state', file: basename(recording.path), playing, timeS: clock, durationS: recording.durationS, speed });
  }

  /** The state at `t`: the scenes alive then, each env's last frame and the beliefs shown, without replaying what lies between. */
  function jumpTo(t: number): void {
    clock = Math.min(Math.max(0, t), recording.durationS);
    const scenes = new Map<number, ServerMessage>();
    const frames = new Map<number, ServerMessage>();
    const beliefs = new Map<string, BeliefMessage>();
    const metrics: ServerMessage[] = [];
    let i = 0;
    for (; i < messages.length && times[i] <= clock; i++) {
      const m = messages[i];
      if (m.type === 'reset') {
        scenes.clear();
        frames.clear();
        beliefs.clear();
      } else if (m.type === 'scene') {
        scenes.set(m.envId, m);
        frames.delete(m.envId);
        for (const [key, b] of beliefs) if (!beliefOutlivesScene(b.envId, m.envId)) beliefs.delete(key);
      } else if (m.type === 'frame') frames.set(m.envId, m);
      else if (m.type === 'belief') beliefs.set(`${m.envId}:${m.episode}`, m);
      else if (m.type === 'metrics') metrics.push(m);
    }
    cursor = i;
    const envKey = [...scenes.keys()].sort().join(',');
    if (envKey !== shownEnvs) server.reset();
    shownEnvs = envKey;
    for (const m of scenes.values()) server.publish(m);
    for (const m of frames.values()) server.publish(m);
    for (const m of beliefs.values()) server.publish(m);
    const rows = metrics.flatMap((m) => (m.type === 'metrics' ? m.rows : []));
    if (rows.length > 0) server.publish({ type: 'metrics', replace: true, rows });
    publishState();
  }

  function tick(): void {
    const now = performance.now();
    const elapsedS = (now - lastTick) / 1000;
    lastTick = now;
    if (!playing) return;
    clock = Math.min(recording.durationS, clock + elapsedS * speed);
    for (; cursor < messages.length && times[cursor] <= clock; cursor++) {
      const m = messages[cursor];
      if (m.type === 'reset') shownEnvs = '';
      if (m.type === 'scene') shownEnvs = ''; // the set of envs may change: the next seek compares afresh
      server.publish(m);
    }
    if (cursor >= messages.length) {
      if (options.loop) jumpTo(0);
      else playing = false;
      publishState();
    } else if (now - lastStateMs > STATE_EVERY_MS) publishState();
  }

  const unsubscribe = server.onControl((msg: ClientMessage) => {
    if (msg.type === 'play') replay.play();
    else if (msg.type === 'pause') replay.pause();
    else if (msg.type === 'seek') replay.seek(msg.timeS);
    else if (msg.type === 'speed') replay.setSpeed(msg.speed);
  });
  const timer = setInterval(tick, tickMs);

  const replay: Replay = {
    get durationS() {
      return recording.durationS;
    },
    get timeS() {
      return clock;
    },
    get playing() {
      return playing;
    },
    play() {
      if (cursor >= messages.length) jumpTo(0);
      playing = true;
      lastTick = performance.now();
      publishState();
    },
    pause() {
      playing = false;
      publishState();
    },
    seek(t) {
      jumpTo(t);
    },
    setSpeed(s) {
      speed = clampSpeed(s);
      publishState();
    },
    close() {
      clearInterval(timer);
      unsubscribe();
    },
  };
  jumpTo(0);
  if (options.autoplay ?? true) replay.play();
  return replay;
}

function clampSpeed(s: number): number {
  return Number.isFinite(s) && s > 0 ? Math.min(s, MAX_PLAYBACK_SPEED) : 1;
}
