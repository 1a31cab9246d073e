/**
 * viewerObserver's watch hooks (src/train/watch.ts) turn an agent's rollout into publisher
 * calls: a watched slot's belief (issue 8, PEARL) goes to its episode's lane after that lane's
 * scene, and an unwatched slot's goes nowhere.
 */
import { describe, expect, it } from 'vitest';
import { createPearl, pearlConfigSchema } from '../../agents/pearl.js';
import { loadFamily } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import type { SceneDescription } from '../../src/core/scene.js';
import { initBackend } from '../../src/nn/backend.js';
import { createSampler } from '../../src/sampling/sampler.js';
import type { Publisher } from '../../src/stream/publisher.js';
import { viewerObserver } from '../../src/train/watch.js';

const scene: SceneDescription = {
  family: 'test-family',
  bodies: [{ name: 'ball', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#4080d0' }] }],
  ground: { kind: 'plane', height: 0, color: '#808080' },
  markers: [],
  taskLabel: { goal: 1 },
};

/** A publisher that writes down each call as `name envId …`. */
function recordingPublisher(): Publisher & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    hello: () => calls.push('hello'),
    scene: (envId, _scene, stage) => calls.push(`scene ${envId} ${stage.label}`),
    frame: (envId, step) => calls.push(`frame ${envId} ${step}`),
    episodeStart: (envId) => calls.push(`start ${envId}`),
    episodeEnd: (envId) => calls.push(`end ${envId}`),
    belief: (envId, episode, b, stage) => calls.push(`belief ${envId} ${episode} [${Array.from(b.mean)}] [${Array.from(b.std)}]${stage ? ` ${stage.label}` : ''}`),
    metrics: () => calls.push('metrics'),
    reset: () => calls.push('reset'),
  };
}

const observerOn = (publisher: Publisher & { calls: string[] }) => {
  const observer = viewerObserver(publisher);
  observer.runInfo!({
    family: 'test-family',
    agent: 'pearl',
    backend: 'cpu',
    stages: ['episode 1', 'episode 2', 'episode 3'],
    dt: 0.05,
    config: { out: 'runs/x', seed: 1, iterations: 1, agentConfig: {} } as never,
  });
  publisher.calls.length = 0;
  return observer;
};

