import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { tf } from '../../src/nn/tf.js';
import { ppoClipLoss, vpgLoss } from '../../src/rl/losses.js';

const read = async (t: tf.Tensor) => (await t.data())[0];

describe('policy-gradient losses', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('vpgLoss is −mean(logπ·A) over real steps', async () => {
    const l = vpgLoss(tf.tensor1d([-1, -2, -3]), tf.tensor1d([1, 2, 100]), tf.tensor1d([1, 1, 0]));
    expect(await read(l)).toBeCloseTo(2.5, 5);
  });

  it('ppoClipLoss clips the ratio on the side that would over-reward', async () => {
    // Ratios e^{0.5} ≈ 1.65 (A > 0: clipped to 1.2) and e^{-0.5} ≈ 0.61 (A < 0: clipped to 0.8, min keeps it).
    const out = ppoClipLoss({ logProb: tf.tensor1d([0.5, -0.5]), oldLogProb: tf.tensor1d([0, 0]), advantages: tf.tensor1d([1, -1]), clip: 0.2 });
    expect(await read(out.policyLoss)).toBeCloseTo(-(1.2 - 0.8) / 2, 5);
    expect(await read(out.clipFraction)).toBeCloseTo(1, 5);
    expect(await read(out.loss)).toBeCloseTo(await read(out.policyLoss), 6);
  });

  it('adds the value term and subtracts the entropy bonus', async () => {
    const out = ppoClipLoss({
      logProb: tf.tensor1d([0, 0]),
      oldLogProb: tf.tensor1d([0, 0]),
      advantages: tf.tensor1d([1, 1]),
      value: { pred: tf.tensor1d([1, 2]), returns: tf.tensor1d([0, 0]), coef: 0.5 },
      entropy: { value: tf.scalar(2), coef: 0.01 },
    });
    // policy −1; value ½·mean(1, 4) = 1.25; total −1 + 0.5·1.25 − 0.01·2.
    expect(await read(out.valueLoss)).toBeCloseTo(1.25, 5);
    expect(await read(out.loss)).toBeCloseTo(-1 + 0.625 - 0.02, 5);
    expect(await read(out.approxKl)).toBeCloseTo(0, 6);
  });
});
