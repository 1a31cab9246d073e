/**
 * The built-in task families, by name → module URL. Modules load lazily (and once per
 * thread) through `loadFamily`, so listing a family costs nothing and a worker thread
 * can load the same family from its ref.
 */
import { FamilyRegistry } from '../src/core/registry.js';

/** Source under vitest/tsx ends in .ts; compiled dist/ ends in .js. */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

const BUILTIN_NAMES = ['point-nav', 'cheetah-vel', 'cheetah-dir', 'walker-params', 'hopper-params', 'ant-dir', 'ant-goal', 'ant-terrain', 'ant-terrain-blind', 'ant-hill', 'cheetah-hill'] as const;

export const builtinFamilies = new FamilyRegistry();
for (const name of BUILTIN_NAMES) builtinFamilies.register(name, new URL(`./${name}${EXT}`, import.meta.url).href);
