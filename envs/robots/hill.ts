/** What the hill families (ant-hill, cheetah-hill) share beyond their ground (src/physics/terrain.ts `generateHill`). */
import { z } from 'zod';

/** The `gradeRange` option: the hill's grade g (rise over run) is drawn from U[low, high]. */
export const hillGradeRange = z
  .tuple([z.number().positive(), z.number().positive()])
  .default([0.1, 0.3])
  .refine(([lo, hi]) => lo <= hi, 'must be [low, high] with low <= high')
  .describe('the hill grade g (rise over run) is drawn uniformly from [low, high]');
