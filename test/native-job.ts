/**
 * A fixed workload on the native backend for test/native-workers.test.ts: kernels (GEMM, convolution,
 * reductions, a recurrent cell) and a few training steps, from one seed. Run as a worker_thread it
 * waits for 'go', runs `rounds` times and posts each round's results; imported, runJob runs it in place.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { full, lstmCell, manualSeed, nn, ones, optim, randn, setBackend, type Tensor } from '../src/index.js';

/** Every result of one run, flattened, in a fixed order. */
export type JobResult = Record<string, number[]>;

const values = (t: Tensor) => Array.from(t.toTypedArray());

/** Runs the workload once on the native backend, from `seed`. */
export function runJob(seed: number): JobResult {
  setBackend('native');
  manualSeed(seed);
  const out: JobResult = {};
  out.ones = values(ones([64, 64]).matmul(full([64, 64], 2)));
  const a = randn([128, 128]);
  const b = randn([128, 128]);
  out.matmul = values(a.matmul(b));
  out.sum = values(a.sum([0]));
  const conv = new nn.Conv2d(3, 8, 3, { padding: 1 });
  const x = randn([4, 3, 12, 12]).requiresGrad_();
  conv.forward(x).square().sum().backward();
  out.convInput = values(x.grad!);
  out.convWeight = values(conv.weight.grad!);
  const [h, c] = lstmCell(randn([8, 64]), randn([8, 64]), randn([8, 16]));
  out.lstm = [...values(h), ...values(c)];
  const model = new nn.Sequential(new nn.Linear(16, 32), new nn.ReLU(), new nn.Linear(32, 4));
  const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
  const inputs = randn([64, 16]);
  const targets = randn([64, 4]);
  out.losses = [];
  for (let step = 0; step < 5; step++) {
    opt.zeroGrad();
    const loss = nn.mseLoss(model.forward(inputs), targets);
    loss.backward();
    opt.step();
    out.losses.push(loss.item());
  }
  out.params = model.parameters().flatMap(values);
  return out;
}

/** Whether a raw kernel call in this environment, before its own init, is refused. */
function refusedBeforeInit(): boolean {
  const addon = createRequire(import.meta.url)('../build/Release/strata_native.node');
  try {
    addon.copy(new Float32Array(4), new Float32Array(4));
    return false;
  } catch {
    return true;
  }
}

if (parentPort) {
  const port = parentPort;
  const { seed, rounds } = workerData as { seed: number; rounds: number };
  const refused = refusedBeforeInit();
  setBackend('native');
  port.once('message', () => {
    const results: JobResult[] = [];
    for (let r = 0; r < rounds; r++) results.push(runJob(seed));
    port.postMessage({ refused, results });
  });
  port.postMessage('ready');
}
