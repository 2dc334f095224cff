import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TensorDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { loadMnist } from '../src/data/mnist.js';
import {
  Generator,
  manualSeed,
  type RngState,
  randn,
  StrataError,
  type Tensor,
  tensor,
} from '../src/index.js';
import {
  CHECKPOINT_FILE,
  loadCheckpoint,
  optimizerFromCheckpoint,
  optimizerToCheckpoint,
  saveCheckpoint,
} from '../src/io/checkpoint.js';
import { mlp } from '../src/models/mlp.js';
import { RnnLanguageModel } from '../src/models/rnnlm.js';
import { Linear } from '../src/nn/layers.js';
import { bceWithLogits, crossEntropy } from '../src/nn/losses.js';
import type { Module } from '../src/nn/module.js';
import { Sequential } from '../src/nn/sequential.js';
import type { Optimizer } from '../src/optim/optimizer.js';
import { Adagrad, Adam, AdamW, RMSprop, SGD } from '../src/optim/optimizers.js';
import { StepLR } from '../src/optim/schedules.js';
import { LearningRateSchedule, type MetricLogger, MetricLogging } from '../src/train/callbacks.js';
import { type FitOptions, type FitResult, fit } from '../src/train/fit.js';
import { fitLanguageModel, type LanguageModel } from '../src/train/lm.js';
import { countCorrect, evaluate } from '../src/train/metrics.js';
import { clock, epochLine, fitLine } from '../src/train/progress.js';
import { steps as stepSource, type Task, Trainer } from '../src/train/trainer.js';
import { withFailingAsync } from './failingfs.js';
import { tempDirs } from './tmpdirs.js';

const freshDir = tempDirs('train');

// One MNIST slice for every test: the first 2048 training examples, cut into disjoint parts.
const PIXELS = 784;
const mnist = loadMnist('train', { limit: 2048 });
function rows(start: number, count: number): [Tensor, Tensor] {
  return [
    mnist.images.narrow(0, start, count).contiguous(),
    mnist.labels.narrow(0, start, count).contiguous(),
  ];
}
const [trainX, trainY] = rows(0, 512);
const [heldX, heldY] = rows(1024, 1024);
const trainSet = new TensorDataset(trainX, trainY);
const heldOut = [...new DataLoader(new TensorDataset(heldX, heldY), { batchSize: 512 })];

type Loss = FitOptions<Tensor[]>['loss'];
const ce: Loss = (out, y) => crossEntropy(out, y);

async function throwsStrata(fn: () => unknown, ...patterns: RegExp[]): Promise<StrataError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof StrataError, `expected a StrataError, got ${String(caught)}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

/** Every tensor of a state dict as its raw values, for bitwise comparison. */
function values(state: Record<string, Tensor>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(state).map(([k, t]) => [k, Float32Array.from(t.toTypedArray())]));
}

function assertBitwiseEqual(
  actual: Record<string, Tensor>,
  expected: Record<string, Tensor>,
  what: string,
): void {
  const a = values(actual);
  const e = values(expected);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${what}: different tensor names`);
  for (const k of Object.keys(e)) {
    const x = new Uint32Array(a[k]!.buffer);
    const y = new Uint32Array(e[k]!.buffer);
    assert.equal(x.length, y.length, `${what}: '${k}' has a different size`);
    const diff = x.findIndex((v, i) => v !== y[i]);
    assert.equal(
      diff,
      -1,
      `${what}: '${k}' differs first at element ${diff} (${a[k]![diff]} vs ${e[k]![diff]})`,
    );
  }
}

/** The same run, set up afresh: model, optimizer, generator, loader and schedule made identically from a seed. */
interface Setup {
  model: Module;
  optimizer: Optimizer<{ lr: number }>;
  generator: Generator;
  options: FitOptions<Tensor[]>;
}

function setup(opts: {
  optimizer: 'adam' | 'sgd';
  sizes?: number[];
  seed?: number;
  schedule?: boolean;
  batchSize?: number;
}): Setup {
  const seed = opts.seed ?? 7;
  manualSeed(seed);
  const model = mlp(opts.sizes ?? [PIXELS, 32, 10]);
  const optimizer =
    opts.optimizer === 'adam'
      ? new Adam(model.parameters(), { lr: 2e-3 })
      : new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const generator = new Generator(seed + 1);
  const train = new DataLoader(trainSet, { batchSize: opts.batchSize ?? 64, shuffle: true, generator });
  // The loss draws from the run's generator, as dropout would: a resumed run must continue the same stream.
  const loss: Loss = (out, y) => crossEntropy(out, y).mul(1 + 1e-3 * generator.uniform());
  const options: FitOptions<Tensor[]> = { epochs: 2, loss, train, generator, clipGradNorm: 5 };
  if (opts.schedule) options.scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  return { model, optimizer, generator, options };
}

/** A loss that throws (like a crash) on its `n`-th call. */
function crashOnCall(loss: Loss, n: number): Loss {
  let calls = 0;
  return (out, y) => {
    if (++calls === n) throw new Error(`simulated crash at call ${n}`);
    return loss(out, y);
  };
}

function optimizerTensors(opt: Optimizer<{ lr: number }>): Record<string, Tensor> {
  return optimizerToCheckpoint(opt).tensors;
}

test('fit lowers the loss and raises the accuracy on a slice of MNIST, one history record per epoch', async () => {
  manualSeed(1);
  const model = mlp([PIXELS, 64, 10]);
  const generator = new Generator(2);
  const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const before = evaluate(model, heldOut, ce);
  const seen: number[] = [];
  const result = await fit(model, optimizer, {
    epochs: 3,
    loss: ce,
    train: new DataLoader(trainSet, { batchSize: 64, shuffle: true, generator }),
    validation: heldOut,
    generator,
    onEpoch: (r) => seen.push(r.epoch),
  });
  const afterEval = evaluate(model, heldOut, ce);

  assert.ok(before.accuracy < 0.3, `an untrained model should be near chance, got ${before.accuracy}`);
  assert.ok(afterEval.accuracy > 0.75, `held-out accuracy after 3 epochs: ${afterEval.accuracy}`);
  assert.ok(afterEval.loss < before.loss / 2, `held-out loss ${before.loss} -> ${afterEval.loss}`);
  assert.equal(afterEval.samples, 1024);

  const h = result.history;
  assert.equal(h.length, 3);
  assert.deepEqual(
    h.map((r) => r.epoch),
    [1, 2, 3],
  );
  assert.deepEqual(seen, [1, 2, 3]);
  for (const r of h) {
    assert.ok(Number.isFinite(r.loss) && r.loss > 0, `loss ${r.loss}`);
    assert.ok(r.accuracy >= 0 && r.accuracy <= 1, `accuracy ${r.accuracy}`);
    assert.equal(r.lr, 0.05);
    assert.ok(r.seconds > 0 && r.samplesPerSecond > 0);
    assert.ok(
      Math.abs(r.samplesPerSecond * r.seconds - 512) < 1e-6,
      'samplesPerSecond × seconds is the epoch size',
    );
    assert.ok(r.valLoss !== undefined && r.valAccuracy !== undefined, 'validation metrics are recorded');
  }
  assert.ok(h[2]!.loss < h[0]!.loss, `training loss ${h[0]!.loss} -> ${h[2]!.loss}`);
  assert.ok(h[2]!.accuracy > h[0]!.accuracy, `training accuracy ${h[0]!.accuracy} -> ${h[2]!.accuracy}`);
  assert.ok(h[2]!.valLoss! < h[0]!.valLoss!);
  // The last record's validation metrics are those of the final model.
  assert.equal(h[2]!.valAccuracy, afterEval.accuracy);
  assert.equal(h[2]!.valLoss, afterEval.loss);
  assert.equal(model.training, true, 'evaluation puts the model back in training mode');

  assert.equal(result.stoppedEarly, false);
  assert.equal(result.bestEpoch, null);
  assert.equal(result.resumedFrom, null);
  assert.ok(result.trainSeconds > 0);
  assert.ok(Math.abs(result.trainSeconds - h.reduce((s, r) => s + r.seconds, 0)) < 1e-9);
  assert.ok(Math.abs(result.samplesPerSecond - (3 * 512) / result.trainSeconds) < 1e-6);
});

