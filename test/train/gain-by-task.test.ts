import { describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { assertGroupKey, formatGainByTask, gainByTask } from '../../src/train/gain-by-task.js';

const row = (task: Record<string, string | number | number[]>, returns: number[]) => ({ task, returns });

describe('gainByTask', () => {
  it('groups tasks by a string field and pairs each task with its own first stage', () => {
    const perTask = [
      row({ type: 'stairs' }, [10, 14, 16]),
      row({ type: 'flat' }, [50, 40, 45]),
      row({ type: 'stairs' }, [20, 20, 28]),
      row({ type: 'flat' }, [60, 60, 55]),
    ];
    const groups = gainByTask(perTask, 'type');
    expect(groups.map((g) => [g.group, g.tasks])).toEqual([['flat', 2], ['stairs', 2]]);
    const [flat, stairs] = groups;
    expect(flat.means).toEqual([55, 50, 50]);
    expect(stairs.means).toEqual([15, 17, 22]);
    // Gains of the last stage: flat −5 and −5, stairs +6 and +8.
    expect(flat.gain).toEqual({ mean: -5, stderr: 0 });
    expect(stairs.gain.mean).toBe(7);
    expect(stairs.gain.stderr).toBeCloseTo(1, 12);
  });

  it('keeps one group per value of a number with few values, in numeric order', () => {
    const perTask = [row({ direction: 1 }, [0, 2]), row({ direction: -1 }, [0, 1]), row({ direction: 1 }, [0, 4])];
    expect(gainByTask(perTask, 'direction').map((g) => [g.group, g.tasks, g.gain.mean])).toEqual([['-1', 1, 1], ['1', 2, 3]]);
  });

  it('cuts a number with many values into quarters of the tasks, named by their range', () => {
    const perTask = Array.from({ length: 8 }, (_, i) => row({ velocity: (7 - i) * 0.25 }, [0, i]));
    const groups = gainByTask(perTask, 'velocity');
    expect(groups.map((g) => [g.group, g.tasks])).toEqual([['[0, 0.25]', 2], ['[0.50, 0.75]', 2], ['[1, 1.25]', 2], ['[1.50, 1.75]', 2]]);
    // The slowest tasks are the last rows, with the largest gains.
    expect(groups.map((g) => g.gain.mean)).toEqual([6.5, 4.5, 2.5, 0.5]);
  });

  it('formats a row per group with its gain, in signed standard errors from five tasks on', () => {
    const rows = [...[3, 5, 3, 5, 4].map((r) => row({ type: 'rough' }, [1, r])), row({ type: 'slope' }, [4, 3]), row({ type: 'slope' }, [4, 1])];
    const groups = gainByTask(rows, 'type');
    expect(formatGainByTask('type', ['episode 1', 'episode 2'], groups).split('\n')).toEqual([
      '| type | tasks | episode 1 | episode 2 | gain |',
      '|---|---|---|---|---|',
      // Gains 2, 4, 2, 4, 3: mean 3, sample sd 1, stderr 1/√5.
      `| rough | 5 | 1.00 | 4.00 | +3.00 ± 0.45 (+${(3 * Math.sqrt(5)).toFixed(1)} SE) |`,
      '| slope | 2 | 4.00 | 2.00 | −2.00 ± 1.00 |',
    ]);
  });
});

describe('assertGroupKey', () => {
  const tasks = [{ type: 'flat', difficulty: 0.2, goal: [1, 2] }];

  it('accepts a scalar field of every task', () => {
    expect(() => assertGroupKey(tasks, 'type', 'ant-terrain')).not.toThrow();
    expect(() => assertGroupKey(tasks, 'difficulty', 'ant-terrain')).not.toThrow();
  });

  it('refuses a missing or non-scalar field, naming it, the family and the fields that work', () => {
    for (const [key, reason] of [
      ['slope', 'is not a field of its tasks'],
      ['goal', 'is not a string, number or boolean in every task'],
    ]) {
      let caught: unknown;
      try {
        assertGroupKey(tasks, key, 'ant-terrain');
      } catch (err) {
        caught = err;
      }
      expect(isMetarlError(caught) && caught.code).toBe('METARL_CONFIG_INVALID');
      expect((caught as Error).message).toBe(`--by ${key}: "${key}" ${reason} of ant-terrain; group by one of: type, difficulty`);
    }
  });
});
