/** The element types of tensor storage. */
export type DType = 'float32' | 'float64' | 'int32';
export type TypedArray = Float32Array | Float64Array | Int32Array;

/**
 * A strided window onto a typed array: what every kernel reads and writes. Element (i0, i1, ...) lives at
 * data[offset + i0*strides[0] + i1*strides[1] + ...]. A stride of 0 repeats an element (broadcasting).
 */
export interface View {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'abs',
  'sign',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'erf',
  'log1p',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export type ReduceOp = 'sum' | 'max' | 'min';

/**
 * A sliding window over the d spatial axes (d = 1, 2 or 3) that follow [N, C]: per axis its size, the
 * step between windows, the padding on each side, and the spacing of its taps (dilation).
 */
export interface Window {
  kernel: readonly number[];
  stride: readonly number[];
  padding: readonly number[];
  dilation: readonly number[];
}

/** How many windows fit along one axis (PyTorch's formula, floor mode): kernels and callers agree on it. */
export function windowCount(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}
export type ArgReduceOp = 'argmax' | 'argmin';

/**
 * The kernels a backend must provide. Everything else in Strata is composed from them. Outputs are
 * allocated by the caller (typed arrays belong to JavaScript) and are contiguous unless a kernel says
 * otherwise; inputs may have any strides. Shapes are validated before a kernel is called.
 */
export interface Kernels {
  /** out[i] = x[i] for two views of one shape, converting dtype; `out` may be strided (in-place writes). */
  copy(out: View, x: View): void;
  /** out = op(x), elementwise. */
  unary(op: UnaryOp, out: View, x: View): void;
  /** out = op(a, b), elementwise; a and b have out's shape already (broadcast axes have stride 0). */
  binary(op: BinaryOp, out: View, a: View, b: View): void;
  /** out = cond != 0 ? a : b; all three have out's shape already. */
  where(out: View, cond: View, a: View, b: View): void;
  /** Reduces x over `axes`; out has x's shape with those axes set to 1. */
  reduce(op: ReduceOp, out: View, x: View, axes: readonly number[]): void;
  /** Index (int32) of the first maximum/minimum along `axis`; out has x's shape with that axis set to 1. */
  argReduce(op: ArgReduceOp, out: View, x: View, axis: number): void;
  /** out[..., m, n] = sum_k a[..., m, k] * b[..., k, n]; batch axes are equal (broadcast already). */
  matmul(out: View, a: View, b: View): void;
  /** torch.gather: out[.., i, ..] = x[.., index[.., i, ..], ..] along `axis`; out has index's shape. */
  gather(out: View, x: View, axis: number, index: View): void;
  /** out[.., index[.., i, ..], ..] += src[.., i, ..] along `axis`; src has index's shape. */
  scatterAdd(out: View, axis: number, index: View, src: View): void;
  /**
   * im2col: x [N, C, ...S] to out [N, C, K, L], where K counts the window's taps (row-major over the
   * kernel) and L the window positions (row-major over the output); taps that fall in the padding read
   * `padValue`.
   */
  unfold(out: View, x: View, window: Window, padValue: number): void;
  /**
   * Max pooling of x [N, C, ...S] into out [N, C, ...L], with argmax (int32, same shape) the flat
   * position within the input plane of each window's first largest tap; a NaN beats any number, and taps
   * in the padding are skipped (the caller keeps the padding at most half the kernel).
   */
  maxPool(out: View, argmax: View, x: View, window: Window): void;
  /** col2im, unfold's adjoint: out [N, C, ...S] = the sum of cols [N, C, K, L] over the taps that read each element. */
  fold(out: View, cols: View, window: Window): void;
}

export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW's decoupled decay (p *= 1 - lr·λ) instead of L2 added to the gradient. */
  decoupled: boolean;
  amsgrad: boolean;
}

/**
 * Optional fast paths below autograd: a fused forward for a composite op, and one-pass optimizer
 * updates over float32 storage. A backend without one gets the composition (src/optim/updates.ts for
 * the updates), which computes the same values.
 */