test('an epoch’s loss and accuracy are sample-weighted means over batches of unequal size', async () => {
  manualSeed(14);
  const model = mlp([PIXELS, 16, 10]);
  const generator = new Generator(15);
  const calls: { loss: number; n: number; correct: number }[] = [];
  const loss: Loss = (out, y) => {
    const l = crossEntropy(out, y);
    calls.push({ loss: l.item(), n: y.shape[0]!, correct: countCorrect(out, y) });
    return l;
  };
  // 200 examples in batches of 96: 96, 96 and 8.
  const result = await fit(model, new SGD(model.parameters(), { lr: 0.05 }), {
    epochs: 1,
    loss,
    train: new DataLoader(new TensorDataset(...rows(0, 200)), { batchSize: 96, shuffle: true, generator }),
    generator,
  });
  assert.deepEqual(
    calls.map((c) => c.n),
    [96, 96, 8],
  );
  const r = result.history[0]!;
  const weighted = calls.reduce((s, c) => s + c.loss * c.n, 0) / 200;
  assert.ok(
    Math.abs(r.loss - weighted) < 1e-12,
    `epoch loss ${r.loss}, weighted mean of batches ${weighted}`,
  );
  assert.equal(r.accuracy, calls.reduce((s, c) => s + c.correct, 0) / 200);
});

test('countCorrect counts argmax hits; evaluate averages the loss over samples, not batches', async () => {
  const logits = tensor([
    [0.1, 2, 0.3],
    [5, 1, 0],
    [0, 0, 1],
    [1, 3, 2],
  ]);
  const labels = tensor([1, 1, 1, 1], { dtype: 'int32' });
  assert.equal(countCorrect(logits, labels), 2);
  // Batches of 3 and 1: the mean is over the 4 samples.
  const perSample = [0.5, 1, 2, 4];
  const model = mlp([3, 3]);
  let call = 0;
  const fakeLoss: Loss = (_out, y) => {
    const n = y.shape[0]!;
    const mean = perSample.slice(call, call + n).reduce((a, b) => a + b, 0) / n;
    call += n;
    return tensor([mean]).sum();
  };
  const r = evaluate(
    model,
    [
      [logits.narrow(0, 0, 3), labels.narrow(0, 0, 3)],
      [logits.narrow(0, 3, 1), labels.narrow(0, 3, 1)],
    ],
    fakeLoss,
  );
  assert.equal(r.samples, 4);
  assert.ok(Math.abs(r.loss - 7.5 / 4) < 1e-6, `loss ${r.loss}`);
});

test('evaluate on no data is an error, not a perfect loss of 0', async () => {
  manualSeed(16);
  const model = mlp([PIXELS, 10]);
  await throwsStrata(() => evaluate(model, [], ce), /empty|no (batches|samples|data)/);
});

test('validation given as a one-shot iterator is not silently scored on nothing after the first epoch', async () => {
  manualSeed(17);
  const model = mlp([PIXELS, 16, 10]);
  const generator = new Generator(18);
  let result: FitResult;
  try {
    result = await fit(model, new SGD(model.parameters(), { lr: 0.05 }), {
      epochs: 2,
      loss: ce,
      train: new DataLoader(new TensorDataset(...rows(0, 128)), { batchSize: 64, shuffle: true, generator }),
      validation: heldOut.values(), // an iterator: exhausted after one pass
      generator,
    });
  } catch (e) {
    // Refusing it is fine, as a StrataError that names the validation set.
    assert.ok(e instanceof StrataError, String(e));
    assert.match(e.message, /validation/);
    return;
  }
  for (const r of result.history) {
    assert.ok(r.valLoss! > 0, `epoch ${r.epoch}: validation loss ${r.valLoss} (accuracy ${r.valAccuracy})`);
  }
});

test('progress: one summary line per epoch on standard error when it is not a terminal', async () => {
  manualSeed(3);
  const model = mlp([PIXELS, 16, 10]);
  const generator = new Generator(4);
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await fit(model, new SGD(model.parameters(), { lr: 0.05 }), {
      epochs: 2,
      loss: ce,
      train: new DataLoader(new TensorDataset(...rows(0, 128)), { batchSize: 64, shuffle: true, generator }),
      validation: heldOut,
      generator,
      progress: true,
    });
  } finally {
    process.stderr.write = write;
  }
  const text = lines.join('');
  assert.match(
    text,
    /epoch 1\/2 \| loss \d+\.\d{4} acc \d+\.\d{2}% \| val loss \d+\.\d{4} acc \d+\.\d{2}% \|/,
  );
  assert.match(text, /epoch 2\/2 \| loss /);
  assert.match(text, /samples\/s/);
});

// The uninterrupted reference run of the resume tests, made once.
interface Reference {
  weights: Record<string, Tensor>;
  optim: Record<string, Tensor>;
  rng: RngState;
  result: FitResult;
}
const reference = new Map<string, Reference>();
async function uninterrupted(kind: 'adam' | 'sgd'): Promise<Reference> {
  const cached = reference.get(kind);
  if (cached) return cached;
  const a = setup({ optimizer: kind, schedule: kind === 'sgd' });
  const result = await fit(a.model, a.optimizer, { ...a.options, out: freshDir() });
  const entry = {
    weights: a.model.stateDict(),
    optim: optimizerTensors(a.optimizer),
    rng: a.generator.getState(),
    result,
  };
  reference.set(kind, entry);
  return entry;
}

/** A resumed run ends exactly where the uninterrupted one did: weights, optimizer, history and generator. */
function assertSameRun(b: ReturnType<typeof setup>, resumed: FitResult, a: Reference): void {
  assertBitwiseEqual(b.model.stateDict(), a.weights, 'weights');
  assertBitwiseEqual(optimizerTensors(b.optimizer), a.optim, 'optimizer state');
  assert.deepEqual(
    resumed.history.map((r) => [r.epoch, r.loss, r.accuracy, r.lr]),
    a.result.history.map((r) => [r.epoch, r.loss, r.accuracy, r.lr]),
  );
  assert.deepEqual(b.generator.getState(), a.rng, 'the generator continued the same stream');
}

