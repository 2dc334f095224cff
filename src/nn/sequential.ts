import { describe, fail } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { ReLU } from './activation.js';
import { ConvNd } from './conv.js';
import { Linear } from './layers.js';
import { checkInput, Module } from './module.js';

/** Modules applied in order; children are named 0, 1, 2, ... as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    layers.forEach((layer, i) => {
      if (!(layer instanceof Module))
        fail('Sequential', `layer ${i} must be a Module, got ${describe(layer)}`);
    });
    this.layers = layers;
  }

  override *namedChildren(): Generator<[string, Module]> {
    for (let i = 0; i < this.layers.length; i++) yield [String(i), this.layers[i]!];
  }

  forward(x: Tensor): Tensor {
    checkInput('Sequential', x);
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i]!;
      // Linear or a convolution then ReLU runs as one fused op: the same values, fewer passes. Hooks
      // must see each layer's own output, so a hooked pair runs unfused.
      const next = this.layers[i + 1];
      if (
        (layer instanceof Linear || layer instanceof ConvNd) &&
        next instanceof ReLU &&
        !layer.hasForwardHooks() &&
        !next.hasForwardHooks()
      ) {
        x = layer.forwardWith(x, 'relu');
        i++;
      } else x = layer.forward(x);
    }
    return x;
  }
}
