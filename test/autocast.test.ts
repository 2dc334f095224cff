/**
 * autocast's semantics, on a backend that records the precision each product ran in: the region sets
 * and restores the backend's precision, backward rules run in the precision their forward ran in, and
 * every misuse is refused by name. The bf16 numbers themselves are checked in bf16.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import type { MatmulPrecision, View } from '../src/backend/backend.js';
import { jsBackend } from '../src/backend/js/index.js';
import { TensorDataset } from '../src/data/dataset.js';
import { DataLoader } from '../src/data/loader.js';
import {
  autocast,
  getBackend,
  gradients,
  linear,
  matmulPrecision,
  nn,
  optim,
  randn,
  registerBackend,
  setBackend,
  type Tensor,
} from '../src/index.js';
import { Generator } from '../src/tensor/random.js';
import { fit } from '../src/train/fit.js';
import { bf16 } from './gemm-cases.js';

let current: MatmulPrecision = 'float32';
const calls: MatmulPrecision[] = [];
/** The precision of each matmul kernel call, in order. */
const products: MatmulPrecision[] = [];
registerBackend({
  name: 'recording',
  priority: -1,
  load: () => ({
    ...jsBackend,
    name: 'recording',
    matmul(out: View, a: View, b: View) {
      products.push(current);
      jsBackend.matmul(out, a, b);
    },
    setMatmulPrecision(p: MatmulPrecision) {
      calls.push(p);
      current = p;
      return '';
    },
  }),
});
const original = getBackend().name;
after(() => setBackend(original));

function reset(): void {
  calls.length = 0;
  products.length = 0;
}

test('autocast sets the precision for its region and restores it, also when fn throws', () => {
  setBackend('recording');
  reset();
  assert.equal(matmulPrecision(), 'float32');
  const v = autocast('bf16', () => {
    assert.equal(matmulPrecision(), 'bf16');
    assert.equal(current, 'bf16');
    return 7;
  });
  assert.equal(v, 7);
  assert.deepEqual(calls, ['bf16', 'float32']);
  assert.throws(
    () =>
      autocast('bf16', () => {
        throw new Error('inside');
      }),
    /inside/,
  );
  assert.equal(matmulPrecision(), 'float32');
  assert.equal(current, 'float32');
  // Nested: float32 turns it off inside, and the outer region's precision comes back.
  reset();
  autocast('bf16', () => {
    autocast('float32', () => assert.equal(current, 'float32'));
    assert.equal(current, 'bf16');
    // The same precision again changes nothing.
    autocast('bf16', () => {});
  });
  assert.deepEqual(calls, ['bf16', 'float32', 'bf16', 'float32']);
});

test('the backward of an op recorded inside autocast runs its products in that precision', () => {
  setBackend('recording');
  const x = randn([3, 4], { requiresGrad: true });
  const w = randn([4, 5], { requiresGrad: true });
  reset();
  const y = autocast('bf16', () => x.matmul(w));
  assert.deepEqual(products, ['bf16']);
  reset();
  y.sum().backward();
  // Both gradient products (dx = g wᵀ, dw = xᵀ g) ran in bf16, though backward was called outside.
  assert.deepEqual(products, ['bf16', 'bf16']);
  assert.equal(current, 'float32');
  // And an op recorded outside keeps float32 even when its backward runs inside a bf16 region.
  const z = x.matmul(w);
  reset();
  autocast('bf16', () => z.sum().backward());
  assert.deepEqual(products, ['float32', 'float32']);
});

test('the backend cannot be switched inside a region', () => {
  setBackend('recording');
  assert.throws(
    () => autocast('bf16', () => setBackend('js')),
    /setBackend: cannot switch to the js backend inside autocast\('bf16', …\); switch before entering it/,
  );
  assert.equal(getBackend().name, 'recording');
  setBackend('js');
  setBackend('recording');
});

test('misuse is refused by name', () => {
  setBackend('recording');
  assert.throws(
    () => autocast('fp16' as MatmulPrecision, () => {}),
    /autocast: unknown precision "fp16": expected one of float32, bf16/,
  );
  assert.throws(
    () => autocast('bf16', 3 as unknown as () => void),
    /autocast: expected a function to run, got 3/,
  );
});

