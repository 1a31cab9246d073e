/**
 * A source of real frames for the browser test: real envs from `envs/` stepped at
 * simulation speed with a sinusoidal gait, published through the viewer server's
 * publisher API as a MAML evaluation would be (one env per adaptation stage, side by side),
 * plus a few metrics rows. This is the one piece to swap for a `metarl train --view` process.
 */
import { Rng } from '../../src/core/rng.js';
import { loadFamily } from '../../src/core/registry.js';
import type { Env } from '../../src/core/types.js';
import type { ViewerServer } from '../../src/stream/server.js';
import { builtinFamilies } from '../../envs/index.js';

export interface FrameSource {
  stop(): Promise<void>;
}

export async function startFrameSource(server: ViewerServer, { family = 'cheetah-vel', stages = 3, horizon = 120, seed = 7 } = {}): Promise<FrameSource> {
  const fam = await loadFamily(builtinFamilies.ref(family));
  const rng = new Rng(seed);
  const [task] = fam.sampleTasks(rng, 1);
  const envs: Env[] = Array.from({ length: stages }, () => fam.makeEnv(task));
  const { dt, actSize } = fam.spec;
  server.hello({ family, agent: 'maml', backend: 'cpu', mode: 'view', runName: 'e2e', config: { seed, stages } });
  for (let it = 0; it < 6; it++) {
    server.metrics({ iteration: it, stageReturns: Array.from({ length: stages }, (_, k) => -120 + 6 * it + 10 * k * Math.sqrt(it + 1)), values: { loss: 1 / (it + 1) } });
  }

  const action = new Float32Array(actSize);
  const poses = envs.map((env) => new Float32Array(env.spec.bodyCount * 7));
  const rets = new Float64Array(stages);
  let step = 0;
  const startEpisode = (): void => {
    envs.forEach((env, k) => {
      env.reset(seed + k);
      server.scene(k, env.scene(), { kind: 'maml-step', k }, dt);
      server.episodeStart(k);
      rets[k] = 0;
    });
    step = 0;
  };
  startEpisode();

  // One step per dt of wall time: the page should see motion at simulation speed.
  const timer = setInterval(() => {
    envs.forEach((env, k) => {
      // Later stages get a stronger, better-phased gait: something to see adapt.
      const gain = 0.4 + 0.3 * k;
      for (let j = 0; j < actSize; j++) action[j] = gain * Math.sin(step * dt * 9 + j * 1.3 + k * 0.5);
      const r = env.step(action);
      rets[k] += r.reward;
      server.frame(k, step, env.frame(poses[k]), r.reward);
    });
    step++;
    if (step >= horizon) {
      envs.forEach((_env, k) => server.episodeEnd(k, rets[k], step));
      startEpisode();
    }
  }, dt * 1000);

  return {
    async stop() {
      clearInterval(timer);
      for (const env of envs) env.dispose();
    },
  };
}
