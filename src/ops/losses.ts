import type { Tensor } from '../tensor/tensor.js';
import { defineOp } from './op.js';

/**
 * Losses that are ops of their own rather than compositions: binary cross-entropy, whose gradient
 * PyTorch keeps finite where p is exactly 0 or 1. The loss functions in nn/ validate their arguments and
 * call these.
 */

const bceOp = defineOp<void>({
  name: 'binaryCrossEntropy',
  forward: ([p, y]) => {
    const logP = p!.log().maximum(-100);
    const log1mP = p!.neg().add(1).log().maximum(-100);
    return y!.mul(logP).add(y!.neg().add(1).mul(log1mP)).neg();
  },
  // PyTorch's gradient (p - y) / max(p (1 - p), 1e-12): finite where p is exactly 0 or 1.
  vjp: (g, { inputs: [p, y] }) => [
    g.mul(p!.sub(y!)).div(p!.mul(p!.neg().add(1)).maximum(1e-12)),
    y!.requiresGrad ? g.mul(p!.neg().add(1).log().maximum(-100).sub(p!.log().maximum(-100))) : null,
  ],
});

/**
 * Elementwise binary cross-entropy of probabilities p at targets y, -(y log p + (1 - y) log(1 - p)), with
 * the logs clamped at -100 as in PyTorch, so p = 0 or 1 gives a large finite loss, not infinity.
 */
export function binaryCrossEntropy(p: Tensor, y: Tensor): Tensor {
  return bceOp([p, y], undefined);
}