for (const kind of ['adam', 'sgd'] as const) {
  test(`exact resume at an epoch boundary (${kind}): 1 epoch, then resume to 2 = 2 epochs straight, bitwise`, async () => {
    const a = await uninterrupted(kind);
    const dir = freshDir();
    const b1 = setup({ optimizer: kind, schedule: kind === 'sgd' });
    const first = await fit(b1.model, b1.optimizer, { ...b1.options, epochs: 1, out: dir });
    assert.equal(first.history.length, 1);
    assert.equal(loadCheckpoint(join(dir, CHECKPOINT_FILE)).progress.epoch, 1);

    // A fresh process-state: every object made again the same way (and the global seed moved on).
    manualSeed(12345);
    const b2 = setup({ optimizer: kind, schedule: kind === 'sgd' });
    const resumed = await fit(b2.model, b2.optimizer, { ...b2.options, epochs: 2, out: dir, resume: true });
    assert.deepEqual(resumed.resumedFrom, { epoch: 1, batch: 0 });
    assertSameRun(b2, resumed, a);
    if (kind === 'sgd') assert.equal(b2.optimizer.paramGroups[0]!.lr, 0.05 * 0.25, 'the schedule continued');
  });
}

for (const [kind, crashAt, from] of [
  ['adam', 5, { epoch: 0, batch: 3 }],
  ['sgd', 12, { epoch: 1, batch: 1 }],
] as const) {
  test(`exact resume mid-epoch (${kind}, crash at step ${crashAt}): the resumed run ends bitwise equal to an uninterrupted one`, async () => {
    const a = await uninterrupted(kind);
    const dir = freshDir();
    // 8 batches per epoch, a checkpoint every 3 steps: steps 3, 6, (8: epoch end), 9, 12, ...
    const b1 = setup({ optimizer: kind, schedule: kind === 'sgd' });
    await assert.rejects(
      () =>
        fit(b1.model, b1.optimizer, {
          ...b1.options,
          loss: crashOnCall(b1.options.loss, crashAt),
          checkpointEvery: 3,
          out: dir,
        }),
      /simulated crash/,
    );
    const saved = loadCheckpoint(join(dir, CHECKPOINT_FILE)).progress;
    assert.deepEqual(
      [saved.epoch, saved.batch],
      [from.epoch, from.batch],
      'the last checkpoint before the crash',
    );
    assert.equal(saved.step, from.epoch * 8 + from.batch);

    manualSeed(999);
    const b2 = setup({ optimizer: kind, schedule: kind === 'sgd' });
    const resumed = await fit(b2.model, b2.optimizer, {
      ...b2.options,
      checkpointEvery: 3,
      out: dir,
      resume: true,
    });
    assert.deepEqual(resumed.resumedFrom, from);
    assertSameRun(b2, resumed, a);
    const final = loadCheckpoint(join(dir, CHECKPOINT_FILE));
    assert.deepEqual([final.progress.epoch, final.progress.batch, final.progress.step], [2, 0, 16]);
    assertBitwiseEqual(final.model, a.weights, 'weights in the final checkpoint');
  });
}

test('resuming a finished run trains no further and returns its history', async () => {
  const dir = freshDir();
  const b1 = setup({ optimizer: 'adam' });
  const first = await fit(b1.model, b1.optimizer, { ...b1.options, epochs: 1, out: dir });
  const b2 = setup({ optimizer: 'adam' });
  const again = await fit(b2.model, b2.optimizer, { ...b2.options, epochs: 1, out: dir, resume: true });
  assert.deepEqual(again.resumedFrom, { epoch: 1, batch: 0 });
  assert.deepEqual(again.history, first.history);
  assertBitwiseEqual(b2.model.stateDict(), b1.model.stateDict(), 'weights');
});

test('fit with a StepLR schedule runs its first epoch at the initial learning rate, then decays it', async () => {
  manualSeed(8);
  const model = mlp([PIXELS, 16, 10]);
  const generator = new Generator(9);
  const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  assert.equal(optimizer.paramGroups[0]!.lr, 0.05, 'a new StepLR leaves the initial learning rate in place');
  const result = await fit(model, optimizer, {
    epochs: 2,
    loss: ce,
    train: new DataLoader(new TensorDataset(...rows(0, 128)), { batchSize: 64, shuffle: true, generator }),
    generator,
    scheduler,
  });
  assert.deepEqual(
    result.history.map((r) => r.lr),
    [0.05, 0.025],
  );
});

test('resume without a checkpoint, or without an out directory, is a StrataError', async () => {
  const s = setup({ optimizer: 'adam' });
  await throwsStrata(
    () => fit(s.model, s.optimizer, { ...s.options, out: freshDir(), resume: true }),
    /nothing to resume/,
    /checkpoint/,
  );
  await throwsStrata(
    () => fit(s.model, s.optimizer, { ...s.options, resume: true }),
    /resume needs the output directory/,
  );
  await throwsStrata(
    () => fit(s.model, s.optimizer, { ...s.options, epochs: 0 }),
    /epochs must be a positive integer/,
  );
  await throwsStrata(
    () => fit(s.model, s.optimizer, { ...s.options, earlyStopping: { monitor: 'valLoss', patience: 1 } }),
    /early stopping needs a validation set/,
  );
});

test('a NaN or infinite loss stops fit with a StrataError naming the step, epoch and batch; the last checkpoint is kept', async () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    const dir = freshDir();
    const s = setup({ optimizer: 'sgd' });
    let calls = 0;
    // 8 batches per epoch: call 11 is step 11, epoch 2, batch 3.
    const loss: Loss = (out, y) => {
      const l = crossEntropy(out, y);
      return ++calls === 11 ? l.mul(bad) : l;
    };
    const e = await throwsStrata(
      () => fit(s.model, s.optimizer, { ...s.options, epochs: 3, loss, out: dir }),
      new RegExp(`${bad}`),
      /\bstep 11\b/,
      /\bepoch 2\b/,
      /\bbatch 3\b/,
    );
    assert.doesNotMatch(e.message, /\n/);
    assert.equal(
      loadCheckpoint(join(dir, CHECKPOINT_FILE)).progress.step,
      8,
      'the epoch-1 checkpoint is untouched',
    );
  }
});

test('resuming into a model of different sizes lists the mis-shaped, missing and unexpected keys and changes nothing', async () => {
  const dir = freshDir();
  const s = setup({ optimizer: 'adam', sizes: [PIXELS, 32, 10] });
  await fit(s.model, s.optimizer, { ...s.options, epochs: 1, out: dir });

  const narrower = setup({ optimizer: 'adam', sizes: [PIXELS, 16, 10], seed: 3 });
  const before = values(narrower.model.stateDict());
  await throwsStrata(
    () => fit(narrower.model, narrower.optimizer, { ...narrower.options, out: dir, resume: true }),
    /mis-shaped/,
    /0\.weight \(model \[16, 784\], given \[32, 784\]\)/,
    /0\.bias/,
    /2\.weight \(model \[10, 16\], given \[10, 32\]\)/,
  );
  assert.deepEqual(values(narrower.model.stateDict()), before, 'a failed resume leaves the model as it was');

  const deeper = setup({ optimizer: 'adam', sizes: [PIXELS, 32, 32, 10] });
  await throwsStrata(
    () => fit(deeper.model, deeper.optimizer, { ...deeper.options, out: dir, resume: true }),
    /missing keys: 4\.weight, 4\.bias/,
    /mis-shaped keys: 2\.weight \(model \[32, 32\], given \[10, 32\]\), 2\.bias/,
  );

  const shallower = setup({ optimizer: 'adam', sizes: [PIXELS, 10] });
  await throwsStrata(
    () => fit(shallower.model, shallower.optimizer, { ...shallower.options, out: dir, resume: true }),
    /unexpected keys: (2\.weight, 2\.bias|2\.bias, 2\.weight)/,
    /mis-shaped keys: 0\.weight/,
  );

  // Same model, other optimizer: named, not a crash.
  const sgd = setup({ optimizer: 'sgd' });
  await throwsStrata(
    () => fit(sgd.model, sgd.optimizer, { ...sgd.options, out: dir, resume: true }),
    /Adam/,
    /SGD/,
  );

  // Settings recorded in the checkpoint are checked again.
  const other = setup({ optimizer: 'adam' });
  const withConfig = freshDir();
  await fit(s.model, s.optimizer, { ...s.options, epochs: 1, out: withConfig, config: { batchSize: 64 } });
  await throwsStrata(
    () =>
      fit(other.model, other.optimizer, {
        ...other.options,
        out: withConfig,
        resume: true,
        config: { batchSize: 32 },
      }),
    /batchSize=64/,
    /32/,
  );
});

