import { fail, fmtShape } from '../errors.js';
import { zerosLike } from '../tensor/creation.js';
import { normAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { defineOp, empty, kernels, tensorArg } from './op.js';

function checkIndex(op: string, index: Tensor): void {
  tensorArg(op, index, 'an int32 index Tensor');
  if (index.dtype !== 'int32') fail(op, `index must be an int32 tensor, got ${index.dtype}`);
}

const gatherOp = defineOp({
  name: 'gather',
  forward: ([x, index], axis) => {
    const out = empty(index!.shape, x!.dtype);
    kernels().gather(out, x!, axis, index!);
    return out;
  },
  vjp: (g, { inputs: [x, index], attrs: axis }) => [scatterAdd(zerosLike(x!), axis, index!, g), null],
});

/** torch.gather: out[i][j] = x[index[i][j]][j] for axis 0 (and so on); out has index's shape. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  checkIndex('gather', index);
  const a = normAxis('gather', axis, x.rank);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== a && d > x.shape[i]!)) {
    fail(
      'gather',
      `index of shape ${fmtShape(index.shape)} does not fit input ${fmtShape(x.shape)} along axis ${a}`,
    );
  }
  return gatherOp([x, index], a);
}

const scatterAddOp = defineOp({
  name: 'scatterAdd',
  forward: ([x, index, src], axis) => {
    const out = empty(x!.shape, x!.dtype);
    kernels().copy(out, x!);
    kernels().scatterAdd(out, axis, index!, src!);
    return out;
  },
  vjp: (g, { inputs: [, index, src], attrs: axis }) => [
    g,
    null,
    src!.requiresGrad ? gather(g, axis, index!) : null,
  ],
});

/** x with src added at the positions index names along axis (torch.scatter_add, out of place). */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  checkIndex('scatterAdd', index);
  tensorArg('scatterAdd', src, 'a source Tensor');
  const a = normAxis('scatterAdd', axis, x.rank);
  if (
    index.rank !== x.rank ||
    src.rank !== x.rank ||
    index.shape.some((d, i) => d > src.shape[i]! || (i !== a && d > x.shape[i]!))
  ) {
    fail(
      'scatterAdd',
      `index ${fmtShape(index.shape)} and src ${fmtShape(src.shape)} do not fit x ${fmtShape(x.shape)} along axis ${a}`,
    );
  }
  const s = index.shape.every((d, i) => d === src.shape[i])
    ? src
    : src.slice(index.shape.map((d) => [0, d] as const));
  return scatterAddOp([x, index, s.dtype === x.dtype ? s : s.cast(x.dtype)], a);
}

/** Entries along one axis picked by a 1-D int32 index (like torch.index_select). */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  checkIndex('indexSelect', index);
  if (index.rank !== 1) fail('indexSelect', `index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const a = normAxis('indexSelect', axis, x.rank);
  const shape = x.shape.map((d, i) => (i === a ? index.shape[0]! : d));
  const idx = index.reshape(x.shape.map((_, i) => (i === a ? index.shape[0]! : 1))).expand(shape);
  return gather(x, a, idx);
}

/** Class indices (int32, any shape) to one-hot float32 vectors along a new last axis. */
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  checkIndex('oneHot', labels);
  if (!Number.isInteger(numClasses) || numClasses <= 0)
    fail('oneHot', `numClasses must be a positive integer, got ${numClasses}`);
  const flat = labels.toTypedArray();
  const out = empty([...labels.shape, numClasses], 'float32');
  out.data.fill(0);
  flat.forEach((c, i) => {
    if (c < 0 || c >= numClasses) fail('oneHot', `class index ${c} is out of range [0, ${numClasses})`);
    out.data[i * numClasses + c] = 1;
  });
  return out;
}
