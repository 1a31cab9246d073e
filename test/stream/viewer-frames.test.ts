// The viewer's frame player (viewer/src/frames.ts) runs in Node too: three's math has no DOM.
import { Object3D } from 'three';
import { describe, expect, it } from 'vitest';
import type { FrameMessage } from '../../src/stream/protocol.js';
import { FramePlayer } from '../../viewer/src/frames.js';

const frame = (step: number, x: number, ret = 0): FrameMessage => ({ type: 'frame', envId: 0, step, ret, poses: new Float32Array([x, 0, 0, 0, 0, 0, 1]) });

describe('viewer frame player', () => {
  it('interpolates between consecutive steps at simulation speed', () => {
    const p = new FramePlayer(1, 0.05);
    const body = new Object3D();
    p.push(frame(0, 0));
    p.push(frame(1, 1, 2.5));
    expect(p.update(0)).toBe(true);
    p.apply([body]);
    expect(body.position.x).toBe(0);
    p.update(0.025); // half a step of wall time
    p.apply([body]);
    expect(body.position.x).toBeCloseTo(0.5, 6);
    p.update(0.1); // past the newest: holds the last pose
    p.apply([body]);
    expect(body.position.x).toBe(1);
    expect(p.step).toBe(1);
    expect(p.ret).toBe(2.5);
  });

  it('never interpolates across a cut (a new episode or skipped steps)', () => {
    const p = new FramePlayer(1, 0.05);
    const body = new Object3D();
    p.push(frame(7, 0));
    p.push(frame(0, 10)); // new episode
    p.push(frame(1, 11));
    p.push(frame(40, 50)); // paced or dropped frames in between
    p.update(0);
    p.update(0.025);
    p.apply([body]);
    expect(body.position.x).toBe(0);
    p.update(0.05);
    p.apply([body]);
    expect(body.position.x).toBeCloseTo(10.5, 6);
    p.update(0.05);
    p.apply([body]);
    expect(body.position.x).toBe(11);
  });

  it('jumps forward instead of falling behind when frames come faster than it plays', () => {
    const p = new FramePlayer(1, 0.05);
    for (let t = 0; t < 1000; t++) p.push(frame(t, t));
    p.update(0.016);
    expect(p.step).toBeGreaterThan(900); // near the front, a few steps of lag
    expect(p.step).toBeLessThan(1000);
    p.clear();
    expect(p.update(0.016)).toBe(false);
  });

  it('ignores frames with another body count', () => {
    const p = new FramePlayer(2, 0.05);
    p.push(frame(0, 1));
    expect(p.update(0)).toBe(false);
  });

  it('visits each played frame once, in order, however seldom the page draws (the trails read them)', () => {
    const p = new FramePlayer(1, 0.05);
    const seen: Array<[number, number]> = [];
    const visit = (poses: Float32Array, step: number) => seen.push([step, poses[0]]);
    for (let t = 0; t < 10; t++) p.push(frame(t, t * 10));
    p.visitPlayed(visit); // nothing played yet
    expect(seen).toEqual([]);
    p.update(0);
    p.update(0.1); // one draw, two steps on: steps 0, 1 and 2 are passed
    p.visitPlayed(visit);
    p.visitPlayed(visit); // nothing new
    p.update(0.05);
    p.visitPlayed(visit);
    expect(seen).toEqual([
      [0, 0],
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    p.clear(); // a seek: the next frames are visited afresh
    p.push(frame(50, 500));
    p.update(0);
    p.visitPlayed(visit);
    expect(seen.at(-1)).toEqual([50, 500]);
  });
});
