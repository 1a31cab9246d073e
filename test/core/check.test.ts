import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assertFamilyValid, checkFamily } from '../../src/core/check.js';
import { isMetarlError } from '../../src/core/errors.js';
import { loadFamily } from '../../src/core/registry.js';
import { defineTaskFamily, robot, type Env, type EnvSpec, type TaskFamily } from '../../src/index.js';

const fixture = (name: string) => loadFamily({ name, module: pathToFileURL(new URL(`../fixtures/envs/${name}.ts`, import.meta.url).pathname).href });

function failures(results: ReturnType<typeof checkFamily>): string[] {
  return results.filter((r) => !r.ok).map((r) => `${r.check}: ${r.detail}`);
}

describe('checkFamily', () => {
  it('passes a valid family on every check', async () => {
    const results = checkFamily(await fixture('line-goal'));
    expect(results.length).toBeGreaterThanOrEqual(6);
    expect(failures(results)).toEqual([]);
  });

  it('names the step and the sizes when the observation has the wrong length', async () => {
    const failed = failures(checkFamily(await fixture('wrong-obs-size')));
    expect(failed[0]).toMatch(/reset\(\) returned an observation of length 3, but spec.obsSize is 1/);
  });

  it('names the step of a NaN reward', async () => {
    expect(failures(checkFamily(await fixture('nan-reward')))[0]).toMatch(/step\(\) at step 4 returned reward NaN/);
  });

  it('reports an error thrown inside step with its message', async () => {
    expect(failures(checkFamily(await fixture('throws-in-step')))[0]).toMatch(/motor exploded at t=3/);
  });

  it('rejects tasks that are not plain JSON, naming the field', async () => {
    expect(failures(checkFamily(await fixture('unserialisable-task')))[0]).toMatch(/task 0\.weights is a Float32Array, not plain JSON/);
  });

  it('assertFamilyValid throws one error listing every failure with the family name', async () => {
    const family = await fixture('nan-reward');
    try {
      assertFamilyValid(family);
      throw new Error('expected an error');
    } catch (err) {
      expect(isMetarlError(err, 'METARL_FAMILY_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/task family 'nan-reward' fails 3 check\(s\)/);
    }
  });

  it('a module without a default export says what it found and how to fix it', async () => {
    await expect(fixture('no-default-export')).rejects.toThrow(/no default export \(exports: family\).*export default defineTaskFamily/);
  });
});

/**
 * A RobotEnv whose observe writes more or fewer floats than spec.obsSize, or whose robot
 * has another number of bodies than spec.bodyCount, passed every check and trained
 * silently (reliability issue, item 15).
 */
describe('checkFamily on RobotEnv families whose spec disagrees with the robot', () => {
  const Z: [number, number, number] = [0, 0, 1];
  const ARM: robot.RobotDescription = {
    name: 'arm',
    root: 'fixed',
    density: 1000,
    friction: 0.8,
    groundFriction: 0.8,
    bodies: [
      { name: 'base', parent: null, pos: [0, 0, 0.02], geoms: [{ kind: 'box', pos: [0, 0, 0], halfExtents: [0.02, 0.02, 0.011] }] },
      { name: 'link', parent: 'base', pos: [0, 0, 0], joint: { name: 'hinge', axis: Z, range: null, damping: 0.02 }, geoms: [{ kind: 'capsule', from: [0, 0, 0], to: [0.1, 0, 0], radius: 0.01 }] },
    ],
    actuators: [{ joint: 'hinge', gear: 0.1 }],
  };
  /** Writes cos q, sin q, q̇: three floats. */
  const observe3 = (rw: robot.RobotWorld, out: Float32Array) => {
    out[0] = Math.cos(rw.jointPos[0]);
    out[1] = Math.sin(rw.jointPos[0]);
    out[2] = rw.jointVel[0];
  };
  function armFamily(name: string, obsSize: number, bodyCount: number, observe = observe3) {
    const spec: EnvSpec = { obsSize, actSize: 1, ...robot.unitActionSpec(1), horizon: 5, dt: 0.02, bodyCount };
    return defineTaskFamily<{ goal: number }>({
      name,
      description: 'a one-link arm',
      spec,
      sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ goal: rng.uniform(-1, 1) })),
      makeEnv: () =>
        new robot.RobotEnv({ family: name, robot: ARM, spec, substeps: 1, infoKeys: [], resetPose: () => ({}), observe, reward: ({ rw }) => -Math.abs(rw.jointPos[0]) }),
    });
  }
  const specError = (family: TaskFamily): unknown => {
    try {
      family.makeEnv({ goal: 0 }).dispose();
    } catch (err) {
      return err;
    }
    return null;
  };

  it('passes an observe that writes exactly obsSize floats, through fill and set too', () => {
    expect(failures(checkFamily(armFamily('arm-ok', 3, 2), { tasks: 1 }))).toEqual([]);
    const viaMethods = (rw: robot.RobotWorld, out: Float32Array) => {
      out.fill(0);
      out.set([Math.cos(rw.jointPos[0]), Math.sin(rw.jointPos[0])], 1);
    };
    expect(failures(checkFamily(armFamily('arm-methods', 3, 2, viaMethods), { tasks: 1 }))).toEqual([]);
  });

  it('an observe that writes 3 floats with obsSize 4 fails, naming the unwritten slot and both sizes', () => {
    const family = armFamily('arm-short', 4, 2);
    const message = "env 'arm-short': observe() writes 3 floats but spec.obsSize is 4: obs[3] left unwritten (or NaN); write every slot, or set spec.obsSize to the floats you write";
    expect(failures(checkFamily(family, { tasks: 1 }))).toEqual([`task 0: reset/step follow the spec: ${message}`]);
    const err = specError(family);
    expect(isMetarlError(err, 'METARL_SPEC_MISMATCH')).toBe(true);
    expect((err as Error).message).toBe(message);
    expect(() => assertFamilyValid(family, { tasks: 1 })).toThrow(/^task family 'arm-short' fails 1 check\(s\):\n {2}- task 0: reset\/step follow the spec: env 'arm-short': observe\(\) writes 3 floats but spec.obsSize is 4/);
  });

  it('an observe that writes 3 floats with obsSize 2 fails: writes past the end are no longer dropped silently', () => {
    const family = armFamily('arm-long', 2, 2);
    const message = "env 'arm-long': observe() writes 3 floats (up to obs[2]) but spec.obsSize is 2: set spec.obsSize to 3";
    expect(failures(checkFamily(family, { tasks: 1 }))).toEqual([`task 0: reset/step follow the spec: ${message}`]);
    const err = specError(family);
    expect(isMetarlError(err, 'METARL_SPEC_MISMATCH')).toBe(true);
    expect((err as Error).message).toBe(message);
  });

  it('a bodyCount other than the robot\'s number of bodies fails, naming both numbers', () => {
    const family = armFamily('arm-bodies', 3, 3);
    const message = "env 'arm-bodies': robot 'arm' has 2 bodies but spec.bodyCount is 3: set spec.bodyCount to the number of bodies in the description";
    expect(failures(checkFamily(family, { tasks: 1 }))).toEqual([`task 0: reset/step follow the spec: ${message}`]);
    const err = specError(family);
    expect(isMetarlError(err, 'METARL_SPEC_MISMATCH')).toBe(true);
    expect((err as Error).message).toBe(message);
  });
});

