/**
 * Reference models (LeNet-5, a small ResNet) and the blocks they are built from (residual, highway,
 * dense): shapes, PyTorch-style parameter names and counts (the arithmetic is in the comments), the
 * blocks' outputs recomputed step by step from their parts, gradients reaching every parameter, and
 * LeNet fitting a small slice of MNIST.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadMnist } from '../src/data/mnist.js';
import { EOS, UNK, Vocab } from '../src/data/text.js';
import * as st from '../src/index.js';
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { lenet } from '../src/models/lenet.js';
import type { MemN2N } from '../src/models/memn2n.js';
import type { DigitReader } from '../src/models/read-digits.js';
import { loadModel, MODELS, type ModelConfig } from '../src/models/registry.js';
import { ResNet, resnetMnist } from '../src/models/resnet.js';
import type { TranslationModel } from '../src/models/seq2seq.js';
import { tempDirs } from './tmpdirs.js';

const { nn, optim } = st;
type Tensor = st.Tensor;

st.manualSeed(0);

function flat(x: Tensor): number[] {
  return Array.from(x.toTypedArray());
}

/** Elementwise |actual - expected| <= tol, with the position in the message. */
function near(actual: Tensor, expected: Tensor, tol = 1e-5, what = ''): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = flat(actual);
  const e = flat(expected);
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      a[i] === e[i] || Math.abs(a[i]! - e[i]!) <= tol,
      `${what}[${i}]: got ${a[i]}, expected ${e[i]} (tol ${tol})`,
    );
  }
}

function names(m: st.nn.Module): string[] {
  return m.namedParameters().map(([n]) => n);
}

/** Writes `value` into every element of a parameter, off the tape. */
function fill(p: Tensor, value: number): void {
  st.noGrad(() => p.copy_(st.full(p.shape, value)));
}

/** Gives batch norms a scale and shift other than 1 and 0, so that a mis-wired one would show. */
function randomiseBatchNorms(m: st.nn.Module): void {
  for (const bn of m.modules()) {
    if (bn instanceof nn.BatchNorm) {
      st.noGrad(() => {
        bn.weight!.copy_(st.rand(bn.weight!.shape, { low: 0.5, high: 1.5 }));
        bn.bias!.copy_(st.rand(bn.bias!.shape, { low: -0.5, high: 0.5 }));
      });
    }
  }
}

/** backward() of the sum of the outputs leaves a finite, not-all-zero gradient on every parameter. */
function assertGradientReachesEveryParameter(m: st.nn.Module, x: Tensor): void {
  m.zeroGrad();
  m.forward(x).sum().backward();
  for (const [name, p] of m.namedParameters()) {
    assert.ok(p.grad, `${name} has no gradient`);
    const g = flat(p.grad);
    assert.ok(
      g.every((v) => Number.isFinite(v)),
      `${name} has a non-finite gradient`,
    );
    assert.ok(
      g.some((v) => v !== 0),
      `${name} has an all-zero gradient`,
    );
  }
}

function throwsStrata(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof st.StrataError && pattern.test(e.message));
}

// ---------------------------------------------------------------------------------------------------
// LeNet-5
// ---------------------------------------------------------------------------------------------------

