/**
 * The lectures' first examples (examples/), run as small trainings that must converge in seconds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitFunction, target } from '../examples/function-approximation.js';
import { makeSeparableData, trainLogisticRegression } from '../examples/logistic-regression.js';
import {
  gradientNormsPerStep,
  MemoryNet,
  memoryBatch,
  trainMemoryTask,
} from '../examples/long-dependency.js';
import { trainSaveLoad } from '../examples/train-save-load.js';
import { bestLinearAccuracyOnXor, trainLinearOnXor, trainXorNetwork, XOR_TARGETS } from '../examples/xor.js';
import * as st from '../src/index.js';
import { tempDirs } from './tmpdirs.js';

test('logistic regression separates linearly separable data (≥ 95%) along the true boundary', () => {
  const { x, y } = makeSeparableData(200, 0);
  assert.deepEqual(x.shape, [200, 2]);
  const labels = Array.from(y.toTypedArray());
  // Both classes are well represented.
  const ones = labels.filter((v) => v === 1).length;
  assert.ok(ones > 40 && ones < 160, `${ones} positives of 200`);
  const r = trainLogisticRegression();
  assert.ok(r.accuracy >= 0.95, `accuracy ${r.accuracy}`);
  assert.ok(r.losses[r.losses.length - 1]! < r.losses[0]! / 5, `loss ${r.losses[0]} → ${r.losses.at(-1)}`);
  // The learned normal points the same way as the true one, (2, -1).
  assert.ok(r.directionCosine > 0.99, `cosine ${r.directionCosine}`);
  // The same seed gives the same run.
  assert.deepEqual(
    trainLogisticRegression({ epochs: 20 }).weights,
    trainLogisticRegression({ epochs: 20 }).weights,
  );
});

test('a 2-4-1 network learns XOR: 4/4 on the right side of 0.5', () => {
  for (const seed of [0, 1, 2]) {
    const r = trainXorNetwork({ seed });
    assert.equal(r.correct, 4, `seed ${seed}: outputs [${r.outputs}]`);
    r.outputs.forEach((p, i) => {
      assert.ok(XOR_TARGETS[i] === 1 ? p > 0.9 : p < 0.1, `seed ${seed}: p[${i}] = ${p}`);
    });
  }
});

test('a single linear unit cannot learn XOR (≤ 75%), and no line does better than 75%', () => {
  for (const seed of [0, 1, 2]) {
    const r = trainLinearOnXor({ seed });
    assert.ok(r.accuracy <= 0.75, `seed ${seed}: accuracy ${r.accuracy}`);
    // Cross-entropy's optimum for a line on XOR is p = 1/2 everywhere: loss ln 2.
    assert.ok(Math.abs(r.finalLoss - Math.LN2) < 1e-3, `seed ${seed}: loss ${r.finalLoss}`);
  }
  assert.equal(bestLinearAccuracyOnXor(), 0.75);
});

test('a 1-32-32-1 tanh MLP fits sin(2x)·exp(-x²/4) on held-out points (MSE < 1e-3)', () => {
  // The target itself: f(0) = 0, f(π/4) = sin(π/2)·exp(-π²/64) = exp(-π²/64).
  assert.equal(target(0), 0);
  assert.ok(Math.abs(target(Math.PI / 4) - Math.exp(-(Math.PI ** 2) / 64)) < 1e-15);
  const r = fitFunction();
  assert.ok(r.testMse < 1e-3, `held-out MSE ${r.testMse}`);
  assert.ok(r.trainMse < 1e-3, `train MSE ${r.trainMse}`);
  assert.ok(r.maxError < 0.1, `max error ${r.maxError}`);
});

test('long dependencies: the first symbol is the target; a tanh RNN passes far less gradient back than an LSTM; an LSTM learns T = 10', () => {
  const b = memoryBatch(30, 16, new st.Generator(1));
  const x = b.x.toTypedArray();
  const y = b.y.toTypedArray();
  for (let i = 0; i < 16; i++) assert.equal(x[i * 16 + y[i]!], 1, `sequence ${i} starts with its target`);
  const norms = (kind: 'rnn' | 'lstm') => {
    st.manualSeed(0);
    return gradientNormsPerStep(new MemoryNet(kind, 30), b.x, b.y);
  };
  const [rnn, lstm] = [norms('rnn'), norms('lstm')];
  assert.equal(rnn.length, 30);
  // 29 steps back, the RNN's gradient has shrunk by several orders of magnitude more than the LSTM's.
  assert.ok(rnn[0]! / rnn[29]! < 1e-3 * (lstm[0]! / lstm[29]!), `rnn ${rnn[0]} vs lstm ${lstm[0]}`);
  assert.ok(trainMemoryTask('lstm', 10, 200).accuracy > 0.95);
});

test('the user program trains, saves, reloads and evaluates through the public exports only', async () => {
  const r = await trainSaveLoad(tempDirs('example')(), { epochs: 2, limit: 1000 });
  assert.equal(r.epochs, 2);
  assert.ok(r.trained > 0.7, `test accuracy ${r.trained}`);
  assert.equal(r.reloaded, r.trained, 'the model rebuilt from its checkpoint scores the same');
  assert.equal(r.fromWeights, r.trained, 'and so do its saved weights in a fresh model');
});
