import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { builtinFamilies } from '../../envs/index.js';
import { checkFamily } from '../core/check.js';
import { MetarlError, isMetarlError } from '../core/errors.js';
import { loadFamily } from '../core/registry.js';
import { Rng } from '../core/rng.js';
import { releaseBackend } from '../nn/backend.js';
import { createSampler } from '../sampling/sampler.js';
import { formatAdaptationTable, formatComparisonTable, formatGains } from './adaptation-table.js';
import { formatGainByTask } from './gain-by-task.js';
import { BACKENDS, readConfigFile } from './config.js';
import { resolveFamily } from './families.js';
import { fileError, isSystemError } from './files.js';
import { intFlag, parseAgentFlags, describeSchema } from './flags.js';
import { defaultEvalPath, evaluate } from './evaluate.js';
import { viewerObserver } from './watch.js';
import { replayFile, viewRun } from './view.js';
import { VIEW_MODES, type ViewMode } from '../stream/protocol.js';
import { startViewer, type ViewerServer } from '../stream/server.js';
import { agentDefinition } from '../../agents/index.js';
import { resolveAgentConfig } from './assemble.js';
import { RESUMABLE_OPTIONS } from './run-config.js';
import { train } from './train.js';
import { queueUrl } from '../workers/queue/url.js';

const program = new Command('metarl')
  .description('Meta-reinforcement learning on simulated robots: Rapier task families, RL² and MAML on TensorFlow.js, a live viewer.')
  .showHelpAfterError();

program
  .command('envs')
  .description('list the built-in task families with their spaces and task ranges')
  .action(async () => {
    for (const name of builtinFamilies.names()) {
      const family = await loadFamily(builtinFamilies.ref(name));
      const { spec } = family;
      console.log(`${name}\n  ${family.description}\n  obs ${spec.obsSize}, act ${spec.actSize} in [-1, 1], horizon ${spec.horizon}, dt ${spec.dt} s`);
      for (const [k, v] of Object.entries(family.taskRanges ?? {})) console.log(`  task: ${k} ~ ${v}`);
    }
  });

