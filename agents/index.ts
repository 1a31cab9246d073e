import { definition as maml } from './maml.js';
import { definition as rl2 } from './rl2.js';

/** The built-in meta-learners by name; `metarl train --agent <name>`. */
export const builtinAgents = { maml, rl2 } as const;

export type BuiltinAgentName = keyof typeof builtinAgents;
export type { AgentArgs, AgentDefinition, WatchHooks } from './types.js';
