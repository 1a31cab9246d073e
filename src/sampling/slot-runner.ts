/**
 * Steps a contiguous range of env slots of one job, reading actions from and
 * writing observations, flags and the batch into the job's shared views. The one
 * piece of code that touches envs: a worker thread runs it over its range, and a
 * `workers: 0` sampler runs it over every slot on the calling thread, so both give
 * the same numbers.
 *
 * Per slot, per step (in this order, because the batch row must hold what the
 * policy saw and did before the env moves on):
 *   record obs and action at (slot, episode, t) → prevAction = action → env.step →
 *   record reward, sums → if the episode ended: close it (keeping its final observation) and reset the next one
 *   (or mark the slot inactive), else publish the new observation.
 *
 * @internal
 */
import type { Env, TaskFamily } from '../core/types.js';
import type { SceneDescription } from '../core/scene.js';
import { POSE_STRIDE } from '../core/scene.js';
import { SLOT_EPISODE, SLOT_STRIDE, SLOT_T, resetSeed } from './layout.js';
import type { JobViews } from './layout.js';
import type { JobPlan } from './messages.js';
import { envFailed, nonFinite, obsMismatch } from './failure.js';
import type { EnvCallSite } from './failure.js';
import type { CallTracker } from './watchdog.js';

export class SlotRunner {
  private readonly envs: Env[] = [];
  /** Action views per local slot, made once so `env.step` gets a Float32Array without a per-step `subarray`. */
  private readonly actionViews: Float32Array[] = [];
  /** Pose row per local slot, or null when the slot is not watched. */
  private readonly poseViews: Array<Float32Array | null> = [];
  /** Running return of each local slot's current episode (float64, rounded once into the batch). */
  private readonly episodeReturn: Float64Array;
  private infoKeys: string[] | null = null;
  /** Per info key: sums over [local slot, episode]. */
  private infoSums: Float64Array[] = [];
  private readonly obsSize: number;
  private readonly actSize: number;
  private disposed = false;

  constructor(
    private readonly family: TaskFamily,
    private readonly plan: JobPlan,
    private readonly v: JobViews,
    private readonly slotBegin: number,
    private readonly slotEnd: number,
    /** Told of every env call, so a call that never returns can be named. */
    private readonly calls: CallTracker,
  ) {
    this.obsSize = family.spec.obsSize;
    this.actSize = family.spec.actSize;
    this.episodeReturn = new Float64Array(slotEnd - slotBegin);
    const poseFloats = family.spec.bodyCount * POSE_STRIDE;
    for (let s = slotBegin; s < slotEnd; s++) {
      this.actionViews.push(v.action.subarray(s * this.actSize, (s + 1) * this.actSize));
      const row = plan.watchSlots.indexOf(s);
      this.poseViews.push(row < 0 ? null : v.poses.subarray(row * poseFloats, (row + 1) * poseFloats));
    }
  }

  /** Makes every slot's env, resets its first episode and fills the step input; returns the watched scenes. */
  start(): Array<{ slot: number; scene: SceneDescription }> {
    const scenes: Array<{ slot: number; scene: SceneDescription }> = [];
    for (let s = this.slotBegin; s < this.slotEnd; s++) {
      const site = this.site(s, 0, -1, 'makeEnv');
      let env: Env;
      this.calls.enter(s, 'makeEnv');
      try {
        env = this.family.makeEnv(site.task);
      } catch (err) {
        throw envFailed(site, err);
      } finally {
        this.calls.leave();
      }
      this.envs.push(env);
      if (this.poseViews[s - this.slotBegin]) {
        site.call = 'scene';
        this.calls.enter(s, 'scene');
        try {
          scenes.push({ slot: s, scene: env.scene() });
        } catch (err) {
          throw envFailed(site, err);
        } finally {
          this.calls.leave();
        }
      }
      this.v.slotState[s * SLOT_STRIDE + SLOT_EPISODE] = 0;
      this.v.slotState[s * SLOT_STRIDE + SLOT_T] = 0;
      this.v.active[s] = 1;
      this.v.trialStart[s] = 1;
      this.v.prevDone[s] = 1;
      this.v.prevReward[s] = 0;
      this.v.prevAction.fill(0, s * this.actSize, (s + 1) * this.actSize);
      this.resetInto(s, 0);
    }
    return scenes;
  }

