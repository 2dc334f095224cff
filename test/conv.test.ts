import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  adaptiveAvgPool2d,
  arange,
  conv2d,
  convNd,
  convTranspose1d,
  fold,
  gruCell,
  lstmCell,
  maxPool2d,
  maxPoolNd,
  nn,
  noGrad,
  ones,
  pad,
  randn,
  StrataError,
  type Tensor,
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
    () => conv.forward(randn([8, 8])),
    /Conv2d: expected a 4-D input \[N, C, H, W\] \(or 3-D \[C, H, W\] unbatched\), got shape \[8, 8\]/,
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

test('ConvTranspose2d sizes its bias from the output channels: weight [in, out/groups, k, k], bias [out]', () => {
  const up = new nn.ConvTranspose2d(4, 3, 3);
  assert.deepEqual(up.weight.shape, [4, 3, 3, 3]);
  assert.deepEqual(up.bias!.shape, [3]);
  assert.deepEqual(up.forward(randn([1, 4, 5, 5])).shape, [1, 3, 7, 7]);
  const grouped = new nn.ConvTranspose2d(4, 6, 2, { groups: 2, stride: 2 });
  assert.deepEqual(grouped.weight.shape, [4, 3, 2, 2]);
  assert.deepEqual(grouped.bias!.shape, [6]);
  assert.deepEqual(Object.keys(grouped.stateDict()), ['weight', 'bias']);
});

test('pad reflects, replicates and wraps as F.pad does, in either form of widths', () => {
  const x = tensor([[1, 2, 3]]);
  assert.deepEqual(pad(x, [2, 1], { mode: 'reflect' }).toArray(), [[3, 2, 1, 2, 3, 2]]);
  assert.deepEqual(pad(x, [[2, 1]], { mode: 'replicate' }).toArray(), [[1, 1, 1, 2, 3, 3]]);
  assert.deepEqual(pad(x, [3, 2], { mode: 'circular' }).toArray(), [[1, 2, 3, 1, 2, 3, 1, 2]]);
  assert.deepEqual(pad(x, [1, 0, 0, 1], { value: 9 }).toArray(), [
    [9, 1, 2, 3],
    [9, 9, 9, 9],
  ]);
  // The gradient sums back onto the elements each padded position copied.
  const v = tensor([1, 2, 3], f64).requiresGrad_();
  pad(v, [2, 2], { mode: 'reflect' }).sum().backward();
  assert.deepEqual(v.grad!.toArray(), [2, 3, 2]);
  throwsStrata(
    () => pad(x, [3, 0], { mode: 'reflect' }),
    /pad: reflect padding of \[3, 0\] does not fit axis 1 of size 3/,
  );
  throwsStrata(() => pad(x, [1, 1], { mode: 'reflect', value: 1 }), /a value pads only in mode 'constant'/);
  throwsStrata(() => pad(x, [1, 1], { mode: 'edge' as 'reflect' }), /mode must be 'constant', 'reflect'/);
  throwsStrata(() => pad(x, [1, 1, 1]), /a flat list of widths has two per axis, got 3/);
});

