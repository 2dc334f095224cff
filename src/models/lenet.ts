import { ReLU } from '../nn/activation.js';
import { Conv2d, MaxPool2d } from '../nn/conv.js';
import { xavierUniform_, zeros_ } from '../nn/init.js';
import { Flatten, Linear } from '../nn/layers.js';
import { Sequential } from '../nn/sequential.js';

export interface LenetOptions {
  /**
   * 'glorot': Xavier-uniform weights, U(±sqrt(6 / (fan_in + fan_out))) with fan_in = Cin·kh·kw and
   * fan_out = Cout·kh·kw for a convolution, and zero biases (the benchmark workload W2's setting);
   * 'default': PyTorch's defaults.
   */
  init?: 'glorot' | 'default';
}

/**
 * LeNet-5 (LeCun et al., 1998) as the benchmark workload W2 adapts it, with ReLU and max-pooling, for
 * images [N, 1, 28, 28] (flat [N, 784] rows must be reshaped first):
 *
 * ```text
 * conv 5×5 1→6 pad 2 → ReLU → maxpool 2 → conv 5×5 6→16 → ReLU → maxpool 2 → flatten (16·5·5 = 400)
 *   → Linear 120 → ReLU → Linear 84 → ReLU → Linear 10
 * ```
 *
 * A Sequential, so the weights are named as PyTorch's nn.Sequential of the same layer list names them:
 * `0.weight` (conv), `3.weight` (conv), `7.weight`, `9.weight`, `11.weight` (linear), with their biases;
 * 61,706 parameters.
 *
 *     const { images } = data.loadMnist('test', { limit: 8 });
 *     const net = lenet();
 *     net.forward(images.reshape([-1, 1, 28, 28])).shape // → [8, 10]
 *     net.numParameters() // → 61706
 */
export function lenet({ init = 'glorot' }: LenetOptions = {}): Sequential {
  const conv1 = new Conv2d(1, 6, 5, { padding: 2 });
  const conv2 = new Conv2d(6, 16, 5);
  const fc1 = new Linear(16 * 5 * 5, 120);
  const fc2 = new Linear(120, 84);
  const fc3 = new Linear(84, 10);
  if (init === 'glorot') {
    // init.fans takes a conv weight [out, in, kh, kw] as fan_in = in·kh·kw, fan_out = out·kh·kw.
    for (const layer of [conv1, conv2, fc1, fc2, fc3]) {
      xavierUniform_(layer.weight);
      zeros_(layer.bias!);
    }
  }
  return new Sequential(
    conv1,
    new ReLU(),
    new MaxPool2d(2),
    conv2,
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    fc1,
    new ReLU(),
    fc2,
    new ReLU(),
    fc3,
  );
}
