import { fail } from '../errors.js';
import { evaluating, type Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Number of rows of logits [N, C] whose largest entry is at the target class.
 *
 *     countCorrect(tensor([[0.1, 2], [3, 0.2], [1, 0]]), tensor([1, 0, 1], { dtype: 'int32' })) // → 2
 */
export function countCorrect(logits: Tensor, target: Tensor): number {
  return logits.argmax(1).eq(target).sum().item();
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  samples: number;
}

/**
 * Mean loss and accuracy of a classifier over batches, in eval mode and without recording.
 *
 *     const { loss, accuracy, samples } = evaluate(model, loader, nn.crossEntropy); // or [[x, y]]
 *     samples // → 16
 */
export function evaluate(
  model: Module,
  batches: Iterable<Tensor[]>,
  lossFn: (output: Tensor, target: Tensor) => Tensor,
): Evaluation {
  let [loss, correct, samples] = [0, 0, 0];
  evaluating(model, () => {
    for (const [x, y] of batches) {
      const out = model.forward(x!);
      const n = y!.shape[0]!;
      loss += lossFn(out, y!).item() * n;
      correct += countCorrect(out, y!);
      samples += n;
    }
  });
  if (samples === 0) fail('evaluate', 'no examples to evaluate: the batches were empty');
  return { loss: loss / samples, accuracy: correct / samples, samples };
}