test('a corrupt or truncated checkpoint fails to resume with a StrataError that says so', async () => {
  const dir = freshDir();
  const s = setup({ optimizer: 'adam' });
  await fit(s.model, s.optimizer, { ...s.options, epochs: 1, out: dir });
  const good = readFileSync(join(dir, CHECKPOINT_FILE));
  const headerEnd = 8 + Number(good.readBigUInt64LE(0));

  const damaged: [string, Buffer][] = [];
  const flipped = Buffer.from(good);
  const mid = headerEnd + Math.floor((good.length - headerEnd) / 2);
  for (let i = mid; i < mid + 4; i++) flipped[i]! ^= 0xff;
  damaged.push(['bytes flipped in the middle of the data', flipped]);
  const oneBit = Buffer.from(good);
  oneBit[good.length - 3]! ^= 0x01;
  damaged.push(['one bit flipped near the end', oneBit]);
  damaged.push(['truncated to half', good.subarray(0, Math.floor(good.length / 2))]);
  damaged.push(['truncated by one byte', good.subarray(0, good.length - 1)]);
  damaged.push(['truncated inside the header', good.subarray(0, 100)]);
  damaged.push(['truncated to 4 bytes', good.subarray(0, 4)]);
  damaged.push(['empty', Buffer.alloc(0)]);

  for (const [what, bytes] of damaged) {
    const d = freshDir();
    writeFileSync(join(d, CHECKPOINT_FILE), bytes);
    const r = setup({ optimizer: 'adam' });
    const e = await throwsStrata(() => fit(r.model, r.optimizer, { ...r.options, out: d, resume: true }));
    assert.match(e.message, /corrupt|truncated/, `${what}: ${e.message}`);
    assert.ok(e.message.includes(join(d, CHECKPOINT_FILE)), `${what}: the message names the file`);
  }
});

test('a flipped byte in the checkpoint metadata (the JSON state) is detected, not silently resumed', async () => {
  const dir = freshDir();
  const s = setup({ optimizer: 'adam' });
  await fit(s.model, s.optimizer, { ...s.options, epochs: 1, out: dir });
  const path = join(dir, CHECKPOINT_FILE);
  const bytes = readFileSync(path);
  // Change the saved learning rate 0.002 to 0.007: the header JSON stays valid.
  const text = bytes.toString('latin1');
  const at = text.indexOf('\\"lr\\":0.002');
  assert.ok(at > 0, 'the checkpoint records the learning rate');
  bytes[at + '\\"lr\\":0.00'.length] = '7'.charCodeAt(0);
  writeFileSync(path, bytes);
  await throwsStrata(() => loadCheckpoint(path), /corrupt/);
});

test('a checkpoint without fit progress (epoch, batch, history) is refused on resume', async () => {
  const dir = freshDir();
  const s = setup({ optimizer: 'adam' });
  saveCheckpoint(join(dir, CHECKPOINT_FILE), {
    model: s.model.stateDict(),
    optimizer: optimizerToCheckpoint(s.optimizer),
    rng: s.generator.getState(),
    progress: { step: 12 },
  });
  const r = setup({ optimizer: 'adam' });
  let result: FitResult | undefined;
  await throwsStrata(async () => {
    result = await fit(r.model, r.optimizer, { ...r.options, out: dir, resume: true });
  }, /progress|epoch/);
  assert.equal(result, undefined);
});

/** A run that overfits: 64 training examples, a high learning rate, many epochs. */
async function overfitting(out?: string, monitor: 'valAccuracy' | 'valLoss' = 'valAccuracy') {
  manualSeed(5);
  const model = mlp([PIXELS, 32, 10]);
  const generator = new Generator(6);
  const optimizer = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
  const result = await fit(model, optimizer, {
    epochs: 30,
    loss: ce,
    train: new DataLoader(new TensorDataset(...rows(0, 64)), { batchSize: 16, shuffle: true, generator }),
    validation: heldOut,
    generator,
    earlyStopping: { monitor, patience: 1, restoreBest: true },
    out,
  });
  return { model, result };
}

for (const where of ['in memory', 'in best.safetensors'] as const) {
  test(`early stopping with patience 1 stops before the last epoch and restores the best weights (${where})`, async () => {
    const out = where === 'in memory' ? undefined : freshDir();
    const { model, result } = await overfitting(out);
    const h = result.history;
    assert.equal(result.stoppedEarly, true);
    assert.ok(h.length < 30, `stopped after ${h.length} epochs`);
    const best = Math.max(...h.map((r) => r.valAccuracy!));
    const bestEpoch = h.findIndex((r) => r.valAccuracy === best) + 1;
    assert.equal(result.bestEpoch, bestEpoch);
    assert.equal(h.length, bestEpoch + 1, 'patience 1: the first epoch without improvement stops the run');
    assert.ok(h.at(-1)!.valAccuracy! < best, 'the last epoch is worse, so restoring matters');
    const now = evaluate(model, heldOut, ce);
    assert.equal(now.accuracy, best, 'the model has the best epoch’s validation accuracy');
    assert.equal(now.loss, h[bestEpoch - 1]!.valLoss, 'and exactly its validation loss');
    if (out) {
      assert.ok(existsSync(join(out, 'best.safetensors')));
      const ckpt = loadCheckpoint(join(out, CHECKPOINT_FILE));
      assert.equal(ckpt.progress.stopped, true);
      const callbacks = ckpt.progress.callbacks as { earlyStopping: { bestEpoch: number } };
      assert.equal(callbacks.earlyStopping.bestEpoch, bestEpoch);
    }
  });
}

test('early stopping on validation loss restores the epoch with the lowest validation loss', async () => {
  const { model, result } = await overfitting(undefined, 'valLoss');
  const h = result.history;
  const best = Math.min(...h.map((r) => r.valLoss!));
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.bestEpoch, h.findIndex((r) => r.valLoss === best) + 1);
  assert.equal(evaluate(model, heldOut, ce).loss, best);
});

test('a stopped run, resumed, stays stopped and keeps its best weights', async () => {
  const out = freshDir();
  const { model, result } = await overfitting(out);
  manualSeed(77);
  const again = mlp([PIXELS, 32, 10]);
  const generator = new Generator(6);
  const resumed = await fit(again, new SGD(again.parameters(), { lr: 0.3, momentum: 0.9 }), {
    epochs: 30,
    loss: ce,
    train: new DataLoader(new TensorDataset(...rows(0, 64)), { batchSize: 16, shuffle: true, generator }),
    validation: heldOut,
    generator,
    earlyStopping: { monitor: 'valAccuracy', patience: 1, restoreBest: true },
    out,
    resume: true,
  });
  assert.equal(resumed.stoppedEarly, true);
  assert.equal(resumed.history.length, result.history.length);
  assert.equal(resumed.bestEpoch, result.bestEpoch);
  assertBitwiseEqual(again.stateDict(), model.stateDict(), 'best weights');
});

