import { fail } from '../errors.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { EOS, UNK, Vocab, type VocabOptions } from './text.js';

/**
 * Sentence pairs for translation: the tokenisation of English and French, vocabularies with fixed
 * special ids, sentences to ids and back, padded batches with masks, and batches bucketed by length.
 */

/**
 * Pads sequences to the batch's longest; id 0 in a translation vocabulary.
 *
 *     data.PAD // → '<pad>'
 */
export const PAD = '<pad>';
/**
 * Begins every encoded sentence (the decoder's first input); id 1 in a translation vocabulary.
 *
 *     data.BOS // → '<bos>'
 */
export const BOS = '<bos>';
/**
 * The specials of a translation vocabulary, at fixed ids: `<pad>` 0, `<bos>` 1, `<eos>` 2, `<unk>` 3.
 *
 *     data.TRANSLATION_SPECIALS // → ['<pad>', '<bos>', '<eos>', '<unk>']
 */
export const TRANSLATION_SPECIALS: readonly string[] = [PAD, BOS, EOS, UNK];

/** One sentence and its translation, as written. */
export interface SentencePair {
  source: string;
  target: string;
}

/** One source sentence and all of its translations: the references it is scored against. */
export interface ReferenceSet {
  source: string;
  references: string[];
}

/**
 * For each distinct source sentence, in order of first appearance, every target of it, in order.
 *
 *     const pairs = [{ source: 'Run!', target: 'Cours !' }, { source: 'Go.', target: 'Va !' }, { source: 'Run!', target: 'Courez !' }];
 *     data.groupReferences(pairs) // → [{ source: 'Run!', references: ['Cours !', 'Courez !'] }, { source: 'Go.', references: ['Va !'] }]
 */
export function groupReferences(pairs: readonly SentencePair[]): ReferenceSet[] {
  const groups = new Map<string, string[]>();
  for (const { source, target } of pairs) {
    const refs = groups.get(source);
    if (refs) refs.push(target);
    else groups.set(source, [target]);
  }
  return [...groups].map(([source, references]) => ({ source, references }));
}

