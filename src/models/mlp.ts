import { fail } from '../errors.js';
import { ReLU, Tanh } from '../nn/activation.js';
import { Dropout } from '../nn/dropout.js';
import { xavierUniform_, zeros_ } from '../nn/init.js';
import { Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import type { Generator } from '../tensor/random.js';

export interface MlpOptions {
  activation?: 'relu' | 'tanh';
  /** 'glorot': Xavier-uniform weights and zero biases (the benchmark workloads' setting); 'default': PyTorch's. */
  init?: 'glorot' | 'default';
  /** Dropout probability after each hidden layer (Srivastava et al. 2014); 0 for none. */
  dropout?: number;
  /** The generator dropout draws its masks from (default the global one); a trainer passes the one it checkpoints. */
  generator?: Generator;
}

/**
 * A multilayer perceptron: Linear layers of the given sizes with a non-linearity between them and none
 * after the last, as a Sequential (so weights are named `0.weight`, `2.weight`, ... as in PyTorch).
 *
 *     const net = mlp([784, 512, 256, 10]); // the MNIST MLP of the benchmarks (W1)
 *     net.forward(randn([2, 784])).shape // → [2, 10]
 *     net.namedParameters().map(([name]) => name) // → ['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']
 *     const small = mlp([4, 16, 3], { activation: 'tanh', dropout: 0.5, generator }); // Linear, Tanh, Dropout, Linear
 */
export function mlp(
  sizes: readonly number[],
  { activation = 'relu', init = 'glorot', dropout = 0, generator }: MlpOptions = {},
): Sequential {
  if (sizes.length < 2) fail('mlp', `need at least an input and an output size, got [${sizes}]`);
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const linear = new Linear(sizes[i]!, sizes[i + 1]!);
    if (init === 'glorot') {
      xavierUniform_(linear.weight);
      zeros_(linear.bias!);
    }
    layers.push(linear);
    if (i + 2 < sizes.length) {
      layers.push(activation === 'relu' ? new ReLU() : new Tanh());
      if (dropout > 0) layers.push(new Dropout(dropout, { generator }));
    }
  }
  return new Sequential(...layers);
}
