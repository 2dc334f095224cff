import { fail } from '../errors.js';
import { SinusoidalPositionalEncoding } from '../nn/attention.js';
import { Embedding } from '../nn/embedding.js';
import { normal_ } from '../nn/init.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { Transformer } from '../nn/transformer.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkTranslationInputs,
  type DecoderState,
  type DecodeStep,
  type EncodedSource,
  type TranslationModel,
} from './seq2seq.js';

export interface TranslationTransformerOptions {
  /** Features of every layer (default 128). */
  dModel?: number;
  /** Attention heads (default 4). */
  heads?: number;
  /** Width of the feed-forward blocks (default 256). */
  ff?: number;
  /** Encoder layers, and as many decoder layers (default 2). */
  layers?: number;
  /** Dropout after the positions, in attention and in every block (default 0.1). */
  dropout?: number;
  /** The longest source or target, in ids with `<bos>` and `<eos>`: the positional table's length (default 32). */
  maxLength?: number;
  generator?: Generator;
}

/**
 * A Transformer for translation (Vaswani et al., 2017) around `nn.Transformer` (post-LN, batch first):
 * separate source and target embeddings (the two languages have separate vocabularies), each drawn
 * from N(0, 1/d) and scaled by √d so that the sum with the sinusoidal positions starts at unit
 * scale; key-padding masks on the source for the encoder's self-attention and the decoder's
 * cross-attention; the causal mask on the target. Padding at the end of a target needs no mask of its
 * own: under the causal mask no real position sees it, and the loss ignores its outputs. The output
 * layer is a Linear to the French vocabulary.
 *
 * Decoding re-reads the whole prefix each step (no key–value cache: the sentences are short), so the
 * decoder state is empty; `decodeStep`'s attention is the last decoder layer's cross-attention of the
 * newest position, averaged over the heads.
 *
 *     const model = new TranslationTransformer(12, 10, { dModel: 16, heads: 2, ff: 32, layers: 1 });
 *     const source = tensor([[1, 5, 6, 2]], { dtype: 'int32' });
 *     const padding = tensor([[0, 0, 0, 0]], { dtype: 'int32' });
 *     model.forward(source, padding, tensor([[1, 4]], { dtype: 'int32' })).shape // → [1, 2, 10]
 */
export class TranslationTransformer
  extends Module<[Tensor, Tensor, Tensor], Tensor>
  implements TranslationModel
{
  readonly sourceEmbedding: Embedding;
  readonly targetEmbedding: Embedding;
  readonly positions: SinusoidalPositionalEncoding;
  readonly transformer: Transformer;
  readonly output: Linear;
  readonly dModel: number;
  readonly maxLength: number;

  constructor(
    readonly sourceVocabSize: number,
    readonly targetVocabSize: number,
    {
      dModel = 128,
      heads = 4,
      ff = 256,
      layers = 2,
      dropout = 0.1,
      maxLength = 32,
      generator,
    }: TranslationTransformerOptions = {},
  ) {
    super();
    if (!(Number.isInteger(maxLength) && maxLength >= 3))
      fail(
        'TranslationTransformer',
        `maxLength must be an integer ≥ 3 (<bos>, a token, <eos>), got ${maxLength}`,
      );
    this.sourceEmbedding = new Embedding(sourceVocabSize, dModel);
    this.targetEmbedding = new Embedding(targetVocabSize, dModel);
    for (const e of [this.sourceEmbedding, this.targetEmbedding]) normal_(e.weight, 0, dModel ** -0.5);
    this.positions = new SinusoidalPositionalEncoding(dModel, {
      maxLen: maxLength,
      dropout,
      batchFirst: true,
      generator,
    });
    this.transformer = new Transformer({
      dModel,
      nhead: heads,
      numEncoderLayers: layers,
      numDecoderLayers: layers,
      dimFeedforward: ff,
      dropout,
      batchFirst: true,
      generator,
    });
    this.output = new Linear(dModel, targetVocabSize);
    this.dModel = dModel;
    this.maxLength = maxLength;
  }

  private embed(embedding: Embedding, ids: Tensor): Tensor {
    return this.positions.forward(embedding.forward(ids).mul(Math.sqrt(this.dModel)));
  }

  forward(source: Tensor, sourcePaddingMask: Tensor, targetIn: Tensor): Tensor {
    checkTranslationInputs('TranslationTransformer', this.maxLength, source, sourcePaddingMask, targetIn);
    const y = this.transformer.forward(
      this.embed(this.sourceEmbedding, source),
      this.embed(this.targetEmbedding, targetIn),
      {
        srcKeyPaddingMask: sourcePaddingMask,
        memoryKeyPaddingMask: sourcePaddingMask,
        tgtMask: Transformer.generateSquareSubsequentMask(targetIn.shape[1]!),
      },
    );
    return this.output.forward(y);
  }

  encode(source: Tensor, sourcePaddingMask: Tensor): EncodedSource {
    checkTranslationInputs('TranslationTransformer', this.maxLength, source, sourcePaddingMask);
    const memory = this.transformer.encoder.forward(this.embed(this.sourceEmbedding, source), {
      srcKeyPaddingMask: sourcePaddingMask,
    });
    return { padding: sourcePaddingMask, memory };
  }

  decodeStep(memory: EncodedSource, prefix: Tensor, _state: DecoderState | null): DecodeStep {
    const op = 'TranslationTransformer';
    const t = prefix.shape[1]!;
    if (t > this.maxLength - 1)
      fail(op, `the prefix has ${t} tokens, but targets hold at most maxLength ${this.maxLength} ids`);
    const mem = memory.memory!;
    const masks = {
      tgtMask: Transformer.generateSquareSubsequentMask(t),
      memoryKeyPaddingMask: memory.padding,
    };
    const decoder = this.transformer.decoder;
    let x = this.embed(this.targetEmbedding, prefix);
    const layers = decoder.layers;
    for (const layer of layers.slice(0, -1)) x = layer.forward(x, mem, masks);
    // The last layer's cross-attention weights, for the newest position: its self-attention sub-block
    // (post-LN) recomputed for that one query, which sees the whole prefix, then the cross-attention.
    const last = layers.at(-1)!;
    const query = x.narrow(1, t - 1, 1);
    const [self] = last.self_attn.forward(query, x, x, { needWeights: false });
    const [, weights] = last.multihead_attn.forward(last.norm1.forward(query.add(self)), mem, mem, {
      keyPaddingMask: memory.padding,
    });
    x = last.forward(x, mem, masks);
    const y = decoder.norm ? decoder.norm.forward(x) : x;
    const logits = this.output.forward(y.select(1, t - 1));
    return { logProbs: logits.logSoftmax(-1), attention: weights!.select(1, 0), state: [] };
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, maxLength=${this.maxLength}`;
  }
}
