// `npm run pack:offline [-- --out DIR]`: one folder (default .offline/) from which a Linux x64
// machine with no npm, no registry and maybe no Node runs metarl: `./run.sh train …`,
// `./run.sh bench -- maml`, `./run.sh --version` (scripts/offline/run.sh). See docs/offline.md.
//
// The code is bundled with esbuild, split into chunks so each module exists once per
// thread (one tfjs engine, one Rapier). Modules that are *loaded by URL* rather than
// imported (worker_threads entries, the built-in families, the bench files) become files
// of their own at their repository paths under app/, and every `import.meta.url` in our
// sources is rewritten to the URL its file has in that mirror, so each
// `new URL('./worker.js', import.meta.url)` finds what it finds in dist/.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));

/**
 * Modules that nothing imports but something starts or loads by URL. Each becomes
 * app/<its path>.js. `*` matches within one folder. Add a pattern here when a new kind
 * appears; a relative `'./x.js'` string next to `import.meta.url` in a bundled file is
 * also found on its own (see urlLoadedModules), so a new worker entry that is started
 * the way src/sampling/worker.ts is needs no change here.
 */
const ENTRY_PATTERNS = [
  'src/train/cli.ts', // the CLI, run by run.sh
  'src/*/worker.ts', // worker_threads entries: the sampler's (src/sampling/worker.ts)
  'src/*/*-worker.ts', // and the task workers' (src/workers/task-worker.ts)
  'envs/*.ts', // built-in families: envs/index.ts registers `./<name>.js` by URL
  'bench/index.ts', // the benchmark runner, which lists its folder for *.bench.js
  'bench/*.bench.ts',
];
const NOT_ENTRIES = new Set(['envs/index.ts']);

/** Files a bundled module reads by URL beside itself, copied as they are when present. */
const COPIED = [
  'bench/reference', // the PyTorch references bench/reference.bench.ts runs (where python3-torch is installed)
];

/** Packages loaded at run time from app/node_modules rather than bundled, and why. */
const EXTERNAL = [
  'webgpu', // loads the native dawn.node beside its index.js
  'ws', // also imported by bench/stream.bench.ts's child process, from app/
  'tsx', // .ts family files only; not shipped (it needs esbuild's native binary)
  'tsx/*',
  '@tensorflow/tfjs-node-gpu', // optional, CUDA; never offline
];

/** Agents the bundle is checked to define (smokeTest). */
const SMOKE_AGENTS = ['maml', 'rl2'];

const APP_ROOT_TOKEN = '__METARL_APP_ROOT__';
const BUDGET_BYTES = 60e6;

const USAGE = `usage: npm run pack:offline [-- --out DIR] [--node PATH] [--no-cache]
  --out DIR    where to write the folder (default .offline/); replaced if it exists
  --node PATH  the node binary to ship (default: this one); an official nodejs.org build, >= 20.6
  --no-cache   compress node and dawn.node again instead of reusing node_modules/.cache/metarl-offline/`;

function parseArgs(argv) {
  const args = { out: join(repo, '.offline'), node: process.execPath, cache: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) args.out = resolve(argv[++i]);
    else if (argv[i] === '--node' && argv[i + 1]) args.node = resolve(argv[++i]);
    else if (argv[i] === '--no-cache') args.cache = false;
    else {
      console.error(argv[i] === '--help' ? USAGE : `unknown argument '${argv[i]}'\n${USAGE}`);
      process.exit(argv[i] === '--help' ? 0 : 1);
    }
  }
  return args;
}

const log = (line) => console.log(`pack:offline: ${line}`);
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

// ---------------------------------------------------------------- entries

function expand(pattern) {
  const parts = pattern.split('/');
  let found = [''];
  for (const part of parts) {
    const next = [];
    for (const dir of found) {
      if (!part.includes('*')) {
        if (existsSync(join(repo, dir, part))) next.push(dir ? `${dir}/${part}` : part);
        continue;
      }
      if (!existsSync(join(repo, dir)) || !statSync(join(repo, dir)).isDirectory()) continue;
      const re = new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
      for (const name of readdirSync(join(repo, dir)).sort()) if (re.test(name)) next.push(dir ? `${dir}/${name}` : name);
    }
    found = next;
  }
  return found.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts') && statSync(join(repo, p)).isFile());
}

/**
 * Relative module paths written as strings in a file that uses `import.meta.url`, other
 * than import specifiers: `new URL('./worker.js', import.meta.url)` and the like. Each
 * one whose `.ts` source exists is a module loaded by URL, so it must be a file of its own.
 */