test('ceil mode adds a last, partial window only where it starts inside the input or left padding', () => {
  const x = arange(5, undefined, 1, f64).reshape([1, 1, 5]);
  // Windows of 2 at stride 2 over 0..4: [0,1] [2,3] and, in ceil mode, [4].
  assert.deepEqual(new nn.MaxPool1d(2).forward(x).toArray(), [[[1, 3]]]);
  assert.deepEqual(new nn.MaxPool1d(2, { ceilMode: true }).forward(x).toArray(), [[[1, 3, 4]]]);
  assert.deepEqual(new nn.AvgPool1d(2, { ceilMode: true }).forward(x).toArray(), [[[0.5, 2.5, 4]]]);
  // With padding 1 over 0..3 (size 4): windows start at -1, 1, 3; a fourth would start at 5, in the
  // right padding, so ceil mode does not add it (PyTorch's rule).
  const y = arange(4, undefined, 1, f64).reshape([1, 1, 4]);
  assert.deepEqual(new nn.MaxPool1d(2, { padding: 1, ceilMode: true }).forward(y).toArray(), [[[0, 2, 3]]]);
  // Padding excluded from the count: the first window holds only x[0] = 0 ... and x[3] alone at the end.
  assert.deepEqual(new nn.AvgPool1d(2, { padding: 1, countIncludePad: false }).forward(y).toArray(), [
    [[0, 1.5, 3]],
  ]);
  assert.deepEqual(new nn.AvgPool1d(2, { padding: 1 }).forward(y).toArray(), [[[0, 1.5, 1.5]]]);
  const z = ones([1, 1, 4, 4], f64);
  assert.deepEqual(new nn.AvgPool2d(2, { divisorOverride: 3 }).forward(z).toArray(), [
    [
      [
        [4 / 3, 4 / 3],
        [4 / 3, 4 / 3],
      ],
    ],
  ]);
});

test('AdaptiveMaxPool2d returns each maximum with its flat position in the input plane', () => {
  const x = tensor([
    [
      [
        [1, 9, 2, 3],
        [4, 5, 8, 6],
        [7, 0, 1, 2],
      ],
    ],
  ]);
  const [values, indices] = new nn.AdaptiveMaxPool2d([2, 2], { returnIndices: true }).forward(x);
  // Bins rows [0, 2) and [1, 3), columns [0, 2) and [2, 4).
  assert.deepEqual(values.toArray(), [
    [
      [
        [9, 8],
        [7, 8],
      ],
    ],
  ]);
  assert.deepEqual(indices.toArray(), [
    [
      [
        [1, 6],
        [8, 6],
      ],
    ],
  ]);
  assert.equal(indices.dtype, 'int32');
  assert.deepEqual(
    new nn.AdaptiveAvgPool1d(2).forward(arange(5, undefined, 1, f64).reshape([1, 1, 5])).toArray(),
    [[[1, 3]]],
  );
});

test('constructors refuse positional extras, unknown options and bad hyper-parameters', () => {
  // PyTorch-style calls, as JavaScript (or a cast) lets them through.
  const Conv2d = nn.Conv2d as unknown as new (...args: unknown[]) => unknown;
  const MaxPool2d = nn.MaxPool2d as unknown as new (...args: unknown[]) => unknown;
  const conv2dLoose = conv2d as (...args: unknown[]) => unknown;
  throwsStrata(
    () => new Conv2d(4, 6, 3, 2, 1),
    /Conv2d: takes at most 4 arguments, got 5; pass the rest by name: new Conv2d\(4, 6, 3, \{ stride: 2, padding: 1 \}\)/,
  );
  throwsStrata(
    () => new MaxPool2d(2, 2),
    /MaxPool2d: expected an options object, got 2; pass options by name: new MaxPool2d\(2, \{ stride: 2 \}\)/,
  );
  throwsStrata(
    () => new nn.Conv1d(2, 2, 3, { strides: 2 } as never),
    /Conv1d: unknown option strides; accepted: stride, padding, dilation, groups, bias, paddingMode, dtype/,
  );
  throwsStrata(
    () => new nn.AvgPool1d(2, { divisorOverride: 2 } as never),
    /AvgPool1d: unknown option divisorOverride/,
  );
  throwsStrata(
    () => new nn.Conv2d(4, 6, 3, { stride: 0 }),
    /Conv2d: stride must be an integer ≥ 1 or 2 of them, got 0/,
  );
  throwsStrata(() => new nn.MaxPool2d(2, { stride: [1, 0] }), /MaxPool2d: stride must be an integer ≥ 1/);
  throwsStrata(() => new nn.Conv2d(4, 6, 0), /Conv2d: kernelSize must be an integer ≥ 1/);
  throwsStrata(() => new nn.Conv2d(4.5, 6, 3), /Conv2d: inChannels must be a positive integer, got 4.5/);
  throwsStrata(() => new nn.ConvTranspose2d(4, 6, 3, { groups: 4 }), /ConvTranspose2d: groups 4 must divide/);
  throwsStrata(
    () => new nn.Conv2d(2, 2, 3, { paddingMode: 'mirror' as 'reflect' }),
    /paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular', got 'mirror'/,
  );
  throwsStrata(
    () => new nn.AvgPool2d(2, { divisorOverride: 0 }),
    /divisorOverride must be a positive integer/,
  );
  throwsStrata(
    () => new nn.AdaptiveAvgPool2d([2, 0]),
    /AdaptiveAvgPool2d: outputSize must be a positive integer/,
  );
  throwsStrata(
    () => new nn.Conv2d(2, 2, 3, { dtype: 'int32' as 'float32' }),
    /Conv2d: dtype must be 'float32' or 'float64'/,
  );
  throwsStrata(
    () => conv2dLoose(randn([1, 1, 3, 3]), randn([1, 1, 2, 2]), null, { stride: 1 }, 1),
    /conv2d: takes at most 4 arguments, got 5/,
  );
  throwsStrata(
    () => maxPool2d(randn([1, 1, 4, 4]), 2, { ceil_mode: true } as never),
    /maxPool2d: unknown option ceil_mode/,
  );
});

