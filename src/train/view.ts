/**
 * `metarl view`: watch a trained run adapt, and `metarl view --replay`: play a recording.
 *
 * For each fresh held-out task the learner's `evaluate([task])` runs with a watch observer
 * that captures slot 0 at every adaptation stage (MAML: before adaptation and after each
 * inner step; RL²: episode 1, 2, … of a trial). The capture is written to
 * `runs/<name>/rollouts/<label>.mrr` (a shipped zoo run's to `runs/zoo/<name>/rollouts/`, so the
 * package is never written) and then played through the viewer server at
 * simulation speed, so what a person watches is exactly the file they can replay later.
 *
 * Why capture first and write after: the agent samples its stages one after another, but
 * side by side the stages should start together. Writing the captured tracks interleaved
 * (side by side) or in turn (sequential) puts them on the recording's clock either way.
 *
 * When the run has an eval.json (`metarl eval`), its rows go to the page with hello and are
 * drawn in the adaptation chart beside the task on screen: the held-out mean of this agent
 * and of the fine-tuning baselines, so one task's curve can be read against them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { WatchHooks } from '../../agents/types.js';
import { MetarlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { SceneDescription } from '../core/scene.js';
import { type MetricsRow as WireMetricsRow, type ReferenceCurve, type RunInfo, type Stage, type ViewMode } from '../stream/protocol.js';
import type { Publisher } from '../stream/publisher.js';
import { createRecorder, rolloutPath } from '../stream/recorder.js';
import { outputDir, resolveRunDir } from './zoo.js';
import { loadRecording, startReplay, type Replay } from '../stream/replay.js';
import { startViewer, type ViewerServer } from '../stream/server.js';
import { readMetrics, wireMetricsRow } from './metrics.js';
import { openRun } from './open-run.js';
import { SEEDS, seedFor } from './assemble.js';
import type { TrainObserver } from './train.js';
import { viewerObserver } from './watch.js';

export interface ViewOptions {
  port?: number;
  host?: string;
  /** Tasks to show; unbounded when undefined. */
  tasks?: number;
  /** How the stages are timed until a page asks otherwise (its layout toggle). */
  mode?: ViewMode;
  /** Seed of the held-out tasks; default the run's seed. */
  seed?: number;
  /** The iteration of the checkpoint to show (default the newest). */
  checkpoint?: number;
  /** Playback speed (1 = simulation speed). */
  speed?: number;
  /**
   * Sampler threads; default 1. With 0 the rollouts step on this thread without yielding,
   * so the page cannot load or reconnect while a task is being sampled.
   */
  workers?: number;
  /** Stops after the current task's evaluation; Ctrl-C in the CLI. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Called once the server listens (the CLI prints the URL). */
  onListening?: (server: ViewerServer) => void;
}

export interface ViewTaskResult {
  path: string;
  /** Mean return per adaptation stage on this task. */
  returns: number[];
  stages: string[];
}

/** Seconds the last picture of a task stays up before the next task. */
const HOLD_S = 1.5;
/** Training curve rows carried in each recording. */
const METRICS_KEPT = 2000;

/** Loads the run's latest checkpoint and shows its adaptation on fresh tasks, recorded and replayed. */
export async function viewRun(given: string, options: ViewOptions = {}): Promise<ViewTaskResult[]> {
  const runDir = resolveRunDir(given);
  const log = options.log ?? ((line: string) => console.log(line));
  let current: TrainObserver | null = null;
  const run = await openRun(runDir, {
    checkpoint: options.checkpoint,
    workers: options.workers ?? 1,
    watch: (stage: number, label: string): WatchHooks | undefined => current?.watch?.(stage, label),
  });
  let server: ViewerServer | null = null;
  let replay: Replay | null = null;
  try {
    server = await startViewer({ port: options.port ?? 0, host: options.host });
    options.onListening?.(server);
    let mode: ViewMode = options.mode ?? 'side-by-side';
    server.onControl((msg) => {
      if (msg.type === 'view-mode') mode = msg.mode;
    });
    const { config, family, learner } = run;
    const info: RunInfo = {
      family: family.name,
      agent: config.agent,
      backend: run.backend,
      mode: 'view',
      runName: basename(runDir),
      config: { iteration: run.iteration, seed: config.seed, stages: learner.stages.length },
      stages: [...learner.stages],
    };
    const reference = referenceCurves(runDir, config.agent, learner.stages, run.iteration, log);
    if (reference !== undefined) info.reference = reference;
    server.hello(info);
    const metrics = trainingCurve(runDir, learner.stages.length);
    const seed = options.seed ?? config.seed;
    const rng = new Rng(seedFor(seed, SEEDS.viewTasks));
    const results: ViewTaskResult[] = [];
    for (let i = 0; options.tasks === undefined || i < options.tasks; i++) {
      if (options.signal?.aborted) break;
      const [task] = family.sampleTasks(rng, 1);
      const capture = createCapture();
      current = viewerObserver(capture);
      current.runInfo?.({ family: family.name, agent: config.agent, backend: run.backend, stages: learner.stages, dt: family.spec.dt, config });
      const evalSeed = rng.seed();
      const adaptation = await learner.evaluate([task], { seed: evalSeed });
      current = null;
      const returns = adaptation.returns.map((perTask) => perTask[0]);
      log(`task ${i} ${JSON.stringify(task)}: ${adaptation.stages.map((s, k) => `${s} ${returns[k].toFixed(1)}`).join(', ')}`);

      const path = rolloutPath(outputDir(runDir), `view-it${run.iteration}-seed${seed}-task${i}`);
      const recorder = createRecorder(path, info);
      for (const row of metrics) recorder.metrics(row);
      writeTracks(recorder, capture.tracks, mode);
      recorder.close();
      results.push({ path, returns, stages: adaptation.stages });
      if (options.signal?.aborted) break;

      replay = startReplay(server, loadRecording(path), { speed: options.speed ?? 1 });
      server.hello(info); // startReplay announces a replay; this is a live evaluation
      await untilPlayed(replay, options.signal);
      replay.close();
      replay = null;
    }
    return results;
  } finally {
    replay?.close();
    await server?.close();
    await run.close();
  }
}

