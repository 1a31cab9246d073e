import { describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { LinearFeatureBaseline } from '../../src/nn/baseline.js';

const OBS = 2;
const H = 5;

function episodes(rng: Rng, lengths: number[]) {
  const obs = new Float32Array(lengths.length * H * OBS);
  for (let i = 0; i < obs.length; i++) obs[i] = rng.normal();
  return { obs, lengths: Int32Array.from(lengths) };
}

/** A return that is exactly linear in the baseline's features. */
const truth = (o: Float32Array, row: number, t: number) => 2 * o[row * OBS] - o[row * OBS + 1] ** 2 + 3 * (t / 100) + 0.5;

describe('LinearFeatureBaseline', () => {
  it('recovers returns that are linear in its features, and predicts 0 on padding', () => {
    const rng = new Rng(2);
    const { obs, lengths } = episodes(rng, [5, 3, 4, 5, 2, 5]);
    const returns = new Float32Array(lengths.length * H);
    lengths.forEach((len, e) => {
      for (let t = 0; t < len; t++) returns[e * H + t] = truth(obs, e * H + t, t);
    });
    const baseline = new LinearFeatureBaseline(OBS);
    expect(Array.from(baseline.predict(obs, lengths, H)).every((v) => v === 0)).toBe(true);
    baseline.fit(obs, returns, lengths, H);
    const pred = baseline.predict(obs, lengths, H);
    for (let i = 0; i < returns.length; i++) expect(pred[i]).toBeCloseTo(returns[i], 3);
    expect(pred[1 * H + 4]).toBe(0);
  });

  it('state round-trips and a wrong-sized state is a clear error', () => {
    const rng = new Rng(3);
    const { obs, lengths } = episodes(rng, [5, 5]);
    const returns = Float32Array.from({ length: 2 * H }, () => rng.normal());
    const a = new LinearFeatureBaseline(OBS);
    a.fit(obs, returns, lengths, H);
    const b = new LinearFeatureBaseline(OBS);
    b.load(JSON.parse(JSON.stringify(a.state())));
    expect(Array.from(b.predict(obs, lengths, H))).toEqual(Array.from(a.predict(obs, lengths, H)));
    let err: unknown;
    try {
      new LinearFeatureBaseline(OBS + 1).load(a.state());
    } catch (e) {
      err = e;
    }
    expect(isMetarlError(err, 'METARL_CHECKPOINT_CORRUPT')).toBe(true);
  });

  it('stays finite on a degenerate batch (constant observations) thanks to ridge regularisation', () => {
    const obs = new Float32Array(2 * H * OBS).fill(1);
    const lengths = Int32Array.from([H, H]);
    const returns = new Float32Array(2 * H).fill(4);
    const baseline = new LinearFeatureBaseline(OBS);
    baseline.fit(obs, returns, lengths, H);
    const pred = baseline.predict(obs, lengths, H);
    expect(pred.every(Number.isFinite)).toBe(true);
    expect(pred[0]).toBeCloseTo(4, 2);
  });
});
