import { describe, expect, it } from 'vitest';
import { formatComparisonTable, formatGains, summarizeAdaptation } from '../../src/train/adaptation-table.js';

describe('summarizeAdaptation', () => {
  it("pairs each later stage with the first on the same task: the tasks' own spread cancels out of the gain", () => {
    // Three tasks far apart in difficulty, each improved by 2 ± 1 after one step.
    const rows = summarizeAdaptation({ stages: ['pre', 'step 1'], returns: [[-100, -50, -10], [-97, -49, -8]] });
    expect(rows[0].gain).toBeUndefined();
    expect(rows[1].mean - rows[0].mean).toBeCloseTo(2, 12);
    expect(rows[1].gain!.mean).toBeCloseTo(2, 12);
    expect(rows[1].gain!.stderr).toBeCloseTo(Math.sqrt(1 / 3), 12);
    // Unpaired, the stages' own stderrs (~26) would hide a gain this size.
    expect(rows[0].stderr).toBeGreaterThan(20);
    expect(formatGains(rows)).toBe('step 1 − pre: +2.00 ± 0.58 per task (3.5 standard errors)');
  });
});

describe('formatComparisonTable', () => {
  it("puts the baselines under the run's stage names, each with its own paired gain", () => {
    const run = summarizeAdaptation({ stages: ['episode 1', 'episode 2'], returns: [[-3, -2], [-1, -1]] });
    const baseline = summarizeAdaptation({ stages: ['pre', 'step 1'], returns: [[-4, -4], [-5, -3]] });
    expect(formatComparisonTable([{ label: 'rl2', adaptation: run }, { label: 'pretrained + fine-tune', adaptation: baseline }]).split('\n')).toEqual([
      '| policy | episode 1 | episode 2 | gain |',
      '|---|---|---|---|',
      '| rl2 | -2.50 ± 0.50 | -1.00 ± 0.00 | +1.50 ± 0.50 |',
      '| pretrained + fine-tune | -4.00 ± 0.00 | -4.00 ± 1.00 | +0.00 ± 1.00 |',
    ]);
  });
});
