import { isGradEnabled } from '../autograd/mode.js';
import { checkOptions, describe, fail, fmtShape } from '../errors.js';
import { contiguousStrides, normAxis, type Shape, sameShape, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { defineOp, empty, kernels, tensorArg } from './op.js';

/** A contiguous copy (or the tensor itself when already contiguous). */
export function contiguous(x: Tensor): Tensor {
  return x.isContiguous() ? x : copyOp([x], undefined);
}

/** A copy that owns its storage (like `clone()`), differentiable. */
export function clone(x: Tensor): Tensor {
  return copyOp([x], undefined);
}

const copyOp = defineOp({
  name: 'copy',
  forward: ([x]) => {
    const out = empty(x!.shape, x!.dtype);
    kernels().copy(out, x!);
    return out;
  },
  vjp: (g) => [g],
});

/**
 * Strides that view x's storage with a new shape, or null when its layout does not allow it: x's axes
 * are grouped into chunks that are contiguous among themselves, and each chunk must map onto whole
 * axes of the new shape.
 */
function viewStrides(x: Tensor, shape: readonly number[]): number[] | null {
  if (x.isContiguous() || x.size === 0 || x.rank === 0) return contiguousStrides(shape);
  const strides = new Array<number>(shape.length);
  let j = shape.length - 1;
  let base = x.strides[x.rank - 1]!;
  let chunk = 1;
  let viewed = 1;
  for (let i = x.rank - 1; i >= 0; i--) {
    chunk *= x.shape[i]!;
    const chunkEnds = i === 0 || (x.shape[i - 1] !== 1 && x.strides[i - 1] !== chunk * base);
    if (!chunkEnds) continue;
    while (j >= 0 && (viewed < chunk || shape[j] === 1)) {
      strides[j] = viewed * base;
      viewed *= shape[j]!;
      j--;
    }
    if (viewed !== chunk) return null;
    if (i > 0) {
      base = x.strides[i - 1]!;
      chunk = 1;
      viewed = 1;
    }
  }
  return j === -1 ? strides : null;
}

const reshapeOp = defineOp({
  name: 'reshape',
  forward: ([x], shape) => {
    const strides = viewStrides(x!, shape);
    if (strides) return new Tensor(x!.data, shape, strides, x!.offset);
    const c = empty(x!.shape, x!.dtype);
    kernels().copy(c, x!);
    return new Tensor(c.data, shape);
  },
  vjp: (g, { inputs: [x] }) => [g.reshape(x!.shape)],
});

/**
 * A tensor with the same elements in a new shape (one size may be -1, inferred); a view whenever the
 * strides allow, else a copy. {@link view} is the same but never copies.
 *
 *     reshape(arange(6), [2, -1]); // shape [2, 3]
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = targetShape('reshape', x, shape);
  return sameShape(s, x.shape) ? x : reshapeOp([x], s);
}

/**
 * PyTorch's `view`: the same elements in a new shape (one size may be -1, inferred), always sharing
 * x's storage. It fails where x's layout cannot be read in the new shape without a copy (merging the
 * axes of a transpose, say); {@link reshape} copies there instead.
 *
 *     arange(12).view([3, -1]);       // shape [3, 4], the same storage
 *     arange(12).view(3, 4).T.view(12); // fails: use reshape, which copies
 */
export function view(x: Tensor, shape: Shape): Tensor {
  const s = targetShape('view', x, shape);
  if (!viewStrides(x, s)) {
    fail(
      'view',
      `a tensor of shape ${fmtShape(x.shape)} with strides ${fmtShape(x.strides)} cannot be viewed as ${fmtShape(s)}: its elements are not evenly spaced across the axes being merged (at least one spans two separate runs of memory); use reshape(), which copies when it must, or contiguous() first`,
    );
  }
  return sameShape(s, x.shape) ? x : reshapeOp([x], s);
}

/** A target shape for x with its -1 inferred, checked to hold exactly x's elements. */
function targetShape(op: string, x: Tensor, shape: Shape): number[] {
  if (!Array.isArray(shape))
    fail(op, `expected a shape (an array of sizes, such as [2, -1]), got ${describe(shape)}`);
  const s = [...shape];
  const unknown = s.indexOf(-1);
  if (s.some((d, i) => !Number.isInteger(d) || d < -1 || (d === -1 && i !== unknown))) {
    fail(
      op,
      `invalid target shape ${fmtShape(shape)}: sizes must be non-negative integers, with at most one -1`,
    );
  }
  if (unknown >= 0) {
    const known = sizeOf(s.filter((_, i) => i !== unknown));
    if (known === 0 || x.size % known !== 0) {
      fail(op, `cannot infer -1 in ${fmtShape(shape)} for a tensor of shape ${fmtShape(x.shape)}`);
    }
    s[unknown] = x.size / known;
  }
  if (sizeOf(s) !== x.size) {
    fail(op, `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(s)} (${sizeOf(s)})`);
  }
  return s;
}

const permuteOp = defineOp({
  name: 'permute',
  forward: ([x], axes) =>
    new Tensor(
      x!.data,
      axes.map((a) => x!.shape[a]!),
      axes.map((a) => x!.strides[a]!),
      x!.offset,
    ),
  vjp: (g, { attrs }) => {
    const inverse = new Array<number>(attrs.length);
    attrs.forEach((a, i) => {
      inverse[a] = i;
    });
    return [g.permute(inverse)];
  },
});

/** Reorders axes (a view). */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  if (axes.length !== x.rank)
    fail('permute', `expected ${x.rank} axes for shape ${fmtShape(x.shape)}, got [${axes}]`);
  const norm = axes.map((a) => normAxis('permute', a, x.rank));
  if (new Set(norm).size !== norm.length) fail('permute', `axes [${axes}] repeat an axis`);
  return norm.every((a, i) => a === i) ? x : permuteOp([x], norm);
}