test('a backend without reduced precision says so', () => {
  setBackend('js');
  assert.throws(
    () => autocast('bf16', () => {}),
    /autocast: cannot compute products in bf16: the js backend computes products in float32 only; bf16 needs the native backend on a CPU with AVX512-BF16/,
  );
  assert.equal(matmulPrecision(), 'float32');
  assert.equal(
    autocast('float32', () => 1),
    1,
  );
});

test('the training engine runs each step, its backward and validation in the run precision', async () => {
  setBackend('recording');
  const set = new TensorDataset(randn([32, 6]), randn([32, 6]).argmax(1));
  const model = new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 6));
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  reset();
  await fit(model, opt, {
    epochs: 1,
    generator: new Generator(0),
    train: new DataLoader(set, { batchSize: 16 }),
    validation: [...new DataLoader(set, { batchSize: 32 })],
    loss: (o, t) => nn.crossEntropy(o, t),
    precision: 'bf16',
  });
  assert.ok(products.length > 0);
  assert.ok(
    products.every((p) => p === 'bf16'),
    `every product in bf16, got ${products.join(' ')}`,
  );
  assert.equal(current, 'float32');
  // A precision the backend lacks fails before the first step.
  setBackend('js');
  await assert.rejects(
    async () =>
      fit(model, opt, {
        epochs: 1,
        generator: new Generator(0),
        train: new DataLoader(set, { batchSize: 16 }),
        loss: (o, t) => nn.crossEntropy(o, t),
        precision: 'bf16',
      }),
    /cannot compute products in bf16: the js backend computes products in float32 only/,
  );
});

const nativeBuilt = existsSync(new URL('../build/Release/strata_native.node', import.meta.url));

test('on the native backend, linear and its gradients under autocast are the products of bf16-rounded operands', {
  skip: nativeBuilt ? false : 'the addon is not built',
}, () => {
  setBackend('native');
  const x = randn([5, 37], { requiresGrad: true });
  const w = randn([3, 37], { requiresGrad: true });
  const b = randn([3], { requiresGrad: true });
  const gy = randn([5, 3]);
  const precisions = getBackend().describePrecisions!();
  if (!precisions.includes('bf16 via')) {
    assert.throws(
      () => autocast('bf16', () => {}),
      /autocast: cannot compute products in bf16: this CPU has no AVX512-BF16/,
    );
    return;
  }
  const y = autocast('bf16', () => linear(x, w, b));
  const [dx, dw, db] = gradients([y], [x, w, b], { gradOutputs: [gy] });
  const X = x.toArray() as number[][];
  const Wt = w.toArray() as number[][];
  const G = gy.toArray() as number[][];
  // Each entry against Σ bf16(p)·bf16(q) in float64, within float32's accumulation error; and not the float32 product.
  const check = (
    got: Tensor,
    rows: number,
    cols: number,
    terms: number,
    p: (i: number, k: number) => number,
    q: (k: number, j: number) => number,
    add = (_j: number) => 0,
  ) => {
    const g = got.toArray() as number[][];
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        let [sum, scale] = [add(j), Math.abs(add(j))];
        for (let k = 0; k < terms; k++) {
          const t = bf16(p(i, k)) * bf16(q(k, j));
          sum += t;
          scale += Math.abs(t);
        }
        assert.ok(Math.abs(g[i]![j]! - sum) <= 1e-6 * scale, `${g[i]![j]} against ${sum} at (${i}, ${j})`);
      }
  };
  const B = b.toArray() as number[];
  check(
    y,
    5,
    3,
    37,
    (i, k) => X[i]![k]!,
    (k, j) => Wt[j]![k]!,
    (j) => B[j]!,
  );
  check(
    dx!,
    5,
    37,
    3,
    (i, k) => G[i]![k]!,
    (k, j) => Wt[k]![j]!,
  );
  check(
    dw!,
    3,
    37,
    5,
    (i, k) => G[k]![i]!,
    (k, j) => X[k]![j]!,
  );
  assert.deepEqual(db!.toArray(), gy.sum(0).toArray());
  const f32 = linear(x, w, b);
  assert.notDeepEqual(f32.toArray(), y.toArray(), 'float32 again outside the region');
});
