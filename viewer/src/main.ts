/**
 * The metarl viewer, shaped like a three.js example: `init` builds everything once,
 * `onResize` follows the window, `animate` (through `setAnimationLoop`) advances each
 * env's frame player and renders. Messages from the server arrive through connection.ts
 * and only change state; drawing happens in `animate`.
 */
import './style.css';
import { Box3, Timer, Vector3 } from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { SceneDescription } from '../../src/core/scene.js';
import { shownStepS } from '../../src/stream/protocol.js';
import type { RunInfo, ServerMessage, Stage, ViewMode } from '../../src/stream/protocol.js';
import { BeliefPanel } from './belief.js';
import { AdaptationChart, TrainingChart, stageColor } from './charts.js';
import { Connection } from './connection.js';
import { FramePlayer } from './frames.js';
import { Hud, formatTask } from './hud.js';
import { buildEnvView, type EnvView } from './scene.js';
import { Trail } from './trails.js';
import { createWorld, type World } from './world.js';

interface EnvEntry {
  envId: number;
  desc: SceneDescription;
  sceneKey: string;
  stage: Stage;
  view: EnvView;
  player: FramePlayer;
  /** Child of `view.root`, so it moves and hides with the lane. */
  trail: Trail;
  /** performance.now() of the last episode start: "one at a time" shows the latest. */
  startedMs: number;
  label: string;
}

const LANE_GAP_M = 0.8;
const HUD_INTERVAL_MS = 200;
/** From the target towards the camera: a little to the side, about 22° above the floor. */
const VIEW_DIR = new Vector3(0.3, 0.42, 1).normalize();
/** Share of the free view's half-width and half-height left clear around the robots. */
const FRAME_MARGIN = 0.12;
/** Robots smaller than this (m) are framed as if this big: a 0.2 m arm would fill the window. */
const MIN_FRAME_M = 1;

let world: World;
let controls: OrbitControls;
let hud: Hud;
let connection: Connection;
let trainingChart: TrainingChart;
let adaptationChart: AdaptationChart;
let beliefPanel: BeliefPanel;
const timer = new Timer();
const envs = new Map<number, EnvEntry>();
let run: RunInfo | null = null;
let mode: ViewMode = loadMode();
let follow = true;
let pickedEnv: number | null = null;
let playbackSpeed = 1;
let lastReplayTimeS = 0;
let needsCameraReset = true;
let shownLanes = 0;
let lastHudMs = 0;
/** Width / height of the part of the window the charts leave free. */
let usableAspect = 16 / 9;
const followTarget = new Vector3(0, 0.4, 0);
/** Height of the followed point above the ground: the middle of the robots as last framed. */
let aimHeight = 0.4;
const _desired = new Vector3();
const _delta = new Vector3();
const _box = new Box3();
const _corner = new Vector3();
const _right = new Vector3();
const _up = new Vector3();

init();

function init(): void {
  const container = document.getElementById('stage')!;
  world = createWorld(container);
  controls = new OrbitControls(world.camera, world.renderer.domElement);
  controls.enableDamping = true;
  controls.maxPolarAngle = Math.PI * 0.495; // never under the floor
  controls.addEventListener('start', () => setFollow(false));
  resetCamera();

  trainingChart = new TrainingChart(document.getElementById('chart-train')!, trainingStageName);
  adaptationChart = new AdaptationChart(document.getElementById('chart-adapt')!, trainingStageName);
  beliefPanel = new BeliefPanel(document.getElementById('belief')!);
  hud = new Hud({
    toggleLayout: () => setMode(mode === 'side-by-side' ? 'sequential' : 'side-by-side'),
    toggleFollow: () => setFollow(!follow),
    resetCamera: () => {
      setFollow(true);
      resetCamera();
    },
    focusEnv: (envId) => {
      pickedEnv = pickedEnv === envId ? null : envId;
      layout();
    },
    play: (playing) => connection.send({ type: playing ? 'play' : 'pause' }),
    seek: (timeS) => connection.send({ type: 'seek', timeS }),
    speed: (speed) => connection.send({ type: 'speed', speed }),
  });
  hud.setLayout(mode);
  hud.setFollow(follow);

  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  connection = new Connection(wsUrl, {
    onMessage: handle,
    onStatus: (s) => {
      hud.setStatus(s);
      if (s.state === 'open') {
        // The server replays its state (hello, scenes, metrics) to every new socket.
        clearEnvs();
        hud.setRun(run);
        connection.send({ type: 'view-mode', mode });
      }
    },
  });

  window.addEventListener('resize', onResize);
  onResize();
  world.renderer.setAnimationLoop(animate);
}