test('a padding mode that does not fit the input names the layer', () => {
  throwsStrata(
    () => new nn.Conv2d(1, 1, 3, { padding: 3, paddingMode: 'reflect' }).forward(randn([1, 1, 3, 5])),
    /Conv2d: reflect padding of 3 does not fit the input \[1, 1, 3, 5\] of size 3 along axis 2 \(it must be smaller than the size\)/,
  );
  throwsStrata(
    () => new nn.Conv1d(1, 1, 3, { padding: 3, paddingMode: 'circular' }).forward(randn([1, 1, 2])),
    /Conv1d: circular padding of 3 does not fit the input \[1, 1, 2\] of size 2 along axis 2 \(at most the size\)/,
  );
  assert.deepEqual(
    new nn.Conv1d(1, 1, 3, { padding: 3, paddingMode: 'replicate' }).forward(randn([1, 1, 2])).shape,
    [1, 1, 6],
  );
});

test('pooling padding and strided same padding are refused when the layer is built', () => {
  throwsStrata(
    () => new nn.MaxPool2d(2, { padding: 2 }),
    /MaxPool2d: padding 2 must be at most half the kernel size 2/,
  );
  throwsStrata(
    () => new nn.AvgPool1d(3, { padding: [2] }),
    /AvgPool1d: padding 2 must be at most half the kernel size 3/,
  );
  throwsStrata(
    () => new nn.Conv2d(2, 2, 3, { padding: 'same', stride: 2 }),
    /Conv2d: padding 'same' needs stride 1/,
  );
});

test('every layer refuses an input that is not a Tensor', () => {
  const layers = [
    new nn.Conv1d(1, 1, 1),
    new nn.ConvTranspose3d(1, 1, 1),
    new nn.MaxPool2d(2),
    new nn.AvgPool3d(2),
    new nn.AdaptiveAvgPool1d(2),
    new nn.AdaptiveMaxPool2d(2),
  ];
  for (const layer of layers) {
    throwsStrata(
      () => layer.forward([[1, 2]] as unknown as Tensor),
      new RegExp(
        `${layer.constructor.name}: expected the input as a Tensor, got an array of length 1; wrap it with tensor`,
      ),
    );
  }
});

