import { fail } from '../errors.js';
import { Generator } from '../tensor/random.js';

export interface TsneOptions {
  /** The effective number of neighbours each point keeps (default 30; must be below the point count). */
  perplexity?: number;
  iterations?: number;
  learningRate?: number;
  /** P is multiplied by this for the first quarter of the iterations, which pulls clusters apart early. */
  exaggeration?: number;
  seed?: number;
}

/**
 * Row i of the affinities p_{j|i} ∝ exp(−β d_ij) over j ≠ i, with β found by bisection so that the row's
 * perplexity 2^H equals `perplexity`. Returns the row (p_ii = 0).
 */
export function affinityRow(dist: Float64Array, i: number, n: number, perplexity: number): Float64Array {
  const row = new Float64Array(n);
  const target = Math.log(perplexity);
  let beta = 1;
  let lo = 0;
  let hi = Number.POSITIVE_INFINITY;
  for (let step = 0; step < 100; step++) {
    // Shift by the nearest distance so that exp does not underflow for large β.
    let dmin = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) if (j !== i) dmin = Math.min(dmin, dist[i * n + j]!);
    let sum = 0;
    let weighted = 0;
    for (let j = 0; j < n; j++) {
      const v = j === i ? 0 : Math.exp(-beta * (dist[i * n + j]! - dmin));
      row[j] = v;
      sum += v;
      weighted += v * (dist[i * n + j]! - dmin);
    }
    // Entropy in nats: H = log(sum) + β·E[d − dmin].
    const entropy = Math.log(sum) + (beta * weighted) / sum;
    for (let j = 0; j < n; j++) row[j]! /= sum;
    if (Math.abs(entropy - target) < 1e-6) break;
    if (entropy > target) {
      lo = beta;
      beta = hi === Number.POSITIVE_INFINITY ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = (beta + lo) / 2;
    }
  }
  return row;
}

/**
 * t-SNE (van der Maaten & Hinton, 2008), exact: n points of dimension d (row-major) to 2-D, so that
 * points near each other stay near (the review's Fig. 4 draws word vectors this way). Gradient descent
 * with momentum and per-coordinate gains, early exaggeration, a seeded start. O(n²) per iteration:
 * for the few hundred to few thousand points a picture holds.
 */
export function tsne(points: Float64Array, n: number, d: number, o: TsneOptions = {}): Float64Array {
  const perplexity = o.perplexity ?? 30;
  const iterations = o.iterations ?? 1000;
  const lr = o.learningRate ?? 200;
  const exaggeration = o.exaggeration ?? 12;
  if (points.length !== n * d) fail('tsne', `expected ${n}×${d} = ${n * d} values, got ${points.length}`);
  if (n < 3) fail('tsne', `needs at least 3 points, got ${n}`);
  if (!(perplexity > 1 && perplexity < n)) fail('tsne', `perplexity must be in (1, ${n}), got ${perplexity}`);
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = points[i * d + k]! - points[j * d + k]!;
        s += t * t;
      }
      dist[i * n + j] = s;
      dist[j * n + i] = s;
    }
  // Symmetrised joint probabilities p_ij = (p_{j|i} + p_{i|j}) / 2n.
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = affinityRow(dist, i, n, perplexity);
    for (let j = 0; j < n; j++) P[i * n + j]! += row[j]!;
  }
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const v = Math.max((P[i * n + j]! + P[j * n + i]!) / (2 * n), 1e-12);
      P[i * n + j] = v;
      P[j * n + i] = v;
    }
  const g = new Generator(o.seed ?? 0);
  const Y = Float64Array.from({ length: 2 * n }, () => 1e-4 * g.normal());
  const step = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const num = new Float64Array(n * n);
  const grad = new Float64Array(2 * n);
  const early = Math.floor(iterations / 4);
  for (let it = 0; it < iterations; it++) {
    let z = 0;
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const dx = Y[2 * i]! - Y[2 * j]!;
        const dy = Y[2 * i + 1]! - Y[2 * j + 1]!;
        const v = 1 / (1 + dx * dx + dy * dy);
        num[i * n + j] = v;
        num[j * n + i] = v;
        z += 2 * v;
      }
    const exag = it < early ? exaggeration : 1;
    grad.fill(0);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const w = num[i * n + j]!;
        const f = 4 * (exag * P[i * n + j]! - w / z) * w;
        grad[2 * i]! += f * (Y[2 * i]! - Y[2 * j]!);
        grad[2 * i + 1]! += f * (Y[2 * i + 1]! - Y[2 * j + 1]!);
      }
    const momentum = it < early ? 0.5 : 0.8;
    for (let k = 0; k < 2 * n; k++) {
      gains[k] = Math.max(
        0.01,
        Math.sign(grad[k]!) !== Math.sign(step[k]!) ? gains[k]! + 0.2 : gains[k]! * 0.8,
      );
      step[k] = momentum * step[k]! - lr * gains[k]! * grad[k]!;
      Y[k]! += step[k]!;
    }
    for (const axis of [0, 1]) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += Y[2 * i + axis]!;
      mean /= n;
      for (let i = 0; i < n; i++) Y[2 * i + axis]! -= mean;
    }
  }
  return Y;
}
