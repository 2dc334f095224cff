import { describe, fail } from '../../errors.js';
import type { HistogramProto } from '../tensorboard.js';

/**
 * How values are bucketed: `'tensorflow'` (TensorBoard's default edges, ±1e-12·1.1^k up to ±1e20
 * around 0, as PyTorch's default), a number of equal-width buckets between the smallest and largest
 * value, or the bucket edges themselves, increasing.
 */
export type HistogramBins = 'tensorflow' | number | ArrayLike<number>;

let tensorflowEdges: Float64Array | undefined;

/**
 * TensorBoard's default bucket edges: 0, and ±1e-12·1.1^k for every k whose value stays below 1e20 (1549
 * edges), so that the buckets are about 10% wide at every scale. Computed by repeated multiplication,
 * as TensorBoard and PyTorch do, so that the edges agree with theirs to the last bit.
 */
function defaultEdges(): Float64Array {
  if (tensorflowEdges) return tensorflowEdges;
  const positive: number[] = [];
  for (let v = 1e-12; v < 1e20; v *= 1.1) positive.push(v);
  const edges = new Float64Array(2 * positive.length + 1);
  positive.forEach((v, i) => {
    edges[positive.length + 1 + i] = v;
    edges[positive.length - 1 - i] = -v;
  });
  tensorflowEdges = edges;
  return edges;
}

/** `n` equal buckets over [lo, hi] as numpy lays them out (edge i is i·step + lo, the last is hi). */
function equalEdges(n: number, lo: number, hi: number): Float64Array {
  // A constant tensor has no width to divide: centre a unit-wide range on it, as numpy does.
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const step = (hi - lo) / n;
  const edges = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) edges[i] = i * step + lo;
  edges[n] = hi;
  return edges;
}

function edgesFor(op: string, bins: HistogramBins, lo: number, hi: number): ArrayLike<number> {
  if (bins === 'tensorflow') return defaultEdges();
  if (typeof bins === 'number') {
    if (!Number.isInteger(bins) || bins < 1)
      fail(op, `bins must be 'tensorflow', a positive integer or an array of edges, got ${bins}`);
    return equalEdges(bins, lo, hi);
  }
  if (typeof bins !== 'object' || bins === null || typeof bins.length !== 'number')
    fail(op, `bins must be 'tensorflow', a positive integer or an array of edges, got ${describe(bins)}`);
  if (bins.length < 2) fail(op, `bins as edges needs at least 2 of them, got ${bins.length}`);
  for (let i = 0; i < bins.length; i++) {
    if (!Number.isFinite(bins[i]) || (i > 0 && !(bins[i]! > bins[i - 1]!)))
      fail(op, `bin edges must be finite and increasing, but edge ${i} is ${bins[i]} after ${bins[i - 1]}`);
  }
  return bins;
}

/**
 * Counts per bucket, numpy's way: bucket i holds the values in [edges[i], edges[i+1]), the last one
 * also its right edge; values outside every bucket are not counted.
 */
function countBuckets(values: ArrayLike<number>, edges: ArrayLike<number>): Float64Array {
  const last = edges.length - 1;
  const counts = new Float64Array(last);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < edges[0]! || v > edges[last]!) continue;
    // The largest b with edges[b] ≤ v, found by bisection, then the closed right end folded in.
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid]! <= v) lo = mid;
      else hi = mid;
    }
    counts[lo]!++;
  }
  return counts;
}

export interface HistogramOptions {
  /** The buckets (default `'tensorflow'`). */
  bins?: HistogramBins;
  /** Merges neighbouring buckets, a whole number of them each, until there are at most this many. */
  maxBins?: number;
}

/**
 * A TensorBoard histogram of `values`, built as PyTorch's `make_histogram` does: values are counted
 * into `bins`; buckets are merged down to `maxBins` if given; then only the buckets from the first to
 * the last non-empty one are kept, with one empty bucket in front whose limit is where the first
 * counted bucket starts (TensorBoard stores right edges only). `min`, `max`, `num`, `sum` and
 * `sumSquares` are over all values.
 *
 *     makeHistogram([0.1, 0.2, 0.2, 0.9], { bins: 4 })
 *     // → min 0.1, max 0.9, num 4, bucketLimit ≈ [0.1, 0.3, 0.5, 0.7, 0.9], bucket [0, 3, 0, 0, 1]
 */
export function makeHistogram(
  values: ArrayLike<number>,
  options: HistogramOptions = {},
  op = 'makeHistogram',
): HistogramProto {
  const { bins = 'tensorflow', maxBins } = options;
  const n = values.length;
  if (n === 0) fail(op, 'got no values; a histogram needs at least one');
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let sumSquares = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) bad++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
  }
  if (bad > 0)
    fail(
      op,
      `${bad} of ${n} values are NaN or infinite; TensorBoard's histograms hold finite values only (check the model for divergence)`,
    );
  const edges = edgesFor(op, bins, min, max);
  let counts: ArrayLike<number> = countBuckets(values, edges);
  let limits: ArrayLike<number> = edges;
  if (maxBins !== undefined) {
    if (!Number.isInteger(maxBins) || maxBins < 1)
      fail(op, `maxBins must be a positive integer, got ${describe(maxBins)}`);
    if (counts.length > maxBins) [counts, limits] = mergeBuckets(counts, limits, maxBins);
  }
  let first = -1;
  let last = -1;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i]! > 0) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0)
    fail(op, `none of the ${n} values (from ${min} to ${max}) falls inside the bins; widen the bin edges`);
  const bucket = [first > 0 ? counts[first - 1]! : 0];
  for (let i = first; i <= last; i++) bucket.push(counts[i]!);
  const bucketLimit: number[] = [];
  for (let i = first; i <= last + 1; i++) bucketLimit.push(limits[i]!);
  return { min, max, num: n, sum, sumSquares, bucketLimit, bucket };
}

/** Sums runs of `k = ⌊buckets / maxBins⌋` neighbouring buckets (the last run padded with empty ones). */
function mergeBuckets(
  counts: ArrayLike<number>,
  edges: ArrayLike<number>,
  maxBins: number,
): [number[], number[]] {
  const k = Math.floor(counts.length / maxBins);
  const merged: number[] = [];
  const limits: number[] = [];
  for (let i = 0; i < counts.length; i += k) {
    let c = 0;
    for (let j = i; j < Math.min(i + k, counts.length); j++) c += counts[j]!;
    merged.push(c);
    limits.push(edges[i]!);
  }
  limits.push(edges[edges.length - 1]!);
  return [merged, limits];
}
