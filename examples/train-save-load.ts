/**
 * A user's first program, written against the package's public exports only: train a small MLP on a
 * slice of MNIST with `fit` (a schedule, early stopping on a validation set, checkpoints), save the
 * weights, rebuild the model from its checkpoint with `loadModel`, and evaluate both on the test set.
 *
 *     npx tsx examples/train-save-load.ts [out-dir]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as st from 'strata-ml';

const { data, nn, optim } = st;

export interface RunSummary {
  /** Test accuracy of the trained model, and of the model rebuilt from its checkpoint (the same). */
  trained: number;
  reloaded: number;
  /** Test accuracy of the weights saved as plain safetensors and loaded into a fresh model. */
  fromWeights: number;
  epochs: number;
}

/** Trains, saves, loads and evaluates; every file goes into `out`. */
export async function trainSaveLoad(out: string, { epochs = 3, limit = 2000 } = {}): Promise<RunSummary> {
  st.manualSeed(0);
  const generator = new st.Generator(1);
  const train = data.loadMnist('train', { limit });
  const test = data.loadMnist('test', { limit: 1000 });
  const cut = Math.floor(limit * 0.9);
  const [x, y] = [train.images, train.labels];
  const loader = new data.DataLoader(new data.TensorDataset(x.narrow(0, 0, cut), y.narrow(0, 0, cut)), {
    batchSize: 64,
    shuffle: true,
    generator,
  });
  const validation = [[x.narrow(0, cut, limit - cut), y.narrow(0, cut, limit - cut)]];

  // The registry's MLP (784-512-256-10), so that loadModel can rebuild it from the run's config.
  const config = { model: 'mlp', dropout: 0.1 };
  const model = st.MODELS.mlp!.build(config, { vocab: null, generator }) as st.nn.Module;
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const { history } = await st.fit(model, opt, {
    epochs,
    loss: nn.crossEntropy,
    train: loader,
    validation,
    generator,
    scheduler: new optim.CosineAnnealingLR(opt, { tMax: epochs }),
    earlyStopping: { monitor: 'valLoss', patience: 2, restoreBest: true },
    out,
    config,
  });

  const testSet = [[test.images, test.labels]];
  const trained = st.evaluate(model, testSet, nn.crossEntropy).accuracy;
  // The checkpoint knows which model it holds: rebuilt and loaded with the best weights.
  const reloaded = st.evaluate(st.loadModel(out).model as st.nn.Module, testSet, nn.crossEntropy).accuracy;
  // Plain weights, with PyTorch's names, for exchange.
  const file = join(out, 'mlp.safetensors');
  st.saveWeights(file, model.stateDict());
  const fresh = st.mlp([784, 512, 256, 10], { dropout: 0.1 });
  fresh.loadStateDict(st.loadWeights(file));
  const fromWeights = st.evaluate(fresh, testSet, nn.crossEntropy).accuracy;
  return { trained, reloaded, fromWeights, epochs: history.length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'strata-example-'));
  const r = await trainSaveLoad(out);
  console.log(`trained ${r.epochs} epochs into ${out}: test accuracy ${(100 * r.trained).toFixed(2)}%`);
  console.log(
    `rebuilt from the checkpoint: ${(100 * r.reloaded).toFixed(2)}%; from the weights: ${(100 * r.fromWeights).toFixed(2)}%`,
  );
}