function urlLoadedModules(file, text) {
  if (!text.includes('import.meta.url')) return [];
  const found = [];
  const literal = /(['"`])(\.\.?\/[\w./-]+?)\.(?:[mc]?[jt]s)\1/g;
  for (const m of text.matchAll(literal)) {
    const before = text.slice(Math.max(0, m.index - 12), m.index);
    if (/(\bfrom|\bimport\s*\(?)\s*$/.test(before)) continue;
    const source = join(dirname(file), `${m[2]}.ts`);
    if (existsSync(source) && !source.includes(`${sep}node_modules${sep}`)) found.push(relative(repo, source).split(sep).join('/'));
  }
  return found;
}

// ---------------------------------------------------------------- bundle

/**
 * In our own sources: `import.meta.url` becomes the URL of the file's mirror under app/
 * (the token is replaced per output file once its depth is known), and a relative `'./x.ts'`
 * string naming a module becomes `'./x.js'`, the file that exists there.
 */
function mirrorPlugin() {
  return {
    name: 'metarl-mirror-urls',
    setup(b) {
      b.onLoad({ filter: /\.[mc]?[jt]s$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`) || !args.path.startsWith(repo)) return undefined;
        let text = readFileSync(args.path, 'utf8');
        const rel = relative(repo, args.path).split(sep).join('/').replace(/\.[mc]?ts$/, '.js');
        for (const target of urlLoadedModules(args.path, text)) {
          const fromHere = relative(dirname(args.path), join(repo, target)).split(sep).join('/');
          const spelled = fromHere.startsWith('.') ? fromHere : `./${fromHere}`;
          text = text.split(`'${spelled}'`).join(`'${spelled.replace(/\.ts$/, '.js')}'`);
        }
        text = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, new URL(${JSON.stringify(APP_ROOT_TOKEN)}, import.meta.url)).href`);
        return { contents: text, loader: args.path.endsWith('ts') ? 'ts' : 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * `await import('cjs-package')` in Node gives the package's exports as named exports
 * (`(await import('@tensorflow/tfjs-backend-wasm')).setWasmPaths`); esbuild's split chunk
 * of a CommonJS module exports only `default`. This puts an ESM face on each such
 * package, its names read by loading it here (as Node's cjs-module-lexer would find them).
 */
function nodeDynamicImportInterop() {
  const requireHere = createRequire(import.meta.url);
  return {
    name: 'metarl-node-dynamic-import-interop',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const found = await b.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir, importer: args.importer });
        if (found.errors.length > 0 || found.external || !isCommonJs(found.path)) return undefined;
        return { path: found.path, namespace: 'cjs-interop' };
      });
      b.onLoad({ filter: /.*/, namespace: 'cjs-interop' }, (args) => {
        const names = Object.keys(requireHere(args.path)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
        const contents = `import m from ${JSON.stringify(args.path)};\nexport default m;\nexport const { ${names.join(', ')} } = m;\n`;
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8')).type !== 'module';
  }
  return true;
}

async function bundle(appDir) {
  const entries = new Set(ENTRY_PATTERNS.flatMap(expand).filter((p) => !NOT_ENTRIES.has(p)));
  // Bundle, look at what went in, and bundle again while that finds modules loaded by URL.
  for (let round = 0; ; round++) {
    rmSync(appDir, { recursive: true, force: true });
    const result = await build({
      // Reversed, so the CLI comes last: where entries would evaluate an import cycle in
      // different orders, esbuild's shared chunks were seen to follow the last one.
      entryPoints: [...entries].reverse().map((p) => join(repo, p)),
      outbase: repo,
      outdir: appDir,
      entryNames: '[dir]/[name]',
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Not minified: 2 MB more, and a stack trace or an uncaught error's source line stays readable.
      legalComments: 'none',
      external: EXTERNAL,
      // Bundled CommonJS (tfjs and its emscripten glue) uses require(), __filename and __dirname, which ESM lacks.
      banner: {
        js:
          "import { createRequire as __metarlCreateRequire } from 'node:module'; import { fileURLToPath as __metarlFileURLToPath } from 'node:url'; " +
          "const require = __metarlCreateRequire(import.meta.url), __filename = __metarlFileURLToPath(import.meta.url), __dirname = __metarlFileURLToPath(new URL('.', import.meta.url));",
      },
      plugins: [mirrorPlugin(), nodeDynamicImportInterop()],
      metafile: true,
      logLevel: 'warning',
    });
    const more = [];
    for (const input of Object.keys(result.metafile.inputs)) {
      if (input.includes('node_modules/') || !/\.[mc]?[jt]s$/.test(input)) continue;
      const file = join(repo, input);
      for (const found of urlLoadedModules(file, readFileSync(file, 'utf8'))) if (!entries.has(found)) more.push(found);
    }
    if (more.length === 0) return { entries: [...entries], outputs: Object.keys(result.metafile.outputs) };
    if (round > 3) throw new Error(`modules loaded by URL keep appearing: ${more.join(', ')}`);
    log(`also loaded by URL: ${more.join(', ')}`);
    for (const m of more) entries.add(m);
  }
}

/** Replaces the app-root token in each output file by the path from that file to app/. */
function fixAppRoot(appDir) {
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) {
        const text = readFileSync(path, 'utf8');
        if (!text.includes(APP_ROOT_TOKEN)) continue;
        const up = relative(dirname(path), appDir).split(sep).join('/');
        writeFileSync(path, text.replaceAll(JSON.stringify(APP_ROOT_TOKEN), JSON.stringify(up ? `${up}/` : './')));
      }
    }
  };
  walk(appDir);
}

// ---------------------------------------------------------------- what is not bundled

const packageDir = (name) => dirname(realpathSync(join(repo, 'node_modules', name, 'package.json')));

/** A package in app/node_modules: its package.json, the files named, and only those. */
function shipPackage(appDir, name, files) {
  const from = packageDir(name);
  const to = join(appDir, 'node_modules', name);
  for (const file of ['package.json', ...files]) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(from, file), join(to, file), { recursive: true });
  }
  return to;
}

/** `xz` of a file, kept in node_modules/.cache keyed by the file's content hash (node takes a minute). */
function compressed(source, cacheName, useCache) {
  const cacheDir = join(repo, 'node_modules/.cache/metarl-offline');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const cached = join(cacheDir, `${cacheName}-${hash}.xz`);
  if (useCache && existsSync(cached)) return cached;
  mkdirSync(cacheDir, { recursive: true });
  log(`compressing ${source} (${mb(statSync(source).size)}; cached afterwards)`);
  const tmp = `${cached}.${process.pid}.tmp`;
  execFileSync('sh', ['-c', 'nice -n 5 xz -T2 -6 -c "$1" > "$2"', 'sh', source, tmp], { stdio: 'inherit' });
  renameSync(tmp, cached);
  return cached;
}

/**
 * The Vulkan loader (libvulkan.so.1) that Dawn dlopens: from Debian's libvulkan1 .deb
 * (`apt-get download`, cached), else the one installed here. Headless GPU boxes often
 * have the driver's ICD but no loader.
 */
function vulkanLoader(libDir) {
  const cacheDir = join(repo, 'node_modules/.cache/metarl-offline');
  mkdirSync(cacheDir, { recursive: true });
  let deb = readdirSync(cacheDir).find((f) => /^libvulkan1_.*_amd64\.deb$/.test(f));
  if (!deb && spawnSync('apt-get', ['download', 'libvulkan1:amd64'], { cwd: cacheDir, stdio: 'pipe' }).status === 0) {
    deb = readdirSync(cacheDir).find((f) => /^libvulkan1_.*_amd64\.deb$/.test(f));
  }
  const unpacked = mkdtempSync(join(tmpdir(), 'metarl-vulkan-'));
  try {
    let loader = null;
    let from = '';
    if (deb && spawnSync('dpkg-deb', ['-x', join(cacheDir, deb), unpacked]).status === 0) {
      loader = join(unpacked, 'usr/lib/x86_64-linux-gnu/libvulkan.so.1');
      from = deb;
    }
    if (!loader || !existsSync(loader)) {
      loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].find(existsSync) ?? null;
      from = loader ?? '';
    }
    if (!loader) {
      log('WARNING: no Vulkan loader (apt-get download libvulkan1 failed and none is installed): webgpu will need the target machine\'s own');
      return null;
    }
    mkdirSync(libDir, { recursive: true });
    copyFileSync(realpathSync(loader), join(libDir, 'libvulkan.so.1'));
    return from;
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

/**
 * The node to ship, if it can run elsewhere: the official builds link only glibc and the
 * C++ runtime; a distribution's node (Debian's links libnode, libuv, ICU, OpenSSL) cannot.
 */
function portableNode(path) {
  const real = realpathSync(path);
  const version = (spawnSync(real, ['--version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0].trim();
  const [, major, minor] = (/^v(\d+)\.(\d+)\./.exec(version) ?? []).map(Number);
  if (!(major > 20 || (major === 20 && minor >= 6))) throw new Error(`${real} is not node >= 20.6 (\`--version\` said '${version}')`);
  const ldd = spawnSync('ldd', [real], { encoding: 'utf8' });
  const SYSTEM = /^(linux-vdso|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux[\w-]*)\.so/;
  const foreign = ldd.status === 0 ? ldd.stdout.split('\n').map((l) => l.trim().split(/\s/)[0]).filter((lib) => lib && !lib.startsWith('/') && !SYSTEM.test(lib)) : [];
  if (foreign.length > 0) {
    throw new Error(`${real} links ${foreign.join(', ')}, which a bare machine lacks: pass --node with the node of an official build (nodejs.org, linux-x64)`);
  }
  return { path: real, version };
}

// ---------------------------------------------------------------- main

/**
 * Runs the bundled CLI with this node (the one packed): every built-in family loads by
 * URL (`envs`), and each agent's definition exists (`--help-agent`). A bundle whose
 * modules evaluate in another order than Node's (an import cycle) fails here, not there.
 */
function smokeTest(dir, node) {
  const cli = join(dir, 'app/src/train/cli.js');
  for (const args of [['envs'], ...SMOKE_AGENTS.map((agent) => ['train', '--env', 'point-nav', '--agent', agent, '--help-agent'])]) {
    const run = spawnSync(node, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (run.status !== 0) throw new Error(`the bundled CLI failed \`metarl ${args.join(' ')}\` (exit ${run.status}):\n${run.stderr.trim()}`);
  }
}

function folderSize(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderSize(path) : statSync(path).size;
  }
  return total;
}

function gitDescription() {
  const run = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: repo, encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : 'unknown commit';
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the folder is for linux-x64 and takes this machine's node and dawn.node, so pack it on linux-x64, not ${process.platform}-${process.arch}`);
  }
  const node = portableNode(args.node);
  const out = args.out;
  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    await packInto(staging, node, args.cache);
    const size = folderSize(staging);
    if (size > BUDGET_BYTES) throw new Error(`the folder is ${mb(size)}, over the ${mb(BUDGET_BYTES)} budget`);
    rmSync(out, { recursive: true, force: true });
    renameSync(staging, out);
    log(`wrote ${out} (${mb(size)}); try ${join(out, 'run.sh')} --version`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function packInto(staging, node, useCache) {
  const appDir = join(staging, 'app');
  const { entries } = await bundle(appDir);
  fixAppRoot(appDir);
  log(`bundled ${entries.length} entries: ${entries.join(' ')}`);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'metarl-offline', private: true, type: 'module' }, null, 2) + '\n');

  const viewer = join(repo, 'viewer/dist');
  if (!existsSync(join(viewer, 'viewer.js'))) execFileSync(process.execPath, [join(repo, 'scripts/build-viewer.mjs')], { stdio: 'inherit' });
  mkdirSync(join(appDir, 'viewer/dist'), { recursive: true });
  for (const f of readdirSync(viewer)) if (!f.endsWith('.map')) cpSync(join(viewer, f), join(appDir, 'viewer/dist', f), { recursive: true });

  for (const path of COPIED) {
    if (existsSync(join(repo, path))) cpSync(join(repo, path), join(appDir, path), { recursive: true, filter: (f) => !f.includes('__pycache__') });
  }

  // src/nn/backend.ts points tfjs at its .wasm files through require.resolve from app/src/nn/.
  const wasmFiles = readdirSync(join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist')).filter((f) => f.endsWith('.wasm'));
  shipPackage(appDir, '@tensorflow/tfjs-backend-wasm', wasmFiles.map((f) => `dist/${f}`));
  const webgpu = shipPackage(appDir, 'webgpu', ['index.js', 'LICENSE.md']);
  mkdirSync(join(webgpu, 'dist/linux-x64'), { recursive: true });
  copyFileSync(compressed(join(packageDir('webgpu'), 'dist/linux-x64/dawn.node'), 'dawn.node', useCache), join(staging, 'dawn.node.xz'));
  shipPackage(appDir, 'ws', ['index.js', 'wrapper.mjs', 'lib', 'LICENSE']);

  copyFileSync(compressed(node.path, `node-${node.version}`, useCache), join(staging, 'node.xz'));
  const loader = vulkanLoader(join(staging, 'lib'));
  if (loader) log(`Vulkan loader from ${loader}`);
  else mkdirSync(join(staging, 'lib'), { recursive: true });

  const version = `${JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version} (${gitDescription()})`;
  writeFileSync(join(staging, 'VERSION'), `metarl ${version}\n`);
  for (const script of ['run.sh', 'setup.sh']) {
    copyFileSync(join(repo, 'scripts/offline', script), join(staging, script));
    chmodSync(join(staging, script), 0o755);
  }
  writeFileSync(
    join(staging, 'README.txt'),
    `metarl ${version}, packed by \`npm run pack:offline\` for linux-x64 with node ${node.version}.\n` +
      `Copy this folder anywhere writable, then: ./run.sh --version; ./run.sh train --env point-nav --agent maml --backend webgpu\n` +
      `The first run unpacks node and dawn.node (needs xz or python3). Details: docs/offline.md in the metarl repository.\n`,
  );

  smokeTest(staging, node.path);
}

try {
  await main();
} catch (err) {
  console.error(`pack:offline: error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
