/** The browser tests' viewer bundle: viewer/dist, rebuilt when a viewer source or the protocol is newer. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const viewerDir = join(root, 'viewer/dist');

/** Builds viewer/dist when it is missing or older than a viewer source or the protocol. */
export function ensureViewerBundle(): void {
  const bundle = join(viewerDir, 'viewer.js');
  const sources = [
    ...readdirSync(join(root, 'viewer/src')).map((f) => join(root, 'viewer/src', f)),
    join(root, 'viewer/index.html'),
    join(root, 'src/stream/protocol.ts'),
    join(root, 'src/stream/protocol-checks.ts'),
  ];
  const built = existsSync(bundle) && existsSync(join(viewerDir, 'index.html')) ? statSync(bundle).mtimeMs : 0;
  if (sources.some((f) => statSync(f).mtimeMs > built)) execFileSync(process.execPath, [join(root, 'scripts/build-viewer.mjs')], { stdio: 'pipe' });
}
