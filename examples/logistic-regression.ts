/**
 * Logistic regression, the first classifier of the lectures (seeds/001): regress the log-odds on a
 * linear function of the input,
 *
 *     log p(y=1|x) / (1 - p(y=1|x)) = wᵀx + b   ⇔   p(y=1|x) = σ(wᵀx + b),
 *
 * and find w and b by minimising the binary cross-entropy with plain gradient descent,
 * w ← w - α ∇_w L, b ← b - α ∂L/∂b. The decision boundary wᵀx + b = 0 is a line, so the data here are
 * made linearly separable: points in [-3, 3]² labelled by a known line, with a margin around it.
 *
 *     npx tsx examples/logistic-regression.ts
 */
import { pathToFileURL } from 'node:url';
import * as st from 'strata-ml';

const { nn, optim } = st;

/** The line that labels the data: y = 1 where 2·x1 - x2 + 0.5 > 0. */
export const TRUE_WEIGHTS = [2, -1] as const;
export const TRUE_BIAS = 0.5;

/**
 * n points uniform on [-3, 3]², labelled by the true line, keeping only those at least `margin` away
 * from it (so that a line separates the two classes exactly).
 */
export function makeSeparableData(n: number, seed: number, margin = 0.25): { x: st.Tensor; y: st.Tensor } {
  const g = new st.Generator(seed);
  const norm = Math.hypot(TRUE_WEIGHTS[0], TRUE_WEIGHTS[1]);
  const xs: number[] = [];
  const ys: number[] = [];
  while (ys.length < n) {
    const x1 = -3 + 6 * g.uniform();
    const x2 = -3 + 6 * g.uniform();
    const s = TRUE_WEIGHTS[0] * x1 + TRUE_WEIGHTS[1] * x2 + TRUE_BIAS;
    if (Math.abs(s) / norm < margin) continue;
    xs.push(x1, x2);
    ys.push(s > 0 ? 1 : 0);
  }
  return { x: st.tensor(Float32Array.from(xs), { shape: [n, 2] }), y: st.tensor(ys) };
}

export interface LogisticRegressionResult {
  /** Fraction of the training points classified correctly (p > 0.5 ⇔ wᵀx + b > 0). */
  accuracy: number;
  weights: number[];
  bias: number;
  /** Cosine between the learned and the true normal vector of the boundary (1 = same direction). */
  directionCosine: number;
  losses: number[];
}

export function trainLogisticRegression({
  n = 200,
  epochs = 200,
  lr = 0.5,
  seed = 0,
}: {
  n?: number;
  epochs?: number;
  lr?: number;
  seed?: number;
} = {}): LogisticRegressionResult {
  const { x, y } = makeSeparableData(n, seed);
  st.manualSeed(seed);
  const model = new nn.Linear(2, 1); // z = wᵀx + b
  // Plain (full-batch) gradient descent: SGD without momentum on the whole data set each step.
  const opt = new optim.SGD(model.parameters(), { lr });
  const losses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    opt.zeroGrad();
    const z = model.forward(x).reshape([-1]);
    // The binary cross-entropy of p = σ(z), computed from z directly: the same loss as
    // bceLoss(z.sigmoid(), y), without the rounding of σ(z) to exactly 0 or 1 once |z| is large.
    const loss = nn.bceWithLogits(z, y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  const z = st.noGrad(() => model.forward(x).reshape([-1]));
  const predicted = z.gt(0);
  const accuracy = predicted.eq(y).cast('float32').mean().item();
  const weights = Array.from(model.weight.toTypedArray());
  const bias = model.bias!.item();
  const directionCosine =
    (weights[0]! * TRUE_WEIGHTS[0] + weights[1]! * TRUE_WEIGHTS[1]) /
    (Math.hypot(weights[0]!, weights[1]!) * Math.hypot(TRUE_WEIGHTS[0], TRUE_WEIGHTS[1]));
  return { accuracy, weights, bias, directionCosine, losses };
}

function main(): void {
  const t0 = performance.now();
  const r = trainLogisticRegression();
  const fmt = (v: number) => v.toFixed(3);
  const line = (w: readonly number[], b: number) =>
    `${fmt(w[0]!)}·x1 ${w[1]! < 0 ? '-' : '+'} ${fmt(Math.abs(w[1]!))}·x2 ${b < 0 ? '-' : '+'} ${fmt(Math.abs(b))} = 0`;
  console.log('logistic regression on 200 linearly separable points in [-3, 3]²');
  console.log(
    `loss: ${fmt(r.losses[0]!)} → ${fmt(r.losses[r.losses.length - 1]!)} after ${r.losses.length} steps`,
  );
  console.log(`accuracy: ${(100 * r.accuracy).toFixed(1)}%`);
  console.log(`learned boundary: ${line(r.weights, r.bias)}`);
  console.log(`true boundary:    ${line(TRUE_WEIGHTS, TRUE_BIAS)}`);
  console.log(`cosine between the normals: ${r.directionCosine.toFixed(4)}`);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(2)} s)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
