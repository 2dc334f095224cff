// `npm run bench`: the workloads of WORKLOADS.md (W1 mlp, W4 gemm, W5 overhead), timed exactly as the
// reference scripts time them, printed as a table or (--json) as one JSON line per result.
import { parseArgs } from 'node:util';
import { openblasGemmSeconds } from '../src/backend/native/index.js';
import { TensorDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { loadMnist } from '../src/data/mnist.js';
import {
  Generator,
  getBackend,
  manualSeed,
  nn,
  noGrad,
  optim,
  randn,
  type Tensor,
  tensor,
} from '../src/index.js';
import { mlp } from '../src/models/mlp.js';
import { evaluate } from '../src/train/metrics.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    only: { type: 'string', default: 'overhead,gemm,mlp' },
    runs: { type: 'string', default: '3' },
    'gemm-sizes': { type: 'string', default: '256,1024,4096' },
  },
});
const RUNS = Number(values.runs);
const only = String(values.only).split(',');
const backend = getBackend();

interface Result {
  workload: string;
  metric: string;
  unit: string;
  runs: number[];
  extra?: Record<string, unknown>;
}

const results: Result[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function report(r: Result): void {
  results.push(r);
  const line = {
    fw: 'strata',
    backend: backend.name,
    workload: r.workload,
    metric: r.metric,
    unit: r.unit,
    median: median(r.runs),
    min: Math.min(...r.runs),
    max: Math.max(...r.runs),
    n: r.runs.length,
    runs: r.runs,
    ...r.extra,
  };
  if (values.json) console.log(JSON.stringify(line));
  else
    console.log(
      `${r.workload.padEnd(9)} ${r.metric.padEnd(28)} ${fmt(line.median).padStart(10)} ${r.unit.padEnd(10)} (min ${fmt(line.min)}, max ${fmt(line.max)}, n=${line.n})${
        r.extra?.cpu_util !== undefined ? ` cpu_util=${r.extra.cpu_util}` : ''
      }`,
    );
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** Wall seconds and CPU/wall (busy threads) of a block. */
function timed(fn: () => void): { seconds: number; util: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { seconds, util: (c.user + c.system) / 1e6 / seconds };
}

function overhead(): void {
  const a = randn([16]);
  const b = randn([16]);
  noGrad(() => {
    for (let i = 0; i < 1000; i++) a.add(b);
    const runs: number[] = [];
    for (let r = 0; r < Math.max(RUNS, 5); r++) {
      const t = timed(() => {
        for (let i = 0; i < 10000; i++) a.add(b);
      });
      runs.push((t.seconds / 10000) * 1e6);
    }
    report({
      workload: 'overhead',
      metric: 'add16_us_per_op',
      unit: 'us',
      runs,
      extra: { iters: 10000, warmup: 1000 },
    });
  });
}

function gemm(sizes: number[]): void {
  for (const n of sizes) {
    manualSeed(0);
    const a = randn([n, n]);
    const b = randn([n, n]);
    for (let i = 0; i < 2; i++) a.matmul(b);
    const single = timed(() => a.matmul(b)).seconds;
    const reps = Math.min(200, Math.max(3, Math.ceil(1 / Math.max(single, 1e-6))));
    // With the native backend, OpenBLAS itself (its own threads, same process) is timed too, block for
    // block in alternation with Strata, so that the shared machine's noise falls on both alike.
    const threads =
      backend.name === 'native' ? Number(backend.describe().match(/(\d+) threads/)?.[1] ?? 1) : 0;
    const [pa, pb] = [a.data as Float32Array, b.data as Float32Array];
    if (threads) openblasGemmSeconds(pa, pb, n, 2, threads);
    const runs: number[] = [];
    const blas: number[] = [];
    const utils: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t = timed(() => {
        for (let i = 0; i < reps; i++) a.matmul(b);
      });
      runs.push((2 * n ** 3 * reps) / t.seconds / 1e9);
      utils.push(t.util);
      if (threads) blas.push((2 * n ** 3 * reps) / openblasGemmSeconds(pa, pb, n, reps, threads) / 1e9);
    }
    report({
      workload: 'gemm',
      metric: `gemm${n}_gflops`,
      unit: 'GFLOP/s',
      runs,
      extra: { size: n, reps_per_run: reps, cpu_util: round(median(utils)) },
    });
    if (threads) {
      report({
        workload: 'gemm',
        metric: `gemm${n}_openblas_gflops`,
        unit: 'GFLOP/s',
        runs: blas,
        extra: { size: n, reps_per_run: reps, threads },
      });
    }
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function mlpWorkload(): void {
  const train = loadMnist('train');
  const test = loadMnist('test');
  const batch = 128;
  const makeModel = () => mlp([784, 512, 256, 10]);
  const makeOpt = (m: nn.Module) => new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
  const step = (model: nn.Module, opt: optim.SGD, x: Tensor, y: Tensor): Tensor => {
    opt.zeroGrad();
    const loss = nn.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };

  // (a) Steady-state training: a pool of 50 real batches, the first 6400 samples of a fixed shuffle.
  const perm = new Generator(0).permutation(60000);
  const pool = Array.from({ length: 50 }, (_, i) => {
    const idx = tensor(perm.slice(i * batch, (i + 1) * batch));
    return [train.images.indexSelect(0, idx), train.labels.indexSelect(0, idx)] as const;
  });
  manualSeed(0);
  let model = makeModel();
  let opt = makeOpt(model);
  for (let i = 0; i < 20; i++) step(model, opt, ...pool[i % 50]!);
  const runs: number[] = [];
  const utils: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let loss: Tensor | null = null;
    const t = timed(() => {
      for (let i = 0; i < 200; i++) loss = step(model, opt, ...pool[i % 50]!);
      loss!.item();
    });
    runs.push((200 * batch) / t.seconds);
    utils.push(t.util);
  }
  report({
    workload: 'mlp',
    metric: 'train_samples_per_s',
    unit: 'samples/s',
    runs,
    extra: { batch, warmup_steps: 20, timed_steps: 200, cpu_util: round(median(utils)) },
  });

  // (b) Inference at batch 1000, eval mode without recording.
  model.eval();
  const testBatches = Array.from({ length: 10 }, (_, i) =>
    test.images.narrow(0, i * 1000, 1000).contiguous(),
  );
  const infer: number[] = [];
  const inferUtil: number[] = [];
  noGrad(() => {
    for (let i = 0; i < 3; i++) model.forward(testBatches[i]!);
    for (let r = 0; r < RUNS; r++) {
      let out: Tensor | null = null;
      const t = timed(() => {
        for (let i = 0; i < 50; i++) out = model.forward(testBatches[i % 10]!);
        out!.sum().item();
      });
      infer.push((50 * 1000) / t.seconds);
      inferUtil.push(t.util);
    }
  });
  report({
    workload: 'mlp',
    metric: 'infer_b1000_samples_per_s',
    unit: 'samples/s',
    runs: infer,
    extra: { batch: 1000, warmup_batches: 3, timed_batches: 50, cpu_util: round(median(inferUtil)) },
  });

  // (c) One epoch from a fresh model: a seeded shuffle, 469 batches gathered per step, then test accuracy.
  const times: number[] = [];
  const accs: number[] = [];
  const evals: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    manualSeed(100 + r);
    model = makeModel();
    opt = makeOpt(model);
    const order = new Generator(100 + r).permutation(60000);
    let loss: Tensor | null = null;
    const t = timed(() => {
      for (let i = 0; i < 60000; i += batch) {
        const idx = tensor(order.slice(i, i + batch));
        loss = step(model, opt, train.images.indexSelect(0, idx), train.labels.indexSelect(0, idx));
      }
      loss!.item();
    });
    let acc = 0;
    const te = timed(() => {
      const batches = new DataLoader(new TensorDataset(test.images, test.labels), { batchSize: 1000 });
      acc = evaluate(model, batches, (o, y) => nn.crossEntropy(o, y)).accuracy;
    });
    times.push(t.seconds);
    accs.push(acc);
    evals.push(te.seconds);
    if (!values.json)
      console.log(
        `#   epoch run ${r}: ${t.seconds.toFixed(2)} s, test accuracy ${acc.toFixed(4)}, eval ${te.seconds.toFixed(2)} s`,
      );
  }
  report({ workload: 'mlp', metric: 'epoch_time_s', unit: 's', runs: times, extra: { batch, batches: 469 } });
  report({
    workload: 'mlp',
    metric: 'epoch_test_acc',
    unit: 'fraction',
    runs: accs,
    extra: { test_samples: 10000 },
  });
  report({ workload: 'mlp', metric: 'test_eval_time_s', unit: 's', runs: evals, extra: { batch: 1000 } });
}

if (!values.json) console.log(`# strata on ${backend.name}: ${backend.describe()}`);
if (only.includes('overhead')) overhead();
if (only.includes('gemm')) gemm(String(values['gemm-sizes']).split(',').map(Number));
if (only.includes('mlp')) mlpWorkload();
