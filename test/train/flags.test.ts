import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isMetarlError } from '../../src/core/errors.js';
import { parseConfig } from '../../src/core/parse-config.js';
import { intFlag, parseAgentFlags } from '../../src/train/flags.js';

const schema = z.strictObject({
  metaBatchSize: z.number().int().min(1).default(20).describe('tasks per iteration'),
  hidden: z.array(z.number().int().positive()).default([64]).describe('layer sizes'),
  innerLr: z.number().positive().default(0.1).describe('inner step size'),
  firstOrder: z.boolean().default(false).describe('drop second-order terms'),
  outer: z.enum(['trpo', 'ppo']).default('trpo').describe('outer optimiser'),
});

describe('agent flags', () => {
  it('maps kebab-case flags to schema keys and parses values', () => {
    expect(parseAgentFlags(['--inner-lr', '0.5', '--first-order', '--outer=ppo'], schema, 'maml')).toEqual({ innerLr: 0.5, firstOrder: true, outer: 'ppo' });
  });

  it('takes a list flag as a comma list or a single number, as well as JSON', () => {
    expect(parseAgentFlags(['--hidden', '32,16', '--meta-batch-size', '4'], schema, 'maml')).toEqual({ hidden: [32, 16], metaBatchSize: 4 });
    expect(parseAgentFlags(['--hidden', '16'], schema, 'maml')).toEqual({ hidden: [16] });
    expect(parseAgentFlags(['--hidden=[8, 8]'], schema, 'maml')).toEqual({ hidden: [8, 8] });
  });

  it('rejects an unknown flag and lists the valid ones', () => {
    try {
      parseAgentFlags(['--inner-rate', '0.5'], schema, 'maml');
      throw new Error('expected an error');
    } catch (err) {
      expect(isMetarlError(err, 'METARL_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/unknown option '--inner-rate' for agent 'maml'/);
      expect((err as Error).message).toMatch(/--inner-lr +inner step size/);
    }
  });

  it('reports every invalid value with its path', () => {
    try {
      parseConfig(schema, { innerLr: -1, outer: 'sgd' }, 'maml config');
      throw new Error('expected an error');
    } catch (err) {
      expect(isMetarlError(err, 'METARL_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/innerLr:/);
      expect((err as Error).message).toMatch(/outer:/);
    }
  });

  it.each([
    [['--meta-batch-size', '1e12'], /--meta-batch-size is out of range \(1000000000000\)/],
    [['--meta-batch-size=1e999'], /--meta-batch-size is out of range \(Infinity\)/],
    [['--hidden', '[8, 1e12]'], /--hidden is out of range \(1000000000000\)/],
    [['--inner-lr', '-1e400'], /--inner-lr is out of range \(-Infinity\)/],
  ])('rejects an absurd or infinite number in %j as METARL_CONFIG_INVALID naming the flag', (args, text) => {
    try {
      parseAgentFlags(args, schema, 'maml');
      throw new Error('expected an error');
    } catch (err) {
      expect(isMetarlError(err, 'METARL_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(text);
    }
  });

  it('run flags take integers up to 2^31 - 1 only', () => {
    expect(intFlag('--workers')('2147483647')).toBe(2147483647);
    expect(() => intFlag('--workers')('1e12')).toThrow(/--workers must be an integer from 0 to 2147483647, got '1e12'/);
  });
});
