// The viewer's fading trails (viewer/src/trails.ts, issue 10) run in Node too: three's geometry has no DOM.
import { Group, type Material } from 'three';
import { describe, expect, it } from 'vitest';
import { Trail } from '../../viewer/src/trails.js';

/** A root body at x = `x` (the rest of a pose does not matter to a trail). */
const pose = (x: number) => new Float32Array([x, 0.5, 0, 0, 0, 0, 1]);

/** The x of each drawn vertex, in draw order, and its alpha. */
function drawn(trail: Trail): { xs: number[]; alphas: number[] } {
  const { start, count } = trail.line.geometry.drawRange;
  const pos = trail.line.geometry.getAttribute('position');
  const col = trail.line.geometry.getAttribute('color');
  const xs: number[] = [];
  const alphas: number[] = [];
  for (let i = start; i < start + count; i++) {
    xs.push(pos.getX(i));
    alphas.push(col.getW(i));
  }
  return { xs, alphas };
}

describe('viewer trail', () => {
  it('keeps the last N positions as one contiguous line, however long it runs', () => {
    const trail = new Trail(0.05); // 4 s of 0.05 s steps
    expect(trail.capacity).toBe(80);
    for (let t = 0; t < 5; t++) trail.push(pose(t), t);
    expect(trail.count).toBe(5);
    expect(drawn(trail).xs).toEqual([0, 1, 2, 3, 4]);
    for (let t = 5; t < 1000; t++) {
      trail.push(pose(t), t);
      expect(trail.count).toBe(Math.min(t + 1, 80));
    }
    // The ring has wrapped many times; the line is still the newest 80, oldest first.
    expect(drawn(trail).xs).toEqual(Array.from({ length: 80 }, (_, i) => 920 + i));
    const { start, count } = trail.line.geometry.drawRange;
    expect(start + count).toBeLessThanOrEqual(trail.line.geometry.getAttribute('position').count);
    // Memory is fixed: two copies of N positions, whatever the run's length.
    expect(trail.line.geometry.getAttribute('position').count).toBe(2 * 80);
    trail.dispose();
  });

  it('fades from transparent (oldest) to opaque (newest)', () => {
    const trail = new Trail(0.05);
    trail.setColor('#ff0000');
    for (let t = 0; t < 200; t++) trail.push(pose(t), t);
    const { alphas } = drawn(trail);
    expect(alphas[0]).toBe(0);
    expect(alphas.at(-1)).toBe(1);
    for (let i = 1; i < alphas.length; i++) expect(alphas[i]).toBeGreaterThan(alphas[i - 1]);
    const col = trail.line.geometry.getAttribute('color');
    const { start } = trail.line.geometry.drawRange;
    // The stage's colour, darkened alike in every channel (a one-pixel line must stand out from the floor).
    const [r, g, b] = [col.getX(start), col.getY(start), col.getZ(start)];
    expect(r).toBeGreaterThan(0.3);
    expect(r).toBeLessThan(1);
    expect([g, b]).toEqual([0, 0]);
    trail.dispose();
  });

  it('starts afresh at a cut (a new episode, dropped frames) and on clear', () => {
    const trail = new Trail(0.05);
    for (let t = 0; t < 30; t++) trail.push(pose(t), t);
    trail.push(pose(-1), 0); // a new episode: the step went back
    expect(drawn(trail).xs).toEqual([-1]);
    trail.push(pose(-2), 1);
    trail.push(pose(-9), 9); // steps 2–8 were dropped
    expect(drawn(trail).xs).toEqual([-9]);
    trail.clear();
    expect(trail.count).toBe(0);
    expect(trail.line.geometry.drawRange.count).toBe(0);
    trail.push(pose(7), 7); // after a clear any step begins a trail
    expect(drawn(trail).xs).toEqual([7]);
    trail.dispose();
  });

  it('holds a few seconds at any dt, within [16, 512] points', () => {
    const capacity = (stepS: number) => {
      const trail = new Trail(stepS);
      trail.dispose();
      return trail.capacity;
    };
    expect(capacity(0.002)).toBe(512);
    expect(capacity(0.02)).toBe(200);
    expect(capacity(1)).toBe(16);
  });

  it('dispose frees its geometry and material and leaves its lane', () => {
    const trail = new Trail(0.05);
    const freed: string[] = [];
    trail.line.geometry.addEventListener('dispose', () => freed.push('geometry'));
    (trail.line.material as Material).addEventListener('dispose', () => freed.push('material'));
    const lane = new Group();
    lane.add(trail.line);
    trail.dispose();
    expect(freed.sort()).toEqual(['geometry', 'material']);
    expect(lane.children).toEqual([]);
  });
});