/** `metarl view --replay <file>`: play, pause, scrub and speed from the page until `signal` aborts. */
export async function replayFile(path: string, options: Pick<ViewOptions, 'port' | 'host' | 'speed' | 'signal' | 'onListening'> = {}): Promise<void> {
  if (!existsSync(path)) {
    throw new MetarlError('METARL_FILE_MISSING', `no recording at ${path}: \`metarl view runs/<name>\` writes them under runs/<name>/rollouts/`, { path });
  }
  const recording = loadRecording(path);
  const server = await startViewer({ port: options.port ?? 0, host: options.host });
  // Playback starts when a page is watching: a short recording played to nobody (a page still
  // reconnecting, a person still opening the URL) left them only its last frame.
  const replay = startReplay(server, recording, { speed: options.speed ?? 1, autoplay: false });
  const untilWatched = setInterval(() => {
    if (server.clientCount === 0) return;
    clearInterval(untilWatched);
    replay.play();
  }, 50);
  try {
    options.onListening?.(server);
    await untilAborted(options.signal);
  } finally {
    clearInterval(untilWatched);
    replay.close();
    await server.close();
  }
}

// ---------------------------------------------------------------- capture

interface Track {
  envId: number;
  scene: SceneDescription;
  stage: Stage;
  dt: number;
  steps: number[];
  poses: Float32Array[];
  rewards: number[];
  end: { ret: number; length: number } | null;
  /** The learner's belief for this env's episode (PEARL), if it sent one. */
  belief: { episode: number; mean: number[]; std: number[] } | null;
}

/** A publisher that keeps every env's scene, frames, episode end and belief, for writing later. */
function createCapture(): Publisher & { tracks: Map<number, Track> } {
  const tracks = new Map<number, Track>();
  const track = (envId: number): Track | undefined => tracks.get(envId);
  return {
    tracks,
    hello() {},
    scene(envId, scene, stage, dt) {
      tracks.set(envId, { envId, scene, stage, dt, steps: [], poses: [], rewards: [], end: null, belief: null });
    },
    frame(envId, step, poses, reward = 0) {
      const t = track(envId);
      if (t === undefined) return;
      t.steps.push(step);
      t.poses.push(poses.slice()); // the sampler reuses its buffer
      t.rewards.push(reward);
    },
    episodeStart() {},
    episodeEnd(envId, ret, length) {
      const t = track(envId);
      if (t !== undefined) t.end = { ret, length };
    },
    belief(envId, episode, b) {
      const t = track(envId);
      if (t !== undefined) t.belief = { episode, mean: Array.from(b.mean), std: Array.from(b.std) };
    },
    metrics() {},
    reset() {
      tracks.clear();
    },
  };
}

/** Side by side: every stage starts at time 0. Sequential: each stage starts where the last ended. */
function writeTracks(out: Publisher, tracks: Map<number, Track>, mode: ViewMode): void {
  const list = [...tracks.values()].sort((a, b) => a.envId - b.envId);
  const begin = (t: Track) => {
    out.scene(t.envId, t.scene, t.stage, t.dt);
    out.episodeStart(t.envId);
    if (t.belief !== null) out.belief(t.envId, t.belief.episode, t.belief);
  };
  const frame = (t: Track, i: number) => {
    out.frame(t.envId, t.steps[i], t.poses[i], t.rewards[i]);
    if (i === t.steps.length - 1 && t.end !== null) out.episodeEnd(t.envId, t.end.ret, t.end.length);
  };
  if (mode === 'sequential') {
    for (const t of list) {
      begin(t);
      for (let i = 0; i < t.steps.length; i++) frame(t, i);
    }
    return;
  }
  list.forEach(begin);
  const longest = Math.max(0, ...list.map((t) => t.steps.length));
  for (let i = 0; i < longest; i++) for (const t of list) if (i < t.steps.length) frame(t, i);
}