test('Conv layers create their parameters in the dtype asked for', () => {
  const conv = new nn.Conv2d(2, 3, 3, { dtype: 'float64', paddingMode: 'circular', padding: 1 });
  assert.equal(conv.weight.dtype, 'float64');
  assert.equal(conv.bias!.dtype, 'float64');
  assert.equal(new nn.ConvTranspose1d(2, 3, 3, { dtype: 'float64' }).bias!.dtype, 'float64');
  assert.deepEqual(conv.forward(randn([1, 2, 4, 4], f64)).shape, [1, 3, 4, 4]);
});

test('the functions under the layers refuse positional extras, unknown options and non-Tensors too', () => {
  const w = { kernel: [2], stride: [1], padding: [0], dilation: [1] };
  const loose = <F>(f: F) => f as unknown as (...args: unknown[]) => unknown;
  throwsStrata(() => loose(unfold)(ones([1, 1, 4]), w, 0, 1), /unfold: takes at most 3 arguments, got 4/);
  throwsStrata(() => unfold([1, 2] as unknown as Tensor, w), /unfold: expected the input as a Tensor/);
  throwsStrata(
    () => maxPoolNd('MaxPool1d', ones([1, 1, 4]), 1, 2, { countIncludePad: false } as never),
    /MaxPool1d: unknown option countIncludePad; accepted: stride, padding, dilation, ceilMode, returnIndices/,
  );
  throwsStrata(
    () => convNd('Conv1d', ones([1, 1, 4]), ones([1, 1, 2]), null, 1, { bias: false } as never),
    /Conv1d: unknown option bias/,
  );
  throwsStrata(
    () => convTranspose1d(ones([1, 1, 4]), ones([1, 1, 2]), null, { paddingMode: 'reflect' } as never),
    /convTranspose1d: unknown option paddingMode; accepted: stride, padding, dilation, groups, outputPadding/,
  );
  throwsStrata(
    () => loose(adaptiveAvgPool2d)(ones([1, 1, 4, 4]), 2, 2),
    /adaptiveAvgPool2d: takes at most 2/,
  );
  throwsStrata(
    () => lstmCell(ones([1, 4]), [[1]] as unknown as Tensor, ones([1, 1])),
    /lstmCell: expected Tensors/,
  );
  throwsStrata(() => loose(gruCell)(ones([1, 3]), ones([1, 3]), ones([1, 1]), 1), /gruCell: takes at most 3/);
});

test('MaxPool2d returns indices into the unpadded input plane, in ceil mode too', () => {
  const x = tensor([
    [
      [
        [1, 9, 2],
        [4, 5, 8],
        [7, 0, 6],
      ],
    ],
  ]);
  // Windows of 2 at stride 2 in ceil mode: rows [0, 2) and [2, 3), columns likewise.
  const [values, indices] = new nn.MaxPool2d(2, { ceilMode: true, returnIndices: true }).forward(x);
  assert.deepEqual(values.toArray(), [
    [
      [
        [9, 8],
        [7, 6],
      ],
    ],
  ]);
  assert.deepEqual(indices.toArray(), [
    [
      [
        [1, 5],
        [6, 8],
      ],
    ],
  ]);
  const [, same] = maxPool2d(x, 2, { ceilMode: true, returnIndices: true });
  assert.deepEqual(same.toArray(), indices.toArray());
  assert.deepEqual(new nn.MaxPool2d(2).forward(x).shape, [1, 1, 1, 1]);
  throwsStrata(
    () => new nn.MaxPool1d(2, { returnIndices: 1 as never }),
    /MaxPool1d: returnIndices must be true or false/,
  );
});