  /** One step of every active slot in the range. Throws a `MetarlError` with the slot's context. */
  step(): void {
    const v = this.v;
    const O = this.obsSize;
    const A = this.actSize;
    const { episodes: E, horizon: H } = this.plan;
    for (let s = this.slotBegin; s < this.slotEnd; s++) {
      if (v.active[s] === 0) continue;
      const local = s - this.slotBegin;
      const e = v.slotState[s * SLOT_STRIDE + SLOT_EPISODE];
      const t = v.slotState[s * SLOT_STRIDE + SLOT_T];
      const ep = s * E + e;
      const row = ep * H + t;
      for (let i = 0; i < O; i++) v.batchObs[row * O + i] = v.obs[s * O + i];
      for (let i = 0; i < A; i++) {
        const a = v.action[s * A + i];
        v.batchActions[row * A + i] = a;
        v.prevAction[s * A + i] = a;
      }
      const env = this.envs[local];
      let result;
      this.calls.enter(s, 'step');
      try {
        result = env.step(this.actionViews[local]);
      } catch (err) {
        throw envFailed(this.site(s, e, t, 'step'), err);
      } finally {
        this.calls.leave();
      }
      const r = result.reward;
      if (!Number.isFinite(r)) throw nonFinite(this.site(s, e, t, 'step'), 'reward', r);
      v.batchRewards[row] = r;
      v.prevReward[s] = r;
      v.trialStart[s] = 0;
      this.episodeReturn[local] += r;
      if (result.info) this.addInfo(result.info, local * E + e);
      const poses = this.poseViews[local];
      if (poses) {
        this.calls.enter(s, 'frame');
        try {
          env.frame(poses);
        } catch (err) {
          throw envFailed(this.site(s, e, t, 'frame'), err);
        } finally {
          this.calls.leave();
        }
      }
      // Checked even when the episode ends: a terminal observation that blew up is a bug worth naming.
      this.writeObs(result.obs, s, e, t, 'step');
      if (result.terminated || result.truncated || t + 1 >= H) {
        v.lengths[ep] = t + 1;
        v.terminated[ep] = result.terminated ? 1 : 0;
        v.returns[ep] = this.episodeReturn[local];
        // The observation the episode ended on, before a reset overwrites the slot's input row.
        for (let i = 0; i < O; i++) v.batchFinalObs[ep * O + i] = v.obs[s * O + i];
        this.episodeReturn[local] = 0;
        v.prevDone[s] = 1;
        v.slotState[s * SLOT_STRIDE + SLOT_EPISODE] = e + 1;
        v.slotState[s * SLOT_STRIDE + SLOT_T] = 0;
        if (e + 1 < E) {
          this.resetInto(s, e + 1);
        } else {
          // Finished: the slot's input rows go quiet so a policy cannot mistake them for live data.
          v.active[s] = 0;
          v.obs.fill(0, s * O, (s + 1) * O);
        }
      } else {
        v.prevDone[s] = 0;
        v.slotState[s * SLOT_STRIDE + SLOT_T] = t + 1;
      }
    }
  }

  /** Info keys and their per-(local slot, episode) sums; empty when the env reports no info. */
  info(): { keys: string[]; sums: Float64Array[] } {
    return { keys: this.infoKeys ?? [], sums: this.infoSums };
  }

  /** Disposes every env this runner made; idempotent, and tolerant of an env that throws in dispose. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const env of this.envs) {
      try {
        env.dispose();
      } catch {
        // A failing dispose must not hide the error that ended the job; the env is dropped either way.
      }
    }
    this.envs.length = 0;
  }

  private resetInto(s: number, episode: number): void {
    const env = this.envs[s - this.slotBegin];
    let obs: Float32Array;
    this.calls.enter(s, 'reset');
    try {
      obs = env.reset(resetSeed(this.plan.seed, s, episode));
    } catch (err) {
      throw envFailed(this.site(s, episode, -1, 'reset'), err);
    } finally {
      this.calls.leave();
    }
    this.writeObs(obs, s, episode, -1, 'reset');
  }

  /** Copies an env's observation into the slot's input row, checking its length and finiteness. */
  private writeObs(obs: Float32Array, s: number, e: number, t: number, call: EnvCallSite['call']): void {
    const O = this.obsSize;
    if (obs.length !== O) throw obsMismatch(this.site(s, e, t, call), obs.length, O);
    const out = this.v.obs;
    for (let i = 0; i < O; i++) {
      const x = obs[i];
      if (!Number.isFinite(x)) throw nonFinite(this.site(s, e, t, call), `observation[${i}]`, x);
      out[s * O + i] = x;
    }
  }

  private addInfo(info: Record<string, number>, cell: number): void {
    if (this.infoKeys === null) {
      // Keys are fixed from the first step on (the Env contract), so they are read once per job.
      this.infoKeys = Object.keys(info);
      const cells = (this.slotEnd - this.slotBegin) * this.plan.episodes;
      this.infoSums = this.infoKeys.map(() => new Float64Array(cells));
    }
    const keys = this.infoKeys;
    for (let k = 0; k < keys.length; k++) {
      const x = info[keys[k]];
      if (x !== undefined) this.infoSums[k][cell] += x;
    }
  }

  private site(slot: number, episode: number, step: number, call: EnvCallSite['call']): EnvCallSite {
    const task = this.plan.tasks[Math.floor(slot / this.plan.slotsPerTask)];
    return { family: this.family.name, task, slot, episode, step, call };
  }
}