// Typographic apostrophes (’ as Tatoeba's French mostly has, ‘ once, the modifier letter ʼ) become '.
const APOSTROPHES = /[’‘ʼ]/g;
// A word: letters, marks and digits, with inner apostrophes or hyphens (don't, arrête-toi, aujourd'hui,
// 6h30); or an ellipsis; or any other single character that is not a space (. ! ? , ; : « » " ( ) $ &).
// \s covers the no-break (U+00A0), thin (U+2009) and narrow no-break (U+202F) spaces French puts before
// ! ? : ; and inside « », so "Cours !" and "Cours\u202f!" tokenise alike.
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:['-][\p{L}\p{M}\p{N}]+)*|\.\.\.|[^\s\p{L}\p{M}\p{N}]/gu;
// The French words that elide before a vowel; aujourd'hui and prud'homme are words, not elisions.
const ELIDED = 'qu|jusqu|lorsqu|puisqu|quoiqu|quelqu|presqu|[cdjlmnst]';
const ELISION = new RegExp(`^(?:${ELIDED})'(?=.)`);
const ELIDED_WORD = new RegExp(`^(?:${ELIDED})$`);

function words(sentence: string, op: string): string[] {
  if (typeof sentence !== 'string') fail(op, `expected a sentence as a string, got ${typeof sentence}`);
  return sentence.normalize('NFC').replace(APOSTROPHES, "'").toLowerCase().match(TOKEN) ?? [];
}

/**
 * English words and punctuation, lower-cased. Contractions and possessives stay one token as written
 * (`don't`, `i'm`, `tom's`, `o'clock`), typographic apostrophes normalised to `'`; hyphenated words stay
 * whole; every punctuation mark is a token of its own.
 *
 *     data.tokenizeEnglish("I don't know, Tom's dog.") // → ['i', "don't", 'know', ',', "tom's", 'dog', '.']
 *     data.tokenizeEnglish('"Look," she said.') // → ['"', 'look', ',', '"', 'she', 'said', '.']
 */
export function tokenizeEnglish(sentence: string): string[] {
  return words(sentence, 'tokenizeEnglish');
}

/**
 * French words and punctuation, lower-cased, with elided articles and pronouns split off after their
 * apostrophe (`l'homme` → `l'` `homme`, `qu'il` → `qu'` `il`, also for `c' d' j' m' n' s' t' jusqu'
 * lorsqu' puisqu' quoiqu' quelqu' presqu'`), `’` normalised to `'`. Punctuation is a token of its own
 * whatever space comes before it (none, a space, or the narrow no-break space U+202F Tatoeba uses);
 * hyphenated words (`arrête-toi`, `est-ce`) and `aujourd'hui` stay whole.
 *
 *     data.tokenizeFrench("J'ai froid\u202f!") // → ["j'", 'ai', 'froid', '!']
 *     data.tokenizeFrench('Qu’est-ce que c’est ?') // → ["qu'", 'est-ce', 'que', "c'", 'est', '?']
 *     data.tokenizeFrench('Dis : « s\'il te plaît ».') // → ['dis', ':', '«', "s'", 'il', 'te', 'plaît', '»', '.']
 */
export function tokenizeFrench(sentence: string): string[] {
  const out: string[] = [];
  for (let w of words(sentence, 'tokenizeFrench')) {
    // A stray space after an elision ("Il n' y avait personne.") still makes one token n'.
    if (w === "'" && ELIDED_WORD.test(out.at(-1) ?? '')) {
      out[out.length - 1] += w;
      continue;
    }
    for (let m = ELISION.exec(w); m !== null; m = ELISION.exec(w)) {
      out.push(m[0]);
      w = w.slice(m[0].length);
    }
    out.push(w);
  }
  return out;
}

export interface DetokenizeFrenchOptions {
  /** Upper-case the sentence's first letter (default true); other words stay as the tokens have them. */
  capitalize?: boolean;
}

/**
 * French tokens back to a sentence to print: elisions joined to the next word, no space before `. , ...`
 * or `)`, after `(` or inside `"…"`, an ordinary space before `! ? : ;` and inside `« »` (as most of
 * the Tatoeba French is written), and the first letter upper-cased. Proper nouns stay lower case: the
 * tokens no longer say which words had capitals.
 *
 *     data.detokenizeFrench(['je', 'suis', 'froid', '.']) // → 'Je suis froid.'
 *     data.detokenizeFrench(["j'", 'ai', 'gagné', '!']) // → "J'ai gagné !"
 *     data.detokenizeFrench(['elle', 'a', 'dit', '"', 'au', 'revoir', '"', '.'], { capitalize: false }) // → 'elle a dit "au revoir".'
 */
export function detokenizeFrench(tokens: readonly string[], opts: DetokenizeFrenchOptions = {}): string {
  const { capitalize = true } = opts;
  let text = '';
  let glue = true; // no space before the next token
  let insideQuotes = false;
  for (const t of tokens) {
    let closes = /^(?:[.,)]|\.\.\.)$/.test(t);
    let opens = t === '(' || (t.length > 1 && t.endsWith("'"));
    if (t === '"') {
      opens = !insideQuotes;
      closes = insideQuotes;
      insideQuotes = !insideQuotes;
    }
    text += glue || closes ? t : ` ${t}`;
    glue = opens;
  }
  return capitalize ? text.replace(/\p{L}/u, (c) => c.toUpperCase()) : text;
}

/** Options of `translationVocab`: those of `Vocab.build`, less the specials, which are fixed. */
export type TranslationVocabOptions = Omit<VocabOptions, 'specials' | 'unk'>;

/**
 * A vocabulary for one side of a translation task, from its training sentences only: the specials at
 * fixed ids (`<pad>` 0, `<bos>` 1, `<eos>` 2, `<unk>` 3), then the words by falling frequency; words
 * seen fewer than `minFreq` times become `<unk>`, so the model learns what to do with one. Save it with
 * `toJSON()` in a checkpoint and rebuild it with `Vocab.fromJSON`.
 *
 *     const french = ['je suis là .', 'je suis prêt .'].map(data.tokenizeFrench);
 *     const vocab = data.translationVocab(french, { minFreq: 2 });
 *     vocab.itos // → ['<pad>', '<bos>', '<eos>', '<unk>', 'je', 'suis', '.']
 *     vocab.id('là') // → 3
 *     data.Vocab.fromJSON(vocab.toJSON()).unkId // → 3
 */
