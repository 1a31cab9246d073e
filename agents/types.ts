import type { z } from 'zod';
import type { LearnerState, MetaLearner } from '../src/core/learner.js';
import type { FamilyRef } from '../src/core/registry.js';
import type { TaskFamily } from '../src/core/types.js';
import type { Belief, SampleHooks, Sampler } from '../src/sampling/types.js';
import type { ShardWorker, ShardWorkerArgs, TaskPool } from '../src/workers/types.js';

/** What an agent file exports as `definition`, registered by name in agents/index.ts. */
export interface AgentDefinition<Schema extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  /** Every hyperparameter with a default and `.describe()`; CLI flags and config.json come from it. */
  configSchema: Schema;
  /** Per-family overrides of the schema's defaults (e.g. MAML's inner lr on point-nav). */
  familyDefaults: Readonly<Record<string, Partial<z.input<Schema>>>>;
  create(args: AgentArgs<z.output<Schema>>): Promise<MetaLearner>;
  /**
   * The agent's per-shard half, for agents whose sampling and per-task learning run in task
   * workers (ARCHITECTURE.md "Workers"). Such an agent gets a `pool`; the others a `sampler`.
   */
  createShardWorker?(args: ShardWorkerArgs): Promise<ShardWorker>;
  /**
   * An agent with a shard side that still samples through a `sampler` on the main thread (PEARL:
   * its task workers share out the gradient steps; its collection and meta-test run on the
   * sampler's env threads). It gets both a `pool` and a `sampler`.
   */
  samplesWithSampler?: boolean;
  /**
   * For an agent with a shard side: whether a run with this config sends any work to task
   * workers (absent: always). Without, no pool is started (PEARL with one shard a step learns on
   * the main thread, and idle worker threads would only hold memory).
   */
  usesTaskWorkers?(config: z.output<Schema>): boolean;
  /**
   * The row label of this agent's random-init baseline (`metarl eval --baselines`: its fresh
   * weights, adapted as the agent adapts), e.g. MAML's 'random init + fine-tune'. Absent:
   * 'random init (untrained <name>)', for an agent that adapts without a gradient step.
   */
  randomInitLabel?: string;
  /**
   * Config fields that set how the agent adapts at meta-test (MAML: the inner step size and the
   * episodes per step). The pretrained and oracle baselines are runs of this agent too when it is
   * the one that trains them; beside a run of it they take the run's values, so the rows compare.
   */
  adaptationConfig?: readonly string[];
  /**
   * What a run shipped under zoo/ keeps of a checkpoint's learner state: enough to act, view and
   * evaluate, not to resume bit for bit (e.g. PEARL's replay buffers, megabytes that only
   * training reads). Absent: the whole state ships.
   */
  shippedState?(state: LearnerState): LearnerState;
}

export interface AgentArgs<Config> {
  config: Config;
  family: TaskFamily;
  familyRef: FamilyRef;
  /** For an agent without a shard side; created and closed by the caller, the agent only calls `sample`. */
  sampler?: Sampler;
  /** For an agent with a shard side (`createShardWorker`): its task workers, created and closed by the caller. */
  pool?: TaskPool;
  /** Seeds the agent's own Rng (initial weights, action noise). */
  seed: number;
  /**
   * Streams rollouts to a viewer: the agent calls it once per sampling call with the
   * adaptation stage it is sampling (0 = before adaptation) and passes the hooks and
   * `watchSlots` it returns to the sampler. Undefined when nobody watches.
   */
  watch?: (stage: number, stageLabel: string) => WatchHooks | undefined;
}

export interface WatchHooks extends SampleHooks {
  watchSlots: number[];
  /**
   * For an agent that acts on a belief over a task latent z (PEARL's q(z | context)): the agent
   * calls it for each watched slot each time it sets that slot's belief for an episode, before
   * the episode's first step, with the slot and episode numbered as the sampler numbers them in
   * the same `sample` call (`FrameEvent.slot`, `FrameEvent.episode`), so the belief lands in the
   * lane of that episode's frames. At meta-test that is once per episode of the trial: the prior
   * N(0, I) for the first, then the posterior of the context collected so far. `mean` and `std`
   * are [L] and read at once, not kept. Calls for slots outside `watchSlots` are ignored.
   */
  onBelief?(slot: number, episode: number, belief: Belief): void;
}
