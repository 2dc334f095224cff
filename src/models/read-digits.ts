import { CAPTION_IDS, CAPTION_VOCAB } from '../data/digit-strips.js';
import { fail, fmtShape } from '../errors.js';
import { ReLU } from '../nn/activation.js';
import { AdditiveAttention } from '../nn/attention.js';
import { Conv2d, MaxPool2d } from '../nn/conv.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/layers.js';
import { evaluating, Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { GRU, GRUCell } from '../nn/recurrent.js';
import { Sequential } from '../nn/sequential.js';
import { concat, stack } from '../ops/movement.js';
import { tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

/** Soft attention over the encoder's columns (Xu et al. 2015), or none: a single "thought vector" of the strip. */
export type DigitAttention = 'soft' | 'none';

export interface DigitReaderOptions {
  attention?: DigitAttention;
  /** Strip height and width in pixels (default 32 × 128); the width must be a multiple of 4. */
  height?: number;
  width?: number;
  /** Channels of the four convolution stages (default [16, 32, 64, 128]); the last is the feature columns' width. */
  channels?: readonly number[];
  /** Units of the GRU decoder (default 128). */
  hidden?: number;
  /** Width of the word vectors (default 64). */
  embed?: number;
  /** The most digits a caption holds; greedy reading stops after maxDigits + 1 words (default 5). */
  maxDigits?: number;
}

/** What greedy reading gives for each strip: its digits, and each output word's attention over the columns. */
export interface DigitReading {
  digits: number[][];
  /** Per strip, one row of column weights per output word (the digits, then `<eos>` when read); empty without attention. */
  attention: number[][][];
}

/**
 * A reader of digit strips (the captioning of the review's Fig. 3, after Xu et al. 2015): a ConvNet encodes
 * the strip [N, 1, H, W] into W/4 feature columns, and a GRU decoder writes the caption word by word
 * over the vocabulary `<pad> <bos> <eos> zero … nine`.
 *
 * ```text
 * encoder: conv 3×3 stride 2, conv 3×3, pool 2×2, conv 3×3, pool 2×1 (each conv → ReLU, the last two
 *          after a BatchNorm),
 *          then a conv over the remaining H/8 rows: feature columns f_1..f_S [N, S = W/4, C];
 *          a bidirectional GRU of C/2 units a direction reads them both ways, a_s = f_s + [→g_s; ←g_s]
 * soft:    h_0 = tanh(W_init · mean_s a_s)
 *          step t: α_t = softmax_s(vᵀ tanh(W_q h_{t−1} + W_k a_s)),  z_t = Σ_s α_ts a_s
 *                  h_t = GRU([E y_{t−1}; z_t], h_{t−1}),  logits_t = W_o tanh(W_c [h_t; z_t])
 * none:    z = tanh(W_thought · flatten(a)) (the whole strip in one vector), h_0 = tanh(W_init z),
 *          and the same decoder with z_t = z at every step
 * ```
 *
 * A column of the ConvNet sees about one digit (a receptive field 25 pixels wide); the recurrent pass
 * over the columns (as in Shi et al.'s CRNN) lets each one know what lies on either side and how far
 * along the strip it is, which the attention needs to step from one digit to the next.
 * The attention is Xu et al.'s (and Bahdanau et al.'s) scheme: each step looks with the previous state
 * h_{t−1} before it reads, and feeds the context z_t into the GRU, so the decoder knows where it looked
 * last (the strips' digits sit at random places, so "the next digit" is relative to the last one).
 * Additive scores, with the columns' projection W_k a_s computed once per strip rather than per step.
 * In training the decoder reads the reference caption shifted right (teacher forcing); `read` decodes
 * greedily until `<eos>`.
 *
 *     const reader = new DigitReader({ channels: [4, 8, 8, 16], hidden: 16, embed: 8 });
 *     const images = rand([2, 1, 32, 128]);
 *     const captions = tensor([[1, 6, 4, 2], [1, 9, 2, 0]], { dtype: 'int32' });
 *     reader.forward(images, captions).shape // → [2, 4, 13]
 *     reader.read(images).digits.length // → 2
 */
export class DigitReader extends Module<[Tensor, Tensor], Tensor> {
  readonly encoder: Sequential;
  readonly context: GRU;
  readonly thought: Linear | null;
  readonly attention: AdditiveAttention | null;
  readonly init: Linear;
  readonly embedding: Embedding;
  readonly cell: GRUCell;
  readonly combine: Linear;
  readonly output: Linear;
  readonly kind: DigitAttention;
  readonly height: number;
  readonly width: number;
  readonly columns: number;
  /** Features per column (the last convolution's channels). */
  readonly features: number;
  readonly maxDigits: number;

  constructor({
    attention = 'soft',
    height = 32,
    width = 128,
    channels = [16, 32, 64, 128],
    hidden = 128,
    embed = 64,
    maxDigits = 5,
  }: DigitReaderOptions = {}) {
    super();
    const op = 'DigitReader';
    if (attention !== 'soft' && attention !== 'none')
      fail(op, `attention must be soft or none, got '${attention}'`);
    if (!(Number.isInteger(height) && height >= 8 && height % 8 === 0))
      fail(op, `height must be a positive multiple of 8 (three 2× reductions down), got ${height}`);
    if (!(Number.isInteger(width) && width >= 4 && width % 4 === 0))
      fail(op, `width must be a positive multiple of 4 (two 2× poolings across), got ${width}`);
    if (channels.length !== 4 || !channels.every((c) => Number.isInteger(c) && c >= 1) || channels[3]! % 2)
      fail(op, `channels must be four positive integers, the last even, got [${channels.join(', ')}]`);
    if (!(Number.isInteger(maxDigits) && maxDigits >= 1))
      fail(op, `maxDigits must be a positive integer, got ${maxDigits}`);
    const [c1, c2, c3, c4] = channels as [number, number, number, number];
    // Cheap where the maps are large: a strided first layer instead of a pooled one, and batch
    // normalisation only once the maps are small (elementwise work, not the products, dominates up front).
    this.encoder = new Sequential(
      new Conv2d(1, c1, 3, { stride: 2, padding: 1 }),
      new ReLU(),
      new Conv2d(c1, c2, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(c2, c3, 3, { padding: 1, bias: false }),
      new BatchNorm2d(c3),
      new ReLU(),
      new MaxPool2d([2, 1]),
      new Conv2d(c3, c4, [height / 8, 3], { padding: [0, 1], bias: false }),
      new BatchNorm2d(c4),
      new ReLU(),
    );
    this.context = new GRU(c4, c4 / 2, { batchFirst: true, bidirectional: true });
    const features = channels[3]!;
    this.columns = width / 4;
    this.features = features;
    this.thought = attention === 'none' ? new Linear(this.columns * features, features) : null;
    this.attention = attention === 'soft' ? new AdditiveAttention(hidden, features, hidden / 2) : null;
    this.init = new Linear(features, hidden);
    this.embedding = new Embedding(CAPTION_VOCAB.length, embed);
    this.cell = new GRUCell(embed + features, hidden);
    this.combine = new Linear(hidden + features, hidden);
    this.output = new Linear(hidden, CAPTION_VOCAB.length);
    this.kind = attention;
    this.height = height;
    this.width = width;
    this.maxDigits = maxDigits;
  }

  private checkImages(op: string, images: unknown): asserts images is Tensor {
    const want = [-1, 1, this.height, this.width];
    if (
      !(images instanceof Tensor) ||
      images.rank !== 4 ||
      images.dtype !== 'float32' ||
      images.shape.some((d, i) => i > 0 && d !== want[i])
    )
      fail(
        op,
        `expected float32 strips [N, 1, ${this.height}, ${this.width}], got ${images instanceof Tensor ? `${images.dtype} ${fmtShape(images.shape)}` : typeof images}`,
      );
  }

  /** Encoded strips are [N, S, C] as `encode` gives them. */
  private checkColumns(op: string, columns: Tensor): void {
    const want = [this.columns, this.features];
    if (
      !(columns instanceof Tensor) ||
      columns.rank !== 3 ||
      columns.shape[1] !== want[0] ||
      columns.shape[2] !== want[1]
    )
      fail(
        op,
        `expected encoded strips [N, ${want[0]}, ${want[1]}] (encode's output), got ${columns instanceof Tensor ? fmtShape(columns.shape) : typeof columns}`,
      );
  }

  /** The feature columns [N, S, C] of strips [N, 1, H, W]. */
  encode(images: Tensor): Tensor {
    this.checkImages('DigitReader.encode', images);
    const maps = this.encoder.forward(images) as Tensor; // [N, C, 1, W/4]
    const columns = maps.squeeze(2).transpose(1, 2);
    return columns.add(this.context.forward(columns)[0]);
  }

  /** What every step needs: the columns, their key projection, the initial state, and the fixed context without attention. */
  private start(columns: Tensor) {
    const n = columns.shape[0]!;
    const thought = this.thought ? this.thought.forward(columns.reshape([n, -1])).tanh() : null;
    const h = this.init.forward(thought ?? columns.mean(1)).tanh();
    const keys = this.attention ? this.attention.keyProj.forward(columns) : null;
    return { columns, keys, thought, h };
  }

  /** One step: the context from h_{t−1}, the new state and the logits; the weights [N, S] with attention. */
  private step(
    s: ReturnType<DigitReader['start']>,
    words: Tensor,
    h: Tensor,
  ): { logits: Tensor; h: Tensor; weights: Tensor | null } {
    let context: Tensor;
    let weights: Tensor | null = null;
    if (this.attention) {
      const query = this.attention.queryProj.forward(h).unsqueeze(1); // [N, 1, A]
      const scores = this.attention.energy.forward(query.add(s.keys!).tanh()).squeeze(2); // [N, S]
      weights = scores.softmax(-1);
      context = weights.unsqueeze(1).matmul(s.columns).squeeze(1);
    } else context = s.thought!;
    const next = this.cell.forward(concat([this.embedding.forward(words), context], 1), h);
    const logits = this.output.forward(this.combine.forward(concat([next, context], 1)).tanh());
    return { logits, h: next, weights };
  }

  /** Logits [N, T, 13] of each next word after the caption prefix `captionsIn` [N, T] (int32, from `<bos>`). */
  forward(images: Tensor, captionsIn: Tensor): Tensor {
    this.checkImages('DigitReader', images);
    return this.decodeFor('DigitReader', this.encode(images), captionsIn);
  }

  /** forward's logits from strips already encoded (`encode`), so that reading and scoring encode once. */
  decode(columns: Tensor, captionsIn: Tensor): Tensor {
    return this.decodeFor('DigitReader.decode', columns, captionsIn);
  }

  /** decode, its errors named for the method the caller called. */
  private decodeFor(op: string, columns: Tensor, captionsIn: Tensor): Tensor {
    this.checkColumns(op, columns);
    if (
      !(captionsIn instanceof Tensor) ||
      captionsIn.rank !== 2 ||
      captionsIn.dtype !== 'int32' ||
      captionsIn.shape[0] !== columns.shape[0]
    )
      fail(
        op,
        `expected the captions as int32 ids [N, T] with N = ${columns.shape[0]} strips, got ${captionsIn instanceof Tensor ? `${captionsIn.dtype} ${fmtShape(captionsIn.shape)}` : typeof captionsIn}`,
      );
    const s = this.start(columns);
    let h = s.h;
    const logits: Tensor[] = [];
    for (let t = 0; t < captionsIn.shape[1]!; t++) {
      const r = this.step(s, captionsIn.select(1, t), h);
      logits.push(r.logits);
      h = r.h;
    }
    return stack(logits, 1);
  }

  /**
   * Reads strips greedily, in eval mode and without recording: the most probable word at each step,
   * each strip until `<eos>` or maxDigits + 1 words. `<bos>`, `<eos>` or `<pad>` before the end reads as
   * the end of the caption.
   */
  read(images: Tensor): DigitReading {
    this.checkImages('DigitReader.read', images);
    return evaluating(this, () => this.readEncoded(this.encode(images)));
  }

  /** read's greedy reading from strips already encoded (`encode`, in eval mode). */
  readEncoded(columns: Tensor): DigitReading {
    this.checkColumns('DigitReader.readEncoded', columns);
    return evaluating(this, () => {
      const n = columns.shape[0]!;
      const s = this.start(columns);
      let h = s.h;
      let words = tensor(new Int32Array(n).fill(CAPTION_IDS.bos), { shape: [n] });
      const digits: number[][] = Array.from({ length: n }, () => []);
      const attention: number[][][] = Array.from({ length: n }, () => []);
      const done = new Array<boolean>(n).fill(false);
      for (let t = 0; t <= this.maxDigits && done.includes(false); t++) {
        const r = this.step(s, words, h);
        h = r.h;
        words = r.logits.argmax(-1).cast('int32');
        const ids = words.toTypedArray();
        const w = r.weights?.toTypedArray();
        const S = this.columns;
        for (let i = 0; i < n; i++) {
          if (done[i]) continue;
          if (w) attention[i]!.push(Array.from(w.subarray(i * S, (i + 1) * S)));
          const id = ids[i]!;
          if (id >= CAPTION_IDS.digit) digits[i]!.push(id - CAPTION_IDS.digit);
          else done[i] = true;
        }
      }
      return { digits, attention };
    });
  }

  protected override extraRepr(): string {
    return `attention=${this.kind}, strips=${this.height}×${this.width}, columns=${this.columns}, maxDigits=${this.maxDigits}`;
  }
}
