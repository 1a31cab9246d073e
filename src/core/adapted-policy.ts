/**
 * The glue every agent's `MetaLearner.adapt` shares: its options checked into one clear error,
 * and an `AdaptedPolicy` that refuses a wrong-sized observation or use after `dispose()`. The
 * agent supplies only how it acts.
 */
import { MetarlError } from './errors.js';
import type { AdaptedPolicy, AdaptOptions } from './learner.js';

/** `options` with its defaults; METARL_CONFIG_INVALID naming every bad field. */
export function resolveAdaptOptions(options: AdaptOptions, defaultSteps: number, agent: string): { steps: number; seed: number } {
  const { steps = defaultSteps, seed = 0, ...rest } = options;
  const issues: string[] = Object.keys(rest).map((key) => `unknown option '${key}' (choose 'steps' or 'seed')`);
  if (!Number.isInteger(steps) || steps < 0) issues.push(`steps must be an integer ≥ 0, got ${String(steps)}`);
  if (!Number.isSafeInteger(seed)) issues.push(`seed must be an integer, got ${String(seed)}`);
  if (issues.length > 0) throw new MetarlError('METARL_CONFIG_INVALID', `${agent} adapt(): ${issues.join('; ')}`, { agent });
  return { steps, seed };
}

/** What an agent's adapted policy does; `adaptedPolicy` adds the checks. */
export interface AdaptedActor {
  obsSize: number;
  returns: readonly number[];
  act(obs: Float32Array, reward: number | undefined): Promise<Float32Array>;
  reset?(): void;
  /** Frees the actor's tensors; called once. */
  free(): void;
}

export function adaptedPolicy(agent: string, actor: AdaptedActor): AdaptedPolicy {
  let disposed = false;
  const alive = (what: string) => {
    if (disposed) throw new MetarlError('METARL_DISPOSED', `${agent} adapted policy: ${what}() after dispose(); adapt() again for a new one`, { agent });
  };
  return {
    returns: actor.returns,
    reset: () => {
      alive('reset');
      actor.reset?.();
    },
    act: async (obs, reward) => {
      alive('act');
      if (obs.length !== actor.obsSize) throw new MetarlError('METARL_SPEC_MISMATCH', `${agent} adapted policy: act() got ${obs.length} observation values, the family's spec has obsSize ${actor.obsSize}`, { agent });
      return actor.act(obs, reward);
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      actor.free();
    },
  };
}
