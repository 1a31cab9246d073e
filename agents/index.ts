import { MetarlError, listChoices } from '../src/core/errors.js';
import { definition as maml } from './maml.js';
import { definition as pearl } from './pearl.js';
import { definition as rl2 } from './rl2.js';
import type { AgentDefinition } from './types.js';

/** The built-in meta-learners by name; `metarl train --agent <name>`. */
export const builtinAgents = { maml, rl2, pearl } as const;

export type BuiltinAgentName = keyof typeof builtinAgents;

/** The built-in agent called `name`; METARL_UNKNOWN_AGENT listing the choices otherwise. */
export function agentDefinition(name: string): AgentDefinition {
  const definition = (builtinAgents as Record<string, AgentDefinition>)[name];
  if (!definition) {
    throw new MetarlError('METARL_UNKNOWN_AGENT', `unknown agent '${name}': choose ${listChoices(Object.keys(builtinAgents))}`, { agent: name });
  }
  return definition;
}

/** The per-shard half of the built-in agent called `name`, which a task worker runs. */
export function shardWorkerFactory(name: string): NonNullable<AgentDefinition['createShardWorker']> {
  const create = agentDefinition(name).createShardWorker;
  if (!create) throw new MetarlError('METARL_UNKNOWN_AGENT', `agent '${name}' has no shard side to run in task workers`, { agent: name });
  return create;
}
export type { AgentArgs, AgentDefinition, WatchHooks } from './types.js';
