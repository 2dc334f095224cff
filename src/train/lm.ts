import { batchify, bpttWindows } from '../data/text.js';
import { crossEntropy } from '../nn/losses.js';
import { evaluating, type Module } from '../nn/module.js';
import { detachState } from '../nn/recurrent.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ReduceLROnPlateau } from '../optim/schedules.js';
import type { Tensor } from '../tensor/tensor.js';
import { EarlyStopping, GradientClipping, LearningRateSchedule } from './callbacks.js';
import {
  type Callback,
  type EpochRecord,
  type EpochSource,
  type RunOptions,
  type Task,
  Trainer,
  type TrainResult,
} from './trainer.js';

/**
 * A language model maps token ids [B, T] (and the state carried from the previous window, if it has
 * one) to logits [B, T, V] and its next state. Window-based models (the NPLM) carry their last ids.
 */
export type LanguageModel = Module<[Tensor, never?], [Tensor, unknown]>;

/** A language model's epoch: mean cross-entropy per token (nats), its perplexity, and the validation ones. */
export interface LmEpoch extends EpochRecord {
  loss: number;
  perplexity: number;
  valLoss: number;
  valPerplexity: number;
}

/**
 * Perplexity of a token stream: exp of the mean cross-entropy of every next-token prediction, the stream
 * cut into `batchSize` contiguous streams and read window by window with the state carried across.
 *
 *     const ppl = perplexity(lm, ids, 4, 10); // about 10, the vocabulary's size, for an untrained model
 */
export function perplexity(model: LanguageModel, ids: Int32Array, batchSize: number, bptt: number): number {
  let [nll, count] = [0, 0];
  evaluating(model, () => {
    let state: unknown;
    for (const [x, y] of bpttWindows(batchify(ids, Math.min(batchSize, Math.floor(ids.length / 2))), bptt)) {
      const [logits, next] = model.forward(x, state as never);
      state = next;
      nll += crossEntropy(logits.reshape([-1, logits.shape[2]!]), y.reshape([-1])).item() * y.size;
      count += y.size;
    }
  });
  return Math.exp(nll / count);
}

/**
 * The windows of truncated BPTT over a token stream cut into `batchSize` streams, as an epoch's batches.
 *
 *     const source = bpttSource(ids, 4, 10); // 200 ids: 4 streams of 50, read 10 at a time
 *     source.length // → 5
 *     const [input, target] = [...source.iterate()][0]!;
 *     input.shape // → [4, 10]
 *     input.select(0, 0) // → [0, 4, 0, 8, 8, 0, 4, 0, 8, 8]
 *     target.select(0, 0) // → [4, 0, 8, 8, 0, 4, 0, 8, 8, 0]
 */
export function bpttSource(ids: Int32Array, batchSize: number, bptt: number): EpochSource<[Tensor, Tensor]> {
  const streams = batchify(ids, batchSize);
  return {
    length: Math.ceil((streams.shape[1]! - 1) / bptt),
    *iterate({ startBatch = 0 } = {}) {
      let i = 0;
      for (const w of bpttWindows(streams, bptt)) if (i++ >= startBatch) yield w;
    },
  };
}

/**
 * The task of a language model trained by truncated BPTT: the state carried from window to window
 * (detached), cross-entropy per token as the loss, `perplexity` derived from it. The carried state is
 * part of a mid-epoch checkpoint.
 *
 *     const task = languageModelTask(lm, new optim.SGD(lm.parameters(), { lr: 1 }));
 *     const { history } = await new Trainer(task, { epochs: 2, data: bpttSource(ids, 4, 10), generator }).fit();
 *     history[1]!.perplexity // exp of the second epoch's mean loss
 */