test('ConvTranspose2d picks among the output sizes its stride allows with outputSize', () => {
  const up = new nn.ConvTranspose2d(2, 1, 3, { stride: 2, padding: 1 });
  const x = randn([1, 2, 4, 4]);
  assert.deepEqual(up.forward(x).shape, [1, 1, 7, 7]);
  assert.deepEqual(up.forward(x, { outputSize: [8, 7] }).shape, [1, 1, 8, 7]);
  assert.deepEqual(up.forward(x, { outputSize: [1, 1, 8, 8] }).shape, [1, 1, 8, 8]);
  throwsStrata(
    () => up.forward(x, { outputSize: [9, 7] }),
    /ConvTranspose2d: outputSize \[9,7\] cannot come from input \[1, 2, 4, 4\]: axis 0 can be 7 to 8, got 9/,
  );
  throwsStrata(
    () => (up.forward as (...args: unknown[]) => unknown).call(up, x, [8, 8]),
    /ConvTranspose2d: expected an options object, got an array of length 2; pass options by name: ConvTranspose2d.forward\(x, \{ outputSize: \[H, W\] \}\)/,
  );
});

test('ConvTranspose1d/2d/3d take outputSize on unbatched input, with or without its C, as PyTorch does', () => {
  // PyTorch 1.13: nn.ConvTranspose2d(2, 3, 3, stride=2)(randn(2, 3, 3), output_size=s) is [3, 8, 8] for
  // s = [8, 8] and [3, 8, 8], [3, 7, 7] for [7, 7]; [9, 9] is refused (valid sizes 7 to 8), and so is
  // [1, 3, 8, 8] (for 3-D input, output_size must have 2 or 3 elements).
  const up = new nn.ConvTranspose2d(2, 3, 3, { stride: 2 });
  const x = randn([2, 3, 3]);
  assert.deepEqual(up.forward(x, { outputSize: [8, 8] }).shape, [3, 8, 8]);
  assert.deepEqual(up.forward(x, { outputSize: [3, 8, 8] }).shape, [3, 8, 8]);
  assert.deepEqual(up.forward(x, { outputSize: [7, 7] }).shape, [3, 7, 7]);
  // The same numbers as the batched call.
  assert.deepEqual(
    up.forward(x, { outputSize: [8, 8] }).toArray(),
    up
      .forward(x.unsqueeze(0), { outputSize: [8, 8] })
      .squeeze(0)
      .toArray(),
  );
  throwsStrata(
    () => up.forward(x, { outputSize: [9, 9] }),
    /ConvTranspose2d: outputSize \[9,9\] cannot come from input \[2, 3, 3\]: axis 0 can be 7 to 8, got 9/,
  );
  throwsStrata(
    () => up.forward(x, { outputSize: [1, 3, 8, 8] }),
    /ConvTranspose2d: outputSize must be 2 integers \(or 3 with C for 3-D input\), got \[1,3,8,8\]/,
  );
  assert.deepEqual(
    new nn.ConvTranspose1d(2, 3, 3, { stride: 2 }).forward(randn([2, 3]), { outputSize: [8] }).shape,
    [3, 8],
  );
  assert.deepEqual(
    new nn.ConvTranspose3d(2, 3, 3, { stride: 2 }).forward(randn([2, 3, 3, 3]), { outputSize: [3, 8, 7, 8] })
      .shape,
    [3, 8, 7, 8],
  );
});

test('layers print their hyper-parameters as PyTorch does', () => {
  assert.equal(
    String(new nn.Conv2d(4, 6, 3, { stride: 2, paddingMode: 'reflect', dtype: 'float64' })),
    'Conv2d(4, 6, kernelSize=3, stride=2, paddingMode=reflect)',
  );
  assert.equal(
    String(new nn.MaxPool2d(3, { stride: 2, ceilMode: true })),
    'MaxPool2d(kernelSize=3, stride=2, ceilMode=true)',
  );
  assert.equal(String(new nn.AdaptiveMaxPool2d([2, null])), 'AdaptiveMaxPool2d(outputSize=[2,null])');
  assert.equal(
    String(new nn.ConvTranspose1d(2, 3, 4, { outputPadding: 1, stride: 2 })),
    'ConvTranspose1d(2, 3, kernelSize=4, outputPadding=1, stride=2)',
  );
});

