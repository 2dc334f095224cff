import { fail, fmtShape } from '../errors.js';
import { dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { uniform_ } from '../nn/init.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { GRU, LSTM, RNN } from '../nn/recurrent.js';
import type { Tensor } from '../tensor/tensor.js';

export type RnnCell = 'lstm' | 'gru' | 'rnn';

/** The state a recurrent language model carries from one window of text to the next. */
export type LmState = Tensor | [Tensor, Tensor];

export interface RnnLmOptions {
  cell?: RnnCell;
  /** Width of the word vectors (default: hidden). */
  embed?: number;
  hidden?: number;
  layers?: number;
  /** Dropout on the embeddings, between layers and before the decoder (Zaremba et al., 2014). */
  dropout?: number;
  /** Share the embedding matrix with the output layer (Press & Wolf, 2017); needs embed = hidden. */
  tie?: boolean;
}

/**
 * A recurrent language model (the review's Fig. 5 unrolled over text; seed 004): word vectors in,
 * a recurrent layer carrying the history, a softmax over the vocabulary for the next word.
 *
 *     const lm = new RnnLanguageModel(vocab.size, { cell: 'lstm', hidden: 256 });
 *     const [logits, state] = lm.forward(ids, previousState); // ids [B, T] -> logits [B, T, V]
 */
export class RnnLanguageModel extends Module<[Tensor, LmState?], [Tensor, LmState]> {
  readonly encoder: Embedding;
  readonly rnn: LSTM | GRU | RNN;
  readonly decoder: Linear;
  readonly cell: RnnCell;
  readonly p: number;
  readonly tied: boolean;

  constructor(
    readonly vocabSize: number,
    {
      cell = 'lstm',
      hidden = 256,
      embed = hidden,
      layers = 1,
      dropout: p = 0,
      tie = false,
    }: RnnLmOptions = {},
  ) {
    super();
    if (!['lstm', 'gru', 'rnn'].includes(cell))
      fail('RnnLanguageModel', `cell must be lstm, gru or rnn, got '${cell}'`);
    if (tie && embed !== hidden)
      fail(
        'RnnLanguageModel',
        `tying the embedding and output weights needs embed = hidden, got ${embed} and ${hidden}`,
      );
    this.cell = cell;
    this.p = p;
    this.tied = tie;
    this.encoder = new Embedding(vocabSize, embed);
    const opts = { numLayers: layers, batchFirst: true, dropout: layers > 1 ? p : 0 };
    this.rnn =
      cell === 'lstm'
        ? new LSTM(embed, hidden, opts)
        : cell === 'gru'
          ? new GRU(embed, hidden, opts)
          : new RNN(embed, hidden, opts);
    this.decoder = new Linear(hidden, vocabSize);
    // As in PyTorch's word-language-model example: small uniform embeddings and decoder, zero decoder bias.
    uniform_(this.encoder.weight, -0.1, 0.1);
    uniform_(this.decoder.weight, -0.1, 0.1);
    this.decoder.bias!.data.fill(0);
    if (tie) this.decoder.weight = this.encoder.weight;
  }

  forward(ids: Tensor, state?: LmState): [Tensor, LmState] {
    if (ids.rank !== 2)
      fail('RnnLanguageModel', `expected token ids [batch, time], got ${fmtShape(ids.shape)}`);
    const x = dropout(this.encoder.forward(ids), this.p, this.training);
    let out: Tensor;
    let next: LmState;
    if (this.rnn instanceof LSTM) [out, next] = this.rnn.forward(x, state as [Tensor, Tensor] | undefined);
    else [out, next] = this.rnn.forward(x, state as Tensor | undefined);
    const logits = this.decoder.forward(dropout(out, this.p, this.training));
    return [logits, next];
  }
}