export function translationVocab(
  sentences: Iterable<readonly string[]>,
  opts: TranslationVocabOptions = {},
): Vocab {
  function* tokens() {
    for (const s of sentences) yield* s;
  }
  return Vocab.build(tokens(), { ...opts, specials: TRANSLATION_SPECIALS, unk: UNK });
}

function checkTranslationVocab(vocab: Vocab, op: string): void {
  if (!(vocab instanceof Vocab)) fail(op, 'expected a Vocab (from translationVocab)');
  for (const s of [BOS, EOS]) {
    if (!vocab.has(s)) fail(op, `the vocabulary has no ${s}: build it with translationVocab`);
  }
}

/**
 * A tokenised sentence as ids between `<bos>` and `<eos>`. Words outside the vocabulary become `<unk>`,
 * in training and at translation time alike; `unknownWords` says which they were, to report them.
 *
 *     const vocab = data.translationVocab([['je', 'suis', 'là']]);
 *     data.encodeSentence(vocab, ['je', 'suis', 'ici']) // → [1, 4, 5, 3, 2]
 */
export function encodeSentence(vocab: Vocab, tokens: readonly string[]): Int32Array {
  checkTranslationVocab(vocab, 'encodeSentence');
  const ids = new Int32Array(tokens.length + 2);
  ids[0] = vocab.id(BOS);
  ids.set(vocab.encode(tokens), 1);
  ids[ids.length - 1] = vocab.id(EOS);
  return ids;
}

/**
 * The distinct words of a tokenised sentence that the vocabulary lacks (and that `encodeSentence` turns
 * into `<unk>`), in order of first appearance: what to warn about before translating.
 *
 *     const vocab = data.translationVocab([['i', 'am', 'cold']]);
 *     data.unknownWords(vocab, ['i', 'am', 'very', 'very', 'hungry']) // → ['very', 'hungry']
 */
export function unknownWords(vocab: Vocab, tokens: readonly string[]): string[] {
  return [...new Set(tokens.filter((t) => !vocab.has(t)))];
}

/**
 * Ids back to tokens: a leading `<bos>` dropped, everything from the first `<eos>` on dropped, `<pad>`
 * dropped; `<unk>` stays, so that a reader sees where a word was unknown.
 *
 *     const vocab = data.translationVocab([['je', 'suis', 'là']]);
 *     data.decodeSentence(vocab, [1, 4, 5, 3, 2, 0, 0]) // → ['je', 'suis', '<unk>']
 */
export function decodeSentence(vocab: Vocab, ids: Iterable<number>): string[] {
  checkTranslationVocab(vocab, 'decodeSentence');
  const [bos, eos, pad] = [vocab.id(BOS), vocab.id(EOS), vocab.has(PAD) ? vocab.id(PAD) : -1];
  const out: string[] = [];
  let first = true;
  for (const id of ids) {
    if (id === eos) break;
    if (!(first && id === bos) && id !== pad) out.push(vocab.token(id));
    first = false;
  }
  return out;
}

/** One encoded pair: source and target ids, each with its `<bos>` and `<eos>`. */
export interface EncodedPair {
  source: Int32Array;
  target: Int32Array;
}

/**
 * A padded batch of N pairs. The masks are 1 (true) where a position is padding and 0 where it holds a
 * token, PyTorch's convention for `key_padding_mask`; use them as `where(mask, -Infinity, scores)`.
 */
export interface TranslationBatch {
  /** int32 [N, S]: source ids, padded to the longest source of the batch. */
  source: Tensor;
  /** int32 [N, T]: target ids, padded to the longest target of the batch. */
  target: Tensor;
  /** int32 [N, S]: 1 where `source` is padding. */
  sourcePaddingMask: Tensor;
  /** int32 [N, T]: 1 where `target` is padding. */
  targetPaddingMask: Tensor;
  /** int32 [N]: each source's length, `<bos>` and `<eos>` included. */
  sourceLengths: Tensor;
  /** int32 [N]: each target's length. */
  targetLengths: Tensor;
}

