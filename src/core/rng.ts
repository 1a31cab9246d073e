import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/**
 * The only source of randomness in metarl: a seeded xoroshiro128+ stream.
 * Its state is plain numbers, so it goes into checkpoints and across threads.
 */
export class Rng {
  private gen: JumpableRandomGenerator;
  private spareNormal: number | null = null;

  constructor(seed: number | readonly number[]) {
    if (typeof seed === 'number') {
      // pure-rand seeds xoroshiro from the raw integer, so nearby small seeds start
      // almost alike (seed 0..3 all draw ≈0.99999 first): hash the seed, then warm up.
      this.gen = xoroshiro128plus(fmix32(seed | 0));
      for (let i = 0; i < WARMUP_DRAWS; i++) this.gen.next();
    } else {
      this.gen = xoroshiro128plusFromState(seed);
    }
  }

  /** Uniform in [0, 1), 53 bits. */
  next(): number {
    const hi = (this.gen.next() >>> 0) >>> 5; // 27 bits
    const lo = (this.gen.next() >>> 0) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller; the second value is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** A 31-bit seed for something else (an env reset, a worker, a child Rng). */
  seed(): number {
    return this.gen.next() >>> 1;
  }

  /** An independent child stream; the parent advances by one draw. */
  fork(): Rng {
    return new Rng(this.seed());
  }

  /** Fills `out` with standard normals. */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
  }

  state(): RngState {
    return { gen: [...this.gen.getState()], spareNormal: this.spareNormal };
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(state.gen);
    rng.spareNormal = state.spareNormal;
    return rng;
  }
}

const WARMUP_DRAWS = 16;

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

export interface RngState {
  gen: number[];
  spareNormal: number | null;
}
