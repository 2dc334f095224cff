/**
 * Neural networks as function approximators (seeds/001: "with enough units & layers, [a network] can
 * approximate any function", Hornik 1991): a 1-32-32-1 tanh MLP trained with Adam to fit
 *
 *     f(x) = sin(2x)·exp(-x²/4)   on [-3, 3],
 *
 * from samples on a grid, then measured on a held-out grid of points between the training ones.
 *
 *     npx tsx examples/function-approximation.ts
 */
import { pathToFileURL } from 'node:url';
import * as st from 'strata-ml';

const { nn, optim } = st;

/** The function to learn. */
export function target(x: number): number {
  return Math.sin(2 * x) * Math.exp((-x * x) / 4);
}

/** n points evenly spaced on [lo, hi] as a column [n, 1], with f at them. */
function grid(lo: number, hi: number, n: number): { x: st.Tensor; y: st.Tensor } {
  const xs = Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
  return {
    x: st.tensor(Float32Array.from(xs), { shape: [n, 1] }),
    y: st.tensor(Float32Array.from(xs, target), { shape: [n, 1] }),
  };
}

export interface FitResult {
  trainMse: number;
  /** MSE on the held-out grid: the midpoints between training points. */
  testMse: number;
  /** Largest |network(x) - f(x)| on the held-out grid. */
  maxError: number;
  steps: number;
}

export function fitFunction({
  hidden = 32,
  nTrain = 61,
  steps = 600,
  lr = 0.01,
  seed = 0,
}: {
  hidden?: number;
  nTrain?: number;
  steps?: number;
  lr?: number;
  seed?: number;
} = {}): FitResult {
  st.manualSeed(seed);
  const net = new nn.Sequential(
    new nn.Linear(1, hidden),
    new nn.Tanh(),
    new nn.Linear(hidden, hidden),
    new nn.Tanh(),
    new nn.Linear(hidden, 1),
  );
  const train = grid(-3, 3, nTrain);
  const h = 6 / (nTrain - 1);
  const test = grid(-3 + h / 2, 3 - h / 2, nTrain - 1); // never seen in training
  const opt = new optim.Adam(net.parameters(), { lr });
  let trainMse = Number.NaN;
  for (let i = 0; i < steps; i++) {
    // The last quarter at a tenth of the rate, to settle into the minimum Adam has found.
    if (i === Math.floor(0.75 * steps)) for (const g of opt.paramGroups) g.lr = lr / 10;
    opt.zeroGrad();
    const loss = nn.mseLoss(net.forward(train.x), train.y);
    loss.backward();
    opt.step();
    trainMse = loss.item();
  }
  const pred = st.noGrad(() => net.forward(test.x));
  const testMse = nn.mseLoss(pred, test.y).item();
  const maxError = pred.sub(test.y).abs().max().item();
  return { trainMse, testMse, maxError, steps };
}

function main(): void {
  const t0 = performance.now();
  const r = fitFunction();
  console.log('1-32-32-1 tanh MLP, Adam, fitting sin(2x)·exp(-x²/4) on [-3, 3]');
  console.log(`after ${r.steps} steps: train MSE ${r.trainMse.toExponential(2)}`);
  console.log(`held-out MSE ${r.testMse.toExponential(2)}, max |error| ${r.maxError.toFixed(4)}`);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(2)} s)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