/** A few steps of a tiny model on a fixed batch. */
function steps(model: Module, optimizer: Optimizer<{ lr: number }>, n: number): void {
  const [x, y] = rows(0, 32);
  for (let i = 0; i < n; i++) {
    optimizer.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    optimizer.step();
  }
}

const OPTIMIZERS: [string, (m: Module, lr: number) => Optimizer<{ lr: number }>][] = [
  ['SGD with momentum', (m, lr) => new SGD(m.parameters(), { lr, momentum: 0.9 })],
  [
    'SGD with Nesterov momentum and weight decay',
    (m, lr) => new SGD(m.parameters(), { lr, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
  ],
  ['Adam', (m, lr) => new Adam(m.parameters(), { lr: lr / 10 })],
  ['AdamW with amsgrad', (m, lr) => new AdamW(m.parameters(), { lr: lr / 10, amsgrad: true })],
  [
    'RMSprop centred with momentum',
    (m, lr) => new RMSprop(m.parameters(), { lr: lr / 10, centered: true, momentum: 0.5 }),
  ],
  ['Adagrad', (m, lr) => new Adagrad(m.parameters(), { lr })],
];

for (const [name, make] of OPTIMIZERS) {
  test(`optimizer state survives a checkpoint file round trip: ${name} continues identically`, async () => {
    manualSeed(11);
    const model = mlp([PIXELS, 8, 10]);
    const optimizer = make(model, 0.05);
    steps(model, optimizer, 3);
    const path = join(freshDir(), 'opt.safetensors');
    saveCheckpoint(path, {
      model: model.stateDict(),
      optimizer: optimizerToCheckpoint(optimizer),
      rng: new Generator(0).getState(),
      progress: {},
    });

    // A different model and an optimizer with another learning rate: everything must come from the file.
    manualSeed(12);
    const copy = mlp([PIXELS, 8, 10]);
    const restored = make(copy, 0.5);
    const ckpt = loadCheckpoint(path);
    copy.loadStateDict(ckpt.model);
    optimizerFromCheckpoint(restored, ckpt.optimizer);
    assert.deepEqual(
      restored.paramGroups.map(({ params: _, ...h }) => h),
      optimizer.paramGroups.map(({ params: _, ...h }) => h),
    );
    assertBitwiseEqual(optimizerTensors(restored), optimizerTensors(optimizer), 'restored buffers');
    assert.deepEqual(
      [...restored.state.values()].map((s) => s.step),
      [...optimizer.state.values()].map((s) => s.step),
    );

    steps(model, optimizer, 3);
    steps(copy, restored, 3);
    assertBitwiseEqual(copy.stateDict(), model.stateDict(), 'weights after 3 more steps');
    assertBitwiseEqual(optimizerTensors(restored), optimizerTensors(optimizer), 'buffers after 3 more steps');
  });
}

test('restoring optimizer state into another optimizer type, or from a non-optimizer state, is a StrataError', async () => {
  manualSeed(13);
  const model = mlp([PIXELS, 8, 10]);
  const adam = new Adam(model.parameters());
  steps(model, adam, 1);
  const saved = optimizerToCheckpoint(adam);
  await throwsStrata(
    () => optimizerFromCheckpoint(new SGD(model.parameters(), { lr: 0.1 }), saved),
    /Adam/,
    /SGD/,
  );
  await throwsStrata(
    () => optimizerFromCheckpoint(new Adam(model.parameters()), { tensors: {}, state: null }),
    /no optimizer state/,
  );
});

test('the generator state survives a checkpoint round trip, including a pending normal deviate', async () => {
  const g = new Generator(21);
  g.permutation(10);
  g.normal(); // leaves the second Box–Muller value pending
  assert.notEqual(g.getState().spare, null);
  const path = join(freshDir(), 'rng.safetensors');
  manualSeed(0);
  const model = mlp([4, 2]);
  saveCheckpoint(path, {
    model: model.stateDict(),
    optimizer: optimizerToCheckpoint(new SGD(model.parameters(), { lr: 0.1 })),
    rng: g.getState(),
    progress: { best: Number.POSITIVE_INFINITY },
  });
  const ckpt = loadCheckpoint(path);
  assert.equal(ckpt.progress.best, Number.POSITIVE_INFINITY);
  const h = new Generator(0).setState(ckpt.rng);
  const draw = (x: Generator) => [
    x.normal(),
    x.normal(),
    x.uniform(),
    x.randint(0, 1000),
    ...x.permutation(20),
  ];
  assert.deepEqual(draw(h), draw(g));
});

test('checkpoints are written at every epoch end and every checkpointEvery steps, and never left half-written', async () => {
  const dir = freshDir();
  const s = setup({ optimizer: 'sgd', batchSize: 128 }); // 4 batches per epoch
  const seen: number[] = [];
  const loss: Loss = (out, y) => {
    const path = join(dir, CHECKPOINT_FILE);
    seen.push(existsSync(path) ? (loadCheckpoint(path).progress.step as number) : -1);
    return crossEntropy(out, y);
  };
  await fit(s.model, s.optimizer, { ...s.options, epochs: 2, loss, out: dir, checkpointEvery: 3 });
  // The checkpoint on disk as each of the 8 steps begins: none, then steps 3 and 4 (epoch end), 6, 8.
  assert.deepEqual(seen, [-1, -1, -1, 3, 4, 4, 6, 6]);
  assert.equal(loadCheckpoint(join(dir, CHECKPOINT_FILE)).progress.step, 8);
  assert.deepEqual(readdirSync(dir), [CHECKPOINT_FILE], 'no temporary files are left beside it');
});

/** Where a run stands: its weights, optimizer state (buffers and groups) and generator, for "nothing changed". */
function standing(s: Setup) {
  const opt = optimizerToCheckpoint(s.optimizer);
  return {
    weights: values(s.model.stateDict()),
    buffers: values(opt.tensors),
    groups: JSON.stringify(opt.state),
    rng: s.generator.getState(),
  };
}

/** A 1-epoch checkpoint in a fresh directory, edited by `edit` and saved again (with a valid checksum). */
async function editedCheckpoint(edit: (ckpt: ReturnType<typeof loadCheckpoint>) => void): Promise<string> {
  const dir = freshDir();
  const s = setup({ optimizer: 'adam', schedule: true });
  await fit(s.model, s.optimizer, { ...s.options, epochs: 1, out: dir, config: { batchSize: 64 } });
  const path = join(dir, CHECKPOINT_FILE);
  const ckpt = loadCheckpoint(path);
  edit(ckpt);
  saveCheckpoint(path, ckpt);
  return dir;
}

test('a checkpoint whose progress, schedule, step counts or config do not fit the run is refused, and changes nothing', async () => {
  const progress = (change: Record<string, unknown>) => (c: ReturnType<typeof loadCheckpoint>) => {
    Object.assign(c.progress, change);
  };
  const optimizerState =
    (change: (state: Record<string, unknown>) => void) => (c: ReturnType<typeof loadCheckpoint>) =>
      change(c.optimizer.state as Record<string, unknown>);
  const cases: [string, (c: ReturnType<typeof loadCheckpoint>) => void, RegExp][] = [
    ['a negative step', progress({ step: -8 }), /'step' is -8, not a non-negative integer/],
    [
      'a step the epochs do not add up to',
      progress({ step: 9 }),
      /epoch 1, batch 0 and step 9.*that is step 8/,
    ],
    [
      'a batch beyond the epoch',
      progress({ batch: 8, step: 16 }),
      /stopped at batch 8 of epoch 2, but this run has 8 batches/,
    ],
    [
      'more epochs than the run',
      progress({ epoch: 3, step: 24 }),
      /finished 3 epochs, more than the 2.*--epochs 3/,
    ],
    [
      'a history of the wrong length',
      progress({ history: [] }),
      /'history' has 0 records for 1 finished epochs/,
    ],
    [
      'a history record that is not one',
      progress({ history: [5] }),
      /history\[0\] is 5, not an epoch record/,
    ],
    ['a NaN loss sum', progress({ sums: { loss: Number.NaN } }), /'sums\.loss' is NaN, not a finite number/],
    [
      'an accuracy beyond 1 in the history',
      (c) => {
        (c.progress.history as Record<string, unknown>[])[0]!.accuracy = 1.5;
      },
      /history\[0\]\.accuracy is 1\.5/,
    ],
    [
      'a loss sum at an epoch start',
      progress({ sums: { loss: 0.5 } }),
      /'sums\.loss' is 0\.5 at the start of an epoch/,
    ],
    [
      'a bad epoch generator state',
      progress({ epochRng: { s: [0, 0, 0, 0], spare: null } }),
      /'epochRng'.*four zeros/,
    ],
    ['a stopped flag that is not one', progress({ stopped: 'yes' }), /'stopped' is "yes", not true or false/],
    [
      'a schedule out of step',
      progress({ callbacks: { scheduler: { t: 5, baseLrs: [0.002] } } }),
      /'scheduler' is not a schedule stepped once for each of 1/,
    ],
    [
      'a schedule with a NaN rate',
      progress({ callbacks: { scheduler: { t: 1, baseLrs: [Number.NaN] } } }),
      /'scheduler\.baseLrs'/,
    ],
    [
      'a fractional optimizer step count',
      optimizerState((st) => {
        (st.steps as Record<string, number>)['0'] = 1.5;
      }),
      /optimizer step count of parameter 0 is 1\.5; expected a non-negative integer/,
    ],
    [
      'a negative optimizer step count',
      optimizerState((st) => {
        (st.steps as Record<string, number>)['1'] = -1;
      }),
      /step count of parameter 1 is -1/,
    ],
    [
      'a weight of another dtype',
      (c) => {
        c.model['0.bias'] = tensor(new Int32Array(32));
      },
      /the checkpoint's weight '0\.bias' is int32, but the model's is float32/,
    ],
    [
      'an optimizer buffer of another dtype',
      (c) => {
        const [name, t] = Object.entries(c.optimizer.tensors)[0]!;
        c.optimizer.tensors[name] = tensor(new Float64Array(t.size), { shape: [...t.shape] });
      },
      /optimizer buffer '.*' is float64, but its parameter is float32/,
    ],
    [
      'a hyper-parameter of the wrong form',
      optimizerState((st) => {
        (st.paramGroups as Record<string, unknown>[])[0]!.betas = [0.9];
      }),
      /optimizer group 0 has betas = an array of length 1, where this optimizer has an array of length 2/,
    ],
    [
      'a hyper-parameter this optimizer does not take',
      optimizerState((st) => {
        (st.paramGroups as Record<string, unknown>[])[0]!.momentum = 0.9;
      }),
      /optimizer group 0 has 'momentum', which this optimizer does not take/,
    ],
    [
      'a config without the run setting',
      (c) => {
        c.config = {};
      },
      /does not record the setting batchSize/,
    ],
    [
      'a config that is not an object',
      (c) => {
        c.config = [1] as unknown as Record<string, unknown>;
      },
      /its run config is an array of length 1, not an object/,
    ],
  ];
  for (const [what, edit, pattern] of cases) {
    const dir = await editedCheckpoint(edit);
    const r = setup({ optimizer: 'adam', schedule: true, seed: 3 });
    r.generator.uniform();
    const before = standing(r);
    const e = await throwsStrata(() =>
      fit(r.model, r.optimizer, { ...r.options, out: dir, resume: true, config: { batchSize: 64 } }),
    );
    assert.match(e.message, pattern, `${what}: ${e.message}`);
    assert.deepEqual(standing(r), before, `${what}: the refused checkpoint left the run as it was`);
  }
});

test('an optimizer state refused after the weights were loaded puts the weights back', async () => {
  // The optimizer's buffers do not fit its parameters: found only once the model has been restored.
  const dir = await editedCheckpoint((c) => {
    const [name, t] = Object.entries(c.optimizer.tensors)[0]!;
    c.optimizer.tensors[name] = t.reshape([-1]).narrow(0, 0, 1).contiguous();
  });
  const r = setup({ optimizer: 'adam', schedule: true, seed: 3 });
  const before = standing(r);
  await throwsStrata(() =>
    fit(r.model, r.optimizer, { ...r.options, out: dir, resume: true, config: { batchSize: 64 } }),
  ); // Its wording is the optimizer's: only the refusal and what it leaves behind matter here.
  assert.deepEqual(standing(r), before, 'the model and optimizer are as they were');
  // The untouched run still resumes from a good checkpoint.
  const good = freshDir();
  const s = setup({ optimizer: 'adam', schedule: true });
  await fit(s.model, s.optimizer, { ...s.options, epochs: 1, out: good });
  assert.deepEqual((await fit(r.model, r.optimizer, { ...r.options, out: good, resume: true })).resumedFrom, {
    epoch: 1,
    batch: 0,
  });
});

test('a language model checkpoint whose progress does not fit the run is refused before anything is restored', async () => {
  const stream = Int32Array.from({ length: 240 }, (_, i) => i % 8);
  const lmRun = (seed: number) => {
    manualSeed(seed);
    const generator = new Generator(1);
    const model = new RnnLanguageModel(8, { cell: 'gru', hidden: 4, layers: 1, generator });
    const optimizer = new Adam(model.parameters(), { lr: 0.02 });
    const options = {
      batchSize: 4,
      bptt: 10,
      train: stream,
      valid: stream.subarray(0, 80),
      clip: 1,
      generator,
    };
    return { model, optimizer, generator, options, lm: model as unknown as LanguageModel };
  };
  const dir = freshDir();
  const first = lmRun(0);
  await fitLanguageModel(first.lm, first.optimizer, {
    ...first.options,
    epochs: 1,
    out: dir,
    config: { n: 1 },
  });
  const path = join(dir, CHECKPOINT_FILE);
  const good = loadCheckpoint(path);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ epoch: -1 }, /'epoch' is -1/],
    [{ epoch: 'one' }, /'epoch' is "one"/],
    [{ epoch: 5 }, /finished 5 epochs, more than the 2/],
    [{ best: Number.NaN }, /'best' is NaN/],
    [{ bestEpoch: 2 }, /'bestEpoch' is 2/],
    [{ history: [] }, /'history' has 0 records for 1 finished epochs/],
    [{ best: 3 }, /'best' \(3\) is not the \w+ of its epoch 1/],
    [{ bestEpoch: null }, /no best epoch, yet 'best' or 'sinceBest'/],
    [{ sinceBest: 1 }, /'sinceBest' is 1, not a count|'sinceBest' is 1, but 0 epochs followed/],
  ];
  const stopping = ['best', 'bestEpoch', 'sinceBest'];
  for (const [change, pattern] of cases) {
    // The best value and epoch are the early-stopping callback's state, which keeps the best weights.
    const callbacks = good.progress.callbacks as Record<string, Record<string, unknown>>;
    const progress = Object.keys(change).some((k) => stopping.includes(k))
      ? {
          ...good.progress,
          callbacks: { ...callbacks, earlyStopping: { ...callbacks.earlyStopping, ...change } },
        }
      : { ...good.progress, ...change };
    saveCheckpoint(path, { ...good, progress });
    const r = lmRun(3);
    const before = values(r.model.stateDict());
    const rng = r.generator.getState();
    await throwsStrata(
      () =>
        fitLanguageModel(r.lm, r.optimizer, {
          ...r.options,
          epochs: 2,
          out: dir,
          resume: true,
          config: { n: 1 },
        }),
      /resume: '.*checkpoint\.safetensors' has no valid training progress/,
      pattern,
    );
    assert.deepEqual(
      values(r.model.stateDict()),
      before,
      `${JSON.stringify(change)}: the model is as it was`,
    );
    assert.deepEqual(r.generator.getState(), rng, `${JSON.stringify(change)}: the generator is as it was`);
  }
});

