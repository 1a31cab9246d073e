import { describe, expect, it } from 'vitest';
import { discountCumsum, discountedReturns, gae, normalizeAdvantages, validMask } from '../../src/rl/returns.js';

const close = (actual: ArrayLike<number>, expected: number[]) => expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 5));

describe('discounted returns', () => {
  it('discountCumsum equals the hand-computed reward-to-go', () => {
    close(discountCumsum([1, 2, 3], 0.9), [5.23, 4.7, 3]);
  });

  it('discountedReturns works per episode and leaves padding at 0', () => {
    const rewards = Float32Array.from([1, 2, 3, 0, 4, 5, 0, 0]);
    close(discountedReturns(rewards, Int32Array.from([3, 2]), 4, 0.5), [2.75, 3.5, 3, 0, 6.5, 5, 0, 0]);
  });
});

describe('gae', () => {
  const base = {
    rewards: Float32Array.from([1, 2, 3, 0, 1, 1, 0, 0]),
    values: Float32Array.from([0.5, 1, 1.5, 0, 2, 4, 0, 0]),
    lengths: Int32Array.from([3, 2]),
    terminated: Uint8Array.from([1, 0]),
    horizon: 4,
    gamma: 0.9,
    lambda: 0.8,
  };

  it('equals hand-computed values: no bootstrap after a terminal state, V(next) after truncation', () => {
    const { advantages, returns } = gae({ ...base, bootstrap: Float32Array.from([99, 10]) });
    // Episode 0 (terminated; its bootstrap 99 must be ignored): δ = [1.4, 2.35, 1.5].
    // Episode 1 (truncated, V after = 10): δ = [2.6, 6].
    close(advantages, [3.8696, 3.43, 1.5, 0, 6.92, 6, 0, 0]);
    close(returns, [4.3696, 4.43, 3, 0, 8.92, 10, 0, 0]);
  });

  it('without a bootstrap array a truncated episode bootstraps from its last value', () => {
    const { advantages } = gae(base);
    close(advantages, [3.8696, 3.43, 1.5, 0, 3.032, 0.6, 0, 0]);
  });

  it('with λ = 1 and terminal episodes the returns are the discounted rewards', () => {
    const { returns } = gae({ ...base, terminated: Uint8Array.from([1, 1]), lambda: 1 });
    close(returns, Array.from(discountedReturns(base.rewards, base.lengths, 4, 0.9)));
  });

  it('rejects arrays that do not match episodes × horizon', () => {
    expect(() => gae({ ...base, values: new Float32Array(7) })).toThrow(/values has 7 entries/);
  });
});

describe('normalizeAdvantages', () => {
  it('standardises over real steps only and zeroes padding', () => {
    const out = normalizeAdvantages(Float32Array.from([1, 3, 100, 5]), Float32Array.from([1, 1, 0, 1]));
    const std = Math.sqrt(8 / 3);
    close(out, [-2 / std, 0, 0, 2 / std]);
    expect(Array.from(validMask(Int32Array.from([1, 2]), 2))).toEqual([1, 0, 1, 1]);
  });
});