/** The run's metrics.jsonl as the wire's rows, each with the check of validation.jsonl made at its iteration. */
function trainingCurve(runDir: string, stages: number): WireMetricsRow[] {
  const checks = new Map(readMetrics(runDir, 'validation').map((row) => [row.iteration, row]));
  return readMetrics(runDir)
    .slice(-METRICS_KEPT)
    .map((row) => wireMetricsRow(row, stages, checks.get(row.iteration)));
}

// ---------------------------------------------------------------- reference curves

const stageSummary = z.object({ stage: z.string(), mean: z.number(), stderr: z.number().nonnegative() });
/** What the chart needs of `metarl eval`'s eval.json; its other fields are not read. */
const baselineRow = z.object({ label: z.string(), adaptation: z.array(stageSummary) });
const evalFile = z.object({
  iteration: z.number().int().optional(),
  adaptation: z.array(stageSummary),
  // Checked row by row below: one unreadable baseline must not hide the others.
  baselines: z.array(z.unknown()).optional(),
});

/**
 * The run's eval.json as reference curves: the agent's held-out evaluation, then each
 * baseline. No file means none; a file or row that cannot be read or does not fit is a
 * one-line warning, never a reason to stop the viewer.
 */
function referenceCurves(runDir: string, agent: string, stages: readonly string[], iteration: number, log: (line: string) => void): ReferenceCurve[] | undefined {
  // A shipped run evaluated again (`metarl eval zoo/<name>`) has its newer table under runs/zoo/<name>/.
  const path = [join(outputDir(runDir), 'eval.json'), join(runDir, 'eval.json')].find((p) => existsSync(p));
  if (!path) return undefined;
  const warn = (line: string): undefined => {
    log(`warning: ${path}: ${line}`);
    return undefined;
  };
  let parsed: ReturnType<typeof evalFile.safeParse>;
  try {
    parsed = evalFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    return warn(`not drawn in the adaptation chart: ${(err as Error).message}`);
  }
  if (!parsed.success) return warn(`not drawn in the adaptation chart: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const { data } = parsed;
  // Rows line up by position, not by name: a baseline fine-tuned by policy-gradient steps names
  // its stages 'pre', 'step 1' even beside RL²'s 'episode 1', 'episode 2'; stage k is k adaptation steps either way.
  const misfit = (row: { label: string; adaptation: Array<{ stage: string }> }): string | null => {
    const got = row.adaptation.map((s) => s.stage);
    return got.length === stages.length ? null : `"${row.label}" has ${got.length} stage(s) [${got.join(', ')}], the run has ${stages.length} [${stages.join(', ')}]; run \`metarl eval\` again`;
  };
  // An eval.json older than the checkpoint on screen says so in its label.
  const label = data.iteration === undefined || data.iteration === iteration ? `${agent} (held-out eval)` : `${agent} (held-out eval, iteration ${data.iteration})`;
  const own = { label, adaptation: data.adaptation };
  // Without the agent's own row the baselines have nothing to be read against.
  const ownMisfit = misfit(own);
  if (ownMisfit !== null) return warn(`not drawn in the adaptation chart: ${ownMisfit}`);
  const baselines = (data.baselines ?? []).flatMap((raw, i) => {
    const row = baselineRow.safeParse(raw);
    const why = row.success ? misfit(row.data) : `baselines.${i}: ${row.error.issues.map((issue) => `${issue.path.join('.') || '(row)'}: ${issue.message}`).join('; ')}`;
    if (why !== null) warn(`a baseline left out of the adaptation chart: ${why}`);
    return row.success && why === null ? [row.data] : [];
  });
  const rows = [own, ...baselines];
  return rows.map((row) => ({ label: row.label, returns: row.adaptation.map((s) => s.mean), stderr: row.adaptation.map((s) => s.stderr) }));
}

// ---------------------------------------------------------------- waiting

/** Until the replay has reached its end and held there a moment; a paused page keeps it waiting. */
async function untilPlayed(replay: Replay, signal?: AbortSignal): Promise<void> {
  let heldS = 0;
  const tickMs = 100;
  while (!signal?.aborted && heldS < HOLD_S) {
    await sleep(tickMs, signal);
    const atEnd = !replay.playing && replay.timeS >= replay.durationS;
    heldS = atEnd ? heldS + tickMs / 1000 : 0;
  }
}

function untilAborted(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal === undefined) return; // runs until the process ends
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
