/**
 * What the MAML test files share: point-nav learners on the calling thread (disposed after
 * each test), random stages for the gradient checks, and the relative error they are judged by.
 */
import { afterEach, beforeAll } from 'vitest';
import { createMaml, type MamlConfig, type StageData } from '../../agents/maml.js';
import type { MetaLearner } from '../../src/core/learner.js';
import { loadFamily, type FamilyRef } from '../../src/core/registry.js';
import type { Rng } from '../../src/core/rng.js';
import type { TaskFamily } from '../../src/core/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { tf } from '../../src/nn/tf.js';
import { createTaskPool } from '../../src/workers/pool.js';
import { randomRows } from '../rl/rl-fixture.js';
import type { TaskPool } from '../../src/workers/types.js';

export const POINT_NAV: FamilyRef = { name: 'point-nav', module: new URL('../../envs/point-nav.ts', import.meta.url).href };

/** Registers the hooks (cpu backend, point-nav loaded once, learners and pools closed after each test) and returns the factory. */
export function pointNavLearners(): { family: () => TaskFamily; learner: (cfg: MamlConfig, seed: number) => Promise<MetaLearner> } {
  let family: TaskFamily;
  const learners: MetaLearner[] = [];
  const pools: TaskPool[] = [];
  beforeAll(async () => {
    await initBackend('cpu', { log: () => {} });
    family = await loadFamily(POINT_NAV);
  });
  afterEach(async () => {
    while (learners.length) learners.pop()!.dispose();
    while (pools.length) await pools.pop()!.close();
  });
  return {
    family: () => family,
    learner: async (cfg, seed) => {
      const pool = await createTaskPool({ family: POINT_NAV, agent: 'maml', config: cfg, backend: 'cpu', stepTimeoutMs: 0, workers: 0 });
      pools.push(pool);
      const l = await createMaml({ config: cfg, family, familyRef: POINT_NAV, pool, seed });
      learners.push(l);
      return l;
    },
  };
}

/** A random stage of one task's N rows, the last `padding` masked out, for the gradient checks. */
export function randomStage(rng: Rng, N: number, O: number, A: number, padding = 0): StageData {
  return { ...randomRows(rng, N, padding, O, A), meanReturn: 0, envSteps: N - padding };
}

export const disposeStage = (s: StageData): void => tf.dispose([s.obs, s.actions, s.advantages, s.mask]);

export const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.hypot(...Array.from(a, (x, i) => x - b[i])) / Math.hypot(...Array.from(b));