test('a full disk while training, or while resuming, is a StrataError naming the checkpoint; the last good one is kept', async () => {
  const dir = freshDir();
  const path = join(dir, CHECKPOINT_FILE);
  const s = setup({ optimizer: 'sgd', batchSize: 128 }); // 4 batches per epoch, a checkpoint at step 2
  // The first checkpoint is written whole (in any number of writes), then the disk is full.
  const full = () => existsSync(path);
  await withFailingAsync(
    'writeSync',
    'ENOSPC',
    async () => {
      await throwsStrata(
        () => fit(s.model, s.optimizer, { ...s.options, epochs: 2, out: dir, checkpointEvery: 2 }),
        new RegExp(`cannot write '${dir}/${CHECKPOINT_FILE}' \\(ENOSPC\\): the disk is full.*--resume`),
      );
    },
    full,
  );
  assert.equal(loadCheckpoint(path).progress.step, 2, 'the step-2 checkpoint is kept');
  assert.deepEqual(readdirSync(dir), [CHECKPOINT_FILE], 'no temporary file is left');

  const r = setup({ optimizer: 'sgd', batchSize: 128 });
  await withFailingAsync('writeSync', 'ENOSPC', async () => {
    await throwsStrata(
      () =>
        fit(r.model, r.optimizer, { ...r.options, epochs: 2, out: dir, checkpointEvery: 2, resume: true }),
      /\(ENOSPC\): the disk is full/,
    );
  });
  assert.equal(loadCheckpoint(path).progress.step, 2, 'still the step-2 checkpoint');
  // With space again the run resumes from it and completes.
  const again = setup({ optimizer: 'sgd', batchSize: 128 });
  const done = await fit(again.model, again.optimizer, {
    ...again.options,
    epochs: 2,
    out: dir,
    resume: true,
  });
  assert.deepEqual(done.resumedFrom, { epoch: 0, batch: 2 });
  assert.equal(loadCheckpoint(path).progress.step, 8);
});

