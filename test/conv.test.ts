import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arange,
  conv2d,
  fold,
  nn,
  noGrad,
  ones,
  randn,
  StrataError,
  tensor,
  unfold,
  zeros,
} from '../src/index.js';

const f64 = { dtype: 'float64' } as const;

function throwsStrata(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof StrataError && pattern.test(e.message), String(pattern));
}

test('Conv2d computes windowed sums by hand: 4×4 ramp, 2×2 ones, stride 1 and 2, bias', () => {
  const conv = new nn.Conv2d(1, 1, 2, { stride: 2 });
  noGrad(() => {
    conv.weight.copy_(ones([1, 1, 2, 2]));
    conv.bias!.copy_(tensor([0.5]));
  });
  // x = 0..15 in a 4×4 grid; window sums at stride 2: 0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15.
  const y = conv.forward(arange(16).cast('float32').reshape([1, 1, 4, 4]));
  assert.deepEqual(y.toArray(), [
    [
      [
        [10.5, 18.5],
        [42.5, 50.5],
      ],
    ],
  ]);
});

test('MaxPool2d, AvgPool2d and AdaptiveAvgPool2d against hand values', () => {
  const x = arange(16, undefined, 1, f64).reshape([1, 1, 4, 4]);
  assert.deepEqual(new nn.MaxPool2d(2).forward(x).toArray(), [
    [
      [
        [5, 7],
        [13, 15],
      ],
    ],
  ]);
  assert.deepEqual(new nn.AvgPool2d(2).forward(x).toArray(), [
    [
      [
        [2.5, 4.5],
        [10.5, 12.5],
      ],
    ],
  ]);
  // Global average: the mean of 0..15.
  assert.deepEqual(new nn.AdaptiveAvgPool2d(1).forward(x).toArray(), [[[[7.5]]]]);
  // Padding counts as zeros in the average (count_include_pad): corner window [0] + 3 zeros → 0/4... of
  // the 3×3 window at (0,0) with padding 1: x[0..1][0..1] = 0+1+4+5 = 10, over 9 → 10/9.
  const a = new nn.AvgPool2d(3, { stride: 2, padding: 1 }).forward(x);
  assert.ok(Math.abs(a.at(0, 0, 0, 0) - 10 / 9) < 1e-12);
});

test('ConvTranspose2d undoes the geometry of a strided Conv2d (output size and scatter)', () => {
  const up = new nn.ConvTranspose2d(1, 1, 2, { stride: 2, bias: false });
  noGrad(() => up.weight.copy_(ones([1, 1, 2, 2])));
  const y = up.forward(
    tensor([
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ]),
  );
  assert.deepEqual(y.shape, [1, 1, 4, 4]);
  assert.deepEqual(y.toArray(), [
    [
      [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 4, 4],
        [3, 3, 4, 4],
      ],
    ],
  ]);
});

test('a stateDict round trip restores identical outputs (conv, batch norm in eval)', () => {
  const make = () =>
    new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
    );
  const a = make();
  const x = randn([2, 1, 6, 6]);
  a.forward(x); // one training step moves the running statistics
  a.eval();
  const b = make();
  b.loadStateDict(a.stateDict());
  b.eval();
  assert.deepEqual([...b.forward(x).toTypedArray()], [...a.forward(x).toTypedArray()]);
  assert.ok(Object.keys(a.stateDict()).includes('1.running_mean'));
});

test('bad input names the layer and the shapes', () => {
  const conv = new nn.Conv2d(3, 8, 5);
  throwsStrata(
    () => conv2d(randn([1, 3, 6, 6]), randn([8, 3, 5, 5]), zeros([8], { dtype: 'float64' })),
    /conv2d: the input is float32 but the weight is float32 and the bias float64/,
  );
  throwsStrata(
    () => conv.forward(randn([1, 3, 4, 4])),
    /Conv2d: the kernel \(5×5\) is larger than the padded input \(\[1, 3, 4, 4\]/,
  );
  throwsStrata(
    () => conv.forward(randn([1, 2, 8, 8])),
    /Conv2d: input has 2 channels but the weight \[8, 3, 5, 5\] expects 3/,
  );
  throwsStrata(
    () => conv.forward(randn([3, 8, 8])),
    /Conv2d: expected a 4-D input \[N, C, H, W\], got shape \[3, 8, 8\]/,
  );
  throwsStrata(
    () => new nn.Conv2d(4, 6, 3, { groups: 4 }),
    /Conv2d: groups 4 must divide inChannels 4 and outChannels 6/,
  );
  throwsStrata(
    () => new nn.MaxPool2d(3).forward(randn([1, 1, 2, 2])),
    /MaxPool2d: the kernel \(3×3\) is larger than the padded input/,
  );
});

test('max pooling sends the gradient of a tied window to its first maximum, as PyTorch does', () => {
  const x = ones([1, 1, 2, 4], f64).requiresGrad_();
  new nn.MaxPool2d(2).forward(x).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [
    [
      [
        [1, 0, 1, 0],
        [0, 0, 0, 0],
      ],
    ],
  ]);
});

test('unfold and fold check their window and columns instead of reading or writing out of bounds', () => {
  const w = { kernel: [3, 3], stride: [2, 2], padding: [0, 0], dilation: [1, 1] };
  throwsStrata(
    () => unfold(ones([2, 2, 2, 2]), w),
    /unfold: the kernel \(3×3\) is larger than the padded input/,
  );
  throwsStrata(() => unfold(ones([2, 2, 4, 4]), { ...w, stride: [0, 1] }), /unfold: stride must be/);
  throwsStrata(
    () => fold(ones([1, 1, 1, 1]), [1, 1, 9, 9], w),
    /fold: columns \[1, 1, 1, 1\] do not match the window over \[1, 1, 9, 9\] \(expected \[1, 1, 9, 16\]\)/,
  );
  // Windows that just fit: 5 = 3 + 2·1, so two positions per axis.
  assert.deepEqual(unfold(ones([1, 1, 5, 5]), w).shape, [1, 1, 9, 4]);
});
