import { fail } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Text to token ids and back: tokenizers, a vocabulary with `<unk>` and a frequency cut-off, and the
 * contiguous streams a language model trains on.
 */

/**
 * Marks the end of a paragraph in word streams (as `<eos>` marks line ends in the Penn Treebank files).
 *
 *     data.wordTokens('Call me Ishmael.\n\nSome years ago') // → ['call', 'me', 'ishmael', '.', '<eos>', 'some', 'years', 'ago', '<eos>']
 *     data.EOS // → '<eos>'
 */
export const EOS = '<eos>';
/**
 * Stands for every word outside the vocabulary.
 *
 *     const vocab = data.Vocab.build(['call', 'me', 'ishmael']); // specials: [UNK]
 *     vocab.token(vocab.id('ahab')) // → '<unk>'
 *     data.UNK // → '<unk>'
 */
export const UNK = '<unk>';

// A word: letters, with inner apostrophes (whale's, don't) or hyphens (sea-captain); or a number; or one
// punctuation mark.
const WORD = /[\p{L}]+(?:['’-][\p{L}]+)*|\p{N}+|[^\s\p{L}\p{N}]/gu;

/**
 * Words and punctuation, lower-cased, with `<eos>` after each paragraph (blank-line separated).
 *
 *     data.wordTokens('Call me Ishmael. Some years ago—') // → ['call', 'me', 'ishmael', '.', 'some', 'years', 'ago', '—', '<eos>']
 */
export function wordTokens(text: string): string[] {
  const out: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const words = paragraph.toLowerCase().match(WORD);
    if (!words) continue;
    out.push(...words, EOS);
  }
  return out;
}

/**
 * Characters, as they are (newlines included): the character-level model predicts every one.
 *
 *     data.charTokens('Ahab!\n') // → ['A', 'h', 'a', 'b', '!', '\n']
 */
export function charTokens(text: string): string[] {
  return Array.from(text);
}

/**
 * Words back to text (the inverse of wordTokens): no space before punctuation that closes, a new paragraph at <eos>.
 *
 *     data.detokenize(['call', 'me', 'ishmael', '.', '<eos>', 'some', 'years', 'ago']) // → 'call me ishmael.\n\nsome years ago'
 */
export function detokenize(words: readonly string[]): string {
  let text = '';
  for (const w of words) {
    if (w === EOS) text += '\n\n';
    else if (/^[.,;:!?)’'”]$/.test(w) || text === '' || text.endsWith('\n') || /[—(“‘-]$/.test(text))
      text += w;
    else if (w === '—') text += w;
    else text += ` ${w}`;
  }
  return text.trim();
}

export interface VocabOptions {
  /** Tokens seen fewer times than this become `<unk>` (default 1: keep everything). */
  minFreq?: number;
  /** Keep at most this many tokens (the most frequent, ties broken by first appearance), specials included. */
  maxSize?: number;
  /** Tokens given the first ids whether or not they occur (default `['<unk>']`). */
  specials?: readonly string[];
  /** The special that stands for unknown tokens (default the first special). */
  unk?: string;
}

/**
 * Token ↔ id, built from training tokens: specials first, then by falling frequency (ties by first
 * appearance, so the same text gives the same ids). Unknown tokens map to the first special (`<unk>`)
 * or to the special named by `unk`, and are an error when there are no specials.
 *
 *     const vocab = data.Vocab.build(data.wordTokens('the whale, the sea and the ship'), { specials: [data.UNK, data.EOS] });
 *     vocab.itos // → ['<unk>', '<eos>', 'the', 'whale', ',', 'sea', 'and', 'ship']
 *     vocab.encode(['the', 'ship', 'ahab']) // → [2, 7, 0]
 *     vocab.decode([3, 5]) // → ['whale', 'sea']
 *     data.Vocab.fromJSON(vocab.toJSON()).size // → 8
 */
export class Vocab {
  readonly itos: readonly string[];
  private readonly stoi: Map<string, number>;
  /** How often each token (by id) occurred in the text the vocabulary was built from. */
  readonly counts: readonly number[];

  constructor(
    itos: readonly string[],
    counts?: readonly number[],
    readonly unkId: number | null = 0,
  ) {
    this.itos = itos;
    this.stoi = new Map(itos.map((t, i) => [t, i]));
    if (this.stoi.size !== itos.length) fail('Vocab', 'the token list has duplicates');
    this.counts = counts ?? itos.map(() => 0);
    if (unkId !== null && !(unkId >= 0 && unkId < itos.length)) fail('Vocab', `unkId ${unkId} is not an id`);
  }

  static build(
    tokens: Iterable<string>,
    { minFreq = 1, maxSize = Infinity, specials = [UNK], unk }: VocabOptions = {},
  ): Vocab {
    const unkId = unk === undefined ? (specials.length ? 0 : null) : specials.indexOf(unk);
    if (unkId === -1) fail('Vocab', `unk '${unk}' is not one of the specials [${specials.join(', ')}]`);
    if (!(Number.isInteger(minFreq) && minFreq >= 1))
      fail('Vocab', `minFreq must be an integer ≥ 1, got ${minFreq}`);
    if (!(maxSize >= specials.length))
      fail('Vocab', `maxSize ${maxSize} cannot hold the ${specials.length} specials`);
    const freq = new Map<string, number>();
    for (const t of tokens) freq.set(t, (freq.get(t) ?? 0) + 1);
    const ranked = [...freq.entries()]
      .filter(([t, n]) => n >= minFreq && !specials.includes(t))
      .map(([t, n], order) => ({ t, n, order }))
      .sort((a, b) => b.n - a.n || a.order - b.order)
      .slice(0, maxSize - specials.length);
    const itos = [...specials, ...ranked.map((r) => r.t)];
    return new Vocab(
      itos,
      itos.map((t) => freq.get(t) ?? 0),
      unkId,
    );
  }

  get size(): number {
    return this.itos.length;
  }

  has(token: string): boolean {
    return this.stoi.has(token);
  }

  id(token: string): number {
    const i = this.stoi.get(token);
    if (i !== undefined) return i;
    if (this.unkId === null) fail('Vocab', `token '${token}' is not in the vocabulary (and it has no <unk>)`);
    return this.unkId;
  }

  token(id: number): string {
    const t = this.itos[id];
    if (t === undefined) fail('Vocab', `id ${id} is outside the vocabulary [0, ${this.size})`);
    return t;
  }

  encode(tokens: readonly string[]): Int32Array {
    return Int32Array.from(tokens, (t) => this.id(t));
  }

  decode(ids: Iterable<number>): string[] {
    return Array.from(ids, (i) => this.token(i));
  }

  /** For checkpoints: the token list and the counts. */
  toJSON(): { itos: readonly string[]; counts: readonly number[]; unkId: number | null } {
    return { itos: this.itos, counts: this.counts, unkId: this.unkId };
  }

  static fromJSON(o: { itos: readonly string[]; counts?: readonly number[]; unkId?: number | null }): Vocab {
    if (!Array.isArray(o.itos) || !o.itos.every((t) => typeof t === 'string'))
      fail('Vocab', 'expected a JSON object with a string array itos');
    return new Vocab(o.itos, o.counts, o.unkId ?? null);
  }
}

/**
 * A token stream cut into `batch` contiguous streams side by side, [batch, ⌊n / batch⌋] int32 (the
 * tail that does not fill a column is dropped), as PyTorch's word-language-model example batches text.
 *
 *     data.batchify(Int32Array.of(0, 1, 2, 3, 4, 5, 6), 2) // → [[0, 1, 2], [3, 4, 5]]
 */
export function batchify(ids: Int32Array, batch: number): Tensor {
  if (!(Number.isInteger(batch) && batch >= 1))
    fail('batchify', `batch must be a positive integer, got ${batch}`);
  const columns = Math.floor(ids.length / batch);
  if (columns < 2) fail('batchify', `${ids.length} tokens cannot fill ${batch} streams of at least 2 tokens`);
  return tensor(ids.subarray(0, columns * batch), { dtype: 'int32' }).reshape([batch, columns]);
}

/**
 * The windows of truncated BPTT over streams [B, N]: input [B, len] and target [B, len] (the next
 * tokens), len = bptt except for the last window. Consecutive windows continue each stream, so a
 * model's final state carries over from one to the next.
 *
 *     const streams = data.batchify(Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), 2); // [[0, ..., 4], [5, ..., 9]]
 *     const [[x1, y1], [x2, y2]] = [...data.bpttWindows(streams, 3)];
 *     x1 // → [[0, 1, 2], [5, 6, 7]]
 *     y1 // → [[1, 2, 3], [6, 7, 8]]
 *     x2 // → [[3], [8]]
 *     y2 // → [[4], [9]]
 */
export function* bpttWindows(streams: Tensor, bptt: number): Generator<[Tensor, Tensor]> {
  if (!(Number.isInteger(bptt) && bptt >= 1))
    fail('bpttWindows', `bptt must be a positive integer, got ${bptt}`);
  const n = streams.shape[1]!;
  for (let i = 0; i + 1 < n; i += bptt) {
    const len = Math.min(bptt, n - 1 - i);
    yield [streams.narrow(1, i, len).contiguous(), streams.narrow(1, i + 1, len).contiguous()];
  }
}
