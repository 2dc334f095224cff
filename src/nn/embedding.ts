import { noGrad } from '../autograd/mode.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkInput, checkPositive, layerOptions, type ParamDType, paramDType } from './checks.js';
import { Module, Parameter } from './module.js';

export interface EmbeddingOptions {
  /** Positions holding this id pass no gradient to its row. */
  paddingIdx?: number | null;
  /** Rows looked up whose norm exceeds this are rescaled to it, in the weight itself, before the lookup. */
  maxNorm?: number | null;
  /** The p of the p-norm maxNorm bounds (default 2; Infinity for the largest magnitude). */
  normType?: number;
}

function checkNorms(op: string, maxNorm: unknown, normType: unknown): void {
  if (maxNorm !== null && maxNorm !== undefined && !(typeof maxNorm === 'number' && maxNorm > 0))
    fail(op, `maxNorm must be a positive number or null, got ${describe(maxNorm)}`);
  if (normType !== undefined && !(typeof normType === 'number' && normType > 0))
    fail(op, `normType must be a positive number (the p of the p-norm), got ${describe(normType)}`);
}

/**
 * PyTorch's embedding_renorm_: every row of weight that `ids` name, once each, whose p-norm exceeds
 * maxNorm is scaled by maxNorm / (norm + 1e-7). In place and outside the tape, as in PyTorch.
 */
function renormRows(weight: Tensor, ids: ArrayLike<number>, maxNorm: number, p: number): void {
  const [s0, s1] = weight.strides as [number, number];
  const dim = weight.shape[1]!;
  const data = weight.data;
  for (const id of new Set(Array.from(ids))) {
    const base = weight.offset + id * s0;
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = Math.abs(data[base + j * s1]!);
      norm = p === Infinity ? Math.max(norm, v) : norm + v ** p;
    }
    if (p !== Infinity) norm **= 1 / p;
    if (norm > maxNorm) {
      const scale = maxNorm / (norm + 1e-7);
      for (let j = 0; j < dim; j++) data[base + j * s1] = data[base + j * s1]! * scale;
    }
  }
}

/**
 * Rows of `weight` [num, dim] looked up by integer ids of any shape: out [...ids.shape, dim], PyTorch's
 * F.embedding. Positions holding `paddingIdx` pass no gradient to its row; with `maxNorm`, the rows
 * looked up are first renormalised in place (see EmbeddingOptions).
 *
 *     embedding(ids, weight, { paddingIdx: 0, maxNorm: 1 })
 */
export function embedding(ids: Tensor, weight: Tensor, options?: EmbeddingOptions): Tensor {
  const form = 'embedding(ids, weight, { paddingIdx: 0, maxNorm: 1 })';
  checkArity('embedding', arguments, 3, form);
  const o = checkOptions('embedding', options, ['paddingIdx', 'maxNorm', 'normType'], form);
  checkInput('embedding', ids, 'ids');
  checkInput('embedding', weight, 'weight');
  checkNorms('embedding', o.maxNorm, o.normType);
  const paddingIdx = o.paddingIdx ?? null;
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
  const maxNorm = o.maxNorm ?? null;
  if (maxNorm !== null) noGrad(() => renormRows(weight, values, maxNorm, o.normType ?? 2));
  let out = weight.indexSelect(0, flat);
  if (paddingIdx !== null) {
    // The same values, but the padding positions take them from a detached copy: no gradient.
    const keep = flat.ne(paddingIdx).unsqueeze(1);
    out = where(keep, out, out.detach());
  }
  return out.reshape([...ids.shape, dim]);
}

export interface EmbeddingLayerOptions extends EmbeddingOptions {
  /** The weight's dtype (default float32). */
  dtype?: ParamDType;
}

/**
 * A lookup table of learned vectors, one per token id: PyTorch's Embedding, weight [num, dim] ~ N(0, 1),
 * the padding row (when given) zero and kept out of training; `maxNorm` keeps the rows it looks up
 * within a norm ball.
 *
 *     const emb = new Embedding(10000, 128, { paddingIdx: 0 });
 *     const vectors = emb.forward(ids); // ids [B, T] int32 -> [B, T, 128]
 */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  readonly maxNorm: number | null;
  readonly normType: number;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options?: EmbeddingLayerOptions,
  ) {
    super();
    const o = layerOptions<EmbeddingLayerOptions>(
      'Embedding',
      arguments,
      2,
      options,
      ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'],
      ['paddingIdx', 'maxNorm', 'normType', 'dtype'],
    );
    checkPositive('Embedding', 'numEmbeddings', numEmbeddings);
    checkPositive('Embedding', 'embeddingDim', embeddingDim);
    checkNorms('Embedding', o.maxNorm, o.normType);
    const paddingIdx = o.paddingIdx ?? null;
    if (
      paddingIdx !== null &&
      !(Number.isInteger(paddingIdx) && paddingIdx >= -numEmbeddings && paddingIdx < numEmbeddings)
    )
      fail('Embedding', `paddingIdx must be an id in [0, ${numEmbeddings}), got ${describe(paddingIdx)}`);
    this.paddingIdx = paddingIdx === null ? null : (paddingIdx + numEmbeddings) % numEmbeddings;
    this.maxNorm = o.maxNorm ?? null;
    this.normType = o.normType ?? 2;
    const w = randn([numEmbeddings, embeddingDim], { dtype: paramDType('Embedding', o.dtype) });
    if (this.paddingIdx !== null)
      w.data.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    this.weight = new Parameter(w);
  }

  forward(ids: Tensor): Tensor {
    checkInput('Embedding', ids, 'ids');
    return embedding(ids, this.weight, {
      paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm,
      normType: this.normType,
    });
  }

  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, paddingIdx=${this.paddingIdx}` : ''}${this.maxNorm !== null ? `, maxNorm=${this.maxNorm}` : ''}`;
  }
}
