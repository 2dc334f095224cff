import { type BackwardOptions, backward } from '../autograd/engine.js';
import { describe, fail, fmtShape } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import * as ew from './elementwise.js';
import * as fn from './functional.js';
import * as ix from './indexing.js';
import * as la from './linalg.js';
import * as mv from './movement.js';
import type { TensorLike } from './op.js';
import * as rd from './reduce.js';

/**
 * Method syntax for the ops (`x.add(y).relu()`), installed on Tensor here so that tensor/ stays below
 * ops/ in the layering. Every method is the function of the same name in ops/.
 */
declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: TensorLike): Tensor;
    sub(other: TensorLike): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    pow(other: TensorLike): Tensor;
    maximum(other: TensorLike): Tensor;
    minimum(other: TensorLike): Tensor;
    eq(other: TensorLike): Tensor;
    ne(other: TensorLike): Tensor;
    lt(other: TensorLike): Tensor;
    le(other: TensorLike): Tensor;
    gt(other: TensorLike): Tensor;
    ge(other: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    erf(): Tensor;
    log1p(): Tensor;
    square(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    sum(axes?: rd.Axes, keepDims?: boolean): Tensor;
    mean(axes?: rd.Axes, keepDims?: boolean): Tensor;
    max(axes?: rd.Axes, keepDims?: boolean): Tensor;
    min(axes?: rd.Axes, keepDims?: boolean): Tensor;
    var(axes?: rd.Axes, opts?: { correction?: number; keepDims?: boolean }): Tensor;
    std(axes?: rd.Axes, opts?: { correction?: number; keepDims?: boolean }): Tensor;
    logsumexp(axes?: rd.Axes, keepDims?: boolean): Tensor;
    argmax(axis?: number, keepDims?: boolean): Tensor;
    argmin(axis?: number, keepDims?: boolean): Tensor;
    matmul(other: Tensor): Tensor;
    /**
     * The same elements in a new shape, given as an array or as sizes (`x.reshape(-1, 784)`); one
     * size may be -1. A view when the strides allow, else a copy.
     */
    reshape(shape: Shape): Tensor;
    reshape(...shape: number[]): Tensor;
    /**
     * PyTorch's `view`: {@link reshape} that never copies, failing (and suggesting reshape) where the
     * layout does not allow a view. The shape is an array or sizes: `x.view(-1, 784)`.
     */
    view(shape: Shape): Tensor;
    view(...shape: number[]): Tensor;
    /** Splits one axis into several sizes (one may be -1): `zeros([2, 12]).unflatten(1, [3, 4])`. */
    unflatten(axis: number, sizes: readonly number[]): Tensor;
    /**
     * The transpose of a matrix (a view); a 0-d or 1-d tensor is returned as it is. Higher ranks are
     * refused, as PyTorch is deprecating them: use {@link mT} or {@link permute}.
     *
     *     const x = tensor([[1, 2], [3, 4]]);
     *     x.T.matmul(x).tolist(); // [[10, 14], [14, 20]]
     */
    readonly T: Tensor;
    /**
     * The last two axes swapped (a batch of matrices transposed; a view), PyTorch's `mT`.
     *
     *     zeros([5, 2, 3]).mT.shape; // [5, 3, 2]
     */
    readonly mT: Tensor;
    permute(axes: readonly number[]): Tensor;
    transpose(a?: number, b?: number): Tensor;
    expand(shape: Shape): Tensor;
    squeeze(axes?: number | readonly number[]): Tensor;
    unsqueeze(axis: number): Tensor;
    flatten(start?: number, end?: number): Tensor;
    slice(specs: readonly mv.SliceSpec[]): Tensor;
    narrow(axis: number, start: number, length: number): Tensor;
    select(axis: number, index: number): Tensor;
    pad(widths: readonly (readonly [number, number])[], value?: number): Tensor;
    split(sizes: number | readonly number[], axis?: number): Tensor[];
    contiguous(): Tensor;
    clone(): Tensor;
    cast(dtype: DType): Tensor;
    gather(axis: number, index: Tensor): Tensor;
    scatterAdd(axis: number, index: Tensor, src: Tensor): Tensor;
    indexSelect(axis: number, index: Tensor): Tensor;
    /** A tensor sharing storage that the tape does not track. */
    detach(): Tensor;
    /** Copies src (broadcast) into this tensor's storage in place; not recorded on the tape. */
    copy_(src: Tensor): Tensor;
    /** Accumulates gradients into `.grad` of the leaves this tensor depends on. */
    backward(gradient?: Tensor, opts?: BackwardOptions): void;
  }
}

