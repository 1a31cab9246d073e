export { discountCumsum, discountedReturns, gae, normalizeAdvantages, validMask } from './returns.js';
export type { GaeInput } from './returns.js';
export { vpgLoss, ppoClipLoss } from './losses.js';
export type { PpoLossInput, PpoLoss } from './losses.js';
export { conjugateGradient } from './cg.js';
export type { CgOptions } from './cg.js';
export { backtrackingLineSearch } from './line-search.js';
export type { LineSearchOptions, LineSearchResult } from './line-search.js';
export { fisherVectorProduct } from './fvp.js';