function pad(rows: Int32Array[], padId: number): [Tensor, Tensor, Tensor] {
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * width).fill(padId);
  const mask = new Int32Array(rows.length * width).fill(1);
  rows.forEach((r, i) => {
    ids.set(r, i * width);
    mask.fill(0, i * width, i * width + r.length);
  });
  const lengths = Int32Array.from(rows, (r) => r.length);
  return [
    new Tensor(ids, [rows.length, width]),
    new Tensor(mask, [rows.length, width]),
    new Tensor(lengths, [rows.length]),
  ];
}

/**
 * Pads a batch of encoded pairs: sources to the batch's longest source and targets to its longest
 * target, with `padId` (default 0, `<pad>` in a translation vocabulary), plus the padding masks and
 * the lengths.
 *
 *     const batch = data.collateTranslation([
 *       { source: Int32Array.of(1, 7, 2), target: Int32Array.of(1, 5, 6, 2) },
 *       { source: Int32Array.of(1, 8, 9, 4, 2), target: Int32Array.of(1, 5, 2) },
 *     ]);
 *     batch.source // → [[1, 7, 2, 0, 0], [1, 8, 9, 4, 2]]
 *     batch.sourcePaddingMask // → [[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]]
 *     batch.target // → [[1, 5, 6, 2], [1, 5, 2, 0]]
 *     batch.targetLengths // → [4, 3]
 */
export function collateTranslation(pairs: readonly EncodedPair[], padId = 0): TranslationBatch {
  const op = 'collateTranslation';
  if (!Array.isArray(pairs) || pairs.length === 0) fail(op, 'expected a non-empty array of encoded pairs');
  if (!Number.isInteger(padId)) fail(op, `padId must be an integer id, got ${padId}`);
  pairs.forEach((p, i) => {
    for (const side of ['source', 'target'] as const) {
      if (!(p?.[side] instanceof Int32Array) || p[side].length === 0)
        fail(op, `pair ${i}: ${side} must be a non-empty Int32Array of ids (from encodeSentence)`);
    }
  });
  const [source, sourcePaddingMask, sourceLengths] = pad(
    pairs.map((p) => p.source),
    padId,
  );
  const [target, targetPaddingMask, targetLengths] = pad(
    pairs.map((p) => p.target),
    padId,
  );
  return { source, target, sourcePaddingMask, targetPaddingMask, sourceLengths, targetLengths };
}

export interface BucketLoaderOptions {
  /** Pairs per batch. */
  batchSize: number;
  /** Shuffle the pairs and then the batches every epoch (default true); false keeps the data's order. */
  shuffle?: boolean;
  /** Draws the shuffles, so that a seed fixes every epoch's batches (default `defaultGenerator`). */
  generator?: Generator;
  /** How many batches' worth of pairs are sorted by length together (default 100). */
  chunkBatches?: number;
  /**
   * The longest source or target allowed, in ids with `<bos>` and `<eos>`; a longer pair is an error
   * (filter such pairs out first). Default: no limit.
   */
  maxLength?: number;
  /** The id that pads (default 0). */
  padId?: number;
}

const BUCKET_KEYS = ['batchSize', 'shuffle', 'generator', 'chunkBatches', 'maxLength', 'padId'];

/**
 * Padded batches of encoded pairs, bucketed by length so that little of a batch is padding: each epoch
 * the pairs are shuffled, cut into chunks of `chunkBatches × batchSize`, each chunk sorted by source
 * length (then target length) and cut into batches, and the batches shuffled. Both shuffles are drawn
 * from the generator when `iterate()` is called, so a run resumed with the generator's state at the
 * epoch's start gets the same batches; it is an `EpochSource` for the Trainer. Every pair is in exactly
 * one batch per epoch; only the last batch may be smaller.
 *
 *     const pairs = [3, 5, 4, 6, 3, 5].map((n) => ({ source: new Int32Array(n).fill(5), target: Int32Array.of(1, 6, 2) }));
 *     const loader = new data.BucketLoader(pairs, { batchSize: 2, generator: new Generator(0) });
 *     loader.length // → 3
 *     const widths = [...loader].map((b) => b.source.shape[1]!).sort();
 *     widths // → [3, 5, 6]
 */