export function languageModelTask(
  model: LanguageModel,
  optimizer: Optimizer<{ lr: number }>,
): Task<[Tensor, Tensor]> {
  let state: unknown;
  return {
    model,
    optimizers: [optimizer],
    trainStep([x, y]) {
      const [logits, next] = model.forward(
        x,
        (state === undefined ? undefined : detachState(state as Tensor)) as never,
      );
      state = next;
      return { loss: crossEntropy(logits.reshape([-1, logits.shape[2]!]), y.reshape([-1])), size: y.size };
    },
    derive: (means) => ({ perplexity: Math.exp(means.loss!) }),
    carried: {
      // One tensor (an RNN's or GRU's h) or a list (an LSTM's h and c), as tensors named by position.
      save: () =>
        state === undefined
          ? null
          : Object.fromEntries([state].flat().map((t, i) => [String(i), t as Tensor])),
      load(tensors) {
        const list = Object.entries(tensors ?? {}).map(([, t]) => t);
        state = list.length === 0 ? undefined : list.length === 1 ? list[0] : list;
      },
    },
  };
}

export interface LmFitOptions extends RunOptions {
  epochs: number;
  batchSize: number;
  /** Tokens per window of truncated backpropagation through time. */
  bptt: number;
  train: Int32Array;
  valid: Int32Array;
  /** Clip the global gradient norm to this before each update (0: no clipping). */
  clip: number;
  /**
   * Divide the learning rate by this when validation perplexity does not improve (1: never; default 4,
   * Zaremba et al.'s rule); ignored when `callbacks` holds a schedule.
   */
  anneal?: number;
  /** Stop after this many epochs without validation improvement (default: never). */
  patience?: number;
}

export interface LmFitResult extends TrainResult {
  history: LmEpoch[];
  bestEpoch: number | null;
}

/**
 * Trains a language model on the Trainer by truncated BPTT over contiguous streams, with gradient-norm
 * clipping; scores validation perplexity after every epoch, keeps the best weights (loaded back at the
 * end), and divides the learning rate by `anneal` when an epoch does not improve (Zaremba et al., 2014).
 * Resumes exactly from any checkpoint, mid-epoch included.
 *
 *     const [train, valid] = [ids.subarray(0, 160), ids.subarray(160)];
 *     const { history, bestEpoch } = await fitLanguageModel(lm, new optim.SGD(lm.parameters(), { lr: 20 }), {
 *       epochs: 2, batchSize: 4, bptt: 10, train, valid, clip: 0.25, generator,
 *     });
 *     history[bestEpoch! - 1]!.valPerplexity // the best validation perplexity, whose weights lm now has
 */
export async function fitLanguageModel(
  model: LanguageModel,
  optimizer: Optimizer<{ lr: number }>,
  o: LmFitOptions,
): Promise<LmFitResult> {
  const { batchSize, bptt, train, valid, clip, anneal = 4, patience, ...run } = o;
  const best = new EarlyStopping({ monitor: 'valPerplexity', patience, restoreBest: true });
  const callbacks: Callback[] = [best];
  if (clip > 0) callbacks.push(new GradientClipping(clip));
  const scheduled = (o.callbacks ?? []).some((c) => c instanceof LearningRateSchedule);
  if (anneal > 1 && !scheduled) {
    const plateau = new ReduceLROnPlateau(optimizer, { factor: 1 / anneal, patience: 0, threshold: 0 });
    callbacks.push(new LearningRateSchedule(plateau, { monitor: 'valPerplexity' }));
  }
  callbacks.push(...(o.callbacks ?? []));
  const trainer = new Trainer(languageModelTask(model, optimizer), {
    ...run,
    data: bpttSource(train, batchSize, bptt),
    validation: () => {
      const ppl = perplexity(model, valid, batchSize, bptt);
      return { loss: Math.log(ppl), perplexity: ppl };
    },
    callbacks,
    unit: 'tokens',
    op: 'train',
  });
  const result = await trainer.fit();
  return { ...result, history: result.history as LmEpoch[], bestEpoch: best.bestEpoch };
}
