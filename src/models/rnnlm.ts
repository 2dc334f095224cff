import { fail, fmtShape } from '../errors.js';
import { dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { uniform_ } from '../nn/init.js';
import { Linear } from '../nn/layers.js';
import { evaluating, Module } from '../nn/module.js';
import { GRU, LSTM, RNN } from '../nn/recurrent.js';
import { tensor } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
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
  /** Where dropout masks come from (default: the global generator), so that a checkpointed run resumes exactly. */
  generator?: Generator;
}

/**
 * A recurrent language model (the review's Fig. 5 unrolled over text; seed 004): word vectors in,
 * a recurrent layer carrying the history, a softmax over the vocabulary for the next word.
 *
 *     const rnnlm = new RnnLanguageModel(10, { cell: 'lstm', hidden: 16 });
 *     const [logits, state] = rnnlm.forward(tensor([[1, 2, 3]], { dtype: 'int32' })); // ids [B, T]
 *     logits.shape // → [1, 3, 10]
 *     const [next] = rnnlm.forward(tensor([[4]], { dtype: 'int32' }), state); // read on after 1 2 3
 */
export class RnnLanguageModel extends Module<[Tensor, LmState?], [Tensor, LmState]> {
  readonly encoder: Embedding;
  readonly rnn: LSTM | GRU | RNN;
  readonly decoder: Linear;
  readonly cell: RnnCell;
  readonly p: number;
  readonly tied: boolean;
  private readonly generator: Generator | undefined;

  constructor(
    readonly vocabSize: number,
    {
      cell = 'lstm',
      hidden = 256,
      embed = hidden,
      layers = 1,
      dropout: p = 0,
      tie = false,
      generator,
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
    this.generator = generator;
    this.encoder = new Embedding(vocabSize, embed);
    const opts = { numLayers: layers, batchFirst: true, dropout: layers > 1 ? p : 0, generator };
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
    const x = dropout(this.encoder.forward(ids), this.p, this.training, this.generator);
    let out: Tensor;
    let next: LmState;
    if (this.rnn instanceof LSTM) [out, next] = this.rnn.forward(x, state as [Tensor, Tensor] | undefined);
    else [out, next] = this.rnn.forward(x, state as Tensor | undefined);
    const logits = this.decoder.forward(dropout(out, this.p, this.training, this.generator));
    return [logits, next];
  }
}

export interface SampleOptions {
  /** Tokens to draw after the prompt. */
  length: number;
  /** Divides the logits: below 1 sharpens the distribution, above 1 flattens it (default 1). */
  temperature?: number;
  /** Draw only among the k most likely tokens (default: all). */
  topK?: number;
  /** Ids never drawn (such as <unk>). */
  exclude?: readonly number[];
  generator: Generator;
}

/**
 * Continues a prompt by sampling (seed 004's "sampling" of an RNN language model): the prompt is read
 * through the model, then each drawn token is fed back in. Returns the drawn ids.
 *
 *     const drawn = sampleTokens(lm, Int32Array.of(1, 2, 3), { length: 5, temperature: 0.8, topK: 3, generator });
 *     drawn.length // → 5
 */
export function sampleTokens(
  model: Module<[Tensor, never?], [Tensor, unknown]>,
  prompt: Int32Array,
  o: SampleOptions,
): number[] {
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0)) fail('sample', `temperature must be positive, got ${temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 1))
    fail('sample', `topK must be a positive integer, got ${o.topK}`);
  if (!prompt.length) fail('sample', 'the prompt is empty');
  const out: number[] = [];
  evaluating(model, () => {
    let [logits, state] = model.forward(tensor(prompt, { dtype: 'int32' }).reshape([1, -1]));
    for (let i = 0; i < o.length; i++) {
      const last = logits
        .select(1, logits.shape[1]! - 1)
        .reshape([-1])
        .toTypedArray();
      const scores = Array.from(last, (v, id) => ({ id, v: v / temperature })).filter(
        (s) => !o.exclude?.includes(s.id),
      );
      scores.sort((a, b) => b.v - a.v);
      const kept = scores.slice(0, o.topK ?? scores.length);
      const m = kept[0]!.v;
      const weights = kept.map((s) => Math.exp(s.v - m));
      let u = o.generator.uniform() * weights.reduce((a, b) => a + b, 0);
      let pick = kept[kept.length - 1]!.id;
      for (let k = 0; k < kept.length; k++) {
        u -= weights[k]!;
        if (u <= 0) {
          pick = kept[k]!.id;
          break;
        }
      }
      out.push(pick);
      [logits, state] = model.forward(tensor([[pick]], { dtype: 'int32' }), state as never);
    }
  });
  return out;
}