/** Swaps two axes (the last two by default), a view. */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  if (x.rank < 2 && a === -2 && b === -1) return x;
  const axes = Array.from({ length: x.rank }, (_, i) => i);
  const i = normAxis('transpose', a, x.rank);
  const j = normAxis('transpose', b, x.rank);
  [axes[i], axes[j]] = [axes[j]!, axes[i]!];
  return permute(x, axes);
}

const expandOp = defineOp({
  name: 'expand',
  forward: ([x], shape) => {
    const lead = shape.length - x!.rank;
    const strides = shape.map((d, i) =>
      i < lead || (x!.shape[i - lead] === 1 && d !== 1) ? 0 : x!.strides[i - lead]!,
    );
    return new Tensor(x!.data, shape, strides, x!.offset);
  },
  // The engine sums a gradient down to its input's shape, which is exactly expand's VJP.
  vjp: (g) => [g],
});

/** Repeats size-1 axes (and adds leading ones) without copying; -1 keeps a size. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0) fail('expand', `cannot expand ${fmtShape(x.shape)} to fewer axes ${fmtShape(shape)}`);
  const s = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  s.forEach((d, i) => {
    const from = i >= lead ? x.shape[i - lead]! : 1;
    if (!Number.isInteger(d) || d < 0 || (from !== 1 && from !== d)) {
      fail('expand', `cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)} (axis ${i}: ${from} to ${d})`);
    }
  });
  return sameShape(s, x.shape) ? x : expandOp([x], s);
}

/** Removes size-1 axes (the given ones, or all). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const list =
    axes === undefined
      ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : [axes].flat().map((a) => normAxis('squeeze', a, x.rank));
  for (const a of list)
    if (x.shape[a] !== 1) fail('squeeze', `axis ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => !list.includes(i)),
  );
}

/** Inserts a size-1 axis at position `axis` of the result. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('unsqueeze', axis, x.rank + 1);
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Merges axes start..end into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const a = normAxis('flatten', start, x.rank);
  const b = normAxis('flatten', end, x.rank);
  if (a > b) fail('flatten', `start axis ${start} comes after end axis ${end}`);
  return reshape(x, [...x.shape.slice(0, a), sizeOf(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)]);
}

/**
 * Splits axis `axis` into several of the given sizes (one may be -1, inferred), the inverse of
 * {@link flatten}, as PyTorch's `unflatten`; a view whenever {@link reshape} is one.
 *
 *     unflatten(zeros([2, 12]), 1, [3, -1]); // shape [2, 3, 4]
 */
export function unflatten(x: Tensor, axis: number, sizes: readonly number[]): Tensor {
  const a = normAxis('unflatten', axis, x.rank);
  const d = x.shape[a]!;
  if (!Array.isArray(sizes) || sizes.length === 0)
    fail('unflatten', `expected a non-empty array of sizes for axis ${axis}, got ${describe(sizes)}`);
  const known = sizes.filter((n) => n !== -1);
  if (!known.every((n) => Number.isInteger(n) && n >= 0) || sizes.length - known.length > 1)
    fail('unflatten', `invalid sizes [${sizes}]: sizes must be non-negative integers, with at most one -1`);
  const product = sizeOf(known);
  const inferred = known.length < sizes.length && product > 0 && d % product === 0 ? d / product : null;
  const s = sizes.map((n) => (n === -1 ? (inferred ?? -1) : n));
  if (s.includes(-1) || sizeOf(s) !== d) {
    fail(
      'unflatten',
      `sizes [${sizes}] do not split axis ${axis} of ${fmtShape(x.shape)} (size ${d}): their product must be ${d}`,
    );
  }
  return reshape(x, [...x.shape.slice(0, a), ...s, ...x.shape.slice(a + 1)]);
}