const methods: { [K in keyof Tensor]?: (this: Tensor, ...args: never[]) => unknown } = {
  add(o: TensorLike) {
    return ew.add(this, o);
  },
  sub(o: TensorLike) {
    return ew.sub(this, o);
  },
  mul(o: TensorLike) {
    return ew.mul(this, o);
  },
  div(o: TensorLike) {
    return ew.div(this, o);
  },
  pow(o: TensorLike) {
    return ew.pow(this, o);
  },
  maximum(o: TensorLike) {
    return ew.maximum(this, o);
  },
  minimum(o: TensorLike) {
    return ew.minimum(this, o);
  },
  eq(o: TensorLike) {
    return ew.eq(this, o);
  },
  ne(o: TensorLike) {
    return ew.ne(this, o);
  },
  lt(o: TensorLike) {
    return ew.lt(this, o);
  },
  le(o: TensorLike) {
    return ew.le(this, o);
  },
  gt(o: TensorLike) {
    return ew.gt(this, o);
  },
  ge(o: TensorLike) {
    return ew.ge(this, o);
  },
  neg() {
    return ew.neg(this);
  },
  exp() {
    return ew.exp(this);
  },
  log() {
    return ew.log(this);
  },
  sqrt() {
    return ew.sqrt(this);
  },
  abs() {
    return ew.abs(this);
  },
  sign() {
    return ew.sign(this);
  },
  sin() {
    return ew.sin(this);
  },
  cos() {
    return ew.cos(this);
  },
  tanh() {
    return ew.tanh(this);
  },
  sigmoid() {
    return ew.sigmoid(this);
  },
  relu() {
    return ew.relu(this);
  },
  erf() {
    return ew.erf(this);
  },
  log1p() {
    return ew.log1p(this);
  },
  square() {
    return ew.mul(this, this);
  },
  clamp(min?: number, max?: number) {
    return ew.clamp(this, min, max);
  },
  softmax(axis?: number) {
    return fn.softmax(this, axis);
  },
  logSoftmax(axis?: number) {
    return fn.logSoftmax(this, axis);
  },
  sum(axes?: rd.Axes, keep?: boolean) {
    return rd.sum(this, axes, keep);
  },
  mean(axes?: rd.Axes, keep?: boolean) {
    return rd.mean(this, axes, keep);
  },
  max(axes?: rd.Axes, keep?: boolean) {
    return rd.max(this, axes, keep);
  },
  min(axes?: rd.Axes, keep?: boolean) {
    return rd.min(this, axes, keep);
  },
  var(axes?: rd.Axes, opts?: { correction?: number; keepDims?: boolean }) {
    return rd.variance(this, axes, opts);
  },
  std(axes?: rd.Axes, opts?: { correction?: number; keepDims?: boolean }) {
    return rd.std(this, axes, opts);
  },
  logsumexp(axes?: rd.Axes, keep?: boolean) {
    return rd.logsumexp(this, axes, keep);
  },
  argmax(axis?: number, keep?: boolean) {
    return rd.argmax(this, axis, keep);
  },
  argmin(axis?: number, keep?: boolean) {
    return rd.argmin(this, axis, keep);
  },
  matmul(o: Tensor) {
    return la.matmul(this, o);
  },
  reshape(...shape: (number | Shape)[]) {
    return mv.reshape(this, shapeArgs('reshape', shape));
  },
  view(...shape: (number | Shape)[]) {
    return mv.view(this, shapeArgs('view', shape));
  },
  unflatten(axis: number, sizes: readonly number[]) {
    return mv.unflatten(this, axis, sizes);
  },
  permute(axes: readonly number[]) {
    return mv.permute(this, axes);
  },
  transpose(a?: number, b?: number) {
    return mv.transpose(this, a, b);
  },
  expand(shape: Shape) {
    return mv.expand(this, shape);
  },
  squeeze(axes?: number | readonly number[]) {
    return mv.squeeze(this, axes);
  },
  unsqueeze(axis: number) {
    return mv.unsqueeze(this, axis);
  },
  flatten(start?: number, end?: number) {
    return mv.flatten(this, start, end);
  },
  slice(specs: readonly mv.SliceSpec[]) {
    return mv.slice(this, specs);
  },
  narrow(axis: number, start: number, length: number) {
    return mv.narrow(this, axis, start, length);
  },
  select(axis: number, index: number) {
    return mv.select(this, axis, index);
  },
  pad(widths: readonly (readonly [number, number])[], value?: number) {
    return mv.pad(this, widths, value);
  },
  split(sizes: number | readonly number[], axis?: number) {
    return mv.split(this, sizes, axis);
  },
  contiguous() {
    return mv.contiguous(this);
  },
  clone() {
    return mv.clone(this);
  },
  cast(dtype: DType) {
    return ew.cast(this, dtype);
  },
  gather(axis: number, index: Tensor) {
    return ix.gather(this, axis, index);
  },
  scatterAdd(axis: number, index: Tensor, src: Tensor) {
    return ix.scatterAdd(this, axis, index, src);
  },
  indexSelect(axis: number, index: Tensor) {
    return ix.indexSelect(this, axis, index);
  },
  detach() {
    return new Tensor(this.data, this.shape, this.strides, this.offset);
  },
  copy_(src: Tensor) {
    return mv.copyInto(this, src);
  },
  backward(gradient?: Tensor, opts?: BackwardOptions) {
    backward(this, gradient, opts);
  },
};

for (const [name, f] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: f, writable: true, configurable: true });
}

const getters: { [K in 'T' | 'mT']: (this: Tensor) => Tensor } = {
  T() {
    if (this.rank > 2)
      fail(
        'T',
        `x.T transposes a matrix, but this tensor has shape ${fmtShape(this.shape)}; use x.mT to swap the last two axes, or x.permute([...]) to reorder them all`,
      );
    return mv.transpose(this);
  },
  mT() {
    if (this.rank < 2)
      fail(
        'mT',
        `expected a tensor of at least 2 axes (a batch of matrices), got shape ${fmtShape(this.shape)}`,
      );
    return mv.transpose(this, -2, -1);
  },
};

for (const [name, get] of Object.entries(getters)) {
  Object.defineProperty(Tensor.prototype, name, { get, configurable: true });
}

/** A shape passed to a method as one array (`[2, 3]`) or as sizes (`2, 3`), PyTorch's two forms. */
function shapeArgs(op: string, args: readonly (number | Shape)[]): Shape {
  if (args.length === 1 && Array.isArray(args[0])) return args[0];
  if (args.length > 0 && args.every((a) => typeof a === 'number')) return args as number[];
  return fail(
    op,
    `expected a shape as one array or as sizes (x.${op}([2, -1]) or x.${op}(2, -1)), got ${args.length ? args.map(describe).join(', ') : 'nothing'}`,
  );
}
