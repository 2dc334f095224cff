/**
 * A small training run on the browser entry alone: test/browser.test.ts bundles it for the browser,
 * runs it in headless Chromium and in Node, and compares the two. It fits y = sin(3x) on [-1, 1] with a
 * 1-16-1 tanh network, minibatches from a shuffling DataLoader and Adam, so tensors, autograd, nn, optim
 * and data all take part.
 */
import { data, getBackend, linspace, manualSeed, nn, noGrad, optim } from '../src/browser.js';

export interface BrowserTrainingResult {
  backend: string;
  /** The mean loss of each epoch. */
  losses: number[];
  /** The network's outputs at five points after training. */
  outputs: number[];
}

export function trainSmallNetwork(epochs = 60): BrowserTrainingResult {
  manualSeed(0);
  const x = linspace(-1, 1, 64).reshape([64, 1]);
  const y = x.mul(3).sin();
  const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16, shuffle: true });
  const model = new nn.Sequential(new nn.Linear(1, 16), new nn.Tanh(), new nn.Linear(16, 1));
  const opt = new optim.Adam(model.parameters(), { lr: 0.02 });
  const losses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    let sum = 0;
    let batches = 0;
    for (const [xb, yb] of loader) {
      opt.zeroGrad();
      const loss = nn.mseLoss(model.forward(xb!), yb!);
      loss.backward();
      opt.step();
      sum += loss.item();
      batches++;
    }
    losses.push(sum / batches);
  }
  const probe = linspace(-1, 1, 5).reshape([5, 1]);
  const outputs = Array.from(noGrad(() => model.forward(probe)).toTypedArray());
  return { backend: getBackend().name, losses, outputs };
}
