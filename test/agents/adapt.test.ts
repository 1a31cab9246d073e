/**
 * `MetaLearner.adapt(task)` for each agent, on the line-goal fixture: the adapted policy adapts on
 * the episodes meta-test (`evaluate`) adapts on, and acting with it in the user's own loop gives
 * the return `evaluate` measures at its last stage.
 *
 * `evaluate` samples its actions (MAML and RL² around the Gaussian mean, as in training; PEARL
 * draws z from the posterior), while an adapted policy acts deterministically (the mean; PEARL at
 * the posterior mean). So the returns are equal when that noise cannot move the actions: MAML and
 * RL² with the log-std at −40 (σ ≈ 4e-18, below float32's resolution of an action, so a sampled
 * action is the mean to the bit), PEARL with the actor's weights on z zeroed (its action then does
 * not depend on which z). Without that, the last tests show the adaptation does change the policy.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMaml, mamlConfigSchema, type MamlConfig } from '../../agents/maml.js';
import { createPearl, pearlConfigSchema, type PearlConfig } from '../../agents/pearl.js';
import { createRl2, rl2ConfigSchema, type Rl2Config } from '../../agents/rl2.js';
import type { AdaptedPolicy, LearnerState, MetaLearner } from '../../src/core/learner.js';
import { loadFamily, type FamilyRef } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import type { Env, Task, TaskFamily } from '../../src/core/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { tf } from '../../src/nn/tf.js';
import { createSampler } from '../../src/sampling/sampler.js';
import { createTaskPool } from '../../src/workers/pool.js';

const LINE: FamilyRef = { name: 'line-goal', module: new URL('../fixtures/envs/line-goal.ts', import.meta.url).href };
const HORIZON = 20;

let family: TaskFamily;
let task: Task;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
  family = await loadFamily(LINE);
  [task] = family.sampleTasks(new Rng(5), 1);
});
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});
afterAll(async () => {
  while (closers.length) await closers.pop()!();
});

type AgentName = 'maml' | 'rl2' | 'pearl';

/** A small learner of each agent on the calling thread, closed after the test. */
async function learner(agent: AgentName, overrides: Record<string, unknown> = {}): Promise<MetaLearner> {
  const seed = 3;
  let l: MetaLearner;
  if (agent === 'pearl') {
    const config: PearlConfig = pearlConfigSchema.parse({ hidden: [16], encoderHidden: [16], latentSize: 2, collectTasks: 2, trainTasks: 4, evalEpisodes: 3, ...overrides });
    const sampler = await createSampler({ family: LINE, workers: 0 });
    closers.push(() => sampler.close());
    l = await createPearl({ config, family, familyRef: LINE, sampler, seed });
  } else {
    const config =
      agent === 'maml'
        ? mamlConfigSchema.parse({ hidden: [8], metaBatchSize: 2, episodesPerTask: 2, innerSteps: 1, ...overrides })
        : rl2ConfigSchema.parse({ hidden: 8, metaBatchSize: 2, trialsPerTask: 1, tasksPerShard: 1, episodesPerTrial: 3, ...overrides });
    const pool = await createTaskPool({ family: LINE, agent, config, backend: 'cpu', stepTimeoutMs: 0, workers: 0 });
    closers.push(() => pool.close());
    l = agent === 'maml' ? await createMaml({ config: config as MamlConfig, family, familyRef: LINE, pool, seed }) : await createRl2({ config: config as Rl2Config, family, familyRef: LINE, pool, seed });
  }
  closers.push(() => l.dispose());
  return l;
}

/** The user's loop, as docs/api.md shows it: one episode of the task's env; the return as the sampler stores it (float32). */
async function playEpisode(policy: AdaptedPolicy, env: Env): Promise<number> {
  let obs = env.reset(0);
  policy.reset();
  let ret = 0;
  let reward: number | undefined;
  for (let t = 0; t < HORIZON; t++) {
    const step = env.step(await policy.act(obs, reward));
    ret += step.reward;
    reward = step.reward;
    obs = step.obs;
    if (step.terminated || step.truncated) break;
  }
  return Math.fround(ret);
}

/** The learner's state with its noise switched off (see the file's doc): every entry `edit` names, edited in place. */
async function quiet(l: MetaLearner, edit: (key: string, array: LearnerState['arrays'][string]) => void): Promise<void> {
  const state = await l.state();
  for (const [key, array] of Object.entries(state.arrays)) edit(key, array);
  await l.restore(state);
}

const silence: Record<AgentName, (key: string, array: LearnerState['arrays'][string]) => void> = {
  maml: (key, a) => key === 'policy/logStd' && a.data.fill(-40),
  rl2: (key, a) => key === 'policy/logStd' && a.data.fill(-40),
  // The actor's first layer [O + L, h]: rows O.. are z's.
  pearl: (key, a) => key === 'actor/policy/actor.l0.w' && a.data.fill(0, family.spec.obsSize * a.shape[1]),
};

const AGENTS: AgentName[] = ['maml', 'rl2', 'pearl'];

