/** docs/api.md stays true to the package entry: every export is documented (issue 5). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as metarl from '../../src/index.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Names in `export { … }`, `export type { … }` and `export * as x` (aliases give their public name). */
function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) names.push(item.split(/\s+as\s+/).pop()!.replace(/^type\s+/, ''));
  }
  for (const [, name] of source.matchAll(/export \* as (\w+)/g)) names.push(name);
  return names;
}

describe('docs/api.md', () => {
  const doc = read('docs/api.md');
  const documented = (name: string) => doc.includes(`\`${name}\``);

  it('documents every export of src/index.ts, values and types', () => {
    const names = exportedNames(read('src/index.ts'));
    expect(names.length).toBeGreaterThan(40);
    for (const value of Object.keys(metarl)) expect(names).toContain(value);
    expect(names.filter((n) => !documented(n))).toEqual([]);
  });

  it('documents every member of the robot namespace', () => {
    const names = exportedNames(read('src/robot.ts'));
    for (const value of Object.keys(metarl.robot)) expect(names).toContain(value);
    expect(names.filter((n) => !documented(n))).toEqual([]);
  });
});
