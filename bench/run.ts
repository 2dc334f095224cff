// `npm run bench`: the workloads of WORKLOADS.md (W1 mlp, W2 lenet, W3 lstm, W4 gemm, W5 overhead, W6 conv, W7 transformer), timed exactly as the
// reference scripts time them, printed as a table or (--json) as one JSON line per result.
import { parseArgs } from 'node:util';
import type { MatmulPrecision } from '../src/backend/backend.js';
import { openblasGemmSeconds, ownGemmSeconds } from '../src/backend/native/index.js';
import { TensorDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import { loadMnist } from '../src/data/mnist.js';
import {
  autocast,
  conv2d,
  Generator,
  getBackend,
  gradients,
  manualSeed,
  nn,
  noGrad,
  optim,
  randint,
  randn,
  type Tensor,
  tensor,
  zeros,
} from '../src/index.js';
import { lenet } from '../src/models/lenet.js';
import { mlp } from '../src/models/mlp.js';
import { evaluate } from '../src/train/metrics.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    only: { type: 'string', default: 'overhead,gemm,conv,mlp,lenet,lstm,transformer' },
    // 'composed' hides the backend's fused attention kernel, to measure what it brings.
    attention: { type: 'string', default: 'fused' },
    runs: { type: 'string', default: '3' },
    'gemm-sizes': { type: 'string', default: '256,1024,4096' },
    precision: { type: 'string', default: 'float32' },
  },
});
const RUNS = Number(values.runs);
const only = String(values.only).split(',');
const backend = getBackend();
// The forward passes of the training workloads (W1, W2, W3, W6) run in this precision, and so their backward.
const precision = values.precision as MatmulPrecision;
const cast = <T>(fn: () => T): T => autocast(precision, fn);
cast(() => {}); // an unknown precision, or one this CPU lacks, fails before any workload
if (values.attention !== 'fused' && values.attention !== 'composed')
  throw new Error(`--attention must be fused or composed, got ${values.attention}`);
if (values.attention === 'composed' && backend.fused) {
  const fused = backend.fused as { attention?: unknown; attentionBackward?: unknown };
  fused.attention = undefined;
  fused.attentionBackward = undefined;
}

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
    precision,
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
    // With the native backend, Strata's own GEMM alone (in float32 and, where the CPU has it, bf16) and
    // OpenBLAS itself (its own threads, same process; where the addon has it) are timed too: Strata's
    // block for block in alternation with the matmul, so that the shared machine's noise falls on all
    // alike; OpenBLAS's after them, since its threads spin for a while after each call and would slow
    // whatever ran next, and each size waits until they sleep.
    const threads =
      backend.name === 'native' ? Number(backend.describe().match(/(\d+) threads/)?.[1] ?? 1) : 0;
    const [pa, pb] = [a.data as Float32Array, b.data as Float32Array];
    const others: { metric: string; seconds: (reps: number) => number; runs: number[] }[] = [];
    if (threads) {
      others.push({ metric: 'own', seconds: (r) => ownGemmSeconds(pa, pb, n, r), runs: [] });
      if (backend.setMatmulPrecision?.('bf16') === '') {
        backend.setMatmulPrecision('float32');
        const bf16 = (r: number) => {
          backend.setMatmulPrecision!('bf16');
          try {
            return ownGemmSeconds(pa, pb, n, r);
          } finally {
            backend.setMatmulPrecision!('float32');
          }
        };
        others.push({ metric: 'own_bf16', seconds: bf16, runs: [] });
      }
      if (openblasGemmSeconds(pa, pb, n, 2, threads) !== null)
        others.push({
          metric: 'openblas',
          seconds: (r) => openblasGemmSeconds(pa, pb, n, r, threads)!,
          runs: [],
        });
    }
    const settle = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    const blas = others.filter((o) => o.metric === 'openblas');
    const pool = others.filter((o) => o.metric !== 'openblas');
    for (const o of pool) o.seconds(2);
    if (blas.length) settle();
    const gflops = (seconds: number) => (2 * n ** 3 * reps) / seconds / 1e9;
    const runs: number[] = [];
    const utils: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t = timed(() => {
        for (let i = 0; i < reps; i++) a.matmul(b);
      });
      runs.push(gflops(t.seconds));
      utils.push(t.util);
      for (const o of pool) o.runs.push(gflops(o.seconds(reps)));
    }
    for (const o of blas) for (let r = 0; r < RUNS; r++) o.runs.push(gflops(o.seconds(reps)));
    if (blas.length) settle();
    report({
      workload: 'gemm',
      metric: `gemm${n}_gflops`,
      unit: 'GFLOP/s',
      runs,
      extra: { size: n, reps_per_run: reps, cpu_util: round(median(utils)) },
    });
    for (const o of others) {
      report({
        workload: 'gemm',
        metric: `gemm${n}_${o.metric}_gflops`,
        unit: 'GFLOP/s',
        runs: o.runs,
        extra: { size: n, reps_per_run: reps, threads },
      });
    }
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