program
  .command('check')
  .description('run the env contract checks on a task family (a built-in name or your .ts/.js file)')
  .argument('<env>', 'task family')
  .option('--tasks <n>', 'tasks to try', intFlag('--tasks', 1), 3)
  .option('--steps <n>', 'steps per episode at most', intFlag('--steps', 1), 200)
  .action(async (env: string, opts: { tasks: number; steps: number }) => {
    const { family } = await resolveFamily(env);
    const results = checkFamily(family, { tasks: opts.tasks, steps: opts.steps });
    console.log(`${family.name}: obs ${family.spec.obsSize}, act ${family.spec.actSize}, horizon ${family.spec.horizon}, dt ${family.spec.dt} s`);
    for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.check}: ${r.detail}`);
    const failed = results.filter((r) => !r.ok).length;
    console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
    if (failed) process.exitCode = 1;
  });

program
  .command('rollout')
  .description('run a random policy on sampled tasks and print the return of each task')
  .requiredOption('--env <name>', 'task family: a built-in name or a .ts/.js file')
  .option('--tasks <n>', 'tasks to sample', intFlag('--tasks', 1), 4)
  .option('--episodes <n>', 'episodes per task', intFlag('--episodes', 1), 1)
  .option('--seed <n>', 'seed', intFlag('--seed'), 1)
  .option('--workers <n>', 'worker threads (0 = main thread)', intFlag('--workers'))
  .action(async (opts: { env: string; tasks: number; episodes: number; seed: number; workers?: number }) => {
    const { ref, family } = await resolveFamily(opts.env);
    const rng = new Rng(opts.seed);
    const tasks = family.sampleTasks(rng, opts.tasks);
    const sampler = await createSampler({ family: ref, workers: opts.workers });
    try {
      const actSize = family.spec.actSize;
      const batch = await sampler.sample({ tasks, slotsPerTask: opts.episodes, episodesPerSlot: 1, seed: rng.seed() }, {
        act: (input) => {
          const out = new Float32Array(input.active.length * actSize);
          for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-1, 1);
          return out;
        },
      });
      console.log(`${family.name}: random policy, ${opts.tasks} tasks × ${opts.episodes} episodes, ${batch.envSteps} steps`);
      tasks.forEach((task, t) => {
        let sum = 0;
        for (let s = 0; s < opts.episodes; s++) sum += batch.returns[t * opts.episodes + s];
        console.log(`  task ${t} ${JSON.stringify(task)}: return ${(sum / opts.episodes).toFixed(2)}`);
      });
    } finally {
      await sampler.close();
    }
  });

program
  .command('train')
  .description('meta-train an agent on a task family; extra --flags set the agent hyperparameters (see --help-agent)')
  .option('--env <name>', 'task family: a built-in name or a .ts/.js file')
  .option('--agent <name>', "meta-learner: 'maml', 'rl2' or 'pearl'")
  .option('--iterations <n>', 'meta-training iterations', intFlag('--iterations', 1))
  .option('--seed <n>', 'seed', intFlag('--seed'))
  .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKENDS))
  .option('--workers <n>', 'task worker threads, each sampling and learning on its share of the tasks (0 = main thread; default one per core)', intFlag('--workers'))
  .option('--step-timeout <seconds>', 'how long one env call may take before the run stops with an error naming it (default 60; 0 = no limit)', Number)
  .option('--worker-memory-mb <MB>', "JS heap each task worker may hold (default: a share of the machine's memory)", intFlag('--worker-memory-mb', 16))
  .option('--queue [url]', 'run the task workers as `metarl worker` processes on any machines, through this Redis/Valkey server: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// (default: $REDIS_URL); --workers then sets the lanes (default: one per worker thread)')
  .option('--queue-wait <seconds>', 'with --queue: how long to wait for a live worker, or for Redis, before stopping with an error (default 60)', intFlag('--queue-wait', 1))
  .option('--out <dir>', 'run directory (default runs/<env>-<agent>-<time>)')
  .option('--force', 'replace the run already in --out (its config, metrics and checkpoints) instead of refusing')
  .option('--checkpoint-every <n>', 'iterations between checkpoints', intFlag('--checkpoint-every', 1))
  .option('--eval-tasks <n>', 'held-out tasks in the final adaptation table', intFlag('--eval-tasks', 1))
  .option('--validate-every <n>', 'every n iterations, measure adaptation on validation tasks (their own draw, not the final table\'s) into validation.jsonl (default 0: never)', intFlag('--validate-every'))
  .option('--validate-tasks <n>', 'validation tasks per check (default 10)', intFlag('--validate-tasks', 1))
  .option('--config <file>', 'JSON file with run options and an "agentConfig" object')
  .option('--resume <dir>', 'continue a run from its latest checkpoint')
  .option('--quiet', 'plain log lines instead of a progress bar')
  .option('--view', 'serve the live viewer and print its URL')
  .option('--port <n>', 'viewer port (default: a free one)', intFlag('--port'), 0)
  .option('--host <addr>', 'viewer interface (default 127.0.0.1: this machine only)', '127.0.0.1')
  .option('--help-agent', "list the agent's hyperparameters and exit")
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .action(async (opts: Record<string, unknown>, command: Command) => {
    if (opts.resume) assertResumeFlags(command);
    const fromFile: Record<string, unknown> = opts.config ? readConfigFile(String(opts.config)) : {};
    const agent = String(opts.agent ?? fromFile.agent ?? '');
    if (!opts.resume && !agent) program.error("train needs --agent ('maml', 'rl2' or 'pearl') and --env (see `metarl envs`)");
    const extra = command.args;
    const definition = agent ? agentDefinition(agent) : null;
    if (opts.helpAgent && definition) {
      // With --env, the defaults a run on that family gets (cheetah-vel's meta-batch is 40, not the schema's 20).
      const env = opts.env ?? fromFile.env;
      const familyName = env ? (await resolveFamily(String(env))).family.name : null;
      const defaults = familyName ? resolveAgentConfig(definition, familyName, {}) : (definition.configSchema.parse({}) as Record<string, unknown>);
      console.log(`${definition.name}: ${definition.description}${familyName ? ` (defaults on ${familyName})` : ''}\n${describeSchema(definition.configSchema, defaults)}`);
      return;
    }
    const agentConfig = {
      ...((fromFile.agentConfig as Record<string, unknown>) ?? {}),
      ...(definition ? parseAgentFlags(extra, definition.configSchema, definition.name) : {}),
    };
    const pick = (key: string) => opts[key] ?? fromFile[key];
    const viewer = opts.view ? await startViewer({ port: opts.port as number, host: opts.host as string }) : null;
    if (viewer) console.log(`viewer: ${viewer.url}`);
    const result = await train({
      env: pick('env') as string,
      agent: agent || undefined,
      iterations: pick('iterations') as number,
      seed: pick('seed') as number,
      backend: pick('backend') as never,
      workers: pick('workers') as number,
      stepTimeout: pick('stepTimeout') as number,
      workerMemoryMb: pick('workerMemoryMb') as number,
      out: pick('out') as string,
      checkpointEvery: pick('checkpointEvery') as number,
      evalTasks: pick('evalTasks') as number,
      validateEvery: pick('validateEvery') as number,
      validateTasks: pick('validateTasks') as number,
      agentConfig: opts.resume ? undefined : agentConfig,
      resume: opts.resume as string | undefined,
      force: Boolean(opts.force),
      quiet: Boolean(opts.quiet),
      queue: opts.queue as string | true | undefined,
      queueWait: opts.queueWait as number | undefined,
      observer: viewer ? viewerObserver(viewer) : undefined,
    }).catch(async (err: unknown) => {
      await viewer?.close();
      throw err;
    });
    if (viewer) await lingerThenClose(viewer, result.stopped === 'finished');
  });

program
  .command('eval')
  .description('evaluate a trained run: mean ± stderr of the return at each adaptation stage on held-out tasks, with transfer-learning baselines beside it')
  .argument('<run>', 'run directory')
  .option('--tasks <n>', 'held-out tasks', intFlag('--tasks', 1), 40)
  .option('--seed <n>', "seed of the held-out tasks and their rollouts (default: the run's, so tables reproduce)", intFlag('--seed'))
  .option('--baselines', 'add the baselines: random init + fine-tune, and the runs given by --pretrained and --oracle')
  .option('--pretrained <run>', 'a run of `train --agent maml --inner-steps 0` on the same family: the pretrained + fine-tune row (implies --baselines)')
  .option('--oracle <run>', 'a run of `train --agent maml --inner-steps 0 --oracle` on the same family: the oracle row, played as it is at every stage (implies --baselines)')
  .option('--checkpoint <iteration>', "evaluate this checkpoint instead of the newest (one picked by the run's validation checks, say); the table records its iteration", intFlag('--checkpoint'))
  .option('--by <field>', "also cut the agent's gain by this task field (e.g. type for ant-terrain; a number with many values in quarters of the tasks)")
  .option('--out <file>', 'where to write the table as JSON (default <run>/eval.json; for a shipped zoo/<name>, runs/zoo/<name>/eval.json)')
  .action(async (runDir: string, opts: { tasks: number; seed?: number; checkpoint?: number; baselines?: boolean; pretrained?: string; oracle?: string; by?: string; out?: string }) => {
    const wantBaselines = Boolean(opts.baselines || opts.pretrained || opts.oracle);
    const baselines = wantBaselines ? { ...(opts.pretrained ? { pretrained: opts.pretrained } : {}), ...(opts.oracle ? { oracle: opts.oracle } : {}) } : undefined;
    const out = opts.out ?? defaultEvalPath(runDir);
    const result = await evaluate(runDir, { tasks: opts.tasks, seed: opts.seed, checkpoint: opts.checkpoint, out: opts.out, baselines, by: opts.by });
    const rows = [{ label: result.agent, adaptation: result.adaptation }, ...(result.baselines ?? [])];
    const table = `${result.baselines ? formatComparisonTable(rows) : formatAdaptationTable(result.adaptation)}\n${formatGains(result.adaptation)}`;
    const missing = wantBaselines ? [!opts.pretrained && 'pretrained (--pretrained <run>)', !opts.oracle && 'oracle (--oracle <run>)'].filter(Boolean) : [];
    const kept = !wantBaselines && result.baselines ? '\nbaselines kept from the earlier table (the same held-out tasks; a baseline does not depend on the checkpoint)' : '';
    const note = `${missing.length > 0 ? `\nnot compared: ${missing.join(', ')}` : ''}${kept}`;
    const byGroup = result.groups ? `\n\nby ${result.groups.by}:\n${formatGainByTask(result.groups.by, result.adaptation.map((r) => r.stage), result.groups.groups)}` : '';
    console.log(`${result.agent} on ${result.family}, iteration ${result.iteration}, ${opts.tasks} held-out tasks (seed ${result.seed}):\n${table}${note}${byGroup}\nwritten to ${out}`);
  });

program
  .command('view')
  .description('watch a trained run adapt on fresh held-out tasks (recorded under <run>/rollouts/; for a shipped zoo/<name>, under runs/zoo/<name>/rollouts/), or replay a recording')
  .argument('[run]', 'run directory')
  .option('--replay <file>', 'replay a recorded .mrr file with play / pause / scrub / speed')
  .option('--tasks <n>', 'tasks to show (default: until Ctrl-C)', intFlag('--tasks', 1))
  .addOption(new Option('--mode <mode>', 'stages played together or one after the other, until a page connects: its layout toggle then decides, from the next task').choices(VIEW_MODES).default('side-by-side'))
  .option('--seed <n>', 'seed of the held-out tasks (default: the run\'s)', intFlag('--seed'))
  .option('--checkpoint <iteration>', 'show this checkpoint instead of the newest', intFlag('--checkpoint'))
  .option('--workers <n>', 'task worker threads (0 = main thread: the page stalls while a task is sampled)', intFlag('--workers'), 1)
  .option('--port <n>', 'viewer port (default: a free one)', intFlag('--port'), 0)
  .option('--host <addr>', 'viewer interface (default 127.0.0.1: this machine only)', '127.0.0.1')
  .action(async (runDir: string | undefined, opts: { replay?: string; tasks?: number; mode: ViewMode; seed?: number; checkpoint?: number; workers: number; port: number; host: string }) => {
    if (!opts.replay && !runDir) program.error('view needs a run directory (runs/<name>) or --replay <file>');
    // Ctrl-C stops after the current task and closes the server, sampler and learner; twice quits at once.
    const stop = new AbortController();
    process.once('SIGINT', () => {
      stop.abort();
      process.once('SIGINT', () => process.exit(130));
    });
    const onListening = (server: ViewerServer) => console.log(`viewer: ${server.url}`);
    if (opts.replay) {
      await replayFile(opts.replay, { port: opts.port, host: opts.host, signal: stop.signal, onListening });
      return;
    }
    await viewRun(runDir!, { port: opts.port, host: opts.host, tasks: opts.tasks, mode: opts.mode, seed: opts.seed, checkpoint: opts.checkpoint, workers: opts.workers, signal: stop.signal, onListening });
  });

program
  .command('worker')
  .description('serve task workers to learners started with `train --queue`: take their shards from a Redis/Valkey queue, on this machine, until Ctrl-C')
  .option('--queue [url]', 'the Redis/Valkey server: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// (default: $REDIS_URL)')
  .option('--threads <n>', 'lanes this process runs at once, one task-worker thread each (default one per core)', intFlag('--threads', 1))
  .option('--worker-memory-mb <MB>', "JS heap each lane's thread may hold (default: a share of the machine's memory)", intFlag('--worker-memory-mb', 16))
  .action(async (opts: { queue?: string | true; threads?: number; workerMemoryMb?: number }) => {
    // Loaded here: BullMQ and ioredis take seconds to import, which no other command should pay.
    const { startQueueWorker } = await import('../workers/queue/worker-process.js');
    const worker = await startQueueWorker({ url: queueUrl(opts.queue ?? true), threads: opts.threads ?? availableParallelism(), memoryMb: opts.workerMemoryMb });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.log('stopping: finishing the shard in hand (Ctrl-C again to quit at once)');
    process.once('SIGINT', () => process.exit(130));
    await worker.close();
  });

/** The train flags a resumed run takes: besides RESUMABLE_OPTIONS, only how it shows its progress. */
const RESUME_FLAGS = new Set<string>([...RESUMABLE_OPTIONS, 'resume', 'quiet', 'view', 'port', 'host', 'queue', 'queueWait']);

/**
 * `--resume` continues a run with its own env, agent, seed and hyperparameters: any other
 * flag, unknown ones included, is refused by name rather than silently ignored.
 */
function assertResumeFlags(command: Command): void {
  const given = command.options.filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli');
  const refused = given.filter((o) => !RESUME_FLAGS.has(o.attributeName())).map((o) => o.long!);
  command.args.forEach((arg, i) => {
    if (arg.startsWith('-')) refused.push(arg.split('=')[0]);
    else if (!command.args[i - 1]?.startsWith('-')) refused.push(`'${arg}'`);
  });
  if (refused.length === 0) return;
  const accepted = command.options.filter((o) => RESUME_FLAGS.has(o.attributeName()) && o.attributeName() !== 'resume').map((o) => o.long);
  throw new MetarlError(
    'METARL_CONFIG_INVALID',
    `--resume keeps the run's env, agent, seed and hyperparameters, so it refuses ${refused.join(', ')}; it takes only ${accepted.join(', ')}. To change anything else, start a new run with --out <new dir>`,
    { refused },
  );
}

/**
 * Every error ends as one line on stderr and exit status 1. A system error that escaped
 * (ENOSPC, EACCES, …) still names its path; the stack of an unexpected error is printed
 * only with METARL_DEBUG=1.
 */
function fail(err: unknown): never {
  const error = isSystemError(err) && err.path ? fileError(err, err.syscall!, err.path) : err;
  if (isMetarlError(error)) console.error(`error [${error.code}]: ${error.message}`);
  else console.error(`error: ${error instanceof Error ? error.message : String(error)} (unexpected: METARL_DEBUG=1 prints its stack trace)`);
  if (process.env.METARL_DEBUG) console.error(err);
  process.exit(1);
}

/** After a finished run the page stays up until Ctrl-C, when a person is at the terminal. */
async function lingerThenClose(viewer: ViewerServer, finished: boolean): Promise<void> {
  if (finished && process.stdin.isTTY) {
    console.log(`training finished; the viewer stays at ${viewer.url} — Ctrl-C to quit`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  await viewer.close();
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // The reader has gone (`metarl envs | head`) and has what it wanted: stop quietly.
  if (err.code === 'EPIPE') process.exit(0);
  fail(err);
});
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  await releaseBackend().catch(() => undefined);
  fail(err);
}
await releaseBackend();

