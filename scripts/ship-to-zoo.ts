#!/usr/bin/env -S npx tsx
// Copies what `metarl view` and `metarl eval` need of a trained run into zoo/<name>/: its
// config.json, the checkpoint its eval.json measured (the newest, or one chosen with
// `metarl eval <run> --checkpoint N`) and that eval.json (run `metarl eval <run> --baselines ...`
// first). Metrics and older checkpoints stay behind, and the checkpoint keeps only what the agent
// needs to act (its definition's `shippedState`, without the optimiser's moments), so a zoo run
// is tens to a hundred and some KB.
//   npx tsx scripts/ship-to-zoo.ts runs/maml-cheetah-vel [name]
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentDefinition } from '../agents/index.js';
import { withoutOptimiser } from '../src/nn/learner-state.js';
import { listCheckpoints, readCheckpoint, checkpointsDir, writeCheckpoint } from '../src/train/checkpoint.js';

const [run, name = basename(run ?? '')] = process.argv.slice(2);
if (!run) fail('usage: npx tsx scripts/ship-to-zoo.ts <run dir> [name]', 2);
if (!/^[\w-][\w.-]*$/.test(name)) fail(`'${name}' cannot name a zoo run: letters, digits, '-', '_' and '.' only`, 2);
for (const file of ['config.json', 'eval.json']) {
  if (!existsSync(join(run, file))) fail(`${run} has no ${file}${file === 'eval.json' ? ': run `metarl eval` on it first' : ''}`);
}
const evaluated = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')).iteration;
if (!listCheckpoints(run).includes(evaluated)) fail(`${run}/eval.json is of iteration ${evaluated}, which has no checkpoint: run \`metarl eval ${run}\` again first`);

// What the run learned stays; how this machine ran it (its path, backend, worker count and
// limits) goes back to the defaults, which suit whoever runs it next.
const { backend, workers, workerMemoryMb, stepTimeout, ...config } = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
const checkpoint = readCheckpoint(join(checkpointsDir(run), String(evaluated)));
const shipped = withoutOptimiser(agentDefinition(config.agent).shippedState?.(checkpoint.learner) ?? checkpoint.learner);

const out = join(fileURLToPath(new URL('../zoo/', import.meta.url)), name);
rmSync(out, { recursive: true, force: true });
writeCheckpoint(out, { ...checkpoint, learner: shipped });
writeFileSync(join(out, 'config.json'), `${JSON.stringify({ ...config, out: join('zoo', name) }, null, 2)}\n`);
writeFileSync(join(out, 'eval.json'), readFileSync(join(run, 'eval.json')));
console.log(`zoo/${name}: checkpoint ${evaluated}`);

function fail(message: string, code = 1): never {
  console.error(message);
  process.exit(code);
}