function onResize(): void {
  const el = world.renderer.domElement.parentElement!;
  const w = el.clientWidth;
  const h = el.clientHeight;
  world.camera.aspect = w / h;
  // Centre the action in the part of the window the charts panel leaves free.
  const charts = document.getElementById('charts')!.getBoundingClientRect();
  const shift = charts.width > 0 && charts.width < 0.6 * w ? charts.width + 12 : 0;
  world.camera.setViewOffset(w + shift, h, shift, 0, w, h);
  usableAspect = (w - shift) / h;
  world.camera.updateProjectionMatrix();
  world.renderer.setSize(w, h);
  trainingChart.resize();
  adaptationChart.resize();
}

function animate(timestampMs: number): void {
  timer.update(timestampMs);
  const dtS = Math.min(timer.getDelta(), 0.1);
  let anyShown = false;
  let allShown = true;
  for (const e of envs.values()) {
    // Hidden envs keep their clocks running, so the HUD rows stay live and a switch shows the present.
    const ready = e.player.update(dtS, playbackSpeed);
    e.player.visitPlayed(e.trail.push);
    if (!e.view.root.visible) continue;
    if (!ready) {
      allShown = false;
      continue;
    }
    e.player.apply(e.view.bodies);
    e.view.update(e.label);
    anyShown = true;
  }
  // Framed only once every robot in view stands in its pose: a body not yet posed sits at its lane's origin.
  if (anyShown && allShown && needsCameraReset) {
    needsCameraReset = false;
    resetCamera();
  }
  if (follow && aimPoint(_desired)) {
    followTarget.lerp(_desired, 1 - Math.exp(-4 * dtS));
    _delta.subVectors(followTarget, controls.target);
    world.camera.position.add(_delta);
    controls.target.copy(followTarget);
  }
  world.aimSun(controls.target, 3 + laneSpan());
  controls.update();
  world.renderer.render(world.scene, world.camera);
  const now = performance.now();
  if (now - lastHudMs > HUD_INTERVAL_MS) {
    lastHudMs = now;
    refreshHud();
  }
}

// ---------------------------------------------------------------- messages

function handle(msg: ServerMessage): void {
  switch (msg.type) {
    case 'hello':
      run = msg.run;
      hud.setRun(run);
      trainingChart.redraw();
      adaptationChart.setReference(run?.reference ?? []);
      return;
    case 'scene':
      return onScene(msg.envId, msg.scene, msg.stage, msg.dt);
    case 'frame':
      envs.get(msg.envId)?.player.push(msg);
      return;
    case 'episode': {
      const e = envs.get(msg.envId);
      if (msg.phase === 'start') {
        if (e !== undefined) {
          e.startedMs = performance.now();
          // RL² runs its episodes one after another in one env: the stage moves with them.
          e.stage = msg.stage;
          e.trail.setColor(stageColor(msg.stage.index));
        }
        if (mode === 'sequential') layout();
      } else {
        adaptationChart.episodeEnd(msg.envId, msg.stage, msg.ret);
      }
      return;
    }
    case 'belief':
      beliefPanel.add(msg);
      return;
    case 'metrics':
      trainingChart.add(msg.rows, msg.replace);
      return;
    case 'reset':
      clearEnvs();
      return;
    case 'replay-state':
      // A seek: start every player afresh instead of rushing through the gap.
      if (Math.abs(msg.timeS - lastReplayTimeS) > 1 + msg.speed) for (const e of envs.values()) restart(e);
      lastReplayTimeS = msg.timeS;
      playbackSpeed = msg.speed;
      hud.setReplay(msg);
      return;
  }
}

