/**
 * The transfer-learning baselines the MAML paper sets meta-learning against, measured on the
 * same held-out tasks and reset seeds as the run itself:
 *   random-init: the run's own agent and config with fresh weights, adapted the same way;
 *   pretrained:  one policy trained on all tasks by the same outer step, no meta-learning
 *                (`metarl train --agent maml --inner-steps 0`), fine-tuned by VPG steps;
 *   oracle:      the same, but observing the task (`--inner-steps 0 --oracle`): the upper bound.
 * Fine-tuning takes as many steps as the run adapts over (MAML's inner steps; RL²'s episodes
 * after the first), with the run's inner step size where it has one.
 */
import { MetarlError } from '../core/errors.js';
import type { StageSummary } from './adaptation-table.js';
import type { RunConfig } from './config.js';
import { openRun } from './open-run.js';
import { readRunConfig } from './run-config.js';
import { evaluateLearner } from './train.js';

export type BaselineName = 'random-init' | 'pretrained' | 'oracle';

export interface BaselineRow {
  name: BaselineName;
  label: string;
  /** The run directory the row's policy came from (none for random-init). */
  run?: string;
  adaptation: StageSummary[];
}

export interface BaselineRuns {
  /** A run of `--agent maml --inner-steps 0` on the same family. */
  pretrained?: string;
  /** A run of `--agent maml --inner-steps 0 --oracle` on the same family. */
  oracle?: string;
}

const LABELS: Record<BaselineName, string> = {
  'random-init': 'random init + fine-tune',
  pretrained: 'pretrained + fine-tune',
  oracle: 'oracle (observes the task)',
};

/** The baseline rows of the run in `runDir` (its `config`, adapting over `steps` stages past the first), on the held-out tasks of `seed`. */
export async function evaluateBaselines(runDir: string, config: RunConfig, steps: number, seed: number, tasks: number, runs: BaselineRuns, backend?: RunConfig['backend']): Promise<BaselineRow[]> {
  const innerLr = config.agent === 'maml' ? { innerLr: config.agentConfig.innerLr } : {};
  const rows: BaselineRow[] = [];
  const measure = async (name: BaselineName, dir: string, options: { fresh?: boolean; agentConfig?: Record<string, unknown> }) => {
    const opened = await openRun(dir, { backend, ...options });
    try {
      // The run's own agent and config (random init) adapts over the run's stages by default; a MAML baseline takes `steps` inner steps.
      const stages = options.fresh ? undefined : steps;
      rows.push({ name, label: LABELS[name], ...(options.fresh ? {} : { run: dir }), adaptation: await evaluateLearner(opened.learner, opened.family, seed, tasks, stages) });
    } finally {
      await opened.close();
    }
  };
  await measure('random-init', runDir, { fresh: true });
  for (const name of ['pretrained', 'oracle'] as const) {
    const dir = runs[name];
    if (dir) await measure(name, dir, { agentConfig: innerLr });
  }
  return rows;
}

/** Checks the baseline runs before any work: each must exist and be the baseline it is given as, on the run's family. */
export function assertBaselineRuns(runs: BaselineRuns, of: RunConfig): void {
  for (const name of ['pretrained', 'oracle'] as const) if (runs[name]) assertBaselineRun(runs[name], name, of);
}

/** A pretrained or oracle run must be MAML without inner steps, on the run's family, observing the task only if it is the oracle. */
function assertBaselineRun(dir: string, name: 'pretrained' | 'oracle', of: RunConfig): void {
  const config = readRunConfig(dir);
  const agent = config.agentConfig;
  const flag = name === 'oracle' ? '--inner-steps 0 --oracle' : '--inner-steps 0';
  const wrong =
    config.agent !== 'maml' ? `it is a ${config.agent} run`
    : agent.innerSteps !== 0 ? `it adapts by ${String(agent.innerSteps)} inner step(s)`
    : Boolean(agent.oracle) !== (name === 'oracle') ? (name === 'oracle' ? 'its policy does not observe the task' : 'its policy observes the task (that is the oracle)')
    : config.env !== of.env ? `it was trained on ${config.env}, not ${of.env}`
    : (agent.horizon ?? null) !== (of.agentConfig.horizon ?? null) ? `its episodes are ${horizon(agent.horizon)} long, the run's ${horizon(of.agentConfig.horizon)}, so their returns are not comparable`
    : null;
  if (wrong) {
    const h = of.agentConfig.horizon == null ? '' : ` --horizon ${String(of.agentConfig.horizon)}`;
    throw new MetarlError('METARL_CONFIG_INVALID', `--${name} ${dir}: ${wrong}; train one with \`metarl train --env ${of.env} --agent maml ${flag}${h}\``, { dir });
  }
}

const horizon = (h: unknown): string => (h == null ? "the family's horizon" : `${String(h)} steps`);
