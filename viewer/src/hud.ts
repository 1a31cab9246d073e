/**
 * The page's DOM around the canvas: the HUD (run, task, stage, step, return and one
 * row per env), the toolbar, the replay bar and the status banner. Pure DOM, no three.js.
 */
import type { ReplayStateMessage, RunInfo, ViewMode } from '../../src/stream/protocol.js';
import type { ConnectionStatus } from './connection.js';

export interface EnvRow {
  envId: number;
  color: string;
  stage: string;
  step: number;
  ret: number;
  focus: boolean;
}

export interface FocusInfo {
  family: string;
  task: string;
  stage: string;
  step: number;
  ret: number;
}

export interface HudActions {
  toggleLayout(): void;
  toggleFollow(): void;
  resetCamera(): void;
  focusEnv(envId: number): void;
  play(playing: boolean): void;
  seek(timeS: number): void;
  speed(speed: number): void;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

export class Hud {
  private readonly envList = $('hud-envs');
  private readonly banner = $('banner');
  private readonly seek = $<HTMLInputElement>('seek');
  private playing = false;
  private seeking = false;
  private lastEnvHtml = '';

  constructor(actions: HudActions) {
    $('btn-layout').onclick = () => actions.toggleLayout();
    $('btn-follow').onclick = () => actions.toggleFollow();
    $('btn-reset').onclick = () => actions.resetCamera();
    this.envList.onclick = (ev) => {
      const li = (ev.target as HTMLElement).closest('li');
      if (li?.dataset.env !== undefined) actions.focusEnv(Number(li.dataset.env));
    };
    $('btn-play').onclick = () => actions.play(!this.playing);
    this.seek.oninput = () => {
      this.seeking = true;
      actions.seek(Number(this.seek.value));
    };
    this.seek.onchange = () => (this.seeking = false);
    $<HTMLSelectElement>('speed').onchange = (ev) => actions.speed(Number((ev.target as HTMLSelectElement).value));
  }

  setRun(run: RunInfo | null): void {
    $('hud-agent').textContent = run === null ? '—' : `${run.agent} · ${run.backend}`;
    if (run !== null) $('hud-family').textContent = run.family;
    const mode = $('hud-mode');
    mode.textContent = run?.mode === 'replay' ? 'replay' : run?.mode === 'view' ? 'evaluation' : 'live';
    mode.className = `pill ${run?.mode === 'replay' ? 'replay' : ''}`;
    document.title = run === null ? 'metarl viewer' : `metarl · ${run.family} · ${run.agent}${run.runName ? ` · ${run.runName}` : ''}`;
  }

  setFocus(f: FocusInfo | null): void {
    if (f === null) {
      for (const id of ['hud-task', 'hud-stage', 'hud-step', 'hud-return']) $(id).textContent = '—';
      return;
    }
    $('hud-family').textContent = f.family;
    $('hud-task').textContent = f.task;
    $('hud-stage').textContent = f.stage;
    $('hud-step').textContent = f.step < 0 ? '—' : String(f.step);
    $('hud-return').textContent = f.ret.toFixed(1);
  }

  setEnvs(rows: EnvRow[]): void {
    // One row per env only when there is a choice to make.
    const html =
      rows.length < 2
        ? ''
        : rows
            .map(
              (r) =>
                `<li data-env="${r.envId}" class="${r.focus ? 'focus' : ''}"><span class="dot" style="background:${r.color}"></span>` +
                `<span class="name">${escapeHtml(r.stage)}</span><span class="step">${r.step < 0 ? '' : r.step}</span>` +
                `<span class="ret">${r.ret.toFixed(1)}</span></li>`,
            )
            .join('');
    if (html !== this.lastEnvHtml) this.envList.innerHTML = this.lastEnvHtml = html;
  }

  setLayout(mode: ViewMode): void {
    $('btn-layout').textContent = mode === 'side-by-side' ? 'Side by side' : 'One at a time';
  }

  setFollow(on: boolean): void {
    $('btn-follow').setAttribute('aria-pressed', String(on));
  }

  setStatus(s: ConnectionStatus): void {
    const b = this.banner;
    b.className = '';
    if (s.state === 'open') {
      b.hidden = true;
      return;
    }
    b.hidden = false;
    if (s.state === 'connecting') b.textContent = 'connecting to the metarl server…';
    else if (s.state === 'closed') b.textContent = `disconnected from the metarl server; retrying in ${(s.retryInMs / 1000).toFixed(1)} s`;
    else {
      b.className = 'error';
      b.textContent = s.message;
    }
    const pill = $('hud-mode');
    pill.className = 'pill offline';
    pill.textContent = s.state === 'incompatible' ? 'incompatible' : 'offline';
  }

  setReplay(r: ReplayStateMessage): void {
    $('replay').hidden = false;
    this.playing = r.playing;
    $('btn-play').textContent = r.playing ? '❚❚' : '▶';
    this.seek.max = String(r.durationS);
    if (!this.seeking) this.seek.value = String(r.timeS);
    $('replay-time').textContent = `${r.timeS.toFixed(1)} / ${r.durationS.toFixed(1)} s`;
    $<HTMLSelectElement>('speed').value = String(r.speed);
  }
}

/** 'target velocity 1.30 · terrain rough' */
export function formatTask(label: Record<string, number | string>, texts: string[]): string {
  const parts = Object.entries(label).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`);
  return [...parts, ...texts].join(' · ') || '—';
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