export class BucketLoader implements Iterable<TranslationBatch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly generator: Generator;
  readonly chunkBatches: number;
  readonly padId: number;

  constructor(
    readonly pairs: readonly EncodedPair[],
    opts: BucketLoaderOptions,
  ) {
    const op = 'BucketLoader';
    if (typeof opts !== 'object' || opts === null) fail(op, 'options must be an object with a batchSize');
    for (const key of Object.keys(opts)) {
      if (!BUCKET_KEYS.includes(key))
        fail(op, `unknown option '${key}': expected one of ${BUCKET_KEYS.join(', ')}`);
    }
    const {
      batchSize,
      shuffle = true,
      generator = defaultGenerator,
      chunkBatches = 100,
      maxLength,
      padId = 0,
    } = opts;
    if (!Array.isArray(pairs)) fail(op, 'expected an array of encoded pairs { source, target }');
    if (!Number.isInteger(batchSize) || batchSize < 1)
      fail(op, `batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(chunkBatches) || chunkBatches < 1)
      fail(op, `chunkBatches must be a positive integer, got ${chunkBatches}`);
    if (typeof shuffle !== 'boolean') fail(op, `shuffle must be true or false, got ${String(shuffle)}`);
    if (!(generator instanceof Generator)) fail(op, 'generator must be a Generator from tensor/random');
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength >= 2))
      fail(op, `maxLength must be an integer ≥ 2 (room for <bos> and <eos>), got ${maxLength}`);
    pairs.forEach((p, i) => {
      for (const side of ['source', 'target'] as const) {
        const ids = p?.[side];
        if (!(ids instanceof Int32Array) || ids.length === 0)
          fail(op, `pair ${i}: ${side} must be a non-empty Int32Array of ids (from encodeSentence)`);
        if (maxLength !== undefined && ids.length > maxLength)
          fail(
            op,
            `pair ${i}: its ${side} has ${ids.length} ids, more than maxLength ${maxLength}; ` +
              'filter out longer pairs first or raise maxLength',
          );
      }
    });
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.generator = generator;
    this.chunkBatches = chunkBatches;
    this.padId = padId;
  }

  /** Batches per epoch: ⌈pairs / batchSize⌉ (each chunk holds a whole number of batches). */
  get length(): number {
    return Math.ceil(this.pairs.length / this.batchSize);
  }

  [Symbol.iterator](): Iterator<TranslationBatch> {
    return this.iterate();
  }

  /** One epoch's batches from `startBatch` on; its shuffles are drawn now, not when the first batch is read. */
  iterate(opts: { startBatch?: number } = {}): IterableIterator<TranslationBatch> {
    const { startBatch = 0 } = opts;
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > this.length)
      fail('BucketLoader', `startBatch must be an integer in [0, ${this.length}], got ${startBatch}`);
    const batches = this.epochBatches();
    return this.collated(batches, startBatch);
  }

  /** The pair indices of each batch of one epoch, in the order they are served. */
  private epochBatches(): Int32Array[] {
    const n = this.pairs.length;
    const order = this.shuffle ? this.generator.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    const byLength = (a: number, b: number) =>
      this.pairs[a]!.source.length - this.pairs[b]!.source.length ||
      this.pairs[a]!.target.length - this.pairs[b]!.target.length;
    const chunk = this.chunkBatches * this.batchSize;
    const batches: Int32Array[] = [];
    for (let c = 0; c < n; c += chunk) {
      const sorted = order.slice(c, Math.min(n, c + chunk)).sort(byLength);
      for (let b = 0; b < sorted.length; b += this.batchSize)
        batches.push(sorted.subarray(b, b + this.batchSize));
    }
    if (!this.shuffle) return batches;
    return Array.from(this.generator.permutation(batches.length), (i) => batches[i]!);
  }

  private *collated(batches: Int32Array[], startBatch: number): IterableIterator<TranslationBatch> {
    for (let b = startBatch; b < batches.length; b++) {
      yield collateTranslation(
        Array.from(batches[b]!, (i) => this.pairs[i]!),
        this.padId,
      );
    }
  }
}