test('an output directory that cannot be used fails before the first step', async () => {
  const s = setup({ optimizer: 'sgd' });
  let steps = 0;
  const counting: Loss = (out, y) => {
    steps++;
    return ce(out, y);
  };
  for (const [out, pattern] of [
    ['', /the output directory is an empty string/],
    ['/proc/strata-probe', /cannot create the output directory '\/proc\/strata-probe'/],
  ] as const) {
    await throwsStrata(() => fit(s.model, s.optimizer, { ...s.options, loss: counting, out }), pattern);
  }
  await withFailingAsync('openSync', 'EROFS', async () => {
    await throwsStrata(
      () => fit(s.model, s.optimizer, { ...s.options, loss: counting, out: freshDir() }),
      /write in the output directory .*\(EROFS\): the file system is read-only/,
    );
  });
  assert.equal(steps, 0, 'no training step ran');
});

test('a task with two optimizers (a GAN) trains through ctx.update, and resumes mid-epoch exactly', async () => {
  // A one-dimensional GAN: the generator shifts noise by b, the discriminator is a logistic unit;
  // real samples are N(3, 1). Each step updates the discriminator, then the generator.
  const gan = (out?: string, resume = false, crashAt = 0) => {
    manualSeed(21);
    const g = new Linear(1, 1);
    const d = new Linear(1, 1);
    const generator = new Generator(22);
    const model = new Sequential(g, d);
    const gOpt = new Adam(g.parameters(), { lr: 0.05 });
    const dOpt = new SGD(d.parameters(), { lr: 0.05 });
    let calls = 0;
    const task: Task<number> = {
      model,
      optimizers: [gOpt, dOpt],
      manual: true,
      async trainStep(_, ctx) {
        if (++calls === crashAt) throw new Error('simulated crash');
        const noise = () =>
          tensor(
            Float32Array.from({ length: 8 }, () => generator.normal()),
            { shape: [8, 1] },
          );
        const real = noise().add(3);
        const fake = g.forward(noise());
        const bce = (x: Tensor, label: number) =>
          bceWithLogits(d.forward(x), tensor(new Float32Array(8).fill(label), { shape: [8, 1] }));
        const dLoss = await ctx.update(dOpt, bce(real, 1).add(bce(fake.detach(), 0)));
        const gLoss = await ctx.update(gOpt, bce(g.forward(noise()), 1));
        return { metrics: { dLoss: dLoss * 8, gLoss: gLoss * 8 }, size: 8 };
      },
    };
    return {
      g,
      trainer: new Trainer(task, {
        epochs: 2,
        data: stepSource(6),
        generator,
        out,
        resume,
        checkpointEvery: 4,
      }),
    };
  };
  const straight = gan(freshDir());
  const a = await straight.trainer.fit();
  assert.deepEqual(Object.keys(a.history[0]!).sort(), [
    'dLoss',
    'epoch',
    'gLoss',
    'lr',
    'samplesPerSecond',
    'seconds',
  ]);
  assert.ok(a.history.every((r) => Number.isFinite(r.dLoss) && Number.isFinite(r.gLoss)));
  const dir = freshDir();
  await assert.rejects(() => gan(dir, false, 9).trainer.fit(), /simulated crash/);
  const ckpt = loadCheckpoint(join(dir, CHECKPOINT_FILE));
  assert.equal(ckpt.otherOptimizers?.length, 1, 'both optimizers are in the checkpoint');
  // Checkpoints after steps 4, 6 (the epoch's end) and 8; the crash in step 9 leaves step 8's.
  assert.deepEqual([ckpt.progress.epoch, ckpt.progress.batch], [1, 2]);
  const resumed = gan(dir, true);
  const b = await resumed.trainer.fit();
  assert.deepEqual(b.resumedFrom, { epoch: 1, batch: 2 });
  assert.deepEqual(
    b.history.map((r) => [r.dLoss, r.gLoss]),
    a.history.map((r) => [r.dLoss, r.gLoss]),
  );
  assertBitwiseEqual(resumed.g.stateDict(), straight.g.stateDict(), 'generator weights');
});