function onScene(envId: number, desc: SceneDescription, stage: Stage, dt: number): void {
  // Like its trail, the lane's belief starts afresh (and a trial's later lanes' with it).
  beliefPanel.sceneArrived(envId);
  const key = JSON.stringify(desc);
  const old = envs.get(envId);
  if (old !== undefined && old.sceneKey === key && old.player.stepS === shownStepS(dt)) {
    old.stage = stage;
    old.trail.setColor(stageColor(stage.index));
    restart(old);
    return;
  }
  if (old !== undefined) disposeEnv(old);
  const view = buildEnvView(desc);
  world.scene.add(view.root);
  const trail = new Trail(shownStepS(dt));
  trail.setColor(stageColor(stage.index));
  view.root.add(trail.line);
  envs.set(envId, { envId, desc, sceneKey: key, stage, view, player: new FramePlayer(desc.bodies.length, dt), trail, startedMs: performance.now(), label: stage.label });
  // A new task may bring a bigger robot (a cart-pole's pole grows from 0.3 to 1 m): a
  // framing chosen for the last one would cut it.
  if (envs.size === 1 || follow) needsCameraReset = true;
  layout();
}

function clearEnvs(): void {
  for (const e of envs.values()) disposeEnv(e);
  envs.clear();
  adaptationChart.forgetEvaluation();
  beliefPanel.clear();
  needsCameraReset = true;
}

/** Its frames start over (a new task in the same scene, a seek): so does its trail. */
function restart(e: EnvEntry): void {
  e.player.clear();
  e.trail.clear();
}

function disposeEnv(e: EnvEntry): void {
  e.trail.dispose();
  e.view.dispose();
}

// ---------------------------------------------------------------- layout and camera

/** Envs in lanes along z, ordered by id (one per stage), or only the focused one. */
function layout(): void {
  const sorted = [...envs.values()].sort((a, b) => a.envId - b.envId);
  const focus = focused();
  const width = Math.max(...sorted.map((e) => 2 * e.view.halfWidth + LANE_GAP_M), 1);
  let lane = 0;
  let floor: { h: number; color: string } | null = null;
  for (const e of sorted) {
    const visible = mode === 'side-by-side' || e === focus;
    e.view.root.visible = visible;
    if (!visible) continue;
    e.view.root.position.set(0, 0, -lane * width);
    lane++;
    if (e.desc.ground.kind === 'plane') floor = floor === null || e.view.groundHeight < floor.h ? { h: e.view.groundHeight, color: e.desc.ground.color } : floor;
    else floor ??= { h: e.view.groundHeight - 0.02, color: e.desc.ground.color };
  }
  if (floor !== null) world.setFloor(floor.h, floor.color);
  // Lanes come and go as stages start (training samples stage k after stage k − 1): while
  // following, frame the new row instead of keeping a distance chosen for fewer lanes.
  if (lane !== shownLanes) {
    shownLanes = lane;
    if (follow) needsCameraReset = true;
  }
}

function focused(): EnvEntry | undefined {
  if (pickedEnv !== null && envs.has(pickedEnv)) return envs.get(pickedEnv);
  let best: EnvEntry | undefined;
  for (const e of envs.values()) if (best === undefined || e.startedMs > best.startedMs || (e.startedMs === best.startedMs && e.envId < best.envId)) best = e;
  return best;
}

function visibleEnvs(): EnvEntry[] {
  return [...envs.values()].filter((e) => e.view.root.visible);
}

function laneSpan(): number {
  const v = visibleEnvs();
  return v.length <= 1 ? 0 : Math.abs(v[0].view.root.position.z - v[v.length - 1].view.root.position.z);
}

/** The middle of the visible robots (their first body), slightly above ground. */
function aimPoint(out: Vector3): boolean {
  const v = visibleEnvs();
  if (v.length === 0) return false;
  out.set(0, 0, 0);
  for (const e of v) {
    const lead = e.view.bodies[0];
    out.x += e.view.root.position.x + (lead?.position.x ?? 0);
    out.z += e.view.root.position.z + (lead?.position.z ?? 0);
  }
  out.divideScalar(v.length);
  out.y = groundUnder(v) + aimHeight;
  return true;
}

function groundUnder(v: EnvEntry[]): number {
  return Math.max(...v.map((e) => e.view.groundHeight));
}