/** One axis's part of a slice: [start, stop) by step, or a single index that removes the axis. */
export type SliceSpec =
  | number
  | null
  | { start?: number; stop?: number; step?: number }
  | readonly [number?, number?, number?];

export interface Range {
  start: number;
  length: number;
  step: number;
}

export interface SliceAttrs {
  ranges: Range[];
  dropped: number[];
}

function normRange(spec: SliceSpec, size: number, axis: number): Range & { drop: boolean } {
  if (spec === null || spec === undefined) return { start: 0, length: size, step: 1, drop: false };
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < -size || spec >= size) {
      fail('slice', `index ${spec} is out of range for axis ${axis} of size ${size}`);
    }
    return { start: spec < 0 ? spec + size : spec, length: 1, step: 1, drop: true };
  }
  const {
    start: s0,
    stop: e0,
    step: st,
  } = Array.isArray(spec)
    ? { start: spec[0], stop: spec[1], step: spec[2] }
    : (spec as { start?: number | null; stop?: number | null; step?: number | null });
  const step = st ?? 1;
  if (!Number.isInteger(step) || step <= 0)
    fail('slice', `step must be a positive integer, got ${step} on axis ${axis}`);
  const clampIdx = (v: number) => Math.min(size, Math.max(0, v < 0 ? v + size : v));
  const start = s0 == null ? 0 : clampIdx(s0);
  const stop = e0 == null ? size : clampIdx(e0);
  return { start, length: Math.max(0, Math.ceil((stop - start) / step)), step, drop: false };
}

function sliceView(x: Tensor, ranges: Range[]): Tensor {
  let offset = x.offset;
  ranges.forEach((r, i) => {
    if (r.length > 0) offset += r.start * x.strides[i]!;
  });
  return new Tensor(
    x.data,
    ranges.map((r) => r.length),
    ranges.map((r, i) => r.step * x.strides[i]!),
    offset,
  );
}

const sliceOp = defineOp({
  name: 'slice',
  forward: ([x], { ranges, dropped }) => {
    const v = sliceView(x!, ranges);
    return dropped.length
      ? new Tensor(
          v.data,
          v.shape.filter((_, i) => !dropped.includes(i)),
          v.strides.filter((_, i) => !dropped.includes(i)),
          v.offset,
        )
      : v;
  },
  // Restore dropped axes, then write the gradient into zeros of the input's shape.
  vjp: (g, { inputs: [x], attrs: { ranges } }) => [
    embed(g.reshape(ranges.map((r) => r.length)), x!.shape, ranges, 0),
  ],
});

/**
 * Basic indexing, one spec per leading axis (like `x[1:3, :, ::2]` or `x[0]`): a view.
 *
 *     x.slice([[1, 3], null, [undefined, undefined, 2]])
 */
export function slice(x: Tensor, specs: readonly SliceSpec[]): Tensor {
  if (specs.length > x.rank) fail('slice', `got ${specs.length} specs for a tensor of rank ${x.rank}`);
  const norm = x.shape.map((d, i) => normRange(i < specs.length ? specs[i]! : null, d, i));
  const dropped = norm.flatMap((r, i) => (r.drop ? [i] : []));
  if (!dropped.length && norm.every((r, i) => r.start === 0 && r.step === 1 && r.length === x.shape[i]))
    return x;
  return sliceOp([x], { ranges: norm.map(({ start, length, step }) => ({ start, length, step })), dropped });
}

/** `length` entries from `start` along one axis (a view). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis('narrow', axis, x.rank);
  if (start < 0 || length < 0 || start + length > x.shape[a]!) {
    fail('narrow', `range [${start}, ${start + length}) is outside axis ${a} of size ${x.shape[a]}`);
  }
  const specs: SliceSpec[] = x.shape.map(() => null);
  specs[a] = [start, start + length];
  return slice(x, specs);
}

/** Entry `index` of one axis, which is dropped (a view): PyTorch's select, x[:, i] for axis 1. */
export function select(x: Tensor, axis: number, index: number): Tensor {
  const a = normAxis('select', axis, x.rank);
  const size = x.shape[a]!;
  if (!Number.isInteger(index) || index < -size || index >= size)
    fail('select', `index ${index} is out of range for axis ${a} of size ${size}`);
  const specs: SliceSpec[] = x.shape.map(() => null);
  specs[a] = index;
  return slice(x, specs);
}

