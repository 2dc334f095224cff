import { getBackend } from '../backend/registry.js';
import { fail, fmtShape } from '../errors.js';
import { promote } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { cast, where } from './elementwise.js';
import { broadcastView, defineOp, empty, kernels, tensorArg } from './op.js';

const matmulOp = defineOp({
  name: 'matmul',
  forward: ([a, b]) => {
    const batch = broadcastShapes('matmul', a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    const [M, K] = a!.shape.slice(-2) as [number, number];
    const N = b!.shape[b!.rank - 1]!;
    const dtype = promote(a!.dtype, b!.dtype);
    const out = empty([...batch, M, N], dtype);
    const av = broadcastView(cast(a!, dtype), [...batch, M, K]);
    kernels().matmul(out, av, broadcastView(cast(b!, dtype), [...batch, K, N]));
    return out;
  },
  // Batch axes that were broadcast are summed back by the engine.
  vjp: (g, { inputs: [a, b] }) => [
    a!.requiresGrad ? g.matmul(b!.transpose()) : null,
    b!.requiresGrad ? a!.transpose().matmul(g) : null,
  ],
});

/**
 * Matrix product with NumPy's rules: [..., m, k] @ [..., k, n] -> [..., m, n] with broadcast batch axes;
 * a 1-D operand is a row (left) or column (right) vector whose axis is removed from the result.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  tensorArg('matmul', a);
  tensorArg('matmul', b);
  if (a.rank === 0 || b.rank === 0)
    fail('matmul', `both operands need at least one axis, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  // PyTorch refuses mixed dtypes here ("expected scalar type Float but found Double") rather than promote.
  if (a.dtype !== b.dtype)
    fail(
      'matmul',
      `a is ${a.dtype} but b is ${b.dtype}; convert one to the other's dtype, e.g. b.cast('${a.dtype}')`,
    );
  const a2 = a.rank === 1 ? a.reshape([1, a.shape[0]!]) : a;
  const b2 = b.rank === 1 ? b.reshape([b.shape[0]!, 1]) : b;
  const k1 = a2.shape[a2.rank - 1]!;
  const k2 = b2.shape[b2.rank - 2]!;
  if (k1 !== k2) {
    fail(
      'matmul',
      `inner dimensions differ: a is ${fmtShape(a.shape)}, b is ${fmtShape(b.shape)} (${k1} ≠ ${k2})`,
    );
  }
  let y = matmulOp([a2, b2], undefined);
  if (a.rank === 1) y = y.squeeze(-2);
  if (b.rank === 1) y = y.squeeze(-1);
  return y;
}

export type LinearActivation = 'none' | 'relu';

const linearOp = defineOp({
  name: 'linear',
  forward: ([x, w, b], activation) => {
    const fused = getBackend().fused?.linear;
    if (fused && x!.dtype !== 'int32' && x!.dtype === w!.dtype && (!b || b.dtype === x!.dtype)) {
      const out = empty([x!.shape[0]!, w!.shape[0]!], x!.dtype);
      fused(out, x!, w!, b ?? null, activation === 'relu');
      return out;
    }
    const y = b ? x!.matmul(w!.transpose()).add(b) : x!.matmul(w!.transpose());
    return activation === 'relu' ? y.relu() : y;
  },
  vjp: (g, { inputs: [x, w, b], output, attrs: activation }) => {
    const gy = activation === 'relu' ? where(output.gt(0), g, 0) : g;
    return [
      x!.requiresGrad ? gy.matmul(w!) : null,
      w!.requiresGrad ? gy.transpose().matmul(x!) : null,
      ...(b ? [b.requiresGrad ? gy.sum(0) : null] : []),
    ];
  },
});

/**
 * y = x wᵀ + b (PyTorch's F.linear), optionally followed by ReLU, as one op: a backend with a fused
 * kernel adds the bias and applies the activation inside the matrix product's pass over y.
 * x is [..., in], w [out, in], b [out].
 */
export function linear(
  x: Tensor,
  w: Tensor,
  b?: Tensor | null,
  activation: LinearActivation = 'none',
): Tensor {
  tensorArg('linear', x, 'an input Tensor');
  tensorArg('linear', w, 'a weight Tensor');
  if (b != null) tensorArg('linear', b, 'a bias Tensor (or null)');
  if (w.rank !== 2) fail('linear', `weight must be 2-D [out, in], got ${fmtShape(w.shape)}`);
  const [outF, inF] = w.shape as [number, number];
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    fail(
      'linear',
      `input ${fmtShape(x.shape)} does not end in ${inF}, the weight's input size (weight ${fmtShape(w.shape)})`,
    );
  }
  if (b && (b.rank !== 1 || b.shape[0] !== outF))
    fail('linear', `bias must be [${outF}], got ${fmtShape(b.shape)}`);
  if (x.dtype !== w.dtype || (b && b.dtype !== w.dtype))
    fail(
      'linear',
      `the input is ${x.dtype} but the weight is ${w.dtype}${b ? ` and the bias ${b.dtype}` : ''}; convert them to one dtype, e.g. x.cast('${w.dtype}')`,
    );
  const x2 = x.rank === 2 ? x : x.reshape([-1, inF]);
  const y = linearOp(b ? [x2, w, b] : [x2, w], activation);
  return x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), outF]);
}