test('lenet: [N, 1, 28, 28] -> [N, 10], named as nn.Sequential of the same 12 layers, 61,706 parameters', () => {
  const m = lenet();
  assert.deepEqual(m.forward(st.rand([3, 1, 28, 28])).shape, [3, 10]);
  // conv(0) relu(1) pool(2) conv(3) relu(4) pool(5) flatten(6) linear(7) relu(8) linear(9) relu(10) linear(11)
  assert.equal(m.layers.length, 12);
  assert.ok(m.layers[6] instanceof nn.Flatten);
  assert.deepEqual(names(m), [
    '0.weight',
    '0.bias',
    '3.weight',
    '3.bias',
    '7.weight',
    '7.bias',
    '9.weight',
    '9.bias',
    '11.weight',
    '11.bias',
  ]);
  assert.deepEqual(
    m.namedParameters().map(([, p]) => p.shape),
    [[6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [120, 400], [120], [84, 120], [84], [10, 84], [10]],
  );
  assert.deepEqual(Object.keys(m.stateDict()), names(m));
  // (6·1·25 + 6) + (16·6·25 + 16) + (400·120 + 120) + (120·84 + 84) + (84·10 + 10)
  //   = 156 + 2416 + 48120 + 10164 + 850 = 61706
  assert.equal(m.numParameters(), 61706);
  // Strict about the layout: flat rows are the caller's to reshape.
  assert.throws(() => m.forward(st.rand([3, 784])), st.StrataError);
});

test("lenet: 'glorot' draws U(±sqrt(6/(fan_in + fan_out))) with a conv's kernel in both fans, zero biases", () => {
  const m = lenet();
  // fan_in + fan_out: conv1 1·25 + 6·25 = 175, conv2 6·25 + 16·25 = 550, then 400 + 120, 120 + 84, 84 + 10.
  const fanSums: Record<string, number> = { 0: 175, 3: 550, 7: 520, 9: 204, 11: 94 };
  for (const [layer, sum] of Object.entries(fanSums)) {
    const w = flat(m.stateDict()[`${layer}.weight`]!);
    const bound = Math.sqrt(6 / sum);
    assert.ok(
      w.every((v) => Math.abs(v) <= bound),
      `${layer}.weight within ±${bound}`,
    );
    // The draws fill the range: the largest magnitude is well above half the bound.
    assert.ok(Math.max(...w.map(Math.abs)) > 0.5 * bound, `${layer}.weight spans its range`);
    assert.ok(
      flat(m.stateDict()[`${layer}.bias`]!).every((v) => v === 0),
      `${layer}.bias is zero`,
    );
  }
  // PyTorch's default: weights and biases U(±1/sqrt(fan_in)); conv1's fan_in is 1·5·5 = 25, so ±0.2.
  const d = lenet({ init: 'default' });
  const b = flat(d.stateDict()['0.bias']!);
  assert.ok(b.some((v) => v !== 0) && b.every((v) => Math.abs(v) <= 0.2));
  assert.ok(flat(d.stateDict()['0.weight']!).every((v) => Math.abs(v) <= 0.2));
});

test('lenet: gradients reach every parameter', () => {
  assertGradientReachesEveryParameter(lenet(), st.rand([2, 1, 28, 28]));
});

test('lenet: fits 64 MNIST digits (training accuracy >= 95% within 60 Adam steps)', () => {
  st.manualSeed(1);
  const { images, labels } = loadMnist('train', { limit: 64 });
  const x = images.reshape([64, 1, 28, 28]);
  const m = lenet();
  const opt = new optim.Adam(m.parameters(), { lr: 2e-3 }); // W2's 1e-3 also gets there, in about 30 steps rather than 18
  let accuracy = 0;
  for (let step = 1; step <= 60 && accuracy < 0.95; step++) {
    opt.zeroGrad();
    const logits = m.forward(x);
    // The accuracy of the weights before this step's update.
    accuracy = logits.argmax(1).eq(labels).cast('float32').mean().item();
    nn.crossEntropy(logits, labels).backward();
    opt.step();
  }
  assert.ok(accuracy >= 0.95, `training accuracy ${accuracy}`);
});

// ---------------------------------------------------------------------------------------------------
// ResidualBlock
// ---------------------------------------------------------------------------------------------------

test('ResidualBlock: identity shortcut when the shapes match, a 1×1 conv + BN projection otherwise', () => {
  const same = new nn.ResidualBlock(8, 8);
  assert.equal(same.downsample, null);
  assert.deepEqual(names(same), [
    'conv1.weight',
    'bn1.weight',
    'bn1.bias',
    'conv2.weight',
    'bn2.weight',
    'bn2.bias',
  ]);
  // 2 convs 8·8·9 = 576 each, no bias; 2 batch norms of 2·8 = 16: 2·576 + 2·16 = 1184
  assert.equal(same.numParameters(), 1184);
  assert.deepEqual(same.forward(st.rand([2, 8, 6, 6])).shape, [2, 8, 6, 6]);

  const wider = new nn.ResidualBlock(8, 16);
  assert.deepEqual(names(wider).slice(6), [
    'downsample.0.weight',
    'downsample.1.weight',
    'downsample.1.bias',
  ]);
  assert.deepEqual(wider.stateDict()['downsample.0.weight']!.shape, [16, 8, 1, 1]);
  assert.ok('downsample.1.running_mean' in wider.stateDict());
  assert.deepEqual(wider.forward(st.rand([2, 8, 6, 6])).shape, [2, 16, 6, 6]);

  const strided = new nn.ResidualBlock(8, 8, { stride: 2 });
  assert.ok(strided.downsample);
  assert.deepEqual(strided.forward(st.rand([2, 8, 6, 6])).shape, [2, 8, 3, 3]);
  assert.deepEqual(strided.forward(st.rand([2, 8, 7, 7])).shape, [2, 8, 4, 4]);

  throwsStrata(() => new nn.ResidualBlock(8, 8, { stride: 0 }), /ResidualBlock: stride must be a positive/);
});

test('ResidualBlock = relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)), step by step', () => {
  const bnTrain = (h: Tensor, bn: st.nn.BatchNorm) =>
    nn.batchNorm(h, null, null, { weight: bn.weight, bias: bn.bias, training: true });
  for (const [inC, outC, stride] of [
    [4, 4, 1],
    [4, 6, 2],
  ] as const) {
    const block = new nn.ResidualBlock(inC, outC, { stride });
    randomiseBatchNorms(block);
    const x = st.randn([3, inC, 5, 5]);
    let h = st.conv2d(x, block.conv1.weight, null, { stride, padding: 1 });
    h = bnTrain(h, block.bn1).relu();
    h = st.conv2d(h, block.conv2.weight, null, { padding: 1 });
    h = bnTrain(h, block.bn2);
    let shortcut = x;
    if (block.downsample) {
      const [proj, bn] = block.downsample.layers as [st.nn.Conv2d, st.nn.BatchNorm2d];
      shortcut = bnTrain(st.conv2d(x, proj.weight, null, { stride }), bn);
    }
    near(block.forward(x), h.add(shortcut).relu(), 1e-5, `block ${inC}→${outC} stride ${stride}`);
  }
});

test('ResidualBlock: gradients reach every parameter, through both paths', () => {
  const x = st.randn([2, 4, 6, 6]);
  assertGradientReachesEveryParameter(new nn.ResidualBlock(4, 4), x);
  assertGradientReachesEveryParameter(new nn.ResidualBlock(4, 8, { stride: 2 }), x);
});

// ---------------------------------------------------------------------------------------------------
// Highway
// ---------------------------------------------------------------------------------------------------

test('Highway: the gate starts carrying (bias -2); T = 0 returns x, T = 1 returns H(x) = relu(W_H x + b_H)', () => {
  const layer = new nn.Highway(5);
  assert.deepEqual(names(layer), ['hidden.weight', 'hidden.bias', 'gate.weight', 'gate.bias']);
  // two Linear(5, 5): 2·(25 + 5) = 60
  assert.equal(layer.numParameters(), 60);
  assert.ok(flat(layer.gate.bias!).every((v) => v === -2));
  assert.ok(flat(new nn.Highway(5, { gateBias: -1 }).gate.bias!).every((v) => v === -1));

  const x = st.randn([4, 5]);
  assert.deepEqual(layer.forward(st.randn([2, 3, 5])).shape, [2, 3, 5]);
  // A gate bias of ∓1e4 saturates sigmoid to exactly 0 or 1 whatever W_T x is.
  fill(layer.gate.bias!, -1e4);
  near(layer.forward(x), x, 0, 'T = 0');
  fill(layer.gate.bias!, 1e4);
  const h = x.matmul(layer.hidden.weight.transpose()).add(layer.hidden.bias!).relu();
  near(layer.forward(x), h, 1e-6, 'T = 1');
  // In between, y = T·H + (1 - T)·x with T = sigmoid(0) = 1/2 when W_T = 0 and b_T = 0.
  fill(layer.gate.weight, 0);
  fill(layer.gate.bias!, 0);
  near(layer.forward(x), h.add(x).mul(0.5), 1e-6, 'T = 1/2');
});

test('Highway: gradients reach every parameter', () => {
  assertGradientReachesEveryParameter(new nn.Highway(6), st.randn([3, 6]));
});

// ---------------------------------------------------------------------------------------------------
// DenseBlock
// ---------------------------------------------------------------------------------------------------

test('DenseBlock: out = in + L·growth channels, starting with the input; layer l sees all before it', () => {
  const [inC, numLayers, growth] = [3, 4, 5];
  const block = new nn.DenseBlock(inC, numLayers, growth);
  assert.equal(block.outChannels, 23); // 3 + 4·5
  randomiseBatchNorms(block);
  const x = st.randn([2, inC, 6, 6]);
  const y = block.forward(x);
  assert.deepEqual(y.shape, [2, 23, 6, 6]);
  near(y.narrow(1, 0, inC), x, 0, 'input channels');
  for (let l = 0; l < numLayers; l++) {
    const seen = inC + l * growth;
    assert.deepEqual(block.layers[l]!.conv.weight.shape, [growth, seen, 3, 3]);
    // Layer l's output is its function of everything before it in the concatenation.
    near(y.narrow(1, seen, growth), block.layers[l]!.forward(y.narrow(1, 0, seen)), 1e-5, `layer ${l}`);
  }
  assert.deepEqual(names(block).slice(0, 3), [
    'layers.0.norm.weight',
    'layers.0.norm.bias',
    'layers.0.conv.weight',
  ]);
  assert.equal(names(block).at(-1), 'layers.3.conv.weight');
  // Layer l has c = 3 + 5l inputs: BN 2c plus conv 5·c·9 = 47c; Σ c over l = 0..3 is 3 + 8 + 13 + 18 = 42.
  assert.equal(block.numParameters(), 47 * 42);
  throwsStrata(() => new nn.DenseBlock(3, 0, 5), /DenseBlock: numLayers must be a positive integer, got 0/);
});

test('DenseBlock: gradients reach every parameter', () => {
  assertGradientReachesEveryParameter(new nn.DenseBlock(2, 3, 4), st.randn([2, 2, 5, 5]));
});

// ---------------------------------------------------------------------------------------------------
// ResNet
// ---------------------------------------------------------------------------------------------------

test("resnetMnist: [N, 1, 28, 28] -> [N, 10] with torchvision's names and 174,970 parameters", () => {
  const m = resnetMnist();
  assert.ok(m instanceof ResNet);
  const x = st.rand([2, 1, 28, 28]);
  assert.deepEqual(m.forward(x).shape, [2, 10]);
  assert.deepEqual(m.eval().forward(x).shape, [2, 10]);
  const n = names(m);
  for (const name of [
    'conv1.weight',
    'bn1.weight',
    'layer1.0.conv1.weight',
    'layer1.1.bn2.bias',
    'layer2.0.downsample.0.weight',
    'layer2.0.downsample.1.bias',
    'layer3.1.conv2.weight',
    'fc.weight',
    'fc.bias',
  ]) {
    assert.ok(n.includes(name), `has ${name}`);
  }
  // The first stage keeps 16 channels at stride 1: identity shortcuts; no convolution has a bias.
  assert.ok(!n.some((k) => k.startsWith('layer1.') && k.includes('downsample')));
  assert.ok(!n.some((k) => /conv\d\.bias|downsample\.0\.bias/.test(k)));
  assert.equal(n[0], 'conv1.weight');
  assert.equal(n.at(-1), 'fc.bias');
  const state = m.stateDict();
  assert.deepEqual(state['layer2.0.conv1.weight']!.shape, [32, 16, 3, 3]);
  assert.deepEqual(state['layer3.0.downsample.0.weight']!.shape, [64, 32, 1, 1]);
  assert.ok('layer3.0.downsample.1.running_var' in state);
  // Parameters (convolutions have no bias; a BatchNorm of C channels has 2C):
  //   stem:    conv 1→16 3×3 = 16·1·9 = 144;             bn 32                            →    176
  //   layer1:  2 blocks × (2 convs 16·16·9 = 2304 + 2 bn 32) = 2 × 4672                   →  9,344
  //   layer2:  block 0: conv 32·16·9 = 4608 + bn 64 + conv 32·32·9 = 9216 + bn 64
  //                     + downsample conv 32·16·1 = 512 + bn 64                = 14,528
  //            block 1: 2 × 9216 + 2 × 64                                      = 18,560     →  33,088
  //   layer3:  block 0: conv 64·32·9 = 18,432 + bn 128 + conv 64·64·9 = 36,864 + bn 128
  //                     + downsample conv 64·32·1 = 2048 + bn 128              = 57,728
  //            block 1: 2 × 36,864 + 2 × 128                                   = 73,984     → 131,712
  //   fc:      64·10 + 10                                                                   →    650
  //   total:   176 + 9,344 + 33,088 + 131,712 + 650 = 174,970
  assert.equal(m.numParameters(), 174970);
  // Stages follow `channels`; one block per stage: stem 4·9 + 8 = 44, layer1 2·(4·4·9) + 2·8 = 304,
  // layer2 8·4·9 + 8·8·9 + 8·4 + 3·16 = 288 + 576 + 32 + 48 = 944, fc 8·10 + 10 = 90: 1382.
  const small = resnetMnist({ channels: [4, 8], blocksPerStage: 1 });
  assert.deepEqual(small.forward(x).shape, [2, 10]);
  assert.equal(small.numParameters(), 1382);
  assert.ok(!names(small).some((k) => k.startsWith('layer3')));
  throwsStrata(() => resnetMnist({ channels: [] }), /ResNet: channels must be one or more positive integers/);
});

test('resnetMnist: a state dict moves from one model to another, running statistics included', () => {
  const a = resnetMnist({ channels: [4, 8], blocksPerStage: 1 });
  const x = st.rand([4, 1, 28, 28]);
  a.forward(x); // one training batch moves the running statistics off their initial values
  const b = resnetMnist({ channels: [4, 8], blocksPerStage: 1 });
  assert.deepEqual(b.loadStateDict(a.stateDict()), { missing: [], unexpected: [] });
  near(b.eval().forward(x), a.eval().forward(x), 0, 'eval outputs');
});

test('resnetMnist: gradients reach every parameter', () => {
  assertGradientReachesEveryParameter(resnetMnist(), st.rand([2, 1, 28, 28]));
});

/** A run config of each registered model, as `strata train` stores it (small sizes where they are free). */
const PAIRS = { dropout: 0.1, maxLength: 12, minFreq: 1 };
const CONFIGS: Record<string, ModelConfig> = {
  seq2seq: {
    ...{ model: 'seq2seq', ...PAIRS, cell: 'lstm', attention: 'additive' },
    ...{ hidden: 6, embed: 4, layers: 2, bidirectional: true },
  },
  transformer: { model: 'transformer', ...PAIRS, dModel: 8, heads: 2, ff: 12, layers: 1 },
  'read-digits': {
    ...{ model: 'read-digits', attention: 'soft', hidden: 6, embed: 4 },
    ...{ height: 32, width: 128, maxDigits: 5 },
  },
  memn2n: {
    ...{ model: 'memn2n', hops: 2, tying: 'adjacent', encoding: 'position', temporal: true },
    ...{ memorySize: 3, embed: 4, vocabSize: 8 },
  },
  ntm: {
    ...{ model: 'ntm', task: 'copy', controller: 'lstm', hidden: 6, layers: 1 },
    ...{ memoryRows: 5, memoryWidth: 3, readHeads: 1, writeHeads: 1 },
  },
  rbm: { model: 'rbm', hidden: 6, visibleUnits: 'gaussian', persistentChains: 3 },
  vae: { model: 'vae', hidden: 5, layers: 2, latent: 3 },
  mlp: { model: 'mlp', dropout: 0.2 },
  lenet: { model: 'lenet' },
  'resnet-mnist': { model: 'resnet-mnist' },
  nplm: { model: 'nplm', level: 'word', order: 3, embed: 4, hidden: 6, direct: true, dropout: 0.1 },
  rnnlm: {
    model: 'rnnlm',
    level: 'word',
    cell: 'gru',
    hidden: 5,
    embed: 5,
    layers: 2,
    tie: true,
    dropout: 0.1,
  },
  'char-rnn': {
    model: 'char-rnn',
    level: 'char',
    cell: 'lstm',
    hidden: 4,
    embed: 3,
    layers: 1,
    tie: false,
    dropout: 0,
  },
};

test('loadModel rebuilds every registered model from its checkpoint: same weights, same outputs, eval mode', () => {
  assert.deepEqual(Object.keys(CONFIGS).sort(), Object.keys(MODELS).sort(), 'a config for every model');
  const vocab = Vocab.build('a b c d e f'.split(' '), { minFreq: 1, specials: [UNK, EOS] });
  const vocabs = {
    source: st.data.translationVocab([['i', 'am', 'cold']]),
    target: st.data.translationVocab([["j'", 'ai', 'froid', '.']]),
  };
  const fresh = tempDirs('models');
  for (const [name, config] of Object.entries(CONFIGS)) {
    st.manualSeed(1);
    const entry = MODELS[name]!;
    const text = entry.input === 'tokens';
    const pairs = entry.input === 'pairs';
    const model = entry.build(config, { vocab: text ? vocab : null, vocabs: pairs ? vocabs : undefined });
    const dir = fresh();
    saveCheckpoint(join(dir, CHECKPOINT_FILE), {
      model: model.stateDict(),
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      rng: new st.Generator(0).getState(),
      progress: {},
      config,
      extra: text
        ? { vocab: vocab.toJSON() }
        : pairs
          ? { vocabs: { source: vocabs.source.toJSON(), target: vocabs.target.toJSON() } }
          : undefined,
    });
    st.manualSeed(2); // a fresh model would get other weights: they must come from the file
    // A run folder or the checkpoint in it.
    for (const path of [dir, join(dir, CHECKPOINT_FILE)]) {
      const loaded = loadModel(path);
      assert.equal(loaded.config.model, name);
      assert.equal(loaded.model.training, false, `${name}: in eval mode`);
      const x = text
        ? st.tensor([[2, 3, 4]], { dtype: 'int32' })
        : st.randn(
            entry.input === 'image'
              ? [2, 1, 28, 28]
              : entry.input === 'strips'
                ? [2, 1, 32, 128]
                : entry.input === 'sequences'
                  ? [2, 3, 9]
                  : [2, 784],
          );
      model.eval();
      const ids = (rows: number[][]) => st.tensor(rows, { dtype: 'int32' });
      const out = (m: typeof model) => {
        const y = pairs
          ? (m as unknown as TranslationModel).forward(
              ids([[1, 4, 5, 2]]),
              ids([[0, 0, 0, 0]]),
              ids([[1, 6]]),
            )
          : entry.input === 'stories'
            ? (m as unknown as MemN2N).forward(
                st.tensor(
                  [
                    [
                      [2, 3],
                      [4, 0],
                      [0, 0],
                    ],
                  ],
                  { dtype: 'int32' },
                ),
                st.tensor([[1, 1, 0]]),
                ids([[5, 6]]),
              )
            : entry.input === 'strips'
              ? (m as unknown as DigitReader).forward(
                  x,
                  ids([
                    [1, 5],
                    [1, 7],
                  ]),
                )
              : m.forward(x);
        return Array.isArray(y) ? (y[0] as Tensor) : (y as Tensor);
      };
      near(out(loaded.model), out(model), 0, `${name} from ${path}`);
      if (text) assert.deepEqual(loaded.vocab?.decode([2, 3]), ['a', 'b']);
      if (pairs) assert.deepEqual(loaded.vocabs?.target.itos, vocabs.target.itos);
    }
  }
});

test('loadModel lists what is wrong with a config it cannot rebuild from, without dumping the vocabulary', () => {
  const dir = tempDirs('models')();
  const path = join(dir, CHECKPOINT_FILE);
  const vocab = Vocab.build(
    Array.from({ length: 3000 }, (_, i) => `word${i}`),
    { minFreq: 1 },
  );
  const model = MODELS.rnnlm!.build(CONFIGS.rnnlm!, { vocab });
  const save = (config: unknown) =>
    saveCheckpoint(path, {
      model: model.stateDict(),
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      rng: new st.Generator(0).getState(),
      progress: {},
      config: config as ModelConfig,
      extra: { vocab: vocab.toJSON() },
    });
  save({ model: 'rnnlm', level: 'word', cell: 'gru', hidden: 0, embed: 'five', layers: 2, tie: true });
  assert.throws(
    () => loadModel(path),
    (e: Error) =>
      /'hidden' is 0, not a positive integer; 'embed' is "five", not a positive integer; 'dropout' is undefined/.test(
        e.message,
      ) && e.message.length < 400,
  );
  save({ model: 'dbn' });
  assert.throws(
    () => loadModel(path, 'viz'),
    /viz: .*'model' is "dbn", not one of the registered models \(mlp, /,
  );
  const weights = join(dir, 'plain.safetensors');
  writeFileSync(weights, '');
  assert.throws(() => loadModel(weights), /plain\.safetensors' is corrupt/);
  assert.ok(loadCheckpoint(path).config);
});
