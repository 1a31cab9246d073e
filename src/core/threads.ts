/**
 * Starting a worker thread from an entry module that may be TypeScript source.
 *
 * From source (`.ts`, e.g. under vitest or tsx), or for a family module written in
 * TypeScript, the worker needs a TypeScript loader. `execArgv: ['--import', 'tsx']` is
 * silently ignored by Node 20's workers (the `.ts` entry then fails with
 * ERR_UNKNOWN_FILE_EXTENSION), so a two-line bootstrap registers tsx's ESM hooks inside
 * the worker and then imports the entry.
 *
 * @internal
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * `entry`: the worker module's URL (`.ts` from source, `.js` once built). `modules`: the
 * other modules it will import by URL (a family), which may need the loader too.
 */
export function startModuleWorker(entry: URL, modules: readonly string[], resourceLimits: ResourceLimits): Worker {
  const isTs = (url: string) => /\.[cm]?ts$/.test(url);
  if (!isTs(entry.href) && !modules.some(isTs)) return new Worker(entry, { resourceLimits });
  const tsxApi = pathToFileURL(tsxEsmApi()).href;
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((api) => { (api.register ?? api.default.register)(); return import(${JSON.stringify(entry.href)}); })` +
    `.catch((err) => { setImmediate(() => { throw err; }); });`;
  return new Worker(bootstrap, { eval: true, resourceLimits });
}

/**
 * The path of tsx's ESM API. `require.resolve` can only see the package's `require`
 * condition (index.cjs), whose `register()` fails inside a worker on Node 20, so the
 * sibling `import` build (index.mjs) is taken when it is there.
 */
function tsxEsmApi(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const esm = cjs.replace(/\.cjs$/, '.mjs');
  return existsSync(esm) ? esm : cjs;
}
