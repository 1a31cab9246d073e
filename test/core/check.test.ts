import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assertFamilyValid, checkFamily } from '../../src/core/check.js';
import { isMetarlError } from '../../src/core/errors.js';
import { loadFamily } from '../../src/core/registry.js';

const fixture = (name: string) => loadFamily({ name, module: pathToFileURL(new URL(`../fixtures/envs/${name}.ts`, import.meta.url).pathname).href });

function failures(results: ReturnType<typeof checkFamily>): string[] {
  return results.filter((r) => !r.ok).map((r) => `${r.check}: ${r.detail}`);
}

describe('checkFamily', () => {
  it('passes a valid family on every check', async () => {
    const results = checkFamily(await fixture('line-goal'));
    expect(results.length).toBeGreaterThanOrEqual(6);
    expect(failures(results)).toEqual([]);
  });

  it('names the step and the sizes when the observation has the wrong length', async () => {
    const failed = failures(checkFamily(await fixture('wrong-obs-size')));
    expect(failed[0]).toMatch(/reset\(\) returned an observation of length 3, but spec.obsSize is 1/);
  });

  it('names the step of a NaN reward', async () => {
    expect(failures(checkFamily(await fixture('nan-reward')))[0]).toMatch(/step\(\) at step 4 returned reward NaN/);
  });

  it('reports an error thrown inside step with its message', async () => {
    expect(failures(checkFamily(await fixture('throws-in-step')))[0]).toMatch(/motor exploded at t=3/);
  });

  it('rejects tasks that are not plain JSON, naming the field', async () => {
    expect(failures(checkFamily(await fixture('unserialisable-task')))[0]).toMatch(/task 0\.weights is a Float32Array, not plain JSON/);
  });

  it('assertFamilyValid throws one error listing every failure with the family name', async () => {
    const family = await fixture('nan-reward');
    try {
      assertFamilyValid(family);
      throw new Error('expected an error');
    } catch (err) {
      expect(isMetarlError(err, 'METARL_FAMILY_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/task family 'nan-reward' fails 3 check\(s\)/);
    }
  });

  it('a module without a default export says what it found and how to fix it', async () => {
    await expect(fixture('no-default-export')).rejects.toThrow(/no default export \(exports: family\).*export default defineTaskFamily/);
  });
});