describe('viewerObserver: beliefs (issue 8)', () => {
  it("publishes a watched slot's belief in its episode's lane, after the lane's scene and before its frames", () => {
    const publisher = recordingPublisher();
    const observer = observerOn(publisher);
    const poses = new Float32Array(7);
    // A PEARL trial samples each episode in its own call: watch(e) for episode e of the trial.
    for (const [e, std] of [[0, 1], [1, 0.5]] as const) {
      const hooks = observer.watch!(e, `episode ${e + 1}`)!;
      expect(hooks.watchSlots).toEqual([0]);
      hooks.onBelief!(0, 0, { mean: new Float32Array([e, -e]), std: new Float32Array([std, std]) });
      hooks.onScene!(0, scene);
      hooks.onFrame!({ slot: 0, episode: 0, t: 0, poses, reward: 1 });
      hooks.onFrame!({ slot: 0, episode: 0, t: 1, poses, reward: 1 });
    }
    expect(publisher.calls).toEqual([
      'scene 0 episode 1',
      'start 0',
      'belief 0 0 [0,0] [1,1]',
      'frame 0 0',
      'frame 0 1',
      'scene 1 episode 2',
      'start 1',
      'belief 1 1 [1,-1] [0.5,0.5]',
      'frame 1 0',
      'frame 1 1',
    ]);
  });

  it("does not publish an unwatched slot's belief, and a belief set while its lane is on the page goes out at once", () => {
    const publisher = recordingPublisher();
    const observer = observerOn(publisher);
    const hooks = observer.watch!(0, 'episode 1')!;
    hooks.onScene!(0, scene);
    hooks.onBelief!(1, 0, { mean: [5, 5], std: [0.1, 0.1] }); // slot 1 is not watched
    hooks.onFrame!({ slot: 0, episode: 0, t: 0, poses: new Float32Array(7), reward: 0 });
    hooks.onBelief!(3, 0, { mean: [5, 5], std: [0.1, 0.1] });
    hooks.onBelief!(0, 0, { mean: [0.25, 0], std: [0.75, 0.5] });
    expect(publisher.calls).toEqual(['scene 0 episode 1', 'start 0', 'frame 0 0', 'belief 0 0 [0.25,0] [0.75,0.5]']);
  });

  it("PEARL's meta-test trial: episode e's belief in lane e, after its scene and before its frames, the prior first, then narrower ones", async () => {
    await initBackend('wasm', { log: () => {} });
    const LINE = { name: 'line-goal', module: new URL('../fixtures/envs/line-goal.ts', import.meta.url).href };
    const family = await loadFamily(LINE);
    const sampler = await createSampler({ family: LINE, workers: 0 });
    const config = pearlConfigSchema.parse({ hidden: [16], encoderHidden: [16], latentSize: 2, collectTasks: 2, numTrainSteps: 1, metaBatchSize: 2, batchSize: 8, contextBatch: 8, trainTasks: 4, evalEpisodes: 3 });
    const publisher = recordingPublisher();
    const observer = observerOn(publisher);
    const learner = await createPearl({ config, family, familyRef: LINE, sampler, seed: 1, watch: (stage, label) => observer.watch!(stage, label) });
    try {
      await learner.evaluate(family.sampleTasks(new Rng(2), 2), { seed: 1 });
    } finally {
      learner.dispose();
      await sampler.close();
    }
    const calls = publisher.calls.filter((c) => !c.startsWith('frame') || c.endsWith(' 0'));
    const beliefs = calls.filter((c) => c.startsWith('belief'));
    expect(beliefs.map((c) => c.split(' ').slice(1, 3).join(' '))).toEqual(['0 0', '1 1', '2 2']);
    expect(beliefs[0]).toBe('belief 0 0 [0,0] [1,1]');
    for (let e = 0; e < 3; e++) {
      expect(calls.slice(calls.indexOf(`scene ${e} episode ${e + 1}`), calls.indexOf(`frame ${e} 0`) + 1)).toEqual([`scene ${e} episode ${e + 1}`, `start ${e}`, beliefs[e], `frame ${e} 0`]);
      if (e > 0) {
        const std = JSON.parse(beliefs[e].split(' ')[4]) as number[];
        expect(std.every((x) => x > 0 && x < 1)).toBe(true);
      }
    }
  }, 60_000);

  it("publishes the watched slot's episode ends in its lanes and no other slot's (the sampler reports every slot's)", () => {
    const publisher = recordingPublisher();
    const observer = observerOn(publisher);
    const hooks = observer.watch!(1, 'step 1')!;
    hooks.onScene!(0, scene);
    hooks.onFrame!({ slot: 0, episode: 0, t: 0, poses: new Float32Array(7), reward: 0 });
    for (const slot of [3, 0, 1]) hooks.onEpisodeEnd!(slot, 0, -slot, 10);
    expect(publisher.calls).toEqual(['scene 1 episode 2', 'start 1', 'frame 1 0', 'end 1']);
  });

  it('an RL²-style call running several episodes puts each belief in the lane of its own episode', () => {
    const publisher = recordingPublisher();
    const observer = observerOn(publisher);
    const hooks = observer.watch!(0, 'episode 1')!;
    const poses = new Float32Array(7);
    hooks.onScene!(0, scene);
    hooks.onBelief!(0, 0, { mean: [0], std: [1] });
    hooks.onFrame!({ slot: 0, episode: 0, t: 0, poses, reward: 0 });
    hooks.onBelief!(0, 1, { mean: [0.5], std: [0.25] });
    hooks.onFrame!({ slot: 0, episode: 1, t: 0, poses, reward: 0 });
    expect(publisher.calls).toEqual(['scene 0 episode 1', 'start 0', 'belief 0 0 [0] [1]', 'frame 0 0', 'scene 1 episode 2', 'start 1', 'belief 1 1 [0.5] [0.25]', 'frame 1 0']);
  });
});