test('one sample without the batch axis goes through convolutions and pooling as a batch of one', () => {
  const conv = new nn.Conv2d(2, 3, 3, { padding: 1, dtype: 'float64' });
  const x = randn([2, 5, 4], f64);
  const y = conv.forward(x);
  assert.deepEqual(y.shape, [3, 5, 4]);
  assert.deepEqual([...y.toTypedArray()], [...conv.forward(x.unsqueeze(0)).toTypedArray()]);
  const [values, indices] = new nn.MaxPool1d(2, { returnIndices: true }).forward(randn([3, 6]));
  assert.deepEqual(
    [values.shape, indices.shape],
    [
      [3, 3],
      [3, 3],
    ],
  );
  assert.deepEqual(new nn.ConvTranspose1d(2, 4, 3, { stride: 2 }).forward(randn([2, 5])).shape, [4, 11]);
  assert.deepEqual(new nn.AvgPool3d(2).forward(randn([1, 4, 4, 2])).shape, [1, 2, 2, 1]);
  assert.deepEqual(new nn.AdaptiveMaxPool2d(2).forward(randn([3, 5, 5])).shape, [3, 2, 2]);
  throwsStrata(
    () => unfold(ones([1, 4]), { kernel: [2], stride: [1], padding: [0], dilation: [1] }),
    /unfold: expected a 3-D input \[N, C, L\], got shape \[1, 4\]/,
  );
});

test('pooling and transposed convolution refuse int32 input, as PyTorch 1.13 does, rather than truncate', () => {
  // PyTorch 1.13: F.adaptive_avg_pool2d(int) raises "mean(): could not infer output dtype", and max_pool,
  // avg_pool, adaptive_max_pool and conv_transpose raise "... not implemented for 'Int'" on int32 input.
  const x1 = arange(8).reshape([1, 1, 8]);
  const x2 = tensor(
    [
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ],
    { dtype: 'int32' },
  );
  const x3 = arange(8).reshape([1, 1, 2, 2, 2]);
  const layers: [string, nn.Module<[Tensor], unknown>, Tensor][] = [
    ['AdaptiveAvgPool1d', new nn.AdaptiveAvgPool1d(1), x1],
    ['AdaptiveAvgPool2d', new nn.AdaptiveAvgPool2d(1), x2],
    ['AdaptiveAvgPool3d', new nn.AdaptiveAvgPool3d(1), x3],
    ['AdaptiveMaxPool2d', new nn.AdaptiveMaxPool2d(1), x2],
    ['AvgPool1d', new nn.AvgPool1d(2), x1],
    ['AvgPool2d', new nn.AvgPool2d(2), x2],
    ['AvgPool3d', new nn.AvgPool3d(2), x3],
    ['MaxPool1d', new nn.MaxPool1d(2), x1],
    ['MaxPool2d', new nn.MaxPool2d(2), x2],
    ['MaxPool3d', new nn.MaxPool3d(2), x3],
    ['ConvTranspose2d', new nn.ConvTranspose2d(1, 1, 2), x2],
  ];
  for (const [name, layer, x] of layers) {
    assert.equal(x.dtype, 'int32');
    throwsStrata(
      () => layer.forward(x),
      new RegExp(
        `^${name}: expected a floating-point input, got int32; convert it first with x\\.cast\\('float32'\\)`,
      ),
    );
    // Unbatched input takes the same path.
    throwsStrata(() => layer.forward(x.squeeze(0)), new RegExp(`^${name}: expected a floating-point input`));
  }
  throwsStrata(
    () => adaptiveAvgPool2d(x2, 1),
    /^adaptiveAvgPool2d: expected a floating-point input, got int32/,
  );
  throwsStrata(() => maxPool2d(x2, 2), /^maxPool2d: expected a floating-point input, got int32/);
  assert.deepEqual(new nn.AdaptiveAvgPool2d(1).forward(x2.cast('float32')).toArray(), [[[[2.5]]]]);
});