interface MnistWorkload {
  name: 'mlp' | 'lenet';
  batch: number;
  build: () => nn.Module;
  optimizer: (m: nn.Module) => optim.Optimizer<{ lr: number }>;
  /** Rows of 784 for the MLP, [N, 1, 28, 28] planes for the ConvNet. */
  shape: (x: Tensor) => Tensor;
}

const WORKLOADS: Record<'mlp' | 'lenet', MnistWorkload> = {
  mlp: {
    name: 'mlp',
    batch: 128,
    build: () => mlp([784, 512, 256, 10]),
    optimizer: (m) => new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 }),
    shape: (x) => x,
  },
  lenet: {
    name: 'lenet',
    batch: 64,
    build: () => lenet(),
    optimizer: (m) => new optim.Adam(m.parameters(), { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8 }),
    shape: (x) => x.reshape([-1, 1, 28, 28]),
  },
};

/** W1 and W2: steady-state training, (W1) inference, and one epoch from a fresh model, as WORKLOADS.md times them. */
function mnistWorkload(w: MnistWorkload): void {
  const train = loadMnist('train');
  const test = loadMnist('test');
  const { batch, name } = w;
  const step = (model: nn.Module, opt: optim.Optimizer<{ lr: number }>, x: Tensor, y: Tensor): Tensor => {
    opt.zeroGrad();
    const loss = cast(() => nn.crossEntropy(model.forward(x), y));
    loss.backward();
    opt.step();
    return loss;
  };

  // (a) Steady-state training: a pool of 50 real batches, the first samples of a fixed shuffle.
  const perm = new Generator(0).permutation(60000);
  const pool = Array.from({ length: 50 }, (_, i) => {
    const idx = tensor(perm.slice(i * batch, (i + 1) * batch));
    return [w.shape(train.images.indexSelect(0, idx)), train.labels.indexSelect(0, idx)] as const;
  });
  manualSeed(0);
  let model = w.build();
  let opt = w.optimizer(model);
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
    workload: name,
    metric: 'train_samples_per_s',
    unit: 'samples/s',
    runs,
    extra: { batch, warmup_steps: 20, timed_steps: 200, cpu_util: round(median(utils)) },
  });

  if (name === 'mlp') {
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
          for (let i = 0; i < 50; i++) out = cast(() => model.forward(testBatches[i % 10]!));
          out!.sum().item();
        });
        infer.push((50 * 1000) / t.seconds);
        inferUtil.push(t.util);
      }
    });
    report({
      workload: name,
      metric: 'infer_b1000_samples_per_s',
      unit: 'samples/s',
      runs: infer,
      extra: { batch: 1000, warmup_batches: 3, timed_batches: 50, cpu_util: round(median(inferUtil)) },
    });
  }

  // (c) One epoch from a fresh model: a seeded shuffle, every batch gathered per step, then test accuracy.
  const times: number[] = [];
  const accs: number[] = [];
  const evals: number[] = [];
  const testSet = new TensorDataset(w.shape(test.images), test.labels);
  for (let r = 0; r < RUNS; r++) {
    manualSeed(100 + r);
    model = w.build();
    opt = w.optimizer(model);
    const order = new Generator(100 + r).permutation(60000);
    let loss: Tensor | null = null;
    const t = timed(() => {
      for (let i = 0; i < 60000; i += batch) {
        const idx = tensor(order.slice(i, i + batch));
        loss = step(model, opt, w.shape(train.images.indexSelect(0, idx)), train.labels.indexSelect(0, idx));
      }
      loss!.item();
    });
    let acc = 0;
    const te = timed(() => {
      acc = cast(
        () =>
          evaluate(model, new DataLoader(testSet, { batchSize: 1000 }), (o, y) => nn.crossEntropy(o, y))
            .accuracy,
      );
    });
    times.push(t.seconds);
    accs.push(acc);
    evals.push(te.seconds);
    if (!values.json)
      console.log(
        `#   ${name} epoch run ${r}: ${t.seconds.toFixed(2)} s, test accuracy ${acc.toFixed(4)}, eval ${te.seconds.toFixed(2)} s`,
      );
  }
  report({
    workload: name,
    metric: 'epoch_time_s',
    unit: 's',
    runs: times,
    extra: { batch, batches: Math.ceil(60000 / batch) },
  });
  report({
    workload: name,
    metric: 'epoch_test_acc',
    unit: 'fraction',
    runs: accs,
    extra: { test_samples: 10000 },
  });
  report({ workload: name, metric: 'test_eval_time_s', unit: 's', runs: evals, extra: { batch: 1000 } });
}

