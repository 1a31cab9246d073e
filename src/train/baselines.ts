/**
 * The transfer-learning baselines the MAML paper sets meta-learning against, measured on the
 * same held-out tasks as the run itself:
 *   random-init: the run's own agent and config with fresh weights, adapted the same way (for
 *                MAML, fine-tuned by its inner steps; for RL², an untrained LSTM played over
 *                its episodes);
 *   pretrained:  one policy trained on all tasks by the same outer step, no meta-learning
 *                (`metarl train --agent maml --inner-steps 0`), fine-tuned by VPG steps;
 *   oracle:      the same, but observing the task (`--inner-steps 0 --oracle`): the upper bound,
 *                not fine-tuned (α = 0, as the MAML code measures its oracle: a step of the
 *                others' size only throws a policy that already knows the task off it).
 * Fine-tuning takes as many steps as the run adapts over (MAML's inner steps; RL²'s episodes
 * after the first), and each stage is measured on fresh episodes, the oracle's too. Beside a MAML
 * run, a baseline takes the run's inner step size and episodes per step, and its rollouts the
 * run's reset seeds (both are seeded by task index and stage).
 */
import { agentDefinition } from '../../agents/index.js';
import { isMetarlError, MetarlError } from '../core/errors.js';
import type { StageSummary } from './adaptation-table.js';
import { resolveAgentConfig } from './assemble.js';
import { readLatestCheckpoint } from './checkpoint.js';
import type { RunConfig } from './config.js';
import { openRun } from './open-run.js';
import { readRunConfig } from './run-config.js';
import { evaluateLearner } from './train.js';
import { resolveRunDir } from './zoo.js';

export type BaselineName = 'random-init' | 'pretrained' | 'oracle';

export interface BaselineRow {
  name: BaselineName;
  label: string;
  /** The run directory the row's policy came from, as given (none for random-init). */
  run?: string;
  adaptation: StageSummary[];
}

export interface BaselineRuns {
  /** A run of `--agent maml --inner-steps 0` on the same family; `zoo/<name>` names a shipped one. */
  pretrained?: string;
  /** A run of `--agent maml --inner-steps 0 --oracle` on the same family. */
  oracle?: string;
}

/** The agent whose `--inner-steps 0` runs are the pretrained and oracle baselines (the MAML paper's). */
const BASELINE_AGENT = 'maml';

const LABELS: Record<Exclude<BaselineName, 'random-init'>, string> = {
  pretrained: 'pretrained + fine-tune',
  oracle: 'oracle (observes the task)',
};

/** The baseline rows of the run in `runDir` (its `config`, adapting over `steps` stages past the first), on the held-out tasks of `seed`. */
export async function evaluateBaselines(runDir: string, config: RunConfig, steps: number, seed: number, tasks: number, runs: BaselineRuns, backend?: RunConfig['backend']): Promise<BaselineRow[]> {
  const definition = agentDefinition(config.agent);
  const adaptsLikeTheRun = config.agent === BASELINE_AGENT ? (definition.adaptationConfig ?? []) : [];
  const asTheRun = Object.fromEntries(adaptsLikeTheRun.map((key) => [key, config.agentConfig[key]]));
  const rows: BaselineRow[] = [];
  const measure = async (dir: string, options: { fresh?: boolean; agentConfig?: Record<string, unknown> }) => {
    const opened = await openRun(dir, { backend, ...options });
    try {
      return (await evaluateLearner(opened.learner, opened.family, seed, tasks, { adaptationSteps: steps })).adaptation;
    } finally {
      await opened.close();
    }
  };
  const label = definition.randomInitLabel ?? `random init (untrained ${config.agent})`;
  rows.push({ name: 'random-init', label, adaptation: await measure(runDir, { fresh: true }) });
  for (const name of ['pretrained', 'oracle'] as const) {
    const given = runs[name];
    const agentConfig = name === 'oracle' ? { ...asTheRun, innerLr: 0 } : asTheRun;
    if (given) rows.push({ name, label: LABELS[name], run: given, adaptation: await measure(resolveRunDir(given), { agentConfig }) });
  }
  return rows;
}

/** Checks the baseline runs before any work: each must be the baseline it is given as, on the run's family, with a checkpoint to load. */
export function assertBaselineRuns(runs: BaselineRuns, of: RunConfig): void {
  for (const name of ['pretrained', 'oracle'] as const) {
    const given = runs[name];
    if (!given) continue;
    try {
      assertBaselineRun(resolveRunDir(given), name, of);
    } catch (err) {
      if (!isMetarlError(err)) throw err;
      throw new MetarlError(err.code, `--${name} ${given}: ${err.message}`, err.details, { cause: err });
    }
  }
}

/** A pretrained or oracle run must be MAML without inner steps, on the run's family and horizon, observing the task only if it is the oracle; the caller names the flag. */
function assertBaselineRun(dir: string, name: 'pretrained' | 'oracle', of: RunConfig): void {
  const config = readRunConfig(dir);
  readLatestCheckpoint(dir);
  const agent = config.agent === BASELINE_AGENT ? resolveAgentConfig(agentDefinition(BASELINE_AGENT), config.env, config.agentConfig) : config.agentConfig;
  const horizon = (h: unknown): string => (h == null ? "the family's" : String(h));
  const wrong =
    config.agent !== BASELINE_AGENT ? `it is a ${config.agent} run`
    : agent.innerSteps !== 0 ? `it adapts by ${String(agent.innerSteps)} inner step(s)`
    : agent.oracle !== (name === 'oracle') ? (name === 'oracle' ? 'its policy does not observe the task' : 'its policy observes the task (that is the oracle)')
    : config.env !== of.env ? `it was trained on ${config.env}, not ${of.env}`
    : (agent.horizon ?? null) !== (of.agentConfig.horizon ?? null) ? `its horizon is ${horizon(agent.horizon)}, the run's ${horizon(of.agentConfig.horizon)}, so their returns are not comparable`
    : null;
  if (wrong) {
    const flags = `--inner-steps 0${name === 'oracle' ? ' --oracle' : ''}${of.agentConfig.horizon == null ? '' : ` --horizon ${String(of.agentConfig.horizon)}`}`;
    throw new MetarlError('METARL_CONFIG_INVALID', `${wrong}; train one with \`metarl train --env ${of.env} --agent ${BASELINE_AGENT} ${flags}\``, { dir });
  }
}
