import type { Vocab } from '../data/text.js';
import {
  collateTranslation,
  decodeSentence,
  encodeSentence,
  type ReferenceSet,
  tokenizeEnglish,
  tokenizeFrench,
} from '../data/translation.js';
import { fail } from '../errors.js';
import { evaluating } from '../nn/module.js';
import { concat } from '../ops/movement.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { beamSearch, type Hypothesis } from '../train/beam-search.js';
import { type BleuScore, corpusBleu } from '../train/bleu.js';
import type { DecoderState, EncodedSource, TranslationModel } from './seq2seq.js';

/**
 * Decoding a trained translation model: greedy (a batch at once) and beam search (a sentence at a
 * time), the attention of a translation for a heat map, and corpus BLEU against every reference.
 */

/** Special ids of a translation vocabulary (data/translation.ts fixes them). */
const [PAD_ID, BOS_ID, EOS_ID] = [0, 1, 2];

/**
 * The most tokens a translation of `sourceIds` ids may have, `<eos>` included: the source's length plus
 * 10, within the model's maxLength (less the `<bos>`). A hypothesis that reaches it unfinished is cut.
 */
function decodeLimit(model: TranslationModel, sourceIds: number): number {
  return Math.min(model.maxLength - 1, sourceIds + 10);
}

/** Every tensor of an encoded source (or a state) with its rows picked: one row per hypothesis. */
function rows<T extends Record<string, Tensor> | Tensor[]>(x: T, index: Tensor): T {
  const pick = (t: Tensor) => t.indexSelect(0, index);
  return (
    Array.isArray(x) ? x.map(pick) : Object.fromEntries(Object.entries(x).map(([k, t]) => [k, pick(t)]))
  ) as T;
}

/**
 * Greedy decoding of a batch of encoded sources (ids with `<bos>` and `<eos>`): the most probable
 * token every step, each sentence until its `<eos>` or its decodeLimit. Returns each translation's ids
 * without `<bos>` and `<eos>`.
 *
 *     const model = new Seq2Seq(12, 10, { hidden: 8, embed: 8 });
 *     const out = greedyTranslate(model, [Int32Array.of(1, 5, 6, 2), Int32Array.of(1, 7, 2)]);
 *     out.length // → 2
 */
export function greedyTranslate(model: TranslationModel, sources: readonly Int32Array[]): number[][] {
  if (sources.length === 0) return [];
  return evaluating(model, () => {
    // collateTranslation pads pairs; only their source half is read here.
    const batch = collateTranslation(
      sources.map((s) => ({ source: s, target: s })),
      PAD_ID,
    );
    const memory = model.encode(batch.source, batch.sourcePaddingMask);
    const limits = sources.map((s) => decodeLimit(model, s.length));
    const out: number[][] = sources.map(() => []);
    const done = sources.map(() => false);
    let prefix = tensor(new Int32Array(sources.length).fill(BOS_ID), { shape: [sources.length, 1] });
    let state: DecoderState | null = null;
    for (let step = 1; step <= Math.max(...limits) && done.includes(false); step++) {
      const r = model.decodeStep(memory, prefix, state);
      state = r.state;
      const next = r.logProbs.argmax(-1).cast('int32');
      const ids = next.toTypedArray();
      ids.forEach((id, i) => {
        if (done[i]) return;
        if (id === EOS_ID) done[i] = true;
        else out[i]!.push(id);
        if (out[i]!.length >= limits[i]!) done[i] = true;
      });
      prefix = concat([prefix, next.reshape([-1, 1])], 1);
    }
    return out;
  });
}

export interface BeamOptions {
  /** Hypotheses kept each step (a positive integer; 1 is greedy). */
  beamWidth: number;
  /** α: hypotheses ranked by log-probability / length^α (default 0). */
  lengthPenalty?: number;
}

/**
 * Beam search for one encoded source: `beamSearch` with the model's decodeStep, the encoder run once
 * and its rows repeated for the live hypotheses, each hypothesis carrying its decoder state. Returns
 * the best hypothesis (its ids without `<bos>` and `<eos>`). Width 1 gives the greedy translation.
 *
 *     const model = new Seq2Seq(12, 10, { hidden: 8, embed: 8 });
 *     const best = beamTranslate(model, Int32Array.of(1, 5, 6, 2), { beamWidth: 3, lengthPenalty: 1 });
 *     // At most the source's length plus 10 tokens.
 *     best.tokens.length <= 4 + 10 // → true
 */
