/** `metarl eval --baselines` and `--seed` (issue 10, items 2 and 3), on the tiny line-goal family. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/train/evaluate.js';
import { openRun } from '../../src/train/open-run.js';
import { evaluateLearner, train } from '../../src/train/train.js';
import { expectOneLineError, metarl } from './run-cli.js';

const env = new URL('../fixtures/envs/line-goal.ts', import.meta.url).pathname;
const SMALL = { metaBatchSize: 4, episodesPerTask: 4, hidden: [8], innerLr: 0.5 };

describe('metarl eval --baselines', () => {
  let dir: string;
  const run = (name: string) => join(dir, name);
  const trainRun = (name: string, agentConfig: Record<string, unknown>) =>
    train({ env, agent: 'maml', seed: 3, iterations: 3, out: run(name), workers: 0, backend: 'cpu', quiet: true, log: () => {}, skipFinalEval: true, agentConfig: { ...SMALL, ...agentConfig } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'metarl-baselines-'));
    await trainRun('maml', {});
    await trainRun('pretrained', { innerSteps: 0 });
    await trainRun('oracle', { innerSteps: 0, oracle: true });
    await train({ env, agent: 'maml', seed: 3, iterations: 1, out: run('pretrained-h5'), workers: 0, backend: 'cpu', quiet: true, log: () => {}, skipFinalEval: true, agentConfig: { ...SMALL, innerSteps: 0, horizon: 5 } });
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("adds random-init and pretrained rows fine-tuned by the run's inner step, and the oracle as it is, on the same tasks", async () => {
    const result = await evaluate(run('maml'), { tasks: 6, baselines: { pretrained: run('pretrained'), oracle: run('oracle') } });
    expect(result.baselines!.map((b) => b.name)).toEqual(['random-init', 'pretrained', 'oracle']);
    for (const row of result.baselines!) {
      expect(row.adaptation.map((s) => s.stage)).toEqual(['pre', 'step 1']);
      expect(row.adaptation.every((s) => s.tasks === 6 && Number.isFinite(s.mean))).toBe(true);
    }
    // The fine-tune step moved the policy: its return is not a copy of pre's.
    for (const row of result.baselines!.slice(0, 2)) expect(row.adaptation[1].mean).not.toBe(row.adaptation[0].mean);
    // The oracle is measured at α = 0 (the MAML code's oracle): fresh episodes at each stage of an
    // unchanged policy. At the run's α its row would be another.
    const oracleAt = async (innerLr: number) => {
      const opened = await openRun(run('oracle'), { agentConfig: { innerLr, episodesPerTask: SMALL.episodesPerTask } });
      try {
        return (await evaluateLearner(opened.learner, opened.family, 3, 6, { adaptationSteps: 1 })).adaptation;
      } finally {
        await opened.close();
      }
    };
    expect(result.baselines![2].adaptation).toEqual(await oracleAt(0));
    expect((await oracleAt(SMALL.innerLr))[1].mean).not.toBe(result.baselines![2].adaptation[1].mean);
    expect(JSON.parse(readFileSync(join(run('maml'), 'eval.json'), 'utf8')).baselines).toHaveLength(3);

    // Same held-out tasks and reset seeds: the pretrained policy evaluated on its own with the
    // run's seed gives exactly its row's 'pre'.
    const alone = await evaluate(run('pretrained'), { tasks: 6, seed: 3, out: false });
    expect(alone.adaptation.map((s) => s.stage)).toEqual(['pre']);
    expect(alone.adaptation[0].mean).toBe(result.baselines![1].adaptation[0].mean);

    // A later table of the agent's row alone keeps the rows it cannot have changed; on other tasks it drops them.
    expect((await evaluate(run('maml'), { tasks: 6 })).baselines).toEqual(result.baselines);
    expect((await evaluate(run('maml'), { tasks: 5 })).baselines).toBeUndefined();
    expect(JSON.parse(readFileSync(join(run('maml'), 'eval.json'), 'utf8')).baselines).toBeUndefined();
  }, 240_000);

  it("an RL² run's random-init row adapts over the run's own episodes", async () => {
    await train({ env, agent: 'rl2', seed: 3, iterations: 1, out: run('rl2'), workers: 0, backend: 'cpu', quiet: true, log: () => {}, skipFinalEval: true, agentConfig: { metaBatchSize: 2, trialsPerTask: 2, hidden: 8, episodesPerTrial: 3 } });
    const result = await evaluate(run('rl2'), { tasks: 3, out: false, baselines: { pretrained: run('pretrained') } });
    const stages = (name: string) => result.baselines!.find((b) => b.name === name)!.adaptation.map((s) => s.stage);
    expect(result.adaptation.map((s) => s.stage)).toEqual(['episode 1', 'episode 2', 'episode 3']);
    expect(stages('random-init')).toEqual(['episode 1', 'episode 2', 'episode 3']);
    // Nothing fine-tunes an untrained LSTM: its row says what it is.
    expect(result.baselines![0].label).toBe('random init (untrained rl2)');
    // Fine-tuning takes one step per episode after the first.
    expect(stages('pretrained')).toEqual(['pre', 'step 1', 'step 2']);
  }, 120_000);

  it("a PEARL run's table and random-init row run the online trial, one stage per episode (#8)", async () => {
    await train({ env, agent: 'pearl', seed: 3, iterations: 1, out: run('pearl'), workers: 0, backend: 'cpu', quiet: true, log: () => {}, skipFinalEval: true, agentConfig: { collectTasks: 2, numTrainSteps: 2, metaBatchSize: 2, batchSize: 8, contextBatch: 8, hidden: [8], encoderHidden: [8] } });
    const result = await evaluate(run('pearl'), { tasks: 3, out: false, baselines: { pretrained: run('pretrained') } });
    const stages = (name: string) => result.baselines!.find((b) => b.name === name)!.adaptation.map((s) => s.stage);
    expect(result.adaptation.map((s) => s.stage)).toEqual(['episode 1', 'episode 2', 'episode 3']);
    expect(stages('random-init')).toEqual(['episode 1', 'episode 2', 'episode 3']);
    expect(result.baselines![0].label).toBe('random init (untrained pearl)');
    expect(stages('pretrained')).toEqual(['pre', 'step 1', 'step 2']);
    // The trained encoder and policy are not the fresh ones.
    expect(result.adaptation[0].mean).not.toBe(result.baselines![0].adaptation[0].mean);
  }, 120_000);

  it('--seed draws other held-out tasks; the default draws the same ones every time', async () => {
    const a = await evaluate(run('maml'), { tasks: 5, out: false });
    const b = await evaluate(run('maml'), { tasks: 5, out: false });
    const c = await evaluate(run('maml'), { tasks: 5, out: false, seed: 99 });
    expect(a.seed).toBe(3);
    expect(b.adaptation).toEqual(a.adaptation);
    expect(c.seed).toBe(99);
    expect(c.adaptation[0].mean).not.toBe(a.adaptation[0].mean);
  }, 120_000);

  it('refuses a baseline run of the wrong kind before any work, naming it and how to train the right one', () => {
    const wrong = metarl(['eval', run('maml'), '--tasks', '2', '--oracle', run('pretrained')]);
    expectOneLineError(wrong, 'METARL_CONFIG_INVALID', /--oracle .*pretrained: its policy does not observe the task; train one with `metarl train --env .* --agent maml --inner-steps 0 --oracle`/);
    const meta = metarl(['eval', run('maml'), '--tasks', '2', '--pretrained', run('maml')]);
    expectOneLineError(meta, 'METARL_CONFIG_INVALID', /--pretrained .*maml: it adapts by 1 inner step/);
    mkdirSync(run('untrained'));
    copyFileSync(join(run('pretrained'), 'config.json'), join(run('untrained'), 'config.json'));
    const noCheckpoint = metarl(['eval', run('maml'), '--tasks', '2', '--pretrained', run('untrained')]);
    expectOneLineError(noCheckpoint, 'METARL_CHECKPOINT_MISSING', /: --pretrained .*untrained: no checkpoint in/);
    expectOneLineError(metarl(['eval', run('nope'), '--tasks', '2']), 'METARL_CHECKPOINT_MISSING', /nope is not a run directory/);
    expectOneLineError(metarl(['eval', 'zoo/no-such-run', '--tasks', '2']), 'METARL_CHECKPOINT_MISSING', /zoo\/no-such-run is not a shipped run: zoo\/ has (zoo\/[\w-]+, )*zoo\/maml-point-nav(, |$)/m);
    const short = metarl(['eval', run('maml'), '--tasks', '2', '--pretrained', run('pretrained-h5')]);
    expectOneLineError(short, 'METARL_CONFIG_INVALID', /--pretrained .*pretrained-h5: its horizon is 5, the run's the family's, so their returns are not comparable/);
  }, 120_000);
});
