/**
 * XOR, the lectures' example of a function that needs depth (seeds/001, seeds/004): AND and OR are
 * linearly separable, XOR is not, but a network with one hidden layer composes it from linear
 * boundaries (XOR = OR and not AND).
 *
 * Why a single linear unit cannot do better than 3 of 4: it predicts 1 where w1·x1 + w2·x2 + b > 0.
 * Getting all four points right would need
 *     (0,0) → 0:  b ≤ 0          (1,0) → 1:  w1 + b > 0
 *     (1,1) → 0:  w1 + w2 + b ≤ 0    (0,1) → 1:  w2 + b > 0
 * Adding the two right-hand inequalities gives w1 + w2 + 2b > 0, so w1 + w2 + b > -b ≥ 0, which
 * contradicts the (1,1) line. No line separates {(0,1), (1,0)} from {(0,0), (1,1)}; the best any
 * line can do is 3 of 4 (75%), and logistic regression trained with cross-entropy does not even get
 * that: by symmetry its optimum is w = 0, b = 0, p = 1/2 everywhere.
 *
 *     npx tsx examples/xor.ts
 */
import { pathToFileURL } from 'node:url';
import * as st from 'strata-ml';

const { nn, optim } = st;

export const XOR_INPUTS = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];
export const XOR_TARGETS = [0, 1, 1, 0];

export interface XorResult {
  /** p(y = 1 | x) for the four inputs, in the order of XOR_INPUTS. */
  outputs: number[];
  /** How many of the four are on the right side of 0.5. */
  correct: number;
  accuracy: number;
  finalLoss: number;
}

/** Trains `model` (inputs [4, 2] → logits [4, 1]) with BCE and full-batch SGD on the four XOR points. */
function train(model: st.nn.Module, steps: number, lr: number, momentum: number): XorResult {
  const x = st.tensor(XOR_INPUTS);
  const y = st.tensor(XOR_TARGETS);
  const opt = new optim.SGD(model.parameters(), { lr, momentum });
  let finalLoss = Number.NaN;
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    // BCE of σ(logit), computed stably from the logit.
    const loss = nn.bceWithLogits(model.forward(x).reshape([-1]), y);
    loss.backward();
    opt.step();
    finalLoss = loss.item();
  }
  const outputs = Array.from(st.noGrad(() => model.forward(x).reshape([-1]).sigmoid()).toTypedArray());
  const correct = outputs.filter((p, i) => (p > 0.5 ? 1 : 0) === XOR_TARGETS[i]).length;
  return { outputs, correct, accuracy: correct / 4, finalLoss };
}

/** A 2-4-1 network, tanh hidden units and a sigmoid output, trained with BCE and SGD. */
export function trainXorNetwork({
  hidden = 4,
  steps = 300,
  lr = 0.5,
  momentum = 0.9,
  seed = 0,
} = {}): XorResult {
  st.manualSeed(seed);
  const net = new nn.Sequential(new nn.Linear(2, hidden), new nn.Tanh(), new nn.Linear(hidden, 1));
  return train(net, steps, lr, momentum);
}

/** A single linear unit (logistic regression) trained the same way: it cannot fit XOR. */
export function trainLinearOnXor({ steps = 300, lr = 0.5, momentum = 0.9, seed = 0 } = {}): XorResult {
  st.manualSeed(seed);
  return train(new nn.Linear(2, 1), steps, lr, momentum);
}

/**
 * The best accuracy of any line on XOR, searched over a grid of (w1, w2, b) in [-2, 2]³: 0.75, as the
 * argument at the top of this file shows.
 */
export function bestLinearAccuracyOnXor(steps = 16): number {
  let best = 0;
  const values = Array.from({ length: steps + 1 }, (_, i) => -2 + (4 * i) / steps);
  for (const w1 of values) {
    for (const w2 of values) {
      for (const b of values) {
        const correct = XOR_INPUTS.filter(
          ([x1, x2], i) => (w1 * x1! + w2 * x2! + b > 0 ? 1 : 0) === XOR_TARGETS[i],
        ).length;
        best = Math.max(best, correct / 4);
      }
    }
  }
  return best;
}

function main(): void {
  const t0 = performance.now();
  const show = (r: XorResult) =>
    XOR_INPUTS.map(
      ([a, b], i) => `  ${a} xor ${b} = ${XOR_TARGETS[i]}   p = ${r.outputs[i]!.toFixed(3)}`,
    ).join('\n');
  const net = trainXorNetwork();
  console.log(`2-4-1 tanh network: ${net.correct}/4 correct, loss ${net.finalLoss.toFixed(4)}`);
  console.log(show(net));
  const lin = trainLinearOnXor();
  console.log(
    `single linear unit: ${lin.correct}/4 correct, loss ${lin.finalLoss.toFixed(4)} (ln 2 = 0.6931)`,
  );
  console.log(show(lin));
  console.log(`best accuracy of any line on a grid of (w1, w2, b): ${100 * bestLinearAccuracyOnXor()}%`);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(2)} s)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
