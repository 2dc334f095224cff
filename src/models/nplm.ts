import { fail, fmtShape } from '../errors.js';
import { dropout } from '../nn/dropout.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { concat } from '../ops/movement.js';
import { full } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export interface NplmOptions {
  /** n of the n-gram: each word is predicted from the n − 1 before it (default 5). */
  order?: number;
  /** Size of each word's feature vector, C(w) (default 64). */
  embed?: number;
  /** Units of the tanh hidden layer (default 256). */
  hidden?: number;
  /** Also connect the word features straight to the output (Bengio et al.'s W; default false). */
  direct?: boolean;
  /** The id that stands before the first word of a stream (default 0). */
  startId?: number;
  /** Dropout on the tanh layer's output in training (default 0). */
  dropout?: number;
  /** Where dropout masks come from (default: the global generator). */
  generator?: Generator;
}

/**
 * Bengio et al.'s neural probabilistic language model (2003; seed 003's "distributed representations"):
 * the n − 1 previous words' feature vectors from one shared table C, concatenated into x, then
 *
 * ```text
 * y = b + W x + U tanh(d + H x),   P(w_t | context) = softmax(y)
 * ```
 *
 * For streams of text it takes ids [B, T] and predicts every position; the state it carries to the next
 * window is the last n − 1 ids, so windows continue where the previous one stopped.
 *
 *     const nplm = new NeuralProbabilisticLM(10, { order: 3, embed: 8, hidden: 16 });
 *     const [logits, last] = nplm.forward(tensor([[1, 2, 3, 4]], { dtype: 'int32' }));
 *     logits.shape // → [1, 4, 10]
 *     last // → [[3, 4]]
 *     const [next] = nplm.forward(tensor([[5, 6]], { dtype: 'int32' }), last); // 5 is predicted from 3 4
 */
export class NeuralProbabilisticLM extends Module<[Tensor, Tensor?], [Tensor, Tensor]> {
  readonly C: Embedding;
  readonly H: Linear;
  readonly U: Linear;
  readonly W: Linear | null;
  readonly order: number;
  private readonly startId: number;
  readonly p: number;
  private readonly generator: Generator | undefined;

  constructor(
    readonly vocabSize: number,
    {
      order = 5,
      embed = 64,
      hidden = 256,
      direct = false,
      startId = 0,
      dropout: p = 0,
      generator,
    }: NplmOptions = {},
  ) {
    super();
    if (!(Number.isInteger(order) && order >= 2))
      fail('NeuralProbabilisticLM', `order must be an integer ≥ 2, got ${order}`);
    this.order = order;
    this.startId = startId;
    this.p = p;
    this.generator = generator;
    this.C = new Embedding(vocabSize, embed);
    this.H = new Linear((order - 1) * embed, hidden);
    this.U = new Linear(hidden, vocabSize);
    this.W = direct ? new Linear((order - 1) * embed, vocabSize, { bias: false }) : null;
  }

  forward(ids: Tensor, previous?: Tensor): [Tensor, Tensor] {
    if (ids.rank !== 2 || ids.dtype !== 'int32')
      fail(
        'NeuralProbabilisticLM',
        `expected int32 token ids [batch, time], got ${ids.dtype} ${fmtShape(ids.shape)}`,
      );
    const [batch, steps] = ids.shape as [number, number];
    const context = this.order - 1;
    const prev = previous ?? full([batch, context], this.startId, { dtype: 'int32' });
    if (prev.rank !== 2 || prev.shape[0] !== batch || prev.shape[1] !== context)
      fail(
        'NeuralProbabilisticLM',
        `expected the previous ids [${batch}, ${context}], got ${fmtShape(prev.shape)}`,
      );
    const all = concat([prev, ids], 1);
    // Position t sees all[t .. t + n − 2]: the n − 1 words before ids[t], oldest first.
    const x = concat(
      Array.from({ length: context }, (_, k) => this.C.forward(all.narrow(1, k, steps))),
      2,
    );
    let y = this.U.forward(dropout(this.H.forward(x).tanh(), this.p, this.training, this.generator));
    if (this.W) y = y.add(this.W.forward(x));
    return [y, all.narrow(1, steps, context).contiguous()];
  }
}
