/**
 * The linear feature baseline of garage and the MAML paper: V(s_t) ≈ w·φ(s_t, t) with
 * φ = [o, o², t/100, (t/100)², (t/100)³, 1] and o = clip(obs, −10, 10), fitted to returns by
 * ridge regression. Runs on plain Float32Arrays (float64 inside): it is tiny and refitted per task.
 *
 * Arrays use the padded episode layout of the sampler and `src/rl`: obs [E, H, obsSize],
 * returns [E, H], lengths [E]; steps t ≥ lengths[e] are ignored on fit and predicted as 0.
 */
import { MetarlError } from '../core/errors.js';

export interface LinearBaselineState {
  /** Fitted weights [2·obsSize + 4], or null before the first fit. */
  coeffs: number[] | null;
}

export class LinearFeatureBaseline {
  readonly featureSize: number;
  private coeffs: Float64Array | null = null;

  constructor(
    readonly obsSize: number,
    /** Initial ridge coefficient; multiplied by 10 (up to 5 times) until the solution is finite. */
    readonly regCoeff = 1e-5,
  ) {
    this.featureSize = 2 * obsSize + 4;
  }

  /** Fits w to the returns of every valid step. obs [E·H·obsSize], returns [E·H], lengths [E]. */
  fit(obs: Float32Array, returns: Float32Array, lengths: Int32Array, horizon: number): void {
    const d = this.featureSize;
    checkLayout(obs, lengths, horizon, this.obsSize, returns);
    const ftf = new Float64Array(d * d);
    const ftr = new Float64Array(d);
    const phi = new Float64Array(d);
    for (let e = 0; e < lengths.length; e++) {
      for (let t = 0; t < lengths[e]; t++) {
        const row = e * horizon + t;
        this.features(obs, row, t, phi);
        const r = returns[row];
        for (let i = 0; i < d; i++) {
          ftr[i] += phi[i] * r;
          for (let j = 0; j <= i; j++) ftf[i * d + j] += phi[i] * phi[j];
        }
      }
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) ftf[j * d + i] = ftf[i * d + j];
    let reg = this.regCoeff;
    for (let attempt = 0; attempt < 5; attempt++, reg *= 10) {
      const a = Float64Array.from(ftf);
      for (let i = 0; i < d; i++) a[i * d + i] += reg;
      const w = solve(a, Float64Array.from(ftr), d);
      if (w.every(Number.isFinite)) {
        this.coeffs = w;
        return;
      }
    }
    // Like garage: keep the previous fit (or none) rather than install a non-finite one.
  }

  /** Predicted values [E·H] (0 past each episode's length, and everywhere before the first fit). */
  predict(obs: Float32Array, lengths: Int32Array, horizon: number, out = new Float32Array(lengths.length * horizon)): Float32Array {
    checkLayout(obs, lengths, horizon, this.obsSize);
    out.fill(0);
    const w = this.coeffs;
    if (!w) return out;
    const phi = new Float64Array(this.featureSize);
    for (let e = 0; e < lengths.length; e++) {
      for (let t = 0; t < lengths[e]; t++) {
        const row = e * horizon + t;
        this.features(obs, row, t, phi);
        let v = 0;
        for (let i = 0; i < phi.length; i++) v += w[i] * phi[i];
        out[row] = v;
      }
    }
    return out;
  }

  state(): LinearBaselineState {
    return { coeffs: this.coeffs ? [...this.coeffs] : null };
  }

  load(state: LinearBaselineState): void {
    if (state.coeffs !== null && (state.coeffs.length !== this.featureSize || !state.coeffs.every(Number.isFinite))) {
      throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `baseline has ${state.coeffs.length} finite-checked coefficients, expected ${this.featureSize}`);
    }
    this.coeffs = state.coeffs ? Float64Array.from(state.coeffs) : null;
  }

  private features(obs: Float32Array, row: number, t: number, phi: Float64Array): void {
    const n = this.obsSize;
    const base = row * n;
    for (let i = 0; i < n; i++) {
      const o = Math.min(10, Math.max(-10, obs[base + i]));
      phi[i] = o;
      phi[n + i] = o * o;
    }
    const s = t / 100;
    phi[2 * n] = s;
    phi[2 * n + 1] = s * s;
    phi[2 * n + 2] = s * s * s;
    phi[2 * n + 3] = 1;
  }
}

function checkLayout(obs: Float32Array, lengths: Int32Array, horizon: number, obsSize: number, returns?: Float32Array): void {
  const rows = lengths.length * horizon;
  if (obs.length !== rows * obsSize || (returns && returns.length !== rows)) {
    throw new MetarlError(
      'METARL_SPEC_MISMATCH',
      `baseline expects obs [${lengths.length}, ${horizon}, ${obsSize}]${returns ? ` and returns [${lengths.length}, ${horizon}]` : ''}, got ${obs.length}${returns ? ` and ${returns.length}` : ''} values`,
    );
  }
}

/** Solves a·x = b (a is d×d, row-major) by Gaussian elimination with partial pivoting; overwrites a and b. */
function solve(a: Float64Array, b: Float64Array, d: number): Float64Array {
  for (let col = 0; col < d; col++) {
    let pivot = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(a[r * d + col]) > Math.abs(a[pivot * d + col])) pivot = r;
    if (pivot !== col) {
      for (let c = 0; c < d; c++) [a[col * d + c], a[pivot * d + c]] = [a[pivot * d + c], a[col * d + c]];
      [b[col], b[pivot]] = [b[pivot], b[col]];
    }
    const p = a[col * d + col];
    for (let r = col + 1; r < d; r++) {
      const f = a[r * d + col] / p;
      if (f === 0) continue;
      for (let c = col; c < d; c++) a[r * d + c] -= f * a[col * d + c];
      b[r] -= f * b[col];
    }
  }
  const x = new Float64Array(d);
  for (let r = d - 1; r >= 0; r--) {
    let s = b[r];
    for (let c = r + 1; c < d; c++) s -= a[r * d + c] * x[c];
    x[r] = s / a[r * d + r];
  }
  return x;
}
