import type { View } from '../backend.js';

/** True when a view's elements lie in row-major order from its offset with no gaps. */
export function isContiguous(v: View): boolean {
  let expected = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    const d = v.shape[i]!;
    if (d !== 1 && v.strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

export function viewSize(v: View): number {
  let n = 1;
  for (const d of v.shape) n *= d;
  return n;
}

/**
 * The storage position of every element of a view, in row-major order of its shape. The reference
 * backend trades this allocation for loops that are short and obviously right.
 */
export function offsets(v: View): Int32Array {
  const n = viewSize(v);
  const out = new Int32Array(n);
  const rank = v.shape.length;
  if (n === 0) return out;
  if (rank === 0) {
    out[0] = v.offset;
    return out;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const innerSize = v.shape[last]!;
  const innerStride = v.strides[last]!;
  let base = v.offset;
  for (let i = 0; i < n; i += innerSize) {
    for (let j = 0; j < innerSize; j++) out[i + j] = base + j * innerStride;
    for (let ax = last - 1; ax >= 0; ax--) {
      idx[ax]++;
      base += v.strides[ax]!;
      if (idx[ax]! < v.shape[ax]!) break;
      base -= idx[ax]! * v.strides[ax]!;
      idx[ax] = 0;
    }
  }
  return out;
}

/** Positions of a view's elements, or null when they are simply offset + i. */
export function positions(v: View): Int32Array | null {
  return isContiguous(v) ? null : offsets(v);
}
