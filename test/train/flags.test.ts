import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isMetarlError } from '../../src/core/errors.js';
import { parseConfig } from '../../src/train/config.js';
import { parseAgentFlags } from '../../src/train/flags.js';

const schema = z.strictObject({
  innerLr: z.number().positive().default(0.1).describe('inner step size'),
  firstOrder: z.boolean().default(false).describe('drop second-order terms'),
  outer: z.enum(['trpo', 'ppo']).default('trpo').describe('outer optimiser'),
});

describe('agent flags', () => {
  it('maps kebab-case flags to schema keys and parses values', () => {
    expect(parseAgentFlags(['--inner-lr', '0.5', '--first-order', '--outer=ppo'], schema, 'maml')).toEqual({ innerLr: 0.5, firstOrder: true, outer: 'ppo' });
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
});