test('a task with no dataset (an agent collecting its own data) runs on a step source, with a per-batch schedule and a metric logger', async () => {
  // A two-armed bandit learned by REINFORCE: arm 1 pays 1, arm 0 pays 0. The policy is one logit.
  manualSeed(31);
  const policy = new Linear(1, 1, { bias: false });
  const opt = new SGD(policy.parameters(), { lr: 0.5 });
  const generator = new Generator(32);
  const logged: [string, number, number][] = [];
  const schedule = new LearningRateSchedule(new StepLR(opt, { stepSize: 5, gamma: 0.5 }), { per: 'batch' });
  const task: Task<number> = {
    model: policy,
    optimizers: [opt],
    trainStep() {
      const logit = policy.forward(tensor([[1]]));
      const p1 = logit.sigmoid();
      const arm = generator.uniform() < p1.item() ? 1 : 0;
      const logProb = arm === 1 ? p1.log() : p1.neg().add(1).log();
      return { loss: logProb.mul(-arm).sum(), metrics: { reward: arm }, size: 1 };
    },
  };
  const logger: MetricLogger = { scalar: (tag, value, step) => logged.push([tag, value, step]) };
  const trainer = new Trainer(task, {
    epochs: 2,
    data: stepSource(10),
    generator,
    callbacks: [schedule, new MetricLogging(logger)],
  });
  const { history } = await trainer.fit();
  assert.equal(history.length, 2);
  assert.ok(
    history[1]!.reward! > history[0]!.reward!,
    `reward ${history[0]!.reward} -> ${history[1]!.reward}`,
  );
  assert.equal(opt.paramGroups[0]!.lr, 0.5 * 0.5 ** 4, 'stepped once per batch: 20 steps, ×0.5 every 5');
  assert.deepEqual(
    logged.filter(([tag]) => tag === 'train/loss').map(([, , step]) => step),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.ok(logged.some(([tag, , step]) => tag === 'epoch/reward' && step === 2));
  await assert.rejects(
    () =>
      new Trainer(
        { ...task, trainStep: () => ({ size: 1 }) },
        { epochs: 1, data: stepSource(1), generator },
      ).fit(),
    /returned no loss/,
  );
});

test('several ranks (data parallelism): gradients and epoch totals reduced through Ranks train every rank as one process on the whole batches would, and only rank 0 writes', async () => {
  // Two ranks in one process, meeting at an in-memory all-reduce: each waits until both have given
  // their values, and both get the same combination back.
  function hub(size: number) {
    let waiting: { values: number[][]; resolve: ((r: number[]) => void)[] } = { values: [], resolve: [] };
    return (values: number[], combine: (all: number[][]) => number[]) =>
      new Promise<number[]>((resolve) => {
        waiting.values.push(values);
        waiting.resolve.push(resolve);
        if (waiting.values.length < size) return;
        const result = combine(waiting.values);
        const done = waiting;
        waiting = { values: [], resolve: [] };
        for (const r of done.resolve) r(result);
      });
  }
  const meet = hub(2);
  const sum = (all: number[][]) => all[0]!.map((_, i) => all.reduce((s, v) => s + v[i]!, 0));
  const ranks = (rank: number) => ({
    rank,
    size: 2,
    async reduceGradients(params: readonly Tensor[]) {
      const flat = params.flatMap((p) => Array.from(p.grad!.toTypedArray()));
      const mean = (await meet(flat, sum)).map((v) => v / 2);
      let at = 0;
      for (const p of params) {
        const n = p.size;
        p.grad = tensor(mean.slice(at, at + n), { dtype: 'float64' }).reshape(p.shape);
        at += n;
      }
    },
    reduceSums: (values: number[]) => meet(values, sum),
  });
  // Regression on 8 batches of 6 rows; rank r takes rows r·3 .. r·3 + 2 of each batch.
  const generator = new Generator(41);
  const x = randn([48, 3], { generator, dtype: 'float64' });
  const y = x
    .matmul(tensor([[1], [-2], [0.5]], { dtype: 'float64' }))
    .add(randn([48, 1], { generator, dtype: 'float64' }).mul(0.1));
  const batches = (part: (i: number) => [number, number]) => ({
    length: 8,
    *iterate({ startBatch = 0 } = {}) {
      for (let i = startBatch; i < 8; i++) {
        const [start, count] = part(i);
        yield [x.narrow(0, start, count), y.narrow(0, start, count)] as Tensor[];
      }
    },
  });
  const run = (data: ReturnType<typeof batches>, r?: ReturnType<typeof ranks>, out?: string) => {
    manualSeed(42);
    const model = new Linear(3, 1, { dtype: 'float64' });
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const task: Task<Tensor[]> = {
      model,
      optimizers: [opt],
      trainStep: ([bx, by]) => ({ loss: model.forward(bx!).sub(by!).square().mean(), size: bx!.shape[0]! }),
    };
    const trainer = new Trainer(task, { epochs: 2, data, generator: new Generator(43), ranks: r, out });
    return trainer.fit().then((result) => ({ result, model }));
  };
  const whole = await run(batches((i) => [i * 6, 6]));
  const out0 = freshDir();
  const out1 = freshDir();
  const [r0, r1] = await Promise.all([
    run(
      batches((i) => [i * 6, 3]),
      ranks(0),
      out0,
    ),
    run(
      batches((i) => [i * 6 + 3, 3]),
      ranks(1),
      out1,
    ),
  ]);
  for (const [name, w] of whole.model.namedParameters()) {
    const expected = Array.from(w.toTypedArray());
    for (const r of [r0, r1]) {
      const got = Array.from(Object.fromEntries(r.model.namedParameters())[name]!.toTypedArray());
      for (const [i, v] of got.entries())
        assert.ok(Math.abs(v - expected[i]!) < 1e-12, `${name}[${i}]: ${v} vs ${expected[i]}`);
    }
  }
  // The epoch's mean loss is over both ranks' samples: the whole run's, on both ranks.
  for (const r of [r0, r1])
    r.result.history.forEach((e, i) => {
      assert.ok(Math.abs(e.loss! - whole.result.history[i]!.loss!) < 1e-12, `epoch ${i + 1} loss`);
    });
  assert.ok(existsSync(join(out0, CHECKPOINT_FILE)), 'rank 0 writes the checkpoint');
  assert.equal(existsSync(join(out1, CHECKPOINT_FILE)), false, 'rank 1 writes nothing');
});

test('progress: a live line fits the width with whole fields, numbers first; the epoch line is the same for every task', () => {
  const fields = [
    'epoch 1/3',
    '120/265',
    'loss 5.8123',
    'ppl 332.2',
    '1234 tokens/s',
    'ETA 1:23',
    'run 5:40',
  ];
  for (const width of [20, 40, 60, 80, 120]) {
    const line = fitLine(fields, width, 0.5);
    assert.ok(line.length <= width, `${width}: '${line}' is ${line.length} wide`);
    const shown = line.replace(/ \[.*\]$/, '').split('  ');
    assert.deepEqual(shown, fields.slice(0, shown.length), `${width}: whole fields, in order`);
  }
  assert.match(
    fitLine(fields, 80, 0.5),
    /ppl 332\.2 {2}1234 tokens\/s/,
    'at 80 columns the perplexity is whole',
  );
  assert.match(fitLine(fields, 120, 0.5), /run 5:40 \[█+·+\]$/, 'the bar takes the room that is left');
  assert.equal(clock(3725), '1:02:05');
  const lm = {
    epoch: 2,
    loss: 5.8,
    perplexity: 330.3,
    valLoss: 5.9,
    valPerplexity: 365.04,
    lr: 20,
    seconds: 3.14,
    samplesPerSecond: 5120.4,
  };
  assert.equal(
    epochLine(lm, 5, 'tokens'),
    'epoch 2/5 | loss 5.8000 ppl 330.3 | val loss 5.9000 ppl 365.0 | lr 20 | 5120 tokens/s | 3.1 s',
  );
});
