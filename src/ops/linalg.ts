import { fail, fmtShape } from '../errors.js';
import { promote } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { cast } from './elementwise.js';
import { broadcastView, defineOp, empty, kernels } from './op.js';

const matmulOp = defineOp<void>({
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
  if (a.rank === 0 || b.rank === 0)
    fail('matmul', `both operands need at least one axis, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
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