describe('checkFamily on a hand-written env whose scene or frame disagrees with spec.bodyCount', () => {
  function pointFamily(name: string, bodyCount: number, sceneBodies: number, frameFloats: number) {
    const spec: EnvSpec = { obsSize: 1, actSize: 1, ...robot.unitActionSpec(1), horizon: 3, dt: 0.1, bodyCount };
    return defineTaskFamily<{ goal: number }>({
      name,
      description: 'a point',
      spec,
      sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ goal: rng.uniform(-1, 1) })),
      makeEnv: (): Env => {
        let t = 0;
        return {
          spec,
          reset: () => ((t = 0), Float32Array.of(0)),
          step: () => ({ obs: Float32Array.of(0), reward: 0, terminated: false, truncated: ++t >= 3 }),
          scene: () => ({ family: name, bodies: Array.from({ length: sceneBodies }, (_, i) => ({ name: `b${i}`, shapes: [] })), ground: robot.flatGround(), markers: [], taskLabel: {} }),
          frame: () => new Float32Array(frameFloats).fill(0),
          dispose: () => {},
        };
      },
    });
  }

  it('names the scene\'s count and spec.bodyCount', () => {
    expect(failures(checkFamily(pointFamily('scene-short', 2, 1, 14), { tasks: 1 }))).toEqual(['task 0: scene() and frame() have spec.bodyCount bodies: scene() lists 1 bodies but spec.bodyCount is 2']);
  });

  it('names the frame\'s length and the length spec.bodyCount needs', () => {
    expect(failures(checkFamily(pointFamily('frame-short', 2, 2, 7), { tasks: 1 }))).toEqual(['task 0: scene() and frame() have spec.bodyCount bodies: frame() returned 7 floats but spec.bodyCount 2 needs 14 (7 per body)']);
  });

  it('passes when both agree with it', () => {
    expect(failures(checkFamily(pointFamily('agree', 2, 2, 14), { tasks: 1 }))).toEqual([]);
  });
});
