import { withPrecision } from '../autograd/mode.js';
import { loadEngFra } from '../data/eng-fra.js';
import {
  BucketLoader,
  type EncodedPair,
  encodeSentence,
  groupReferences,
  type ReferenceSet,
  type SentencePair,
  type TranslationBatch,
  tokenizeEnglish,
  tokenizeFrench,
  translationVocab,
} from '../data/translation.js';
import { fail } from '../errors.js';
import { crossEntropy } from '../nn/losses.js';
import { EarlyStopping, GradientClipping } from '../train/callbacks.js';
import { scoringProgress } from '../train/progress.js';
import { type Callback, type Task, Trainer, type TrainResult } from '../train/trainer.js';
import { type RecipeResult, type RecipeRun, recipeResult } from './recipes.js';
import type { TranslationVocabs } from './registry.js';
import type { TranslationModel } from './seq2seq.js';
import { translationBleu } from './translate.js';

/**
 * `strata train seq2seq|transformer`: English → French on the fixed Tatoeba split (train.tsv to learn,
 * valid.tsv to pick the best epoch, test.tsv to report), on the one training engine.
 */

/** How the test set is decoded: greedy, and beam search of this width and length penalty. */
export interface TranslationScoring {
  beam: number;
  lengthPenalty: number;
  /** The first N distinct English sentences of test.tsv only (default: all). */
  testLimit?: number;
}

/** The settings of a translation run: a RecipeRun, the training pairs to use and the test decoding. */
export interface TranslationRun extends RecipeRun {
  limit?: number;
  scoring: TranslationScoring;
}

/** The mean teacher-forced cross-entropy per target token of a batch, ignoring <pad> (id 0), and the tokens counted. */
function batchLoss(model: TranslationModel, b: TranslationBatch) {
  const t = b.target.shape[1]!;
  const logits = model.forward(b.source, b.sourcePaddingMask, b.target.narrow(1, 0, t - 1));
  const next = b.target.narrow(1, 1, t - 1);
  const loss = crossEntropy(logits.reshape([-1, logits.shape[2]!]), next.reshape([-1]), { ignoreIndex: 0 });
  // Each target's tokens after <bos>, <eos> included.
  const size = Array.from(b.targetLengths.toTypedArray()).reduce((a, n) => a + n - 1, 0);
  return { loss, size };
}

/** The mean loss per token over fixed batches. */
function meanLoss(model: TranslationModel, batches: readonly TranslationBatch[]): number {
  let [sum, count] = [0, 0];
  for (const b of batches) {
    const { loss, size } = batchLoss(model, b);
    sum += loss.item() * size;
    count += size;
  }
  return sum / Math.max(1, count);
}

function encodePairs(pairs: readonly SentencePair[], vocabs: TranslationVocabs): EncodedPair[] {
  return pairs.map((p) => ({
    source: encodeSentence(vocabs.source, tokenizeEnglish(p.source)),
    target: encodeSentence(vocabs.target, tokenizeFrench(p.target)),
  }));
}

/**
 * Trains a translation model and scores it: the training pairs (the first `limit`) make the
 * vocabularies (words seen fewer than minFreq times become <unk>) and are batched by length; each
 * epoch is validated by the loss on valid.tsv and by greedy BLEU on its first `bleuSentences` distinct
 * English sentences (0: the loss only, which then picks the best epoch); the best epoch's weights are
 * scored on test.tsv by greedy and beam BLEU against all references of each English sentence. Pairs
 * with a side longer than maxLength ids are left out (a warning says how many), as are such test
 * sentences.
 */
