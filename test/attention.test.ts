/**
 * Attention and the Transformer beyond the PyTorch fixtures (attention-torch.test.ts): error messages
 * for wrong shapes, ranks, dtypes and masks, dropout only in training, state-dict names and
 * initialisation, unbatched inputs, the causal shortcuts, the seq2seq attention modules and the
 * positional encodings, worked out by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as st from '../src/index.js';
import { near, throwsStrata } from './assertions.js';

const { nn } = st;
type Tensor = st.Tensor;

const randn = (shape: number[], seed: number) =>
  st.randn(shape, { dtype: 'float64', generator: new st.Generator(seed) });
const ints = (values: number[], shape: number[]) => st.tensor(values, { shape, dtype: 'int32' });
const rowSums = (w: Tensor) => Array.from(w.sum(-1).toTypedArray());

describe('scaledDotProductAttention', () => {
  const q = randn([2, 3, 4], 1);
  const k = randn([2, 5, 4], 2);
  const v = randn([2, 5, 3], 3);

  test('is softmax(q kᵀ/√E) v, and a boolean mask keeps its nonzero scores', () => {
    const expected = q.matmul(k.mT).div(2).softmax(-1).matmul(v);
    near(nn.scaledDotProductAttention(q, k, v), expected, 1e-12);
    // Attending only to key 2 copies its value.
    const only2 = ints([0, 0, 1, 0, 0], [5]);
    const y = nn.scaledDotProductAttention(q, k, v, { mask: only2 });
    near(y, v.narrow(1, 2, 1).expand([2, 3, 3]), 1e-12);
  });

  test('isCausal is the lower-triangular boolean mask, and refuses a mask beside it', () => {
    const tril = ints([1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0], [3, 5]);
    near(
      nn.scaledDotProductAttention(q, k, v, { isCausal: true }),
      nn.scaledDotProductAttention(q, k, v, { mask: tril }),
      1e-12,
    );
    throwsStrata(
      () => nn.scaledDotProductAttention(q, k, v, { mask: tril, isCausal: true }),
      /scaledDotProductAttention: give either mask or isCausal/,
    );
  });

  test('a float mask is added to the scores', () => {
    const mask = randn([3, 5], 4);
    const expected = q.matmul(k.mT).div(2).add(mask).softmax(-1).matmul(v);
    near(nn.scaledDotProductAttention(q, k, v, { mask }), expected, 1e-12);
  });

  test('dropout acts only in training', () => {
    const plain = nn.scaledDotProductAttention(q, k, v);
    near(nn.scaledDotProductAttention(q, k, v, { dropout: 0.5, training: false }), plain, 0);
    const g = new st.Generator(7);
    const dropped = nn.scaledDotProductAttention(q, k, v, { dropout: 0.5, generator: g });
    assert.notDeepEqual(Array.from(dropped.toTypedArray()), Array.from(plain.toTypedArray()));
    near(nn.scaledDotProductAttention(q, k, v, { dropout: 1 }), st.zeros([2, 3, 3]), 0);
  });

  test('wrong shapes, ranks, dtypes and masks are errors naming the op', () => {
    const f = nn.scaledDotProductAttention;
    throwsStrata(
      () =>
        f(randn([2, 4, 5, 6], 1), randn([2, 4, 6, 6], 1), randn([2, 4, 6, 2], 1), {
          mask: ints([1, 1, 1, 1], [4]),
        }),
      /mask \[4\] does not broadcast/,
    );
    throwsStrata(
      () =>
        f(randn([2, 4, 5, 6], 1), randn([2, 4, 6, 6], 1), randn([2, 4, 6, 2], 1), { mask: randn([3, 5], 1) }),
      /^scaledDotProductAttention: mask \[3, 5\] does not broadcast to the scores \[2, 4, 5, 6\]; give a mask of shape \[L, S\] = \[5, 6\]/,
    );
    throwsStrata(() => f(randn([4], 1), k, v), /scaledDotProductAttention: q must have at least two axes/);
    throwsStrata(
      () => f(q, randn([2, 5, 3], 1), v),
      /q \[\.\.\., L, E\] and k \[\.\.\., S, E\] must have the same features E.*\(4 ≠ 3\)/,
    );
    throwsStrata(
      () => f(q, k, randn([2, 4, 3], 1)),
      /k \[\.\.\., S, E\] and v \[\.\.\., S, Ev\] must have the same length S/,
    );
    throwsStrata(
      () => f(q, k.cast('float32'), v),
      /q, k and v must have one dtype, got float64, float32 and float64/,
    );
    throwsStrata(() => f(q.cast('int32'), k, v), /q must be floating point, got int32/);
    throwsStrata(
      () => f(randn([3, 3, 4], 1), k, v),
      /the batch axes of q \[3, 3, 4\], k \[2, 5, 4\] and v \[2, 5, 3\] do not broadcast/,
    );
    throwsStrata(
      () => f(q, k, v, { dropout: 2 }),
      /scaledDotProductAttention: dropout must be a number in \[0, 1\]/,
    );
    throwsStrata(() => f(q, k, v, { causal: true } as never), /unknown option causal/);
  });

  test('has second derivatives through the mask', () => {
    const mask = ints([1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], [3, 5]);
    const qq = q.detach().requiresGrad_();
    const [gq] = st.grad((x: Tensor) => nn.scaledDotProductAttention(x, k, v, { mask }).square().sum())(qq);
    const [ggq] = st.grad((x: Tensor) =>
      st
        .grad((y: Tensor) => nn.scaledDotProductAttention(y, k, v, { mask }).square().sum())(x)[0]!
        .sum(),
    )(qq);
    assert.deepEqual(gq!.shape, [2, 3, 4]);
    assert.ok(Array.from(ggq!.toTypedArray()).every(Number.isFinite));
  });
});

describe('MultiheadAttention', () => {
  test("has PyTorch's parameter names and initialisation", () => {
    const packed = new nn.MultiheadAttention(8, 2);
    assert.deepEqual(Object.keys(packed.stateDict()), [
      'in_proj_weight',
      'in_proj_bias',
      'out_proj.weight',
      'out_proj.bias',
    ]);
    assert.deepEqual(packed.in_proj_weight!.shape, [24, 8]);
    near(packed.in_proj_bias!, st.zeros([24]), 0);
    near(packed.out_proj.bias!, st.zeros([8]), 0);
    const bound = Math.sqrt(6 / (24 + 8));
    assert.ok(Array.from(packed.in_proj_weight!.toTypedArray()).every((w) => Math.abs(w) <= bound));
    const separate = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 3, bias: false });
    assert.deepEqual(
      Object.entries(separate.stateDict()).map(([k, t]) => `${k} [${t.shape}]`),
      ['q_proj_weight [8,8]', 'k_proj_weight [8,5]', 'v_proj_weight [8,3]', 'out_proj.weight [8,8]'],
    );
  });

  test('unbatched [L, E] input is batched input with N = 1, squeezed', () => {
    const mha = new nn.MultiheadAttention(6, 3, { dtype: 'float64' });
    const x = randn([4, 6], 1);
    const kpm = ints([0, 0, 1, 0], [4]);
    const [y, w] = mha.forward(x, x, x, { keyPaddingMask: kpm });
    const [yb, wb] = mha.forward(x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1), {
      keyPaddingMask: kpm.unsqueeze(0),
    });
    assert.deepEqual(y.shape, [4, 6]);
    assert.deepEqual(w!.shape, [4, 4]);
    near(y, yb.squeeze(1), 1e-12);
    near(w!, wb!.squeeze(0), 1e-12);
    // The padded key gets no weight.
    near(w!.narrow(1, 2, 1), st.zeros([4, 1]), 0);
  });

  test('isCausal is the boolean future mask (true = not allowed)', () => {
    const mha = new nn.MultiheadAttention(4, 2, { dtype: 'float64', batchFirst: true });
    const x = randn([2, 3, 4], 2);
    const future = ints([0, 1, 1, 0, 0, 1, 0, 0, 0], [3, 3]);
    const [a, wa] = mha.forward(x, x, x, { isCausal: true, averageAttnWeights: false });
    const [b, wb] = mha.forward(x, x, x, { attnMask: future, averageAttnWeights: false });
    near(a, b, 1e-12);
    near(wa!, wb!, 1e-12);
    assert.deepEqual(wa!.shape, [2, 2, 3, 3]);
    throwsStrata(
      () => mha.forward(x, x, x, { isCausal: true, attnMask: future }),
      /MultiheadAttention: give either attnMask or isCausal/,
    );
  });

  test('dropout acts only in training', () => {
    const mha = new nn.MultiheadAttention(4, 2, { dropout: 0.5, dtype: 'float64' });
    const x = randn([3, 2, 4], 3);
    mha.eval();
    const [a] = mha.forward(x, x, x);
    near(mha.forward(x, x, x)[0], a, 0);
    mha.train();
    const [b] = mha.forward(x, x, x);
    assert.notDeepEqual(Array.from(b.toTypedArray()), Array.from(a.toTypedArray()));
  });

  test('wrong shapes, masks and options are errors naming the layer', () => {
    throwsStrata(
      () => new nn.MultiheadAttention(6, 4),
      /MultiheadAttention: embedDim 6 must be divisible by numHeads 4/,
    );
    throwsStrata(
      () => new nn.MultiheadAttention(6, 2, { addBiasKV: true } as never),
      /unknown option addBiasKV/,
    );
    const mha = new nn.MultiheadAttention(6, 2, { dtype: 'float64' });
    const x = randn([3, 2, 6], 1);
    const kv = randn([5, 2, 6], 2);
    throwsStrata(
      () => mha.forward(randn([6], 1), kv, kv),
      /expected query \[L, N, E\] or unbatched \[L, E\], got \[6\]/,
    );
    throwsStrata(() => mha.forward(x, randn([5, 6], 1), kv), /key and value must have the query's rank/);
    throwsStrata(() => mha.forward(randn([3, 2, 5], 1), kv, kv), /query must have 6 features \(embedDim\)/);
    throwsStrata(() => mha.forward(x, randn([5, 3, 6], 1), randn([5, 3, 6], 1)), /one batch size/);
    throwsStrata(
      () => mha.forward(x, kv, kv, { attnMask: ints([0, 0, 0], [1, 3]) }),
      /attnMask must be \[L, S\] = \[3, 5\] or \[N·numHeads, L, S\] = \[4, 3, 5\], got \[1, 3\]/,
    );
    throwsStrata(
      () => mha.forward(x, kv, kv, { keyPaddingMask: ints([0, 0, 0, 0, 0], [5]) }),
      /keyPaddingMask must be \[N, S\] = \[2, 5\], got \[5\]/,
    );
    throwsStrata(
      () => mha.forward(x.cast('float32'), kv, kv),
      /the input is float32 but the parameters are float64/,
    );
  });
});

describe('additive and multiplicative attention', () => {
  const keys = randn([2, 4, 3], 5);
  const values = randn([2, 4, 2], 6);
  const mask = ints([1, 1, 1, 0, 1, 1, 0, 0], [2, 4]);

  test('AdditiveAttention: softmax of vᵀ tanh(W q + U k + b), masked positions weight 0', () => {
    const attn = new nn.AdditiveAttention(5, 3, 7, { dtype: 'float64' });
    assert.deepEqual(Object.keys(attn.stateDict()), [
      'queryProj.weight',
      'keyProj.weight',
      'keyProj.bias',
      'energy.weight',
    ]);
    const query = randn([2, 5], 7);
    const [context, weights] = attn.forward(query, keys, values, { mask });
    assert.deepEqual(context.shape, [2, 2]);
    assert.deepEqual(weights.shape, [2, 4]);
    near(rowSums(weights), [1, 1], 1e-12);
    near([weights.toTypedArray()[3]!, weights.toTypedArray()[6]!, weights.toTypedArray()[7]!], [0, 0, 0], 0);
    // By hand for sample 0, unmasked.
    const [, w0] = attn.forward(query, keys);
    const e = attn.queryProj.weight
      .matmul(query.select(0, 0))
      .add(keys.select(0, 0).matmul(attn.keyProj.weight.mT).add(attn.keyProj.bias!))
      .tanh()
      .matmul(attn.energy.weight.mT)
      .squeeze(1);
    near(w0.select(0, 0), e.softmax(0), 1e-12);
    near(context, weights.unsqueeze(1).matmul(values).squeeze(1), 1e-12);
    // Several decoder steps at once.
    const [c3, w3] = attn.forward(randn([2, 6, 5], 8), keys, values);
    assert.deepEqual(
      [c3.shape, w3.shape],
      [
        [2, 6, 2],
        [2, 6, 4],
      ],
    );
    throwsStrata(() => attn.forward(randn([2, 4], 1), keys), /AdditiveAttention: query must have 5 features/);
    throwsStrata(
      () => attn.forward(query, keys, values, { mask: ints([1, 1], [2, 1]) }),
      /mask must be \[N, S\] = \[2, 4\]/,
    );
  });

  test("LuongAttention: 'dot' is qᵀk, 'general' qᵀ W k", () => {
    const query = randn([2, 3], 9);
    const dot = new nn.LuongAttention(3);
    assert.deepEqual(Object.keys(dot.stateDict()), []);
    const [context, weights] = dot.forward(query, keys, values, { mask });
    const scores = query.unsqueeze(1).matmul(keys.mT).squeeze(1);
    const expected = st.where(mask, scores, -Infinity).softmax(-1);
    near(weights, expected, 1e-12);
    near(context, expected.unsqueeze(1).matmul(values).squeeze(1), 1e-12);
    const general = new nn.LuongAttention(3, { score: 'general', dtype: 'float64' });
    assert.deepEqual(Object.keys(general.stateDict()), ['weight']);
    const [, wg] = general.forward(query, keys);
    near(wg, query.matmul(general.weight!).unsqueeze(1).matmul(keys.mT).squeeze(1).softmax(-1), 1e-12);
    throwsStrata(
      () => new nn.LuongAttention(3, { score: 'concat' as never }),
      /score must be 'dot' or 'general'/,
    );
    throwsStrata(() => dot.forward(query, randn([2, 4, 5], 1)), /LuongAttention: expected keys \[N, S, 3\]/);
  });
});

describe('positional encodings', () => {
  test("SinusoidalPositionalEncoding adds Vaswani et al.'s table, a buffer, then dropout in training only", () => {
    const pos = new nn.SinusoidalPositionalEncoding(4, { maxLen: 10, dropout: 0.5, dtype: 'float64' });
    assert.deepEqual(pos.parameters(), []);
    assert.deepEqual(Object.keys(pos.stateDict()), ['pe']);
    pos.eval();
    const y = pos.forward(st.zeros([3, 2, 4], { dtype: 'float64' }));
    const row = (p: number) => [Math.sin(p), Math.cos(p), Math.sin(p / 100), Math.cos(p / 100)];
    near(y.select(1, 1), [...row(0), ...row(1), ...row(2)], 1e-12);
    const first = new nn.SinusoidalPositionalEncoding(4, { maxLen: 10, batchFirst: true, dropout: 0 });
    near(first.forward(st.zeros([2, 3, 4])).select(0, 1), [...row(0), ...row(1), ...row(2)], 1e-6);
    pos.train();
    assert.ok(
      Array.from(pos.forward(st.ones([3, 2, 4], { dtype: 'float64' })).toTypedArray()).some((v) => v === 0),
    );
    throwsStrata(
      () => pos.forward(st.zeros([11, 4])),
      /SinusoidalPositionalEncoding: the sequence has length 11 \(input \[11, 4\]\) but maxLen is 10/,
    );
    throwsStrata(
      () => pos.forward(st.zeros([3, 5])),
      /expected input \[L, N, dModel\] or \[L, dModel\] with dModel = 4/,
    );
  });

  test('LearnedPositionalEncoding adds row p of its weight at position p', () => {
    const pos = new nn.LearnedPositionalEncoding(5, 3, { dtype: 'float64', batchFirst: true });
    assert.deepEqual(Object.keys(pos.stateDict()), ['weight']);
    const x = randn([2, 4, 3], 1).requiresGrad_();
    const y = pos.forward(x);
    near(y.select(0, 1), x.select(0, 1).add(pos.weight.narrow(0, 0, 4)), 1e-12);
    y.sum().backward();
    near(pos.weight.grad!, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0], 0);
    throwsStrata(
      () => pos.forward(randn([2, 6, 3], 1)),
      /LearnedPositionalEncoding: the sequence has length 6/,
    );
  });
});

describe('Transformer', () => {
  test("layers, stacks and the model have PyTorch 1.13's state-dict names", () => {
    const model = new nn.Transformer({
      dModel: 8,
      nhead: 2,
      numEncoderLayers: 2,
      numDecoderLayers: 1,
      dimFeedforward: 16,
    });
    const keys = Object.keys(model.stateDict());
    const attn = (p: string) => [
      `${p}.in_proj_weight`,
      `${p}.in_proj_bias`,
      `${p}.out_proj.weight`,
      `${p}.out_proj.bias`,
    ];
    const wb = (p: string) => [`${p}.weight`, `${p}.bias`];
    const enc = (i: number) => [
      ...attn(`encoder.layers.${i}.self_attn`),
      ...wb(`encoder.layers.${i}.linear1`),
      ...wb(`encoder.layers.${i}.linear2`),
      ...wb(`encoder.layers.${i}.norm1`),
      ...wb(`encoder.layers.${i}.norm2`),
    ];
    assert.deepEqual(keys, [
      ...enc(0),
      ...enc(1),
      ...wb('encoder.norm'),
      ...attn('decoder.layers.0.self_attn'),
      ...attn('decoder.layers.0.multihead_attn'),
      ...wb('decoder.layers.0.linear1'),
      ...wb('decoder.layers.0.linear2'),
      ...wb('decoder.layers.0.norm1'),
      ...wb('decoder.layers.0.norm2'),
      ...wb('decoder.layers.0.norm3'),
      ...wb('decoder.norm'),
    ]);
  });

  test('a float64 Transformer starts from the weights of its float32 twin under the same seed', () => {
    const options = { dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8 };
    st.manualSeed(3);
    const single = new nn.Transformer(options).stateDict();
    st.manualSeed(3);
    const double = new nn.Transformer({ ...options, dtype: 'float64' }).stateDict();
    for (const [key, t] of Object.entries(single)) near(double[key]!, t, 0, key);
  });

  test('generateSquareSubsequentMask is -∞ above the diagonal', () => {
    near(
      nn.Transformer.generateSquareSubsequentMask(3),
      [0, -Infinity, -Infinity, 0, 0, -Infinity, 0, 0, 0],
      0,
    );
    assert.equal(nn.Transformer.generateSquareSubsequentMask(2, 'float64').dtype, 'float64');
  });

  test('a stack copies its layer (same weights, own storage), or calls a factory per layer', () => {
    const layer = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8 });
    const encoder = new nn.TransformerEncoder(layer, 2);
    const [a, b] = encoder.layers as [st.nn.TransformerEncoderLayer, st.nn.TransformerEncoderLayer];
    near(a.linear1.weight, layer.linear1.weight, 0);
    near(b.linear1.weight, layer.linear1.weight, 0);
    assert.notEqual(a.linear1.weight, b.linear1.weight);
    let made = 0;
    const decoder = new nn.TransformerDecoder(() => {
      made++;
      return new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 8 });
    }, 3);
    assert.equal(made, 3);
    assert.equal(decoder.layers.length, 3);
    throwsStrata(
      () => new nn.TransformerEncoder((() => new nn.Linear(2, 2)) as never, 2),
      /TransformerEncoder: the layer factory must return a TransformerEncoderLayer/,
    );
  });

  test('dropout acts only in training; batchFirst and unbatched inputs', () => {
    const model = new nn.Transformer({
      dModel: 4,
      nhead: 2,
      numEncoderLayers: 1,
      numDecoderLayers: 1,
      dimFeedforward: 8,
      batchFirst: true,
      dtype: 'float64',
    });
    const src = randn([2, 5, 4], 1);
    const tgt = randn([2, 3, 4], 2);
    model.eval();
    const y = model.forward(src, tgt);
    assert.deepEqual(y.shape, [2, 3, 4]);
    near(model.forward(src, tgt), y, 0);
    near(model.forward(src.select(0, 1), tgt.select(0, 1)), y.select(0, 1), 1e-12);
    model.train();
    assert.notDeepEqual(Array.from(model.forward(src, tgt).toTypedArray()), Array.from(y.toTypedArray()));
    throwsStrata(
      () => model.forward(src, randn([3, 3, 4], 1)),
      /Transformer: the batch size of src and tgt must be equal/,
    );
    throwsStrata(
      () => model.forward(src, randn([2, 3, 5], 1)),
      /the features of src and tgt must be dModel = 4/,
    );
    throwsStrata(
      () => new nn.TransformerEncoderLayer(4, 2, { activation: 'tanh' as never }),
      /TransformerEncoderLayer: activation must be 'relu' or 'gelu'/,
    );
  });
});