export interface FusedKernels {
  /** out = x - logsumexp(x) along the last axis, for contiguous x and out. */
  logSoftmax(out: View, x: View): void;
  /** Its backward from its output y: dx = g - exp(y) · Σ g along the last axis, all three contiguous. */
  logSoftmaxBackward(dx: View, g: View, y: View): void;
  /** out = x wᵀ + b, then ReLU when asked: x [n, k], w [o, k], b [o] or null, out [n, o] contiguous. */
  linear(out: View, x: View, w: View, bias: View | null, relu: boolean): void;
  /**
   * Convolution: y [N, O, ...L] = x [N, C, ...S] cross-correlated with w [O, C/groups, ...k] over
   * `window`, plus bias [O] when given, then ReLU when asked. y, w and bias are contiguous; x may be
   * strided.
   */
  conv(y: View, x: View, w: View, bias: View | null, relu: boolean, window: Window, groups: number): void;
  /** conv's gradient with respect to x: dx [N, C, ...S] (contiguous) from dy and w (both contiguous). */
  convBackwardInput(dx: View, dy: View, w: View, window: Window, groups: number): void;
  /** conv's gradient with respect to w: dw [O, C/groups, ...k] (contiguous) from x and dy (contiguous). */
  convBackwardWeight(dw: View, x: View, dy: View, window: Window, groups: number): void;
  /**
   * The pointwise half of an LSTM step from the projections xw, hw [..., 4H] (gates i, f, g, o) and the
   * cell c [..., H]: out [2, ..., H] holds h' then c'. All contiguous.
   */
  lstmCell(out: View, xw: View, hw: View, c: View): void;
  /** lstmCell's gradients from grad [2, ..., H] (h' then c'): dGates [..., 4H] (xw's and hw's) and dc. */
  lstmCellBackward(dGates: View, dc: View, xw: View, hw: View, c: View, out: View, grad: View): void;
  /** The pointwise half of a GRU step (gates r, z, n): out [..., H] = h' from xw, hw [..., 3H] and h. */
  gruCell(out: View, xw: View, hw: View, h: View): void;
  /** gruCell's gradients from grad [..., H]: dxw, dhw [..., 3H] and dh [..., H]. */
  gruCellBackward(dxw: View, dhw: View, dh: View, xw: View, hw: View, h: View, grad: View): void;
  /**
   * Scaled dot-product attention out = softmax(q kᵀ · scale + mask) v, without the [B, L, S] scores:
   * q [B, L, E], k [B, S, E], v [B, S, Ev] and mask [B, L, S] (additive, broadcast axes with stride 0)
   * or null, with any strides; with `causal` the keys after each query are masked. Writes out
   * [B, L, Ev] and each row's logsumexp lse [B, L] (contiguous); a row that attends to nothing is NaN,
   * with lse -∞.
   */
  attention(
    out: View,
    lse: View,
    q: View,
    k: View,
    v: View,
    mask: View | null,
    scale: number,
    causal: boolean,
  ): void;
  /**
   * attention's gradients dq, dk, dv (contiguous) from its operands, out, lse and dout (any strides).
   * With `boolMask` the mask's -∞ entries pass no gradient (a boolean mask's where()).
   */
  attentionBackward(
    dq: View,
    dk: View,
    dv: View,
    q: View,
    k: View,
    v: View,
    out: View,
    lse: View,
    dout: View,
    mask: View | null,
    scale: number,
    causal: boolean,
    boolMask: boolean,
  ): void;
  sgdUpdate(p: Float32Array, g: Float32Array, buf: Float32Array | null, h: SgdHyper, first: boolean): void;
  adamUpdate(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vMax: Float32Array | null,
    h: AdamHyper,
    step: number,
  ): void;
}

/**
 * The precision of float32 matrix products: float32 throughout, or bf16 — each operand rounded to
 * bfloat16 (to nearest even, NaN kept), the products summed and the bias and ReLU applied in float32.
 */
export type MatmulPrecision = 'float32' | 'bf16';

export interface Backend extends Kernels {
  readonly name: string;
  readonly fused?: Partial<FusedKernels>;
  /** One line on what the backend runs on (BLAS library, threads), for `strata info`. */
  describe(): string;
  /**
   * Sets the precision of the float32 products (matmul, linear, the convolutions' passes) that this
   * thread's kernels start from now on; float64 products are unaffected. Returns '' when done, else why
   * not in words a user can act on (this CPU cannot), the setting left as it was. Absent where the
   * backend's products are float32 only.
   */
  setMatmulPrecision?(precision: MatmulPrecision): string;
  /** One line on the precisions its float32 products can run in, and how, for `strata info`. */
  describePrecisions?(): string;
}
