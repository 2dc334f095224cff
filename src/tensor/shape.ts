import { describe, fail, fmtShape } from '../errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides for a shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting: align trailing axes; each pair must be equal or contain a 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!;
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else
        fail(
          op,
          `shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together (axis ${j - rank}: ${out[j]} vs ${d})`,
        );
    }
  }
  return out;
}

/** Resolves a possibly negative axis against a rank. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    fail(op, `axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** Resolves an axis argument (one, several, or all when undefined) to sorted unique axes. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) fail(op, `repeated axis in [${list.join(', ')}]`);
  return out;
}

/** Checks a shape given by a caller: an array of non-negative integers. Returns a copy. */
export function checkShape(op: string, shape: Shape): number[] {
  checkSizes(op, shape);
  return [...shape];
}

function checkSizes(op: string, shape: Shape): void {
  if (!Array.isArray(shape))
    fail(op, `expected a shape (an array of sizes, such as [2, 3]), got ${describe(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      fail(
        op,
        `invalid shape [${shape.map((v) => (typeof v === 'number' ? v : describe(v))).join(', ')}]: sizes must be non-negative integers`,
      );
  }
}

/**
 * Checks that a strided view (one stride per axis, integers, and a non-negative integer offset) lies
 * within a storage of `length` elements, so that no element of it reads past either end.
 */
export function checkView(
  op: string,
  length: number,
  shape: Shape,
  strides: readonly number[],
  offset: number,
): void {
  checkSizes(op, shape);
  if (!Array.isArray(strides) || strides.length !== shape.length || !strides.every(Number.isInteger)) {
    fail(
      op,
      `expected ${shape.length} integer strides for shape ${fmtShape(shape)}, got ${Array.isArray(strides) ? `[${strides.join(', ')}]` : describe(strides)}`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0)
    fail(op, `the offset must be a non-negative integer, got ${describe(offset)}`);
  let lo = offset;
  let hi = offset;
  for (let i = 0; i < shape.length; i++) {
    const reach = (shape[i]! - 1) * strides[i]!;
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  const empty = sizeOf(shape) === 0;
  if (empty ? offset > length : lo < 0 || hi >= length) {
    fail(
      op,
      `shape ${fmtShape(shape)} with strides ${fmtShape(strides)} and offset ${offset} reaches element${empty ? ` ${offset}` : `s ${lo} to ${hi}`}, but the storage holds ${length}; give a shape that fits the array`,
    );
  }
}