/** Where embed writes its input into a `fill`-filled tensor of `shape`. */
export interface EmbedAttrs {
  shape: number[];
  ranges: Range[];
  fill: number;
}

const embedOp = defineOp({
  name: 'embed',
  forward: ([x], { shape, ranges, fill }) => {
    const out = empty(shape, x!.dtype);
    out.data.fill(fill);
    kernels().copy(sliceView(out, ranges), x!);
    return out;
  },
  vjp: (g, { attrs }) => [sliceOp([g], { ranges: attrs.ranges, dropped: [] })],
});

/** A tensor of `shape` filled with `fill`, with x written into the region `ranges` (slice's inverse). */
function embed(x: Tensor, shape: readonly number[], ranges: Range[], fill: number): Tensor {
  return embedOp([x], { shape: [...shape], ranges, fill });
}

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Where output position i (from -before) reads along an axis of `size` in each non-constant mode. */
const PAD_SOURCE: Record<Exclude<PadMode, 'constant'>, (i: number, size: number) => number> = {
  // Mirrored about the edge element, which is not repeated: [a b c] → b | a b c | b.
  reflect: (i, size) => (i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i),
  replicate: (i, size) => Math.min(Math.max(i, 0), size - 1),
  circular: (i, size) => ((i % size) + size) % size,
};

/**
 * Pads the last axes, PyTorch's F.pad. `widths` is either [before, after] pairs for the last axes,
 * innermost last (`pad(x, [[1, 1], [2, 2]])` pads an image's height by 1 and width by 2), or PyTorch's
 * flat list, last axis first (`pad(x, [2, 2, 1, 1])`, the same). The mode: `constant` (with `value`,
 * default 0), `reflect` (mirrored without repeating the edge; widths below the axis size),
 * `replicate` (the edge repeated) or `circular` (wrapped around; widths at most the axis size). Every
 * mode is differentiable: the non-constant ones gather, so the gradient sums back onto the sources.
 *
 *     pad(x, [1, 1], { mode: 'reflect' }); // [1, 2, 3] → [2, 1, 2, 3, 2]
 */
export function pad(
  x: Tensor,
  widths: readonly (readonly [number, number])[] | readonly number[],
  options: number | { mode?: PadMode; value?: number } = 0,
): Tensor {
  const { mode = 'constant', value = 0 } =
    typeof options === 'number'
      ? { value: options }
      : checkOptions('pad', options, ['mode', 'value'], "pad(x, widths, { mode: 'reflect' })");
  const pairs = toPairs(widths);
  if (pairs.length > x.rank)
    fail('pad', `got widths for ${pairs.length} axes but the tensor has rank ${x.rank}`);
  const lead = x.rank - pairs.length;
  pairs.forEach(([before, after], k) => {
    if (![before, after].every((w) => Number.isInteger(w) && w >= 0)) {
      fail('pad', `widths must be non-negative integers, got [${before}, ${after}] for axis ${lead + k}`);
    }
  });
  if (mode === 'constant') {
    const shape = [...x.shape];
    const ranges: Range[] = x.shape.map((d) => ({ start: 0, length: d, step: 1 }));
    pairs.forEach(([before, after], k) => {
      shape[lead + k] = x.shape[lead + k]! + before + after;
      ranges[lead + k]!.start = before;
    });
    return embed(x, shape, ranges, value);
  }
  const source = PAD_SOURCE[mode];
  if (!source)
    fail('pad', `mode must be 'constant', 'reflect', 'replicate' or 'circular', got ${describe(mode)}`);
  if (value !== 0) fail('pad', `a value pads only in mode 'constant', not '${mode}'`);
  let out = x;
  pairs.forEach(([before, after], k) => {
    const axis = lead + k;
    const size = x.shape[axis]!;
    const limit = mode === 'reflect' ? size - 1 : mode === 'circular' ? size : Infinity;
    if (size === 0 || before > limit || after > limit) {
      fail(
        'pad',
        `${mode} padding of [${before}, ${after}] does not fit axis ${axis} of size ${size} in ${fmtShape(x.shape)}${mode === 'reflect' ? ' (each width must be below the size)' : mode === 'circular' ? ' (each width at most the size)' : ''}`,
      );
    }
    if (before === 0 && after === 0) return;
    const index = Int32Array.from({ length: size + before + after }, (_, i) => source(i - before, size));
    out = out.indexSelect(axis, new Tensor(index, [index.length]));
  });
  return out;
}