/** W6: one 3×3 convolution of [16, 32, 32, 32] to 64 channels, forward and backward through autograd. */
function convWorkload(): void {
  manualSeed(0);
  const x = randn([16, 32, 32, 32], { requiresGrad: true });
  const w = randn([64, 32, 3, 3], { std: 0.1, requiresGrad: true });
  const gy = randn([16, 64, 32, 32]);
  const flops = 2 * 16 * 32 * 32 * 64 * 32 * 9;
  const cases: [string, number, () => void][] = [
    [
      'conv_fwd_bwd_ms',
      3,
      () => gradients([cast(() => conv2d(x, w, null, { padding: 1 }))], [x, w], { gradOutputs: [gy] }),
    ],
    ['conv_fwd_ms', 1, () => noGrad(() => cast(() => conv2d(x, w, null, { padding: 1 })))],
  ];
  for (const [metric, mult, fn] of cases) {
    for (let i = 0; i < 3; i++) fn();
    const single = timed(fn).seconds;
    const reps = Math.min(100, Math.max(3, Math.ceil(1 / single)));
    const runs: number[] = [];
    const utils: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t = timed(() => {
        for (let i = 0; i < reps; i++) fn();
      });
      runs.push((t.seconds / reps) * 1e3);
      utils.push(t.util);
    }
    const gflop = (mult * flops) / 1e9;
    report({
      workload: 'conv',
      metric,
      unit: 'ms',
      runs,
      extra: {
        layout: 'NCHW',
        input: [16, 32, 32, 32],
        filters: [64, 32, 3, 3],
        reps_per_run: reps,
        gflop: round(gflop),
        implied_gflops: round(gflop / (median(runs) / 1e3)),
        cpu_util: round(median(utils)),
      },
    });
  }
}

/**
 * W3: a word-level LSTM language model (Embedding 10000×128, LSTM 128→256, Linear 256→10000) over
 * [32, 35] random ids, zero initial state per batch, plain SGD with the global norm clipped to 0.25.
 */
function lstmWorkload(): void {
  const [V, B, T] = [10000, 32, 35];
  manualSeed(0);
  const emb = new nn.Embedding(V, 128);
  const lstm = new nn.LSTM(128, 256, { batchFirst: true });
  const dec = new nn.Linear(256, V);
  const params = [...emb.parameters(), ...lstm.parameters(), ...dec.parameters()];
  for (const p of params) nn.init.uniform_(p, -0.1, 0.1);
  const opt = new optim.SGD(params, { lr: 1.0 });
  timeLanguageModel({
    ...{ workload: 'lstm', vocab: V, batch: B, seq: T, steps: 10 },
    step: (x, y) => {
      opt.zeroGrad();
      const loss = cast(() => {
        const [out] = lstm.forward(emb.forward(x));
        return nn.crossEntropy(dec.forward(out).reshape([-1, V]), y.reshape([-1]));
      });
      loss.backward();
      optim.clipGradNorm(params, 0.25);
      opt.step();
      return loss;
    },
    extra: {},
  });
}