/**
 * Aims at the middle of the robots in view and backs off along VIEW_DIR until their
 * bounding box (with the lane labels) fits the part of the window the charts leave
 * free, with FRAME_MARGIN clear: every corner of the box, projected, inside it. The
 * near lane is the closest to the camera, so the corners, not the box's size, decide.
 */
function resetCamera(): void {
  const v = visibleEnvs();
  _box.makeEmpty();
  for (const e of v) e.view.expandBox(_box);
  if (_box.isEmpty()) {
    followTarget.set(0, 0.4, 0);
    _box.setFromCenterAndSize(followTarget, _corner.setScalar(MIN_FRAME_M));
  } else {
    aimPoint(followTarget);
    followTarget.y = (_box.min.y + _box.max.y) / 2;
    aimHeight = followTarget.y - groundUnder(v);
  }
  _box.getSize(_corner);
  _box.expandByVector(_corner.set(Math.max(0, MIN_FRAME_M - _corner.x), Math.max(0, MIN_FRAME_M - _corner.y), Math.max(0, MIN_FRAME_M - _corner.z)).multiplyScalar(0.5));
  // The camera looks along −VIEW_DIR; its right and up axes as three's lookAt makes them.
  _right.crossVectors(world.camera.up, VIEW_DIR).normalize();
  _up.crossVectors(VIEW_DIR, _right);
  const tanUp = Math.tan((world.camera.fov * Math.PI) / 360) * (1 - FRAME_MARGIN);
  const tanSide = tanUp * usableAspect;
  let dist = 0;
  for (let i = 0; i < 8; i++) {
    _corner.set(i & 1 ? _box.max.x : _box.min.x, i & 2 ? _box.max.y : _box.min.y, i & 4 ? _box.max.z : _box.min.z).sub(followTarget);
    const toward = _corner.dot(VIEW_DIR);
    dist = Math.max(dist, toward + Math.abs(_corner.dot(_right)) / tanSide, toward + Math.abs(_corner.dot(_up)) / tanUp);
  }
  world.camera.position.copy(followTarget).addScaledVector(VIEW_DIR, dist);
  controls.target.copy(followTarget);
  controls.update();
}

function setFollow(on: boolean): void {
  follow = on;
  hud.setFollow(on);
}

function setMode(m: ViewMode): void {
  mode = m;
  try {
    localStorage.setItem('metarl.viewMode', m);
  } catch {
    // private windows may refuse storage; the choice just does not persist
  }
  hud.setLayout(m);
  connection.send({ type: 'view-mode', mode: m });
  layout();
  resetCamera();
}

function loadMode(): ViewMode {
  try {
    return localStorage.getItem('metarl.viewMode') === 'sequential' ? 'sequential' : 'side-by-side';
  } catch {
    return 'side-by-side';
  }
}

// ---------------------------------------------------------------- HUD

function trainingStageName(s: number): string {
  return run?.stages?.[s] ?? `stage ${s}`;
}

function refreshHud(): void {
  const focus = focused();
  let frames = 0;
  for (const e of envs.values()) {
    frames += e.player.received;
    const ret = e.player.ret;
    e.label = e.player.step < 0 ? e.stage.label : `${e.stage.label} · ${ret.toFixed(1)}`;
  }
  const app = document.getElementById('app')!;
  app.dataset.frames = String(frames);
  // Per env, in id order: the trail's points and the most it keeps, for tests and for anyone inspecting the page.
  const sorted = [...envs.values()].sort((a, b) => a.envId - b.envId);
  app.dataset.trailPoints = sorted.map((e) => e.trail.count).join(' ');
  app.dataset.trailCapacity = sorted.map((e) => e.trail.capacity).join(' ');
  hud.setFocus(
    focus === undefined
      ? null
      : {
          family: focus.desc.family,
          task: formatTask(focus.desc.taskLabel, focus.desc.markers.flatMap((m) => (m.kind === 'text' ? [m.text] : []))),
          stage: focus.stage.label,
          step: focus.player.step,
          ret: focus.player.ret,
        },
  );
  hud.setEnvs(
    sorted.map((e) => ({ envId: e.envId, color: stageColor(e.stage.index), stage: e.stage.label, step: e.player.step, ret: e.player.ret, focus: e === focus && mode === 'sequential' })),
  );
}