/** PyTorch's flat widths (last axis first) as [before, after] pairs, innermost last. */
function toPairs(
  widths: readonly (readonly [number, number])[] | readonly number[],
): (readonly [number, number])[] {
  if (!widths.every((w) => typeof w === 'number'))
    return [...(widths as readonly (readonly [number, number])[])];
  const flat = widths as readonly number[];
  if (flat.length % 2 !== 0) fail('pad', `a flat list of widths has two per axis, got ${flat.length}`);
  const pairs: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.unshift([flat[i]!, flat[i + 1]!]);
  return pairs;
}

/** Joins tensors along an existing axis. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0)
    fail('concat', `expected a non-empty array of tensors, got ${describe(tensors)}`);
  for (const t of tensors) tensorArg('concat', t, 'tensors');
  const first = tensors[0]!;
  const a = normAxis('concat', axis, first.rank);
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      fail('concat', `shapes ${tensors.map((u) => fmtShape(u.shape)).join(', ')} differ outside axis ${a}`);
    }
    if (t.dtype !== first.dtype) fail('concat', `dtypes differ: ${first.dtype} and ${t.dtype}`);
  }
  return tensors.length === 1 ? first : concatOp(tensors, a);
}

const concatOp = defineOp({
  name: 'concat',
  forward: (inputs, axis) => {
    const shape = [...inputs[0]!.shape];
    shape[axis] = inputs.reduce((n, t) => n + t.shape[axis]!, 0);
    const out = empty(shape, inputs[0]!.dtype);
    let at = 0;
    for (const t of inputs) {
      kernels().copy(narrowRaw(out, axis, at, t.shape[axis]!), t);
      at += t.shape[axis]!;
    }
    return out;
  },
  vjp: (g, { inputs, attrs: axis }) => {
    let at = 0;
    return inputs.map((t) => {
      const part = narrow(g, axis, at, t.shape[axis]!);
      at += t.shape[axis]!;
      return part;
    });
  },
});

function narrowRaw(x: Tensor, axis: number, start: number, length: number): Tensor {
  return sliceView(
    x,
    x.shape.map((d, i) => (i === axis ? { start, length, step: 1 } : { start: 0, length: d, step: 1 })),
  );
}

/** Joins tensors of one shape along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0)
    fail('stack', `expected a non-empty array of tensors, got ${describe(tensors)}`);
  for (const t of tensors) tensorArg('stack', t, 'tensors');
  const first = tensors[0]!;
  for (const t of tensors) {
    if (!sameShape(t.shape, first.shape))
      fail('stack', `all shapes must match, got ${tensors.map((u) => fmtShape(u.shape)).join(', ')}`);
  }
  const a = normAxis('stack', axis, first.rank + 1);
  return concat(
    tensors.map((t) => unsqueeze(t, a)),
    a,
  );
}

/** Splits along an axis into pieces of the given sizes, or into pieces of one size (the last may be smaller). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis('split', axis, x.rank);
  const d = x.shape[a]!;
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0)
      fail('split', `piece size must be a positive integer, got ${sizes}`);
    list = Array.from({ length: Math.ceil(d / sizes) }, (_, i) => Math.min(sizes, d - i * sizes));
  } else {
    list = [...sizes];
    if (list.reduce((s, v) => s + v, 0) !== d)
      fail('split', `sizes [${list}] do not add up to ${d}, the size of axis ${a}`);
  }
  let at = 0;
  return list.map((n) => {
    const part = narrow(x, a, at, n);
    at += n;
    return part;
  });
}

/** Copies src into x's storage in place (through x's strides), with broadcasting; not recorded. */
export function copyInto(x: Tensor, src: Tensor): Tensor {
  tensorArg('copy_', src, 'a source Tensor');
  if (x.requiresGrad && !x.isLeaf) fail('copy_', 'cannot write in place into a tensor recorded on the tape');
  if (x.requiresGrad && isGradEnabled()) {
    fail(
      'copy_',
      'cannot write in place into a tensor that requires gradients while recording; wrap the update in noGrad()',
    );
  }
  // A source sharing x's storage is copied first, so overlapping regions read their old values.
  const b = expand(src.data === x.data ? src.clone() : src, x.shape);
  kernels().copy(x, b);
  return x;
}
