import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and another for another seed', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it('continues exactly from a saved state, including a pending normal', () => {
    const a = new Rng(7);
    a.normal();
    const b = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
    expect([a.normal(), a.uniform(-3, 3), a.int(10)]).toEqual([b.normal(), b.uniform(-3, 3), b.int(10)]);
  });

  it('draws uniforms in range and normals with the right moments', () => {
    const rng = new Rng(1);
    const n = 20000;
    let sum = 0, sq = 0, lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform(-2, 3);
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      const z = rng.normal();
      sum += z;
      sq += z * z;
    }
    expect(lo).toBeGreaterThanOrEqual(-2);
    expect(hi).toBeLessThan(3);
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });
});

describe('Rng seeding', () => {
  it('starts nearby small seeds on unrelated streams (raw xoroshiro seeding does not)', () => {
    const firsts = [0, 1, 2, 3].map((s) => new Rng(s).next());
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(0.1);
    expect(firsts.every((x) => x < 0.999)).toBe(true);
  });
});
