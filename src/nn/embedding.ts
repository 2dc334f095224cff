import { fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';

/**
 * Rows of `weight` [num, dim] looked up by integer ids of any shape: out [...ids.shape, dim]. Positions
 * holding `paddingIdx` pass no gradient to its row, as in PyTorch.
 */
export function embedding(ids: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  if (ids.dtype !== 'int32') fail('embedding', `expected int32 token ids, got ${ids.dtype}`);
  if (weight.rank !== 2) fail('embedding', `weight must be 2-D [num, dim], got ${fmtShape(weight.shape)}`);
  const [num, dim] = weight.shape as [number, number];
  const flat = ids.reshape([-1]);
  const values = flat.toTypedArray();
  for (let i = 0; i < values.length; i++) {
    const id = values[i]!;
    if (id < 0 || id >= num)
      fail(
        'embedding',
        `token id ${id} (at flat position ${i} of ids ${fmtShape(ids.shape)}) is outside the vocabulary [0, ${num})`,
      );
  }
  let out = weight.indexSelect(0, flat);
  if (paddingIdx !== null) {
    // The same values, but the padding positions take them from a detached copy: no gradient.
    const keep = flat.ne(paddingIdx).unsqueeze(1);
    out = where(keep, out, out.detach());
  }
  return out.reshape([...ids.shape, dim]);
}

/**
 * A lookup table of learned vectors, one per token id: PyTorch's Embedding, weight [num, dim] ~ N(0, 1),
 * the padding row (when given) zero and kept out of training.
 *
 *     const emb = new Embedding(10000, 128, { paddingIdx: 0 });
 *     const vectors = emb.forward(ids); // ids [B, T] int32 -> [B, T, 128]
 */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    { paddingIdx = null }: { paddingIdx?: number | null } = {},
  ) {
    super();
    for (const [name, v] of [
      ['numEmbeddings', numEmbeddings],
      ['embeddingDim', embeddingDim],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0) fail('Embedding', `${name} must be a positive integer, got ${v}`);
    }
    if (
      paddingIdx !== null &&
      !(Number.isInteger(paddingIdx) && paddingIdx >= -numEmbeddings && paddingIdx < numEmbeddings)
    )
      fail('Embedding', `paddingIdx must be an id in [0, ${numEmbeddings}), got ${paddingIdx}`);
    this.paddingIdx = paddingIdx === null ? null : (paddingIdx + numEmbeddings) % numEmbeddings;
    const w = randn([numEmbeddings, embeddingDim]);
    if (this.paddingIdx !== null)
      w.data.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    this.weight = new Parameter(w);
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, this.paddingIdx);
  }

  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : ''}`;
  }
}
