/**
 * ant-terrain-blind — ant-terrain without the grid of terrain heights (27 observations, the
 * ant's own). With the heights observed, a terrain is mostly seen, not inferred: PEARL on
 * ant-terrain walks, but gains nothing from its posterior (docs/results.md). Blind, the
 * slope, the steps and the roughness show only in how the body moves, as in RMA (Kumar et
 * al. 2021), which is what a meta-learner has to infer.
 */
import { createAntTerrain } from './ant-terrain.js';

export default createAntTerrain({ heights: false });
