import { describe, fail } from '../errors.js';

/** Serialisable generator state: four 32-bit words, plus a cached normal deviate if one is pending. */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

/**
 * xoshiro128** (Blackman & Vigna): small state, 32-bit integer arithmetic that JavaScript does exactly,
 * and a period of 2^128 - 1. One generator drives initialisation, dropout, shuffling and sampling, so a
 * seed fixes a whole run and the state can be checkpointed.
 */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Resets the state from a seed, expanded with splitmix32 so that nearby seeds give unrelated streams. */
  seed(seed: number): this {
    if (!Number.isFinite(seed)) fail('manualSeed', `seed must be a finite number, got ${seed}`);
    let x = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
    this.spare = null;
    return this;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A double uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal deviate (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer uniform on [low, high), without modulo bias. */
  randint(low: number, high: number): number {
    const n = high - low;
    if (!(n >= 1) || n > 2 ** 32)
      fail('randint', `need low < high with high - low <= 2^32, got [${low}, ${high})`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return low + (x % n);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(0, i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  getState(): RngState {
    return { s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!], spare: this.spare };
  }

  setState(state: RngState): this {
    const problem = rngStateProblem(state);
    if (problem !== null) fail('Generator.setState', `${problem}; pass what getState() returned`);
    this.s.set(state.s);
    this.spare = state.spare;
    return this;
  }
}

/**
 * The largest |deviate| normal() can return: Box–Muller's radius sqrt(-2 ln u) with u at least 2^-53.
 * A pending deviate beyond it cannot have come from this generator.
 */
const MAX_NORMAL = Math.sqrt(-2 * Math.log(2 ** -53));

/**
 * What is wrong with a value offered as a generator state, or null if it is one: four unsigned 32-bit
 * integers, not all zero (xoshiro's one fixed point: it would give zeros forever), and a pending normal
 * deviate that is null or one normal() can produce (|x| ≤ 8.57). Checkpoint loading checks with this before anything is restored.
 */
export function rngStateProblem(state: unknown): string | null {
  const expected =
    'expected { s: four unsigned 32-bit integers, not all zero, spare: null or a normal deviate (|x| ≤ 8.57) }';
  if (typeof state !== 'object' || state === null) return `${expected}, got ${describe(state)}`;
  const { s, spare } = state as Record<string, unknown>;
  if (!Array.isArray(s) || s.length !== 4) return `${expected}, got s = ${describe(s)}`;
  const bad = s.findIndex((w) => !(Number.isInteger(w) && w >= 0 && w < 2 ** 32));
  if (bad >= 0) return `${expected}, got s[${bad}] = ${describe(s[bad])}`;
  if (s.every((w) => w === 0)) return `${expected}, got four zeros`;
  if (!(spare === null || (typeof spare === 'number' && Math.abs(spare) <= MAX_NORMAL)))
    return `${expected}, got spare = ${describe(spare)}`;
  return null;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The process-wide generator that every random function uses unless given its own. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator (like `torch.manual_seed`). */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
