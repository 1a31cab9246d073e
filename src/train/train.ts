import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchHooks } from '../../agents/types.js';
import { MetarlError, isMetarlError, type MetarlErrorCode } from '../core/errors.js';
import type { AdaptationResult, MetaLearner } from '../core/learner.js';
import { Rng, type RngState } from '../core/rng.js';
import type { JsonValue, Task, TaskFamily } from '../core/types.js';
import { formatAdaptationTable, formatGains, perTaskReturns, summarizeAdaptation, type StageSummary, type TaskReturns } from './adaptation-table.js';
import { readLatestCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { RunConfig, RunConfigInput } from './config.js';
import { SEEDS, assembleRun, seedFor } from './assemble.js';
import { startInterruptSentinel } from './interrupt.js';
import { keptBaselines } from './kept-baselines.js';
import { assertJobFits } from '../sampling/limits.js';
import { writeFileAtomic } from './files.js';
import { MetricsWriter, type MetricsRow } from './metrics.js';
import { Progress } from './progress.js';
import { resolveRunConfig } from './run-config.js';
import { checkRunDir, initRunDir, type RunDirMode } from './run-dir.js';
import { letEventLoopRun } from '../core/event-loop.js';
import { formatValidation, validate } from './validation.js';
import { queueUrl } from '../workers/queue/url.js';

/** Where a training run sends what a viewer shows; see src/stream. */
export interface TrainObserver {
  runInfo?(info: { family: string; agent: string; backend: string; stages: readonly string[]; dt: number; config: RunConfig }): void;
  watch?(stage: number, stageLabel: string): WatchHooks | undefined;
  /** `validation`: the adaptation check made at this iteration (`validateEvery`; src/train/validation.ts). */
  metrics?(row: MetricsRow, stages: readonly string[], validation?: MetricsRow): void;
}

export interface TrainOptions extends Partial<RunConfigInput> {
  /** Continue the run in this directory from its latest checkpoint. */
  resume?: string;
  /** Replace the run already in `out` (without it, such a folder is refused). */
  force?: boolean;
  quiet?: boolean;
  log?: (line: string) => void;
  observer?: TrainObserver;
  /** Stops after the current iteration, with a checkpoint (Ctrl-C does the same in the CLI). */
  signal?: AbortSignal;
  /** Skip the final adaptation table. */
  skipFinalEval?: boolean;
  /** Run the shards on `metarl worker` processes through this Redis/Valkey URL (true: REDIS_URL); never stored in the run's config. */
  queue?: string | true;
  /** With `queue`: seconds to wait for a live worker, and for Redis, before stopping with an error (default 60). */
  queueWait?: number;
}

export interface TrainResult {
  runDir: string;
  config: RunConfig;
  /** Last completed iteration. */
  iteration: number;
  stopped: 'finished' | 'interrupted';
  metrics: MetricsRow[];
  adaptation?: StageSummary[];
}

/** Meta-trains an agent on a task family, with metrics, checkpoints and a final adaptation table. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const config = resolveRunConfig(options, options.resume);
  const mode: RunDirMode = options.resume ? 'resume' : options.force ? 'replace' : 'new';
  checkRunDir(config.out, mode);
  const checkpoint = options.resume ? readLatestCheckpoint(config.out) : null;
  const { family, agentConfig, backend, workers, learner } = await assembleRun(config, {
    checkFamily: true,
    watch: options.observer?.watch?.bind(options.observer),
    queue: options.queue ? { url: queueUrl(options.queue), waitMs: (options.queueWait ?? 60) * 1000, log } : undefined,
  });
  log(`backend: ${backend.name} (${backend.reason})`);

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    log('\ninterrupt: finishing this iteration, then saving a checkpoint (Ctrl-C again to quit at once)');
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  const stopSentinel = startInterruptSentinel();
  options.signal?.addEventListener('abort', () => (interrupted = true), { once: true });

  try {
    // Before sampleTasks, which would build every task of a meta-batch that cannot fit (1e8 of them took 4 GB and more).
    const { spec } = family;
    const metaBatch = learner.tasksPerIteration;
    assertJobFits(
      { slots: metaBatch, episodes: 1, horizon: spec.horizon, obsSize: spec.obsSize, actSize: spec.actSize, watchCount: 0, bodyCount: spec.bodyCount },
      `${config.agent}'s meta-batch of ${metaBatch} tasks`,
      'lower --meta-batch-size',
    );
    if (config.validateEvery > 0) {
      assertJobFits(
        { slots: config.validateTasks, episodes: 1, horizon: spec.horizon, obsSize: spec.obsSize, actSize: spec.actSize, watchCount: 0, bodyCount: spec.bodyCount },
        `--validate-tasks ${config.validateTasks}`,
        'lower --validate-tasks',
      );
    }
    initRunDir(config.out, mode, { ...config, agentConfig });
    let taskRng = new Rng(seedFor(config.seed, SEEDS.tasks));
    let iteration = 0;
    if (checkpoint) {
      await learner.restore(checkpoint.learner);
      taskRng = Rng.fromState(checkpoint.loop.taskRng as unknown as RngState);
      iteration = checkpoint.iteration;
      log(`resumed ${config.out} at iteration ${iteration}`);
    }
    options.observer?.runInfo?.({ family: family.name, agent: config.agent, backend: backend.name, stages: learner.stages, dt: family.spec.dt, config });

    const resumeAfter = checkpoint ? iteration : undefined;
    const metrics = new MetricsWriter(config.out, { resumeAfter, log });
    // A resumed run trims its checks past the checkpoint even when it makes no more, so a later
    // resume that makes them again finds no rows of a stretch that was trained over.
    const validation = config.validateEvery > 0 || (checkpoint && existsSync(join(config.out, 'validation.jsonl')))
      ? new MetricsWriter(config.out, { resumeAfter, name: 'validation' })
      : null;
    const rows: MetricsRow[] = [];
    const pool = 'progress' in workers ? workers : null;
    const progress = new Progress(config.iterations, iteration, { quiet: options.quiet, log, pool: pool?.progress ? () => pool.progress!() : undefined });
    const save = (it: number) =>
      learner.state().then((state) => writeCheckpoint(config.out, { iteration: it, learner: state, loop: { taskRng: taskRng.state() as unknown as JsonValue } }));
    let lastSaved = iteration;
    const started = performance.now();
    // A NaN in the update shows up as the policy's next action: report it as the divergence it is.
    const divergedAt = (it: number) => (err: unknown): never => {
      if (isMetarlError(err, 'METARL_BAD_ACTION') && err.message.includes('non-finite action')) {
        throw diverged(it, 'a non-finite policy output (its update produced NaN)', lastSaved, config.out, err);
      }
      throw err;
    };

    try {
      while (iteration < config.iterations && !interrupted) {
        await letEventLoopRun(); // the viewer's sockets and Ctrl-C, even with --workers 0
        const tasks = family.sampleTasks(taskRng, learner.tasksPerIteration);
        const result = await learner.iterate(tasks).catch(divergedAt(iteration + 1));
        iteration += 1;
        const row = metricsRow(iteration, learner.stages, result, (performance.now() - started) / 1000);
        const bad = Object.entries(row).find(([, v]) => !Number.isFinite(v));
        if (bad) throw diverged(iteration, `${bad[0]} = ${bad[1]}`, lastSaved, config.out);
        metrics.write(row);
        rows.push(row);
        progress.update({ iteration, stageReturns: result.stageReturns, stages: learner.stages, figures: result.figures, stepsPerSecond: row.stepsPerSecond });
        // Before the checkpoint, so a run resumed from it has every check up to there. Its rollouts
        // may be the first to act on this iteration's update, so a NaN there is a divergence too.
        const check = validation && config.validateEvery > 0 && iteration % config.validateEvery === 0
          ? await validate(learner, family, config.seed, config.validateTasks, iteration, row.wallSeconds).catch(divergedAt(iteration))
          : undefined;
        if (check) {
          validation!.write(check);
          const text = formatValidation(check, learner.stages);
          progress.validated(text.line, text.short);
        }
        options.observer?.metrics?.(row, learner.stages, check);
        if (iteration % config.checkpointEvery === 0 || iteration === config.iterations || interrupted) {
          await save(iteration);
          lastSaved = iteration;
        }
      }
    } catch (err) {
      throw isMetarlError(err) && STOPPED_MID_RUN.includes(err.code) ? withCheckpointNote(err, lastSaved, config.out) : err;
    } finally {
      progress.stop();
    }

    if (interrupted) {
      log(`stopped at iteration ${iteration}; checkpoint saved. Continue with: metarl train --resume ${config.out}`);
      return { runDir: config.out, config, iteration, stopped: 'interrupted', metrics: rows };
    }
    let adaptation: StageSummary[] | undefined;
    if (!options.skipFinalEval) {
      const evaluated = await evaluateLearner(learner, family, config.seed, config.evalTasks);
      adaptation = evaluated.adaptation;
      const path = join(config.out, 'eval.json');
      const baselines = keptBaselines(path, { agent: config.agent, family: family.name, seed: config.seed, tasks: config.evalTasks, stages: adaptation.length });
      // The same shape as `metarl eval` writes, so either may be read by the same code.
      writeFileAtomic(path, `${JSON.stringify({ agent: config.agent, family: family.name, iteration, seed: config.seed, tasks: config.evalTasks, adaptation, ...(baselines ? { baselines } : {}), perTask: evaluated.perTask }, null, 2)}\n`);
      log(`\nadaptation on ${config.evalTasks} held-out tasks (iteration ${iteration}):\n${formatAdaptationTable(adaptation)}\n${formatGains(adaptation)}`);
    }
    return { runDir: config.out, config, iteration, stopped: 'finished', metrics: rows, adaptation };
  } finally {
    process.removeListener('SIGINT', onSigint);
    stopSentinel();
    learner.dispose();
    await workers.close();
  }
}

function diverged(iteration: number, what: string, lastSaved: number, out: string, cause?: unknown): MetarlError {
  const kept = lastSaved > 0
    ? `The last good checkpoint (iteration ${lastSaved}) is kept: try a smaller learning rate or step size and --resume ${out}`
    : 'No checkpoint had been written yet: try a smaller learning rate or step size';
  return new MetarlError('METARL_NAN_LOSS', `iteration ${iteration} produced ${what}; stopped. ${kept}`, { iteration, lastCheckpoint: lastSaved }, { cause });
}

/** What can stop a run between checkpoints through no fault of the learner: a full disk, an env step that hung, an env that leaked, queue workers or Redis gone. */
const STOPPED_MID_RUN: readonly MetarlErrorCode[] = ['METARL_FILE_ERROR', 'METARL_STEP_TIMEOUT', 'METARL_RESOURCE_LIMIT', 'METARL_NO_WORKERS', 'METARL_QUEUE_UNREACHABLE'];

/** Such an error says which checkpoint survived it and how to go on. */
function withCheckpointNote(err: MetarlError, lastSaved: number, out: string): MetarlError {
  const kept = lastSaved > 0 ? `checkpoint ${lastSaved} is kept: fix that, then metarl train --resume ${out}` : 'no checkpoint had been written yet';
  return new MetarlError(err.code, `${err.message}; ${kept}`, { ...err.details, lastCheckpoint: lastSaved }, { cause: err });
}

/**
 * The two task sets a seed draws, each with its own streams of tasks and rollout seeds: the
 * held-out tasks every result is reported on, and the validation tasks a run checks itself on
 * while it trains (`validateEvery`), so a checkpoint picked by those was not picked on these.
 */
const TASK_SETS = {
  'held-out': { tasks: SEEDS.evalTasks, rollouts: SEEDS.evalRollouts },
  validation: { tasks: SEEDS.validationTasks, rollouts: SEEDS.validationRollouts },
} as const;
export type TaskSet = keyof typeof TASK_SETS;

/** The tasks of `set` for `seed`: the same for every run, checkpoint and baseline evaluated with it. */
export function heldOutTasks(family: TaskFamily, seed: number, nTasks: number, set: TaskSet = 'held-out'): Task[] {
  return family.sampleTasks(new Rng(seedFor(seed, TASK_SETS[set].tasks)), nTasks);
}

/**
 * Mean ± stderr per stage on `nTasks` tasks of `set` (default the held-out ones), over
 * `adaptationSteps` steps after the first stage (default the learner's own), and each task's
 * own returns under it.
 * The tasks and the rollouts' seed come from their own streams of `seed`, so every evaluation
 * with one seed, of any learner, sees the same tasks (and learners that seed resets the same
 * way, such as two MAML policies, the same reset states). A validation check streams nothing
 * to a viewer: its lanes show training, and a check every few iterations would take them over.
 */
export async function evaluateLearner(
  learner: MetaLearner,
  family: TaskFamily,
  seed: number,
  nTasks: number,
  options: { adaptationSteps?: number; set?: TaskSet } = {},
): Promise<{ adaptation: StageSummary[]; perTask: TaskReturns[] }> {
  const { adaptationSteps, set = 'held-out' } = options;
  const tasks = heldOutTasks(family, seed, nTasks, set);
  const result: AdaptationResult = await learner.evaluate(tasks, {
    seed: seedFor(seed, TASK_SETS[set].rollouts),
    ...(adaptationSteps !== undefined ? { adaptationSteps } : {}),
    ...(set === 'validation' ? { watch: false } : {}),
  });
  return { adaptation: summarizeAdaptation(result), perTask: perTaskReturns(tasks, result) };
}

function metricsRow(iteration: number, stages: readonly string[], result: Awaited<ReturnType<MetaLearner['iterate']>>, wallSeconds: number): MetricsRow {
  const row: MetricsRow = { iteration };
  stages.forEach((_, i) => (row[`return${i}`] = result.stageReturns[i]));
  for (const [k, v] of Object.entries(result.figures)) row[k] = v;
  row.envSteps = result.envSteps;
  row.sampleSeconds = result.sampleSeconds;
  row.learnSeconds = result.learnSeconds;
  row.stepsPerSecond = result.envSteps / Math.max(1e-9, result.sampleSeconds + result.learnSeconds);
  row.wallSeconds = wallSeconds;
  return row;
}