export async function trainTranslation(
  r: TranslationRun,
): Promise<{ result: RecipeResult; parameters: number; report: Record<string, unknown> }> {
  const c = r.config;
  const maxLength = c.maxLength as number;
  const fits = (p: EncodedPair) => p.source.length <= maxLength && p.target.length <= maxLength;
  let trainPairs = loadEngFra('train');
  if (r.limit !== undefined) trainPairs = trainPairs.slice(0, r.limit);
  const vocabs: TranslationVocabs = {
    source: translationVocab(
      trainPairs.map((p) => tokenizeEnglish(p.source)),
      { minFreq: c.minFreq as number },
    ),
    target: translationVocab(
      trainPairs.map((p) => tokenizeFrench(p.target)),
      { minFreq: c.minFreq as number },
    ),
  };
  const encoded = encodePairs(trainPairs, vocabs);
  const kept = encoded.filter(fits);
  const dropped = encoded.length - kept.length;
  if (dropped > 0)
    process.stderr.write(
      `${r.op}: warning: left out ${dropped} of ${encoded.length} training pairs with a side longer than --max-length ${maxLength} ids\n`,
    );
  if (kept.length === 0) fail(r.op, `no training pair fits --max-length ${maxLength}: raise it`);
  const fixed = (pairs: EncodedPair[]) => [...new BucketLoader(pairs, { batchSize: 100, shuffle: false })];
  const split = (name: 'valid' | 'test') => {
    const pairs = loadEngFra(name);
    const sets = groupReferences(pairs).filter(
      (s) => encodeSentence(vocabs.source, tokenizeEnglish(s.source)).length <= maxLength,
    );
    return { batches: fixed(encodePairs(pairs, vocabs).filter(fits)), sets };
  };
  const valid = split('valid');
  const validSets = valid.sets.slice(0, c.bleuSentences as number);
  const model = r.entry.build(c, {
    vocab: null,
    vocabs,
    generator: r.run.generator,
  }) as unknown as TranslationModel;
  const optimizer = r.optimizer(model.parameters());
  const step = (b: TranslationBatch) => batchLoss(model, b);
  const task: Task<TranslationBatch> = { model, optimizers: [optimizer], trainStep: step, evalStep: step };
  const scoreBleu = validSets.length > 0;
  const best = new EarlyStopping({
    monitor: scoreBleu ? 'valBleu' : 'valLoss',
    mode: scoreBleu ? 'max' : 'min',
    patience: r.patience,
    restoreBest: true,
  });
  const schedule = r.schedule(optimizer);
  const callbacks: Callback[] = [
    best,
    ...(r.clip > 0 ? [new GradientClipping(r.clip)] : []),
    ...(schedule ? [schedule] : []),
    ...r.callbacks,
  ];
  const result: TrainResult = await new Trainer(task, {
    ...r.run,
    data: new BucketLoader(kept, { batchSize: r.batchSize, generator: r.run.generator }),
    validation: () => ({
      loss: meanLoss(model, valid.batches),
      ...(scoreBleu ? { bleu: translationBleu(model, validSets, vocabs, { beamWidth: 1 }).score } : {}),
    }),
    callbacks,
    unit: 'tokens',
    op: r.op,
    extra: { vocabs: { source: vocabs.source.toJSON(), target: vocabs.target.toJSON() } },
  }).fit();
  const test = split('test');
  const testSets: ReferenceSet[] = test.sets.slice(0, r.scoring.testLimit ?? test.sets.length);
  const beam = { beamWidth: r.scoring.beam, lengthPenalty: r.scoring.lengthPenalty };
  const scored = withPrecision(r.run.precision ?? 'float32', () => {
    const loss = meanLoss(model, test.batches);
    const shown = (label: string) => scoringProgress(r.run.progress ?? false, label, testSets.length);
    const greedy = translationBleu(model, testSets, vocabs, {
      beamWidth: 1,
      shown: shown('test BLEU, greedy'),
    });
    const beamed = translationBleu(model, testSets, vocabs, {
      ...beam,
      shown: shown(`test BLEU, beam ${beam.beamWidth}`),
    });
    return { loss, greedy, beamed };
  });
  const bestRecord = result.history.find((h) => h.epoch === best.bestEpoch);
  const summary =
    `test BLEU ${scored.greedy.score.toFixed(2)} greedy, ${scored.beamed.score.toFixed(2)} beam ${beam.beamWidth}` +
    ` (${testSets.length} English sentences), test loss ${scored.loss.toFixed(3)}`;
  return {
    result: recipeResult(result, best),
    parameters: model.numParameters(),
    report: {
      summary,
      ...{
        test_bleu_greedy: scored.greedy.score,
        test_bleu_beam: scored.beamed.score,
        test_loss: scored.loss,
      },
      ...{ valid_bleu: bestRecord?.valBleu ?? null, valid_loss: bestRecord?.valLoss ?? null },
      ...{ beam: beam.beamWidth, length_penalty: beam.lengthPenalty, test_sentences: testSets.length },
      test_precisions_beam: scored.beamed.precisions,
      ...{ brevity_penalty_beam: scored.beamed.brevityPenalty, valid_bleu_sentences: validSets.length },
      ...{ source_vocab: vocabs.source.size, target_vocab: vocabs.target.size },
      ...{ train_pairs: kept.length, dropped_pairs: dropped, tokens_per_second: result.samplesPerSecond },
    },
  };
}
