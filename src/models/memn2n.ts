import { noGrad } from '../autograd/mode.js';
import { describe, fail, fmtShape } from '../errors.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { softmax } from '../ops/functional.js';
import { tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** How the embeddings are shared across hops (Sukhbaatar et al. 2015, §2.2). */
export type MemoryTying = 'adjacent' | 'layerwise';
/** How a sentence's word vectors become one memory vector: their sum, or the position-weighted sum. */
export type SentenceEncoding = 'bow' | 'position';

export interface MemN2NOptions {
  /** Words, `<nil>` (id 0) included: it embeds to zero everywhere. */
  vocabSize: number;
  /** Memory hops K, 1 to 3 (default 3). */
  hops?: number;
  tying?: MemoryTying;
  encoding?: SentenceEncoding;
  /** Learned vectors per memory slot (T_A, T_C) added to the memories (default true). */
  temporal?: boolean;
  /** Memory slots (default 50). */
  memorySize?: number;
  /** Width d of every embedding (default 20). */
  embed?: number;
  /** Draws the N(0, 0.1) initial weights (default a fresh Generator(0)). */
  generator?: Generator;
}

/** One forward pass: the answer's logits [B, V] and each hop's attention over the memory slots [B, M]. */
export interface MemN2NOutput {
  logits: Tensor;
  attention: Tensor[];
}

/**
 * The position encoding of a sentence of J words in d dimensions, as the authors' released code computes
 * it: l_kj = 1 + 4 (k − (d+1)/2)(j − (J+1)/2) / (dJ), j = 1..J the word, k = 1..d the dimension. It is
 * §4.1's l_kj = (1 − j/J) − (k/d)(1 − 2j/J) centred on 1 instead of ½, about twice as large; with §4.1's
 * values the sentence vectors start half as long, and in our runs task 16 (basic induction) then stays at
 * 50% error, where with these it reaches 0.1%. Returned as J rows of d.
 *
 *     positionEncoding(2, 2) // → [[1.25, 0.75], [0.75, 1.25]]
 */
export function positionEncoding(words: number, dim: number): number[][] {
  return Array.from({ length: words }, (_, j) =>
    Array.from(
      { length: dim },
      (_, k) => 1 + (4 * (k + 1 - (dim + 1) / 2) * (j + 1 - (words + 1) / 2)) / (dim * words),
    ),
  );
}

/**
 * An end-to-end memory network (Sukhbaatar, Szlam, Weston & Fergus 2015) over bAbI-style stories.
 *
 * ```text
 * memory i, hop k:  m_i = Σ_j l_j ⊙ A^k x_ij + T_A^k(i),   c_i = Σ_j l_j ⊙ C^k x_ij + T_C^k(i)
 * question:         u^1 = Σ_j l_j ⊙ B q_j
 * attention:        p^k = softmax(u^kᵀ m_i) over the slots i (linear start: p^k = u^kᵀ m_i)
 * next:             u^{k+1} = u^k + Σ_i p^k_i c_i   (layer-wise: H u^k + Σ_i p^k_i c_i)
 * answer:           â = softmax(W u^{K+1})
 * ```
 *
 * l_j is 1 (bag of words) or the position encoding (positionEncoding); slot 0 is the most recent
 * sentence, so T(i) is "i sentences ago". Adjacent tying: K + 1 tables E_0..E_K with A^k = E_{k−1},
 * C^k = E_k, B = A^1 = E_0 and W = C^K = E_K (and T_A^{k+1} = T_C^k); layer-wise: one A, one C and one
 * B for every hop, with a learned H and a separate W. Slots past the story (`slots` 0) take no weight.
 * The `<nil>` word (id 0) embeds to zero and stays zero: its rows get no gradient.
 *
 *     const net = new MemN2N({ vocabSize: 10, hops: 2, memorySize: 4, embed: 6 });
 *     const stories = tensor([[[2, 3, 0], [4, 5, 6], [0, 0, 0], [0, 0, 0]]], { dtype: 'int32' });
 *     const slots = tensor([[1, 1, 0, 0]]);
 *     const out = net.run(stories, slots, tensor([[7, 8]], { dtype: 'int32' }));
 *     out.logits.shape // → [1, 10]
 *     out.attention.length // → 2
 */
export class MemN2N extends Module<[Tensor, Tensor, Tensor], Tensor> {
  /** Adjacent: E_0..E_K; layer-wise: B, A, C. */
  readonly embeddings: Embedding[];
  /** Adjacent: T_0..T_K; layer-wise: T_A, T_C; none without temporal encoding. */
  readonly temporal: Embedding[];
  readonly mix: Linear | null;
  readonly output: Linear | null;
  readonly hops: number;
  readonly tying: MemoryTying;
  readonly encoding: SentenceEncoding;
  readonly memorySize: number;
  readonly embed: number;
  readonly vocabSize: number;
  /** Linear start: the attention's softmax left out (until the recipe puts it back). */
  linearStart = false;
  private readonly positionTables = new Map<number, Float32Array>();

  constructor({
    vocabSize,
    hops = 3,
    tying = 'adjacent',
    encoding = 'position',
    temporal = true,
    memorySize = 50,
    embed = 20,
    generator = new Generator(0),
  }: MemN2NOptions) {
    super();
    const op = 'MemN2N';
    if (!(Number.isInteger(vocabSize) && vocabSize >= 2))
      fail(op, `vocabSize must be an integer ≥ 2 (<nil> and a word), got ${describe(vocabSize)}`);
    if (!(Number.isInteger(hops) && hops >= 1 && hops <= 3))
      fail(op, `hops must be 1, 2 or 3, got ${describe(hops)}`);
    if (tying !== 'adjacent' && tying !== 'layerwise')
      fail(op, `tying must be 'adjacent' or 'layerwise', got ${describe(tying)}`);
    if (encoding !== 'bow' && encoding !== 'position')
      fail(op, `encoding must be 'bow' or 'position', got ${describe(encoding)}`);
    for (const [k, v] of [
      ['memorySize', memorySize],
      ['embed', embed],
    ] as const)
      if (!(Number.isInteger(v) && v >= 1)) fail(op, `${k} must be a positive integer, got ${describe(v)}`);
    this.hops = hops;
    this.tying = tying;
    this.encoding = encoding;
    this.memorySize = memorySize;
    this.embed = embed;
    this.vocabSize = vocabSize;
    const normal = (rows: number, cols: number, nil: boolean) => {
      const w = new Float32Array(rows * cols);
      for (let i = nil ? cols : 0; i < w.length; i++) w[i] = 0.1 * generator.normal();
      return w;
    };
    const table = (rows: number, nil: boolean) => {
      const e = new Embedding(rows, embed, nil ? { paddingIdx: 0 } : {});
      e.weight.data.set(normal(rows, embed, nil));
      return e;
    };
    const tables = tying === 'adjacent' ? hops + 1 : 3;
    this.embeddings = Array.from({ length: tables }, () => table(vocabSize, true));
    this.temporal = temporal
      ? Array.from({ length: tying === 'adjacent' ? hops + 1 : 2 }, () => table(memorySize, false))
      : [];
    this.mix = tying === 'layerwise' ? new Linear(embed, embed, { bias: false }) : null;
    this.output = tying === 'layerwise' ? new Linear(embed, vocabSize, { bias: false }) : null;
    if (this.mix) this.mix.weight.data.set(normal(embed, embed, false));
    if (this.output) this.output.weight.data.set(normal(vocabSize, embed, true));
  }

  /** The question's embedding B. */
  get question(): Embedding {
    return this.embeddings[0]!;
  }

  /** Hop k's (1-based) input memory embedding A^k and its temporal table T_A^k (null without). */
  memoryIn(k: number): { words: Embedding; time: Embedding | null } {
    const i = this.tying === 'adjacent' ? k - 1 : 1;
    return { words: this.embeddings[i]!, time: this.temporal[this.tying === 'adjacent' ? i : 0] ?? null };
  }

  /** Hop k's (1-based) output memory embedding C^k and its temporal table T_C^k (null without). */
  memoryOut(k: number): { words: Embedding; time: Embedding | null } {
    const i = this.tying === 'adjacent' ? k : 2;
    return { words: this.embeddings[i]!, time: this.temporal[this.tying === 'adjacent' ? i : 1] ?? null };
  }

  /** The logits of the answer: W u^{K+1}, W = C^K (adjacent, its `<nil>` row held at zero) or its own. */
  private answer(u: Tensor): Tensor {
    if (this.output) return this.output.forward(u);
    const w = this.embeddings[this.hops]!.weight;
    const keep = new Float32Array(this.vocabSize).fill(1);
    keep[0] = 0;
    return u.matmul(w.mul(tensor(keep).reshape([-1, 1])).transpose(0, 1));
  }

  /** The words' weights l_j of each sentence of `ids` [..., L] as [..., L, d] (1s for bag of words). */
  private weights(ids: Tensor): Tensor | null {
    if (this.encoding === 'bow') return null;
    const width = ids.shape[ids.rank - 1]!;
    // A sentence's words come first, then <nil>s: its length picks its rows of the table.
    const lengths = ids
      .ne(0)
      .sum(ids.rank - 1)
      .cast('int32')
      .reshape([-1]);
    return tensor(this.positionTable(width))
      .reshape([width + 1, width * this.embed])
      .indexSelect(0, lengths)
      .reshape([...ids.shape, this.embed]);
  }

  /** Row J (0..width) holds the l_j of a J-word sentence, then zeros: one table per sentence width. */
  private positionTable(width: number): Float32Array {
    let table = this.positionTables.get(width);
    if (table) return table;
    const d = this.embed;
    table = new Float32Array((width + 1) * width * d);
    for (let words = 1; words <= width; words++)
      table.set(positionEncoding(words, d).flat(), words * width * d);
    this.positionTables.set(width, table);
    return table;
  }

  private encode(ids: Tensor, table: Embedding, l: Tensor | null, axis: number): Tensor {
    const e = table.forward(ids);
    return (l ? e.mul(l) : e).sum(axis);
  }

  /**
   * The answer's logits and each hop's attention for `stories` [B, M, L] (int32, slot 0 the most recent
   * sentence, M up to memorySize: slots past M are empty), `slots` [B, M] (1 where a slot holds a memory)
   * and `queries` [B, Lq] (int32).
   */
  run(stories: Tensor, slots: Tensor, queries: Tensor): MemN2NOutput {
    const op = 'MemN2N';
    const m = stories.shape[1]!;
    if (stories.rank !== 3 || !(m >= 1 && m <= this.memorySize) || stories.dtype !== 'int32')
      fail(
        op,
        `stories must be int32 word ids [B, M, L] with M from 1 to the memory size ${this.memorySize}, got ${stories.dtype} ${fmtShape(stories.shape)}`,
      );
    const b = stories.shape[0]!;
    if (slots.rank !== 2 || slots.shape[0] !== b || slots.shape[1] !== m)
      fail(op, `slots must be [${b}, ${m}] (1 for a memory, 0 past the story), got ${fmtShape(slots.shape)}`);
    if (queries.rank !== 2 || queries.shape[0] !== b || queries.dtype !== 'int32')
      fail(op, `queries must be int32 word ids [${b}, Lq], got ${queries.dtype} ${fmtShape(queries.shape)}`);
    const [sl, ql] = noGrad(() => [this.weights(stories), this.weights(queries)]);
    const mask = slots.sub(1).mul(1e9);
    let u = this.encode(queries, this.question, ql, 1);
    const attention: Tensor[] = [];
    const memory = (k: number, side: 'in' | 'out'): Tensor => {
      const { words, time } = side === 'in' ? this.memoryIn(k) : this.memoryOut(k);
      const x = this.encode(stories, words, sl, 2);
      return time ? x.add(m === this.memorySize ? time.weight : time.weight.narrow(0, 0, m)) : x;
    };
    // Adjacent tying hands C^k to the next hop as its A^{k+1}: encode each table once.
    let input = memory(1, 'in');
    for (let k = 1; k <= this.hops; k++) {
      const scores = input.matmul(u.unsqueeze(2)).squeeze(2);
      const p = this.linearStart ? scores.mul(slots) : softmax(scores.add(mask), 1);
      attention.push(p);
      const out = memory(k, 'out');
      const o = p.unsqueeze(1).matmul(out).squeeze(1);
      u = (this.mix ? this.mix.forward(u) : u).add(o);
      input = this.tying === 'adjacent' ? out : input;
    }
    return { logits: this.answer(u), attention };
  }

  /** The answer's logits [B, V] (see run). */
  forward(stories: Tensor, slots: Tensor, queries: Tensor): Tensor {
    return this.run(stories, slots, queries).logits;
  }

  protected override extraRepr(): string {
    return `hops=${this.hops}, tying=${this.tying}, encoding=${this.encoding}, temporal=${this.temporal.length > 0}, memorySize=${this.memorySize}, embed=${this.embed}`;
  }
}
