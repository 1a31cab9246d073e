/**
 * Serves the bundled viewer (viewer/dist: index.html, viewer.js, viewer.css, source maps).
 * Only plain file names inside that one folder are served, so no path escapes it.
 * @internal
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * viewer/dist beside the package root. This file runs from src/stream (tsx, tests) or
 * from dist/src/stream (the compiled package), so both depths are tried.
 */
export function defaultViewerDir(): string {
  const candidates = ['../../viewer/dist', '../../../viewer/dist'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0];
}

export function serveViewer(dir: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const name = path === '/' ? 'index.html' : path.slice(1);
  if (!/^[\w-]+(\.[\w-]+)*$/.test(name)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const file = join(dir, name);
  if (!existsSync(file)) {
    if (name === 'index.html' || name === 'viewer.js') {
      res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' }).end(missingBundlePage(dir));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
    return;
  }
  const ext = name.slice(name.lastIndexOf('.'));
  const body = readFileSync(file);
  // no-store: a rebuilt bundle must never meet a cached page of the old protocol.
  res.writeHead(200, { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function missingBundlePage(dir: string): string {
  return `<!doctype html><meta charset="utf-8"><title>metarl viewer: not built</title>
<body style="font:16px system-ui;margin:3em;max-width:40em">
<h1>The viewer bundle is missing</h1>
<p>No built viewer was found in <code>${dir.replace(/[<&]/g, '')}</code>.</p>
<p>Run <code>npm run build</code> in the metarl folder, then reload this page.</p>
</body>`;
}
