/**
 * The one codec of a learner's checkpointed state (`LearnerState`): a policy's weights as
 * `<prefix>policy/<name>`, its Adam moments as `<prefix>adam/m/<i>` and `<prefix>adam/v/<i>` with
 * the step in `meta.<prefix>adamStep`, and the agent's Rng in `meta.rng`. The prefix is empty for
 * a learner with one network (MAML, RL²); PEARL saves each of its parts under its own
 * (`critic/`, `actor/`, …). Every agent saves and restores through it, so a checkpoint that does
 * not fit fails the same way, naming what is wrong.
 *
 * Restoring is two steps, so a learner of several parts can check them all before it changes
 * any: `checkLearnerState` reads and checks one part and returns what it would load;
 * `applyLearnerState` loads that, and cannot fail. `restoreLearnerState` does both for one part.
 *
 * `withoutOptimiser` drops every Adam moment for a run shipped to be watched and evaluated
 * (zoo/): they are two thirds of a PEARL checkpoint and acting never reads them. The state
 * says so (`meta.optimiser`), so restoring it starts a fresh optimiser where a training
 * checkpoint that lost its moments is still refused as corrupt.
 */
import type { JsonValue } from '../core/types.js';
import type { LearnerState } from '../core/learner.js';
import { MetarlError } from '../core/errors.js';
import { Rng, type RngState } from '../core/rng.js';
import type { Adam, AdamState } from './adam.js';
import { tf } from './tf.js';

export interface SavedPolicy {
  readonly names: readonly string[];
  readonly params: readonly tf.Variable[];
}

/**
 * The state of a policy, its optimiser (if any), its Rng, and any other plain data. A learner
 * with several networks, each with its own optimiser, saves each under its own `prefix`
 * (`<prefix>policy/<name>`, `<prefix>adam/…`, `meta.<prefix>adamStep`) and merges the states.
 */
export async function saveLearnerState(policy: SavedPolicy, adam: Adam | null, rng: Rng, meta: Record<string, JsonValue> = {}, prefix = ''): Promise<LearnerState> {
  const arrays: LearnerState['arrays'] = {};
  for (const [i, p] of policy.params.entries()) arrays[`${prefix}policy/${policy.names[i]}`] = { shape: [...p.shape], data: new Float32Array(await p.data()) };
  const out: LearnerState = { arrays, meta: { ...meta, rng: rng.state() as unknown as JsonValue } };
  if (adam) {
    const moments = await adam.state();
    moments.m.forEach((m, i) => (arrays[`${prefix}adam/m/${i}`] = { shape: [...policy.params[i].shape], data: m }));
    moments.v.forEach((v, i) => (arrays[`${prefix}adam/v/${i}`] = { shape: [...policy.params[i].shape], data: v }));
    out.meta[`${prefix}adamStep`] = moments.step;
  }
  return out;
}

/** `meta.optimiser` of a state whose Adam moments `withoutOptimiser` dropped. */
export const OPTIMISER_DROPPED = 'dropped';

/** `state` without its Adam moments and steps (every part's), marked so that restoring it starts a fresh optimiser. */
export function withoutOptimiser(state: LearnerState): LearnerState {
  const arrays = Object.fromEntries(Object.entries(state.arrays).filter(([key]) => !/(^|\/)adam\/[mv]\/\d+$/.test(key)));
  const meta = Object.fromEntries(Object.entries(state.meta).filter(([key]) => !key.endsWith('adamStep')));
  return { arrays, meta: { ...meta, optimiser: OPTIMISER_DROPPED } };
}

/** One part of a checkpoint, checked against its policy (and optimiser): what `applyLearnerState` will load. */
export interface CheckedLearnerState {
  readonly weights: readonly Float32Array[];
  readonly adam: AdamState | null;
  readonly rng: Rng;
  readonly meta: LearnerState['meta'];
}

/**
 * Checks `state` against the policy (and optimiser) and returns what fits them, changing nothing.
 * Throws METARL_CHECKPOINT_CORRUPT naming the first thing that does not fit.
 */
export function checkLearnerState(state: LearnerState, policy: SavedPolicy, adam: Adam | null, agent: string, prefix = ''): CheckedLearnerState {
  const corrupt = (why: string): never => {
    throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `${agent} checkpoint does not fit this learner: ${why} (was it saved with another config, e.g. another hidden size?)`, { agent });
  };
  // Weights must have their exact shape; optimiser moments only their size (older MAML checkpoints store them flat).
  const array = (key: string, shape: readonly number[], exact: boolean): Float32Array => {
    const saved = state.arrays[key] ?? corrupt(`'${key}' is missing`);
    const size = shape.reduce((a, b) => a * b, 1);
    const fits = exact ? saved.shape.join('x') === shape.join('x') : saved.shape.reduce((a, b) => a * b, 1) === size;
    if (!fits || saved.data.length !== size) corrupt(`'${key}' has shape [${saved.shape}], expected [${shape}]`);
    return saved.data;
  };
  const weights = policy.params.map((p, i) => array(`${prefix}policy/${policy.names[i]}`, p.shape, true));
  const rngState = state.meta.rng as unknown as RngState | undefined;
  if (!isRngState(rngState)) corrupt('the Rng state (meta.rng) is missing or malformed');
  let moments: AdamState | null = null;
  if (adam && state.meta.optimiser !== OPTIMISER_DROPPED) {
    const step = state.meta[`${prefix}adamStep`];
    if (typeof step !== 'number') corrupt(`the optimiser step (meta.${prefix}adamStep) is missing`);
    if (!Number.isInteger(step) || (step as number) < 0) corrupt(`the optimiser step (meta.${prefix}adamStep) is ${step}, not a count`);
    const read = (kind: string) => policy.params.map((p, i) => array(`${prefix}adam/${kind}/${i}`, p.shape, false));
    moments = { step: step as number, m: read('m'), v: read('v') };
  }
  return { weights, adam: moments, rng: Rng.fromState(rngState!), meta: state.meta };
}

/** Loads a part that `checkLearnerState` passed into the same policy and optimiser (which keeps its own state if the checkpoint dropped it). */
export function applyLearnerState(checked: CheckedLearnerState, policy: SavedPolicy, adam: Adam | null): void {
  if (adam && checked.adam) adam.load(checked.adam);
  tf.tidy(() => policy.params.forEach((p, i) => p.assign(tf.tensor(checked.weights[i], p.shape))));
}

/**
 * Checks `state` against the policy (and optimiser) first, then loads it into them, and returns
 * the saved Rng and meta. Throws METARL_CHECKPOINT_CORRUPT naming the first thing that does not
 * fit, having changed nothing.
 */
export function restoreLearnerState(state: LearnerState, policy: SavedPolicy, adam: Adam | null, agent: string, prefix = ''): { rng: Rng; meta: LearnerState['meta'] } {
  const checked = checkLearnerState(state, policy, adam, agent, prefix);
  applyLearnerState(checked, policy, adam);
  return { rng: checked.rng, meta: checked.meta };
}

function isRngState(x: unknown): x is RngState {
  const s = x as RngState | null;
  return typeof s === 'object' && s !== null && Array.isArray(s.gen) && s.gen.every((n) => typeof n === 'number') && (s.spareNormal === null || typeof s.spareNormal === 'number');
}