export function beamTranslate(model: TranslationModel, source: Int32Array, o: BeamOptions): Hypothesis {
  return evaluating(model, () => {
    const one = collateTranslation([{ source, target: source }], PAD_ID);
    const memory = model.encode(one.source, one.sourcePaddingMask);
    const step = (prefixes: readonly (readonly number[])[], states: readonly (DecoderState | null)[]) => {
      const b = prefixes.length;
      const mem: EncodedSource = rows(memory, tensor(new Int32Array(b)));
      const prefix = tensor(Int32Array.from(prefixes.flat()), { shape: [b, prefixes[0]!.length] });
      const first = states[0] === null;
      const state = first
        ? null
        : states[0]!.map((_, k) =>
            concat(
              states.map((s) => s![k]!),
              0,
            ),
          );
      const r = model.decodeStep(mem, prefix, state);
      const each = Array.from({ length: b }, (_, i) => rows(r.state, tensor(Int32Array.of(i))));
      return { logProbs: r.logProbs, states: each };
    };
    const found = beamSearch<DecoderState | null>(step, {
      bos: BOS_ID,
      eos: EOS_ID,
      beamWidth: o.beamWidth,
      maxLength: decodeLimit(model, source.length),
      lengthPenalty: o.lengthPenalty ?? 0,
      initialState: null,
    });
    return found[0]!;
  });
}

/**
 * Where the model looked while writing `tokens` (a translation of `source`, ids without `<bos>` and
 * `<eos>`): one row per output token and the closing `<eos>`, each a distribution over the source's
 * ids (`<bos>` and `<eos>` included). For a model without attention, an error.
 *
 *     const model = new Seq2Seq(12, 10, { hidden: 8, embed: 8 });
 *     const map = attentionMap(model, Int32Array.of(1, 5, 6, 2), [4, 7]);
 *     [map.length, map[0]!.length] // → [3, 4]
 */
export function attentionMap(
  model: TranslationModel,
  source: Int32Array,
  tokens: readonly number[],
): number[][] {
  return evaluating(model, () => {
    const one = collateTranslation([{ source, target: source }], PAD_ID);
    const memory = model.encode(one.source, one.sourcePaddingMask);
    const ids = [BOS_ID, ...tokens];
    const out: number[][] = [];
    let state: DecoderState | null = null;
    for (let t = 1; t <= ids.length; t++) {
      const r = model.decodeStep(memory, tensor(Int32Array.from(ids.slice(0, t)), { shape: [1, t] }), state);
      if (r.attention === null)
        fail('attentionMap', 'this model has no attention (it was trained with --attention none)');
      state = r.state;
      out.push(Array.from(r.attention.toTypedArray()));
    }
    return out;
  });
}

/** How a set of English sentences is decoded for BLEU. */
export interface BleuDecoding {
  /** 1 with greedy: greedy decoding of batches; above 1, beam search one sentence at a time. */
  beamWidth: number;
  lengthPenalty?: number;
  /** Sentences per greedy batch (default 100). */
  batchSize?: number;
  /** Called after each sentence (or batch) with the count done, for a progress line. */
  shown?: (done: number) => void;
}

/**
 * Corpus BLEU-4 of the model's translations of each English sentence against all of its French
 * references (one hypothesis per distinct English sentence, from `groupReferences`), over this
 * package's lower-cased tokens (tokenizeFrench on the references; the hypothesis as decoded), with
 * sacrebleu's default exp smoothing. English words outside the vocabulary are read as `<unk>`.
 *
 *     const english = data.translationVocab([['i', 'am', 'cold', '.']]);
 *     const french = data.translationVocab([["j'", 'ai', 'froid', '.']]);
 *     const model = new Seq2Seq(english.size, french.size, { hidden: 8, embed: 8 });
 *     const refs = [{ source: 'I am cold.', references: ["J'ai froid."] }];
 *     translationBleu(model, refs, { source: english, target: french }, { beamWidth: 1 }).score >= 0 // → true
 */
export function translationBleu(
  model: TranslationModel,
  sets: readonly ReferenceSet[],
  vocabs: { source: Vocab; target: Vocab },
  o: BleuDecoding,
): BleuScore {
  const sources = sets.map((r) => encodeSentence(vocabs.source, tokenizeEnglish(r.source)));
  let hypotheses: number[][] = [];
  if (o.beamWidth === 1 && !o.lengthPenalty) {
    const size = o.batchSize ?? 100;
    for (let i = 0; i < sources.length; i += size) {
      hypotheses.push(...greedyTranslate(model, sources.slice(i, i + size)));
      o.shown?.(hypotheses.length);
    }
  } else {
    hypotheses = sources.map((s, i) => {
      const h = beamTranslate(model, s, o).tokens;
      o.shown?.(i + 1);
      return h;
    });
  }
  return corpusBleu(
    hypotheses.map((h) => decodeSentence(vocabs.target, h)),
    sets.map((r) => r.references.map(tokenizeFrench)),
  );
}