/**
 * Times a language model's training `step` over [batch, seq] random ids (four batches in turn): two
 * warm-up steps, then RUNS runs of `steps` steps each, reported in tokens per second.
 */
function timeLanguageModel(o: {
  workload: string;
  vocab: number;
  batch: number;
  seq: number;
  steps: number;
  step: (x: Tensor, y: Tensor) => Tensor;
  extra: Record<string, unknown>;
}): void {
  const g = new Generator(0);
  const pool = Array.from({ length: 4 }, () => {
    const seq = randint(0, o.vocab, [o.batch, o.seq + 1], { generator: g });
    return [seq.narrow(1, 0, o.seq).contiguous(), seq.narrow(1, 1, o.seq).contiguous()] as const;
  });
  for (let i = 0; i < 2; i++) o.step(...pool[i % 4]!);
  const runs: number[] = [];
  const utils: number[] = [];
  let loss: Tensor | null = null;
  for (let r = 0; r < RUNS; r++) {
    const t = timed(() => {
      for (let i = 0; i < o.steps; i++) loss = o.step(...pool[i % 4]!);
      loss!.item();
    });
    runs.push((o.steps * o.batch * o.seq) / t.seconds);
    utils.push(t.util);
  }
  report({
    workload: o.workload,
    metric: 'train_tokens_per_s',
    unit: 'tokens/s',
    runs,
    extra: {
      ...{ batch: o.batch, seq: o.seq, vocab: o.vocab, ...o.extra },
      ...{ warmup_steps: 2, timed_steps: o.steps, loss: round(loss!.item()), cpu_util: round(median(utils)) },
    },
  });
}

/**
 * W7: a small causal Transformer language model: Embedding 10000×256 plus a learned [64, 256] position
 * table (N(0, 0.02)), two post-norm TransformerEncoderLayer(256, 4, 1024, dropout 0, ReLU, batch-first)
 * under a causal float mask, Linear 256→10000, over [32, 64] random ids; AdamW (lr 1e-3, decay 0.01).
 */
function transformerWorkload(): void {
  const [V, B, T, D] = [10000, 32, 64, 256];
  manualSeed(0);
  const emb = new nn.Embedding(V, D);
  const pos = new nn.Parameter(nn.init.normal_(zeros([T, D]), 0, 0.02));
  const layer = () =>
    new nn.TransformerEncoderLayer(D, 4, {
      dimFeedforward: 1024,
      dropout: 0,
      activation: 'relu',
      batchFirst: true,
    });
  const enc = new nn.TransformerEncoder(layer, 2);
  const dec = new nn.Linear(D, V);
  const mask = nn.Transformer.generateSquareSubsequentMask(T);
  const params = [...emb.parameters(), pos, ...enc.parameters(), ...dec.parameters()];
  const opt = new optim.AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
  timeLanguageModel({
    ...{ workload: 'transformer', vocab: V, batch: B, seq: T, steps: 5 },
    step: (x, y) => {
      opt.zeroGrad();
      const loss = cast(() => {
        const h = enc.forward(emb.forward(x).add(pos), { mask });
        return nn.crossEntropy(dec.forward(h).reshape([-1, V]), y.reshape([-1]));
      });
      loss.backward();
      opt.step();
      return loss;
    },
    extra: { d_model: D, heads: 4, ffn: 1024, layers: 2, attention: values.attention },
  });
}

if (!values.json) console.log(`# strata on ${backend.name} in ${precision}: ${backend.describe()}`);
if (only.includes('overhead')) overhead();
if (only.includes('gemm')) gemm(String(values['gemm-sizes']).split(',').map(Number));
if (only.includes('conv')) convWorkload();
if (only.includes('mlp')) mnistWorkload(WORKLOADS.mlp);
if (only.includes('lenet')) mnistWorkload(WORKLOADS.lenet);
if (only.includes('lstm')) lstmWorkload();
if (only.includes('transformer')) transformerWorkload();
