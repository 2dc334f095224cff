import { fail, fmtShape } from '../errors.js';
import { AdditiveAttention, LuongAttention } from '../nn/attention.js';
import { dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { GRU, LSTM } from '../nn/recurrent.js';
import { concat } from '../ops/movement.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * What a source sentence becomes in the encoder: named tensors, each with the batch on axis 0, so that
 * beam search can pick the rows of its hypotheses. `padding` is the source padding mask (1 = padding).
 */
export type EncodedSource = { padding: Tensor } & Record<string, Tensor>;

/** What a decoder carries from one step to the next: tensors with the batch on axis 0 (none for a Transformer). */
export type DecoderState = Tensor[];

/** One step of decoding for a batch of prefixes. */
export interface DecodeStep {
  /** Log-probabilities of the next token, [N, V]. */
  logProbs: Tensor;
  /** Where the step looked in the source, [N, S] (rows sum to 1); null for a model without attention. */
  attention: Tensor | null;
  /** The state after the step, to hand to the next one. */
  state: DecoderState;
}

/**
 * An encoder–decoder over token ids, trained with teacher forcing and decoded step by step:
 * `forward(source [N, S], sourcePaddingMask [N, S], targetIn [N, T])` gives logits [N, T, V] (the
 * target's next tokens), `encode` and `decodeStep` drive greedy and beam search. Sources and targets
 * hold at most `maxLength` ids, `<bos>` and `<eos>` included.
 */
export interface TranslationModel extends Module<[Tensor, Tensor, Tensor], Tensor> {
  readonly maxLength: number;
  encode(source: Tensor, sourcePaddingMask: Tensor): EncodedSource;
  /** The next token after each prefix [N, t] (t ≥ 1, from `<bos>`); `state` is the previous step's (null at the first). */
  decodeStep(memory: EncodedSource, prefix: Tensor, state: DecoderState | null): DecodeStep;
}

/**
 * Checks a translation model's inputs: int32 ids [N, S], a padding mask of the same shape, a target
 * [N, T] (when given), each sequence at most `maxLength` long and each source with a real first token.
 */
export function checkTranslationInputs(
  op: string,
  maxLength: number,
  source: Tensor,
  padding: Tensor,
  target?: Tensor,
): void {
  const ids = (t: unknown, what: string) => {
    if (!(t instanceof Tensor) || t.rank !== 2 || t.dtype !== 'int32')
      fail(
        op,
        `expected ${what} as int32 token ids [N, length], got ${t instanceof Tensor ? `${t.dtype} ${fmtShape(t.shape)}` : typeof t}`,
      );
  };
  ids(source, 'the source');
  if (
    !(padding instanceof Tensor) ||
    padding.rank !== 2 ||
    padding.shape.some((d, i) => d !== source.shape[i])
  )
    fail(
      op,
      `the source padding mask must have the source's shape ${fmtShape(source.shape)} (1 where padding), got ${padding instanceof Tensor ? fmtShape(padding.shape) : typeof padding}`,
    );
  const long = (t: Tensor, what: string) => {
    if (t.shape[1]! > maxLength)
      fail(
        op,
        `${what} has ${t.shape[1]} positions, more than the model's maxLength ${maxLength} (ids with <bos> and <eos>); shorten it or build the model with a larger maxLength`,
      );
  };
  long(source, 'the source');
  if (target !== undefined) {
    ids(target, 'the target');
    if (target.shape[0] !== source.shape[0])
      fail(op, `the source ${fmtShape(source.shape)} and target ${fmtShape(target.shape)} batches differ`);
    long(target, 'the target');
  }
}

export type Seq2SeqCell = 'gru' | 'lstm';
/** No attention (Sutskever/Cho: the final state carries the sentence), Bahdanau's additive scores, or Luong's dot. */
export type Seq2SeqAttention = 'none' | 'additive' | 'dot';

export interface Seq2SeqOptions {
  cell?: Seq2SeqCell;
  attention?: Seq2SeqAttention;
  /** Units of the decoder and of each encoder direction (default 256). */
  hidden?: number;
  /** Width of the word vectors (default 256). */
  embed?: number;
  /** Stacked layers of the encoder and of the decoder (default 1). */
  layers?: number;
  /** Dropout on the word vectors, between layers and before the output layer (default 0). */
  dropout?: number;
  /** Read the source both ways (default true). */
  bidirectional?: boolean;
  /** The longest source or target, in ids with `<bos>` and `<eos>` (default 32). */
  maxLength?: number;
  /** Where dropout masks come from, so that a checkpointed run resumes exactly. */
  generator?: Generator;
}

/**
 * A recurrent encoder–decoder for translation (Sutskever et al. 2014; Cho et al. 2014; with attention,
 * Bahdanau et al. 2015 and Luong et al. 2015).
 *
 * - The encoder, a GRU or LSTM, reads the source embeddings (bidirectional by default), each sentence
 *   to its own length, so the backward pass starts at its last real token.
 * - The decoder starts from the encoder's final states: with a bidirectional encoder, each layer's two
 *   directions are concatenated and bridged by `bridge`, h₀ = tanh(W[h→; h←] + b) (an LSTM's cell
 *   state by its own `bridgeCell`, without the tanh, as c is unbounded); otherwise taken as they are.
 * - In training the decoder reads the reference target shifted right (teacher forcing) in one call.
 * - Attention (Luong's scheme): at each step t the decoder's output h_t queries the encoder outputs,
 *   padding masked, giving a context c_t; the attentional state h̃_t = tanh(W_c[c_t; h_t]) (`combine`)
 *   feeds the output layer. `dot` scores h_t · k_s with the keys k the encoder outputs projected to the
 *   decoder's width (`keys`, when bidirectional); `additive` scores vᵀtanh(W h_t + U o_s). Without
 *   Bahdanau's input feeding the decoder needs no context to step, so training runs it over the whole
 *   target at once and attends for all steps in one product.
 * - `attention: 'none'` maps h_t straight to the vocabulary.
 *
 *     const model = new Seq2Seq(12, 10, { attention: 'dot', hidden: 16, embed: 8 });
 *     const source = tensor([[1, 5, 6, 2], [1, 7, 2, 0]], { dtype: 'int32' });
 *     const padding = tensor([[0, 0, 0, 0], [0, 0, 0, 1]], { dtype: 'int32' });
 *     const logits = model.forward(source, padding, tensor([[1, 4, 5], [1, 6, 0]], { dtype: 'int32' }));
 *     logits.shape // → [2, 3, 10]
 */
export class Seq2Seq extends Module<[Tensor, Tensor, Tensor], Tensor> implements TranslationModel {
  readonly sourceEmbedding: Embedding;
  readonly encoder: GRU | LSTM;
  readonly bridge: Linear | null;
  readonly bridgeCell: Linear | null;
  readonly targetEmbedding: Embedding;
  readonly decoder: GRU | LSTM;
  readonly keys: Linear | null;
  readonly attention: AdditiveAttention | LuongAttention | null;
  readonly combine: Linear | null;
  readonly output: Linear;
  readonly cell: Seq2SeqCell;
  readonly kind: Seq2SeqAttention;
  readonly maxLength: number;
  readonly p: number;
  private readonly generator: Generator | undefined;

  constructor(
    readonly sourceVocabSize: number,
    readonly targetVocabSize: number,
    {
      cell = 'gru',
      attention = 'dot',
      hidden = 256,
      embed = 256,
      layers = 1,
      dropout: p = 0,
      bidirectional = true,
      maxLength = 32,
      generator,
    }: Seq2SeqOptions = {},
  ) {
    super();
    const op = 'Seq2Seq';
    if (cell !== 'gru' && cell !== 'lstm') fail(op, `cell must be gru or lstm, got '${cell}'`);
    if (!['none', 'additive', 'dot'].includes(attention))
      fail(op, `attention must be none, additive or dot, got '${attention}'`);
    if (!(Number.isInteger(maxLength) && maxLength >= 3))
      fail(op, `maxLength must be an integer ≥ 3 (<bos>, a token, <eos>), got ${maxLength}`);
    const Rnn = cell === 'gru' ? GRU : LSTM;
    const rnn = { numLayers: layers, batchFirst: true, dropout: layers > 1 ? p : 0, generator };
    const width = bidirectional ? 2 * hidden : hidden;
    this.sourceEmbedding = new Embedding(sourceVocabSize, embed);
    this.encoder = new Rnn(embed, hidden, { ...rnn, bidirectional });
    this.bridge = bidirectional ? new Linear(width, hidden) : null;
    this.bridgeCell = bidirectional && cell === 'lstm' ? new Linear(width, hidden) : null;
    this.targetEmbedding = new Embedding(targetVocabSize, embed);
    this.decoder = new Rnn(embed, hidden, rnn);
    this.keys = attention === 'dot' && bidirectional ? new Linear(width, hidden, { bias: false }) : null;
    this.attention =
      attention === 'dot'
        ? new LuongAttention(hidden)
        : attention === 'additive'
          ? new AdditiveAttention(hidden, width, hidden)
          : null;
    this.combine = attention === 'none' ? null : new Linear(width + hidden, hidden);
    this.output = new Linear(hidden, targetVocabSize);
    this.cell = cell;
    this.kind = attention;
    this.maxLength = maxLength;
    this.p = p;
    this.generator = generator;
  }

  private drop(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }

  forward(source: Tensor, sourcePaddingMask: Tensor, targetIn: Tensor): Tensor {
    checkTranslationInputs('Seq2Seq', this.maxLength, source, sourcePaddingMask, targetIn);
    const memory = this.encode(source, sourcePaddingMask);
    return this.decode(memory, targetIn, null).logits;
  }

  encode(source: Tensor, sourcePaddingMask: Tensor): EncodedSource {
    checkTranslationInputs('Seq2Seq', this.maxLength, source, sourcePaddingMask);
    const [n, s] = source.shape as [number, number];
    const pads = sourcePaddingMask.toTypedArray();
    const lengths = Array.from({ length: n }, (_, i) => {
      let real = 0;
      for (let j = 0; j < s; j++) if (pads[i * s + j] === 0) real++;
      if (real === 0 || pads[i * s] !== 0)
        fail('Seq2Seq', `source ${i} is all padding or starts with it: each source needs <bos> first`);
      return real;
    });
    const x = this.drop(this.sourceEmbedding.forward(source));
    let outputs: Tensor;
    let h: Tensor;
    let c: Tensor | null = null;
    if (this.encoder instanceof LSTM) [outputs, [h, c]] = this.encoder.forward(x, undefined, { lengths });
    else [outputs, h] = this.encoder.forward(x, undefined, { lengths });
    // Final states [L·D, N, H] to the decoder's [N, L, H], batch first as every EncodedSource tensor.
    const start = (t: Tensor, bridge: Linear | null, squash: boolean): Tensor => {
      if (!bridge) return t.transpose(0, 1);
      const layers = t.shape[0]! / 2;
      const both = t.reshape([layers, 2, n, -1]).permute([2, 0, 1, 3]).reshape([n, layers, -1]);
      const bridged = bridge.forward(both);
      return squash ? bridged.tanh() : bridged;
    };
    const memory: EncodedSource = {
      padding: sourcePaddingMask,
      outputs,
      keys: this.keys ? this.keys.forward(outputs) : outputs,
      h: start(h, this.bridge, true),
    };
    if (c) memory.c = start(c, this.bridgeCell, false);
    return memory;
  }

  /** Decoder outputs for the target ids [N, T] from `state` (null: the encoder's final state). */
  private decode(
    memory: EncodedSource,
    targetIn: Tensor,
    state: DecoderState | null,
  ): { logits: Tensor; weights: Tensor | null; state: DecoderState } {
    const [h0, c0] = (state ?? (memory.c ? [memory.h!, memory.c] : [memory.h!])).map((t) =>
      t.transpose(0, 1),
    );
    const y = this.drop(this.targetEmbedding.forward(targetIn));
    let out: Tensor;
    let next: Tensor[];
    if (this.decoder instanceof LSTM) {
      const [o, [h, c]] = this.decoder.forward(y, [h0!, c0!]);
      [out, next] = [o, [h, c]];
    } else {
      const [o, h] = this.decoder.forward(y, h0);
      [out, next] = [o, [h]];
    }
    let weights: Tensor | null = null;
    if (this.attention) {
      const real = memory.padding.eq(0);
      const [context, w] = this.attention.forward(out, memory.keys!, memory.outputs!, { mask: real });
      out = this.combine!.forward(concat([context, out], 2)).tanh();
      weights = w;
    }
    const logits = this.output.forward(this.drop(out));
    return { logits, weights, state: next.map((t) => t.transpose(0, 1)) };
  }

  decodeStep(memory: EncodedSource, prefix: Tensor, state: DecoderState | null): DecodeStep {
    const last = prefix.narrow(1, prefix.shape[1]! - 1, 1);
    const r = this.decode(memory, last, state);
    return {
      logProbs: r.logits.select(1, 0).logSoftmax(-1),
      attention: r.weights ? r.weights.select(1, 0) : null,
      state: r.state,
    };
  }

  protected override extraRepr(): string {
    return `cell=${this.cell}, attention=${this.kind}, maxLength=${this.maxLength}`;
  }
}
