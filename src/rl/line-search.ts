/** Backtracking line search under a KL trust region (TRPO's step acceptance). */
import { letEventLoopRun } from '../core/event-loop.js';

export interface LineSearchOptions {
  /** The trust-region radius: a step is accepted only with mean KL ≤ maxKl. */
  maxKl: number;
  /** Each retry shrinks the step by this factor; default 0.8 (garage). */
  backtrackRatio?: number;
  /** Retries at most; default 15 (garage). */
  maxBacktracks?: number;
}

export interface LineSearchResult {
  accepted: boolean;
  /** Fraction of the full step taken (0 when rejected: the caller must restore the old parameters). */
  fraction: number;
  loss: number;
  kl: number;
  backtracks: number;
}

/**
 * Tries fractions 1, ρ, ρ², … of a full step. `evaluate(fraction)` must set the parameters to
 * θ_old + fraction · step and return the surrogate loss (to minimise) and the mean KL(old ‖ new).
 * Accepts the first fraction whose loss is finite and below `lossBefore` and whose KL ≤ maxKl.
 * When none is accepted the parameters are left at the last tried point: restore θ_old.
 */
export async function backtrackingLineSearch(
  evaluate: (fraction: number) => Promise<{ loss: number; kl: number }>,
  lossBefore: number,
  options: LineSearchOptions,
): Promise<LineSearchResult> {
  const ratio = options.backtrackRatio ?? 0.8;
  const maxBacktracks = options.maxBacktracks ?? 15;
  let last = { loss: lossBefore, kl: 0 };
  for (let k = 0; k < maxBacktracks; k++) {
    const fraction = ratio ** k;
    last = await evaluate(fraction);
    await letEventLoopRun();
    if (Number.isFinite(last.loss) && Number.isFinite(last.kl) && last.loss < lossBefore && last.kl <= options.maxKl) {
      return { accepted: true, fraction, loss: last.loss, kl: last.kl, backtracks: k };
    }
  }
  return { accepted: false, fraction: 0, loss: last.loss, kl: last.kl, backtracks: maxBacktracks };
}
