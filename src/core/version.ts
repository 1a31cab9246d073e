import { existsSync, readFileSync } from 'node:fs';

/**
 * This install's metarl version, from its package.json: the nearest one above this file
 * named "metarl" (src/core from source, dist/src/core once built). Queue workers compare it
 * with the learner's, because a shard computed by other code is a wrong result, not an error.
 */
export const METARL_VERSION: string = findVersion();

function findVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const path = new URL('package.json', dir);
    if (existsSync(path)) {
      const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'metarl' && pkg.version) return pkg.version;
    }
    if (dir.pathname === '/') return '0.0.0-unknown';
  }
}
