import type { View } from '../backend/backend.js';
import { describe, fail } from '../errors.js';
import { type DType, dtypeOf, isFloat, type TypedArray } from './dtype.js';
import { checkView, contiguousStrides, type Shape, sizeOf } from './shape.js';

/** How a tensor was made, for reverse-mode differentiation: its inputs and its vector-Jacobian product. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Given dL/d(output), returns dL/d(input) for each input (null where an input gets none). */
  vjp(g: Tensor): (Tensor | null)[];
}

/**
 * An n-dimensional array: a strided view onto a typed array that JavaScript owns. Views (reshape,
 * transpose, slice, expand) share storage; operations return new tensors. The methods for arithmetic,
 * reductions and the rest are installed by `ops/` so that this file stays the data structure alone.
 *
 *     const x = tensor([[1, 2], [3, 4]]);
 *     x.shape;                  // [2, 2]
 *     x.mul(2).sum().item();    // 20
 */
export class Tensor implements View {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** Set on tensors the tape must differentiate with respect to (leaves) or through (op results). */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The op that produced this tensor while the tape was recording; null for leaves. */
  gradFn: GradFn | null = null;

  /**
   * A view onto `data` (used as storage, not copied): element (i0, i1, ...) lives at
   * data[offset + i0*strides[0] + ...], row-major strides by default. The view must lie within the
   * array. To build a tensor from numbers, use `tensor(...)`.
   */
  constructor(
    /** The whole underlying storage, which other views may share. */
    readonly data: TypedArray,
    shape: Shape,
    strides?: readonly number[],
    readonly offset = 0,
  ) {
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array))
      fail(
        'new Tensor',
        `expected a Float32Array, Float64Array or Int32Array as storage, got ${describe(data)}; to build a tensor from numbers, use tensor(...)`,
      );
    const s = strides ?? (Array.isArray(shape) ? contiguousStrides(shape) : []);
    checkView('new Tensor', data.length, shape, s, offset);
    this.shape = shape;
    this.strides = s;
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }

  /**
   * Number of elements (NumPy's `size`; PyTorch's `numel()`, also available). The shape is
   * {@link shape}: `x.shape[d]` is PyTorch's `x.size(d)`.
   */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /**
   * Number of axes, PyTorch's and NumPy's name for {@link rank}.
   *
   *     zeros([2, 3]).ndim; // 2
   */
  get ndim(): number {
    return this.shape.length;
  }

  /**
   * Number of axes, as PyTorch's `dim()` (the same as {@link ndim} and {@link rank}).
   *
   *     zeros([2, 3, 4]).dim(); // 3
   */
  dim(): number {
    return this.shape.length;
  }

  /**
   * Number of elements, as PyTorch's `numel()` (the same as {@link size}).
   *
   *     zeros([2, 3]).numel(); // 6
   */
  numel(): number {
    return sizeOf(this.shape);
  }

  /** True for tensors no recorded op produced (parameters, inputs). */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** True when elements lie in row-major order without gaps, so the storage can be read directly. */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const d = this.shape[i]!;
      if (d !== 1 && this.strides[i] !== expected) return false;
      expected *= d;
    }
    return true;
  }

  /** Marks a leaf as a variable to differentiate with respect to (like `requires_grad_`). */
  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean') fail('requiresGrad_', `flag must be true or false, got ${describe(flag)}`);
    if (flag && !isFloat(this.dtype))
      fail('requiresGrad_', `only floating-point tensors can require gradients, got ${this.dtype}`);
    if (!this.isLeaf) fail('requiresGrad_', 'can only be set on leaf tensors; use detach() first');
    this.requiresGrad = flag;
    return this;
  }

  /** Element at a position given by one index per axis. */
  at(...index: number[]): number {
    if (index.length !== this.rank) fail('at', `expected ${this.rank} indices, got ${index.length}`);
    let p = this.offset;
    for (let i = 0; i < index.length; i++) {
      const k = index[i]!;
      const d = this.shape[i]!;
      if (!Number.isInteger(k) || k < -d || k >= d)
        fail('at', `index ${k} is out of range for axis ${i} of size ${d}`);
      p += (k < 0 ? k + d : k) * this.strides[i]!;
    }
    return this.data[p]!;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      fail('item', `only one-element tensors can be converted to a number, got shape [${this.shape}]`);
    return this.at(...this.shape.map(() => 0));
  }

  /** The elements in row-major order as a new typed array of the tensor's dtype. */
  toTypedArray(): TypedArray {
    if (this.isContiguous()) return this.data.slice(this.offset, this.offset + this.size);
    const out = new (this.data.constructor as new (n: number) => TypedArray)(this.size);
    const idx = new Array<number>(this.rank).fill(0);
    for (let i = 0; i < out.length; i++) {
      let p = this.offset;
      for (let a = 0; a < idx.length; a++) p += idx[a]! * this.strides[a]!;
      out[i] = this.data[p]!;
      for (let a = idx.length - 1; a >= 0; a--) {
        if (++idx[a]! < this.shape[a]!) break;
        idx[a] = 0;
      }
    }
    return out;
  }

  /**
   * The elements as nested arrays (a number for a 0-d tensor).
   *
   *     tensor([[1, 2], [3, 4]]).toArray(); // [[1, 2], [3, 4]]
   */
  toArray(): NestedArray {
    const flat = this.toTypedArray();
    const build = (axis: number, start: number): NestedArray => {
      if (axis === this.rank) return flat[start]!;
      const d = this.shape[axis]!;
      const step = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: d }, (_, i) => build(axis + 1, start + i * step));
    };
    return build(0, 0);
  }

  /**
   * The elements as nested arrays, PyTorch's name for {@link toArray}.
   *
   *     tensor([1, 2, 3]).tolist(); // [1, 2, 3]
   */
  tolist(): NestedArray {
    return this.toArray();
  }
}

export type NestedArray = number | NestedArray[];

import { formatTensor } from './print.js';

Object.defineProperty(Tensor.prototype, 'toString', {
  value(this: Tensor) {
    return formatTensor(this);
  },
});
// console.log and the REPL print tensors the same way.
Object.defineProperty(Tensor.prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: Tensor) {
    return formatTensor(this);
  },
});