describe.each(AGENTS)('%s adapt()', (agent) => {
  it("adapts on evaluate's episodes: its returns are evaluate's first stages, bit for bit", async () => {
    const l = await learner(agent);
    const adapted = await l.adapt(task, { steps: 2, seed: 7 });
    closers.push(() => adapted.dispose());
    const evaluated = await l.evaluate([task], { adaptationSteps: 2, seed: 7 });
    expect(adapted.returns).toHaveLength(2);
    expect(adapted.returns).toEqual(evaluated.returns.slice(0, 2).map((r) => r[0]));
    // Another seed, other episodes.
    expect((await l.evaluate([task], { adaptationSteps: 2, seed: 8 })).returns[0][0]).not.toBe(adapted.returns[0]);
  });

  it("acting with it in the user's loop gives evaluate's last-stage return, once the sampling noise is off", async () => {
    const l = await learner(agent);
    await quiet(l, silence[agent]);
    const steps = 1;
    const adapted = await l.adapt(task, { steps, seed: 4 });
    closers.push(() => adapted.dispose());
    const evaluated = await l.evaluate([task], { adaptationSteps: steps + 1, seed: 4 });
    const env = family.makeEnv(task);
    closers.push(() => env.dispose());
    // Stage `steps` is the first episode after adaptation; RL²'s state and PEARL's belief carry into the next one too.
    expect(await playEpisode(adapted, env)).toBe(evaluated.returns[steps][0]);
    if (agent !== 'maml') expect(await playEpisode(adapted, env)).toBe(evaluated.returns[steps + 1][0]);
  });

  it('the adaptation changes the policy: its action differs from the unadapted one', async () => {
    const l = await learner(agent);
    const [before, after] = [await l.adapt(task, { steps: 0 }), await l.adapt(task, { steps: 2, seed: 1 })];
    closers.push(() => before.dispose(), () => after.dispose());
    expect(before.returns).toEqual([]);
    const obs = new Float32Array([0.3]);
    const [a, b] = [await before.act(obs), await after.act(obs)];
    expect(a).toHaveLength(family.spec.actSize);
    expect(Array.from(b)).not.toEqual(Array.from(a));
    // Deterministic: the same call again, the same action (RL²'s second call is a second step, so it is compared on a fresh policy).
    const again = await l.adapt(task, { steps: 0 });
    closers.push(() => again.dispose());
    expect(Array.from(await again.act(obs))).toEqual(Array.from(a));
  });

  it('holds no tensors after dispose(), and refuses to act after it', async () => {
    const l = await learner(agent);
    const before = tf.memory().numTensors;
    const adapted = await l.adapt(task, { steps: 1, seed: 2 });
    const env = family.makeEnv(task);
    await playEpisode(adapted, env);
    env.dispose();
    adapted.dispose();
    adapted.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(adapted.act(new Float32Array([0]))).rejects.toMatchObject({ code: 'METARL_DISPOSED' });
  });

  it('names what is wrong: bad options, a wrong-sized observation, a disposed learner', async () => {
    const l = await learner(agent);
    for (const options of [{ steps: -1 }, { steps: 1.5 }, { seed: 0.5 }, { step: 2 }]) {
      await expect(l.adapt(task, options as object)).rejects.toMatchObject({ code: 'METARL_CONFIG_INVALID', message: expect.stringContaining('adapt()') });
    }
    const adapted = await l.adapt(task, { steps: 0 });
    closers.push(() => adapted.dispose());
    await expect(adapted.act(new Float32Array(3))).rejects.toMatchObject({ code: 'METARL_SPEC_MISMATCH', message: expect.stringContaining('obsSize 1') });
    l.dispose();
    await expect(l.adapt(task)).rejects.toMatchObject({ code: 'METARL_DISPOSED' });
    // The adapted policy holds its own weights: it outlives its learner.
    expect(await adapted.act(new Float32Array([0.1]))).toHaveLength(1);
  });
});

describe('RL² adapt()', () => {
  it("needs the env's reward after an episode's first step: the LSTM's input holds it", async () => {
    const l = await learner('rl2');
    const adapted = await l.adapt(task, { steps: 1 });
    closers.push(() => adapted.dispose());
    adapted.reset();
    await adapted.act(new Float32Array([0]));
    await expect(adapted.act(new Float32Array([0.1]))).rejects.toMatchObject({ code: 'METARL_CONFIG_INVALID', message: expect.stringContaining('reward') });
    expect(await adapted.act(new Float32Array([0.1]), -0.5)).toHaveLength(1);
  });
});

describe('MAML adapt() at α = 0', () => {
  it('steps on the same episodes and leaves the policy as it was: how eval measures the oracle, not fine-tuned', async () => {
    const obs = new Float32Array([0.3]);
    const act = async (innerLr: number, steps: number) => {
      const l = await learner('maml', { innerLr });
      const adapted = await l.adapt(task, { steps, seed: 1 });
      closers.push(() => adapted.dispose());
      return { returns: adapted.returns, action: Array.from(await adapted.act(obs)) };
    };
    const [unadapted, still, moved] = [await act(0, 0), await act(0, 2), await act(0.5, 2)];
    expect(still.returns).toHaveLength(2);
    expect(still.action).toEqual(unadapted.action);
    // The same learner at α 0.5 moves: the episodes carried a gradient α = 0 did not follow.
    expect(moved.action).not.toEqual(unadapted.action);
    expect(moved.returns[0]).toBe(still.returns[0]);
  });
});
