/**
 * Recurrent layers and embeddings: outputs against step-by-step computations written out from the
 * equations in plain arrays (not with the library's ops), gradient checks through several time steps,
 * PyTorch's parameter names and layouts, bidirectional and stacked layers, variable lengths, truncated
 * BPTT, and the errors for bad input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as st from '../src/index.js';
import { flat, near, throwsStrata } from './assertions.js';
import { gradcheck, makeRng } from './gradcheck.js';

const { nn } = st;
type Tensor = st.Tensor;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** A module's parameters as float64, filled from a seeded generator independent of the library's. */
function toFloat64(m: st.nn.AnyModule, seed: number): void {
  const rng = makeRng(seed);
  for (const [name, p] of m.namedParameters()) {
    const v = st
      .tensor(
        Array.from({ length: p.size }, () => rng() - 0.5),
        { dtype: 'float64' },
      )
      .reshape(p.shape);
    (m as unknown as Record<string, Tensor>)[name] = new nn.Parameter(v);
  }
}

function randomInput(shape: number[], seed: number): Tensor {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return st
    .tensor(
      Array.from({ length: n }, () => 2 * rng() - 1),
      { dtype: 'float64' },
    )
    .reshape(shape);
}

/** Row-major matrix-vector product: W [rows, cols] (flat) times v [cols]. */
function matvec(w: number[], v: number[], rows: number): number[] {
  const cols = v.length;
  return Array.from({ length: rows }, (_, r) => v.reduce((s, x, c) => s + w[r * cols + c]! * x, 0));
}

/** The four weights of a layer (direction suffix included) as flat arrays. */
function weights(
  m: st.nn.AnyModule,
  suffix: string,
): { wih: number[]; whh: number[]; bih: number[]; bhh: number[] } {
  const p = Object.fromEntries(m.namedParameters());
  return {
    wih: flat(p[`weight_ih${suffix}`]!),
    whh: flat(p[`weight_hh${suffix}`]!),
    bih: flat(p[`bias_ih${suffix}`]!),
    bhh: flat(p[`bias_hh${suffix}`]!),
  };
}

type Kind = 'tanh' | 'lstm' | 'gru';

/** One sequence [T][I] through one layer by the textbook equations; returns the h of every step and the last c. */
function reference(
  kind: Kind,
  seq: number[][],
  w: ReturnType<typeof weights>,
  hidden: number,
  h0?: number[],
  c0?: number[],
) {
  let h = h0 ?? new Array<number>(hidden).fill(0);
  let c = c0 ?? new Array<number>(hidden).fill(0);
  const gates = kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1;
  const hs: number[][] = [];
  for (const x of seq) {
    const xi = matvec(w.wih, x, gates * hidden).map((v, i) => v + w.bih[i]!);
    const hh = matvec(w.whh, h, gates * hidden).map((v, i) => v + w.bhh[i]!);
    const part = (a: number[], g: number) => a.slice(g * hidden, (g + 1) * hidden);
    if (kind === 'tanh') h = xi.map((v, i) => Math.tanh(v + hh[i]!));
    else if (kind === 'lstm') {
      const [i, f, g, o] = [0, 1, 2, 3].map((k) => part(xi, k).map((v, j) => v + part(hh, k)[j]!));
      c = c.map((cv, j) => sigmoid(f![j]!) * cv + sigmoid(i![j]!) * Math.tanh(g![j]!));
      h = c.map((cv, j) => sigmoid(o![j]!) * Math.tanh(cv));
    } else {
      const r = part(xi, 0).map((v, j) => sigmoid(v + part(hh, 0)[j]!));
      const z = part(xi, 1).map((v, j) => sigmoid(v + part(hh, 1)[j]!));
      const n = part(xi, 2).map((v, j) => Math.tanh(v + r[j]! * part(hh, 2)[j]!));
      h = n.map((nv, j) => (1 - z[j]!) * nv + z[j]! * h[j]!);
    }
    hs.push(h);
  }
  return { hs, c };
}

function build(kind: Kind, input: number, hidden: number, opts: st.nn.RecurrentOptions = {}) {
  return kind === 'lstm'
    ? new nn.LSTM(input, hidden, opts)
    : kind === 'gru'
      ? new nn.GRU(input, hidden, opts)
      : new nn.RNN(input, hidden, opts);
}

function runModule(
  m: ReturnType<typeof build>,
  x: Tensor,
  lengths?: number[],
): { out: Tensor; h: Tensor; c: Tensor | null } {
  if (m instanceof nn.LSTM) {
    const [out, [h, c]] = m.forward(x, undefined, { lengths });
    return { out, h, c };
  }
  const [out, h] = m.forward(x, undefined, { lengths });
  return { out, h, c: null };
}

/** x [T, B, I] as per-sample sequences. */
function sequences(x: Tensor): number[][][] {
  const [T, B, I] = x.shape as [number, number, number];
  const v = flat(x);
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: T }, (_, t) => v.slice((t * B + b) * I, (t * B + b + 1) * I)),
  );
}

for (const kind of ['tanh', 'lstm', 'gru'] as const) {
  test(`${kind}: outputs and final states equal the equations stepped by hand (3 steps, batch 2)`, () => {
    const m = build(kind, 3, 4);
    toFloat64(m, 11);
    const x = randomInput([3, 2, 3], 12);
    const { out, h, c } = runModule(m, x);
    assert.deepEqual(out.shape, [3, 2, 4]);
    assert.deepEqual(h.shape, [1, 2, 4]);
    const w = weights(m, '_l0');
    sequences(x).forEach((seq, b) => {
      const ref = reference(kind, seq, w, 4);
      ref.hs.forEach((hv, t) => {
        near(out.select(0, t).select(0, b), hv, 1e-12, `output t=${t} b=${b}`);
      });
      near(h.select(1, b), ref.hs[2]!, 1e-12, `h_n b=${b}`);
      if (c) near(c.select(1, b), ref.c, 1e-12, `c_n b=${b}`);
    });
  });

  test(`${kind}: gradients through 4 time steps match central differences (input, initial state, every weight)`, () => {
    const m = build(kind, 2, 3);
    toFloat64(m, 21);
    const names = m.namedParameters().map(([n]) => n);
    const x = randomInput([4, 2, 2], 22);
    const h0 = randomInput([1, 2, 3], 23).mul(0.5);
    const c0 = randomInput([1, 2, 3], 24).mul(0.5);
    const f = (xi: Tensor, hi: Tensor, ci: Tensor, ...ps: Tensor[]) => {
      names.forEach((n, i) => {
        (m as unknown as Record<string, Tensor>)[n] = ps[i]!;
      });
      if (m instanceof nn.LSTM) {
        const [out, [h, c]] = m.forward(xi, [hi, ci]);
        return [out, h, c];
      }
      const [out, h] = (m as st.nn.RNN).forward(xi, hi);
      return [out, h, ci.mul(0)];
    };
    const params = names.map((n) => Object.fromEntries(m.namedParameters())[n]!.detach());
    gradcheck(f, [x, h0, c0, ...params], { label: kind, fullLimit: 1000 });
  });

  test(`${kind}: cells take one step of the same layer`, () => {
    const cell =
      kind === 'lstm' ? new nn.LSTMCell(3, 4) : kind === 'gru' ? new nn.GRUCell(3, 4) : new nn.RNNCell(3, 4);
    toFloat64(cell, 31);
    assert.deepEqual(
      cell.namedParameters().map(([n, p]) => [n, p.shape]),
      [
        ['weight_ih', [(kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1) * 4, 3]],
        ['weight_hh', [(kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1) * 4, 4]],
        ['bias_ih', [(kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1) * 4]],
        ['bias_hh', [(kind === 'lstm' ? 4 : kind === 'gru' ? 3 : 1) * 4]],
      ],
    );
    const x = randomInput([2, 3], 32);
    const hPrev = randomInput([2, 4], 33);
    const cPrev = randomInput([2, 4], 34);
    const w = weights(cell, '');
    const got =
      cell instanceof nn.LSTMCell
        ? cell.forward(x, [hPrev, cPrev])
        : [(cell as st.nn.GRUCell).forward(x, hPrev), null];
    for (let b = 0; b < 2; b++) {
      const ref = reference(
        kind,
        [flat(x.select(0, b))],
        w,
        4,
        flat(hPrev.select(0, b)),
        flat(cPrev.select(0, b)),
      );
      near(got[0]!.select(0, b), ref.hs[0]!, 1e-12, `cell h b=${b}`);
      if (got[1]) near(got[1].select(0, b), ref.c, 1e-12, `cell c b=${b}`);
    }
  });
}

test('parameter names and shapes follow PyTorch: per layer and direction, weight_ih, weight_hh, bias_ih, bias_hh', () => {
  const lstm = new nn.LSTM(5, 7, { numLayers: 2, bidirectional: true });
  assert.deepEqual(
    lstm.namedParameters().map(([n, p]) => `${n} ${p.shape.join('x')}`),
    [
      'weight_ih_l0 28x5',
      'weight_hh_l0 28x7',
      'bias_ih_l0 28',
      'bias_hh_l0 28',
      'weight_ih_l0_reverse 28x5',
      'weight_hh_l0_reverse 28x7',
      'bias_ih_l0_reverse 28',
      'bias_hh_l0_reverse 28',
      'weight_ih_l1 28x14',
      'weight_hh_l1 28x7',
      'bias_ih_l1 28',
      'bias_hh_l1 28',
      'weight_ih_l1_reverse 28x14',
      'weight_hh_l1_reverse 28x7',
      'bias_ih_l1_reverse 28',
      'bias_hh_l1_reverse 28',
    ],
  );
  // PyTorch's default initialisation: U(±1/sqrt(hidden)).
  const bound = 1 / Math.sqrt(7);
  for (const p of lstm.parameters()) assert.ok(flat(p).every((v) => Math.abs(v) <= bound));
  assert.equal(new nn.GRU(3, 2, { bias: false }).namedParameters().length, 2);
});

test('bidirectional, two layers, batch first: the reverse direction reads the sequence from its end', () => {
  const m = new nn.GRU(2, 3, { numLayers: 2, bidirectional: true, batchFirst: true });
  toFloat64(m, 41);
  const x = randomInput([2, 4, 2], 42); // [B, T, I]
  const [out, h] = m.forward(x);
  assert.deepEqual(out.shape, [2, 4, 6]);
  assert.deepEqual(h.shape, [4, 2, 3]);
  for (let b = 0; b < 2; b++) {
    const seq = Array.from({ length: 4 }, (_, t) => flat(x.select(0, b).select(0, t)));
    const fwd = reference('gru', seq, weights(m, '_l0'), 3).hs;
    const bwd = reference('gru', [...seq].reverse(), weights(m, '_l0_reverse'), 3).hs.reverse();
    const layer1In = seq.map((_, t) => [...fwd[t]!, ...bwd[t]!]);
    const fwd1 = reference('gru', layer1In, weights(m, '_l1'), 3).hs;
    const bwd1 = reference('gru', [...layer1In].reverse(), weights(m, '_l1_reverse'), 3).hs.reverse();
    for (let t = 0; t < 4; t++)
      near(out.select(0, b).select(0, t), [...fwd1[t]!, ...bwd1[t]!], 1e-12, `out b=${b} t=${t}`);
    // h_n: layer 0 forward (last step), layer 0 reverse (first step), then layer 1.
    near(h.select(1, b), [...fwd[3]!, ...bwd[0]!, ...fwd1[3]!, ...bwd1[0]!], 1e-12, `h_n b=${b}`);
  }
});

test('variable lengths: padding steps output zeros and leave the state where the sequence ended', () => {
  const m = new nn.LSTM(2, 3, { bidirectional: true });
  toFloat64(m, 51);
  const x = randomInput([5, 2, 2], 52);
  const [out, [h, c]] = m.forward(x, undefined, { lengths: [5, 3] });
  // Sequence 1 stops after 3 steps: same as running its first 3 steps alone.
  const short = x.narrow(0, 0, 3).narrow(1, 1, 1);
  const [outShort, [hShort, cShort]] = m.forward(short);
  near(out.narrow(0, 0, 3).narrow(1, 1, 1), outShort, 1e-12, 'outputs within the length');
  near(out.narrow(0, 3, 2).narrow(1, 1, 1), new Array(12).fill(0), 0, 'outputs past the length');
  near(h.narrow(1, 1, 1), hShort, 1e-12, 'h_n');
  near(c.narrow(1, 1, 1), cShort, 1e-12, 'c_n');
  // Sequence 0 runs full length, unaffected.
  const [outFull] = m.forward(x.narrow(1, 0, 1));
  near(out.narrow(1, 0, 1), outFull, 1e-12, 'full-length sequence');
});

test('truncated BPTT: a detached carried state passes values on and stops gradients', () => {
  const m = new nn.RNN(2, 3);
  const x1 = st.randn([4, 1, 2]);
  const x2 = st.randn([4, 1, 2]);
  const [, h1] = m.forward(x1);
  const carried = nn.detachState(h1);
  assert.equal(carried.requiresGrad, false);
  near(carried, h1, 0, 'values carried');
  const [out2] = m.forward(x2, carried);
  out2.sum().backward();
  // The gradient reaches the weights through the second chunk only: equal to a fresh run from the carried state.
  const g1 = flat(m.parameters()[0]!.grad!);
  for (const p of m.parameters()) p.grad = null;
  const [out3] = m.forward(x2, carried.clone());
  out3.sum().backward();
  near(m.parameters()[0]!.grad!, g1, 1e-6, 'same gradient');
  const [state] = nn.detachState([h1, h1] as const);
  assert.equal(state.requiresGrad, false);
});

test('embedding: rows by id, gradients summed per id, none for the padding row', () => {
  const emb = new nn.Embedding(4, 2, { paddingIdx: 0 });
  near(emb.weight.select(0, 0), [0, 0], 0, 'padding row starts at zero');
  st.noGrad(() =>
    emb.weight.copy_(
      st.tensor([
        [9, 9],
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    ),
  );
  const ids = st.tensor(
    [
      [1, 0, 3],
      [3, 3, 2],
    ],
    { dtype: 'int32' },
  );
  const out = emb.forward(ids);
  assert.deepEqual(out.shape, [2, 3, 2]);
  near(out, [1, 2, 9, 9, 5, 6, 5, 6, 5, 6, 3, 4], 0, 'lookup');
  out.sum().backward();
  // Id 3 appears three times, 1 and 2 once, the padding id 0 passes nothing.
  near(emb.weight.grad!, [0, 0, 1, 1, 1, 1, 3, 3], 0, 'gradient');
});

test('bad input names the layer and the shapes', () => {
  const lstm = new nn.LSTM(3, 4, { numLayers: 2 });
  throwsStrata(() => lstm.forward(st.zeros([5, 2, 4])), /LSTM/, /\[time, batch, 3\]/, /\[5, 2, 4\]/);
  throwsStrata(
    () => lstm.forward(st.zeros([5, 2, 3]), [st.zeros([1, 2, 4]), st.zeros([2, 2, 4])]),
    /LSTM/,
    /hidden state h0 of shape \[2, 2, 4\]/,
    /\[1, 2, 4\]/,
  );
  throwsStrata(
    () => lstm.forward(st.zeros([5, 2, 3]), [st.zeros([2, 2, 4]), st.zeros([2, 3, 4])]),
    /cell state c0/,
  );
  throwsStrata(
    () => lstm.forward(st.zeros([5, 2, 3]), undefined, { lengths: [5, 5, 5] }),
    /lengths has 3 entries but the batch holds 2/,
  );
  throwsStrata(() => lstm.forward(st.zeros([5, 2, 3]), undefined, { lengths: [6, 2] }), /lengths\[0\] is 6/);
  throwsStrata(
    () => new nn.GRU(3, 4).forward(st.zeros([5, 2, 3]), st.zeros([1, 2, 5])),
    /GRU/,
    /\[1, 2, 4\]/,
  );
  throwsStrata(
    () => new nn.LSTMCell(3, 4).forward(st.zeros([2, 3]), [st.zeros([2, 5]), st.zeros([2, 4])]),
    /LSTMCell/,
    /hidden state h/,
  );
  const emb = new nn.Embedding(10, 4);
  throwsStrata(
    () => emb.forward(st.tensor([3, 10], { dtype: 'int32' })),
    /embedding/,
    /token id 10/,
    /\[0, 10\)/,
  );
  throwsStrata(() => emb.forward(st.tensor([-1], { dtype: 'int32' })), /token id -1/);
  throwsStrata(() => emb.forward(st.tensor([1.5])), /int32/);
  throwsStrata(() => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as 'tanh' }), /nonlinearity/);
  // The cells' pointwise ops check the projections against the state.
  throwsStrata(
    () => st.lstmCell(st.zeros([2, 8]), st.zeros([2, 8]), st.zeros([2, 3])),
    /lstmCell/,
    /\[2, 12\]/,
    /\[2, 8\]/,
  );
  throwsStrata(
    () => st.gruCell(st.zeros([2, 9]), st.zeros([2, 9]), st.zeros([2, 3], { dtype: 'float64' })),
    /gruCell/,
    /dtype/,
  );
});

test('unbatched input [T, I] and a single cell input [I] work as a batch of one', () => {
  const m = new nn.LSTM(2, 3);
  const x = st.randn([4, 2]);
  const [out, [h, c]] = m.forward(x);
  assert.deepEqual(
    [out.shape, h.shape, c.shape],
    [
      [4, 3],
      [1, 3],
      [1, 3],
    ],
  );
  const [outB] = m.forward(x.unsqueeze(1));
  near(out, outB.squeeze(1), 0, 'same as batch of one');
  assert.deepEqual(new nn.GRUCell(2, 3).forward(st.randn([2])).shape, [3]);
});

test('LSTM projSize: weight_hr per layer and direction, h and outputs of projSize, c of hiddenSize', () => {
  const lstm = new nn.LSTM(3, 5, { projSize: 2, numLayers: 2, bidirectional: true });
  const shapes = Object.fromEntries(lstm.namedParameters().map(([n, p]) => [n, p.shape]));
  assert.deepEqual(Object.keys(shapes).slice(0, 5), [
    'weight_ih_l0',
    'weight_hh_l0',
    'bias_ih_l0',
    'bias_hh_l0',
    'weight_hr_l0',
  ]);
  assert.deepEqual(shapes.weight_hh_l0, [20, 2]);
  assert.deepEqual(shapes.weight_hr_l0_reverse, [2, 5]);
  assert.deepEqual(shapes.weight_ih_l1, [20, 4]);
  const [out, [h, c]] = lstm.forward(st.randn([4, 3, 3]));
  assert.deepEqual(out.shape, [4, 3, 4]);
  assert.deepEqual(h.shape, [4, 3, 2]);
  assert.deepEqual(c.shape, [4, 3, 5]);
  throwsStrata(
    () => lstm.forward(st.randn([4, 3, 3]), [st.zeros([4, 3, 5]), st.zeros([4, 3, 5])]),
    /LSTM: expected the hidden state h0 of shape \[4, 3, 2\], got \[4, 3, 5\]/,
  );
  throwsStrata(
    () => new nn.LSTM(3, 5, { projSize: 5 }),
    /projSize must be an integer in \[0, hiddenSize 5\), got 5/,
  );
  throwsStrata(() => new nn.GRU(3, 5, { projSize: 2 } as never), /GRU: unknown option projSize/);
});

test('Embedding maxNorm rescales the rows it looks up, in place, to the norm bound', () => {
  const emb = new nn.Embedding(3, 2, { maxNorm: 1, dtype: 'float64' });
  st.noGrad(() =>
    emb.weight.copy_(
      st.tensor(
        [
          [3, 4],
          [0.6, 0.8],
          [6, 8],
        ],
        { dtype: 'float64' },
      ),
    ),
  );
  const out = emb.forward(st.tensor([0, 0, 1], { dtype: 'int32' }));
  // Row 0 (norm 5) becomes [3, 4] / (5 + 1e-7); row 1 (norm 1) stays; row 2 was not looked up.
  const s = 1 / (5 + 1e-7);
  near(out, [3 * s, 4 * s, 3 * s, 4 * s, 0.6, 0.8], 1e-15);
  near(emb.weight, [3 * s, 4 * s, 0.6, 0.8, 6, 8], 1e-15);
  // normType 1: |3| + |-1| = 4 > 2.
  const l1 = new nn.Embedding(1, 2, { maxNorm: 2, normType: 1, dtype: 'float64' });
  st.noGrad(() => l1.weight.copy_(st.tensor([[3, -1]], { dtype: 'float64' })));
  near(l1.forward(st.tensor([0], { dtype: 'int32' })), [(3 * 2) / (4 + 1e-7), -2 / (4 + 1e-7)], 1e-12);
  throwsStrata(() => new nn.Embedding(3, 2, { maxNorm: -1 }), /Embedding: maxNorm must be a positive number/);
});

test('recurrent and embedding constructors refuse positional extras, unknown options and bad sizes', () => {
  const LSTM = nn.LSTM as unknown as new (...args: unknown[]) => unknown;
  const Embedding = nn.Embedding as unknown as new (...args: unknown[]) => unknown;
  throwsStrata(
    () => new LSTM(10, 20, 2, true, true),
    /LSTM: takes at most 3 arguments, got 5; pass the rest by name: new LSTM\(10, 20, \{ numLayers: 2, bias: true, batchFirst: true \}\)/,
  );
  throwsStrata(
    () => new Embedding(10, 4, 0),
    /Embedding: expected an options object, got 0; pass options by name: new Embedding\(10, 4, \{ paddingIdx: 0 \}\)/,
  );
  throwsStrata(
    () => new nn.RNN(3, 4, { layers: 2 } as never),
    /RNN: unknown option layers; accepted: numLayers/,
  );
  throwsStrata(
    () => new nn.GRUCell(3, 4, { nonlinearity: 'tanh' } as never),
    /GRUCell: unknown option nonlinearity/,
  );
  throwsStrata(
    () => new nn.LSTM(3, 4, { dropout: 1 }),
    /LSTM: dropout must be a probability in \[0, 1\), got 1/,
  );
  throwsStrata(() => new nn.GRU(3, 0), /GRU: hiddenSize must be a positive integer, got 0/);
  throwsStrata(
    () => new nn.RNN(3, 4, { numLayers: 1.5 }),
    /RNN: numLayers must be a positive integer, got 1.5/,
  );
  throwsStrata(() => new nn.LSTMCell(3, 4, { bias: 'yes' as never }), /LSTMCell: bias must be true or false/);
  throwsStrata(
    () => new nn.Embedding(3, 2, { dtype: 'int32' as never }),
    /Embedding: dtype must be 'float32' or 'float64'/,
  );
});

test('recurrent layers, cells and embeddings refuse inputs and states that are not Tensors', () => {
  const notTensor = [[1, 2, 3]] as unknown as Tensor;
  throwsStrata(
    () => new nn.LSTM(3, 4).forward(notTensor),
    /LSTM: expected the input as a Tensor, got an array of length 1; wrap it with tensor/,
  );
  throwsStrata(
    () => new nn.GRU(3, 4).forward(st.zeros([2, 1, 3]), notTensor),
    /GRU: expected the hidden state h0 as a Tensor/,
  );
  throwsStrata(() => new nn.RNNCell(3, 4).forward(notTensor), /RNNCell: expected the input as a Tensor/);
  throwsStrata(
    () => new nn.LSTMCell(3, 4).forward(st.zeros([1, 3]), [notTensor, notTensor]),
    /LSTMCell: expected the hidden state h as a Tensor/,
  );
  throwsStrata(() => new nn.Embedding(3, 2).forward(notTensor), /Embedding: expected the ids as a Tensor/);
  throwsStrata(
    () =>
      (st.nn.embedding as (...args: unknown[]) => unknown)(
        st.tensor([0], { dtype: 'int32' }),
        st.zeros([2, 2]),
        null,
        1,
      ),
    /embedding: takes at most 3 arguments, got 4/,
  );
});

test('recurrent layers and cells create their parameters in the dtype asked for', () => {
  for (const m of [
    new nn.LSTM(3, 4, { dtype: 'float64', projSize: 2 }),
    new nn.GRUCell(3, 4, { dtype: 'float64' }),
    new nn.Embedding(3, 4, { dtype: 'float64' }),
  ]) {
    for (const [name, p] of m.namedParameters()) assert.equal(p.dtype, 'float64', name);
  }
  const [out] = new nn.GRU(2, 3, { dtype: 'float64' }).forward(st.zeros([4, 1, 2], { dtype: 'float64' }));
  assert.equal(out.dtype, 'float64');
});

test('recurrent forwards refuse extra arguments, unknown sequence options and a lone tensor for an LSTM state', () => {
  const lstm = new nn.LSTM(3, 4);
  const x = st.zeros([2, 1, 3]);
  throwsStrata(
    () => lstm.forward(x, st.zeros([1, 1, 4]) as never),
    /LSTM: expected the state as a pair \[h0, c0\], got a Tensor/,
  );
  throwsStrata(
    () => lstm.forward(x, undefined, { length: [2] } as never),
    /LSTM: unknown option length; accepted: lengths/,
  );
  throwsStrata(
    () =>
      (new nn.GRU(3, 4).forward as (...args: unknown[]) => unknown).call(
        new nn.GRU(3, 4),
        x,
        undefined,
        {},
        1,
      ),
    /GRU: takes at most 3 arguments, got 4/,
  );
  throwsStrata(
    () => new nn.LSTMCell(3, 4).forward(st.zeros([1, 3]), st.zeros([1, 4]) as never),
    /LSTMCell: expected the state as a pair \[h, c\]/,
  );
  throwsStrata(
    () => nn.detachState(7 as never),
    /detachState: expected a Tensor or an array of Tensors, got 7/,
  );
});

test('recurrent layers and cells refuse input of another dtype than their parameters, as PyTorch does', () => {
  // PyTorch 1.13: nn.LSTM(3, 4)(randn(5, 2, 3, dtype=float64)) raises "expected scalar type Float but
  // found Double" (likewise GRU, RNN and the cells); Strata used to return float64.
  const seq = st.randn([5, 2, 3], { dtype: 'float64' });
  const fix =
    /the input is float64 but the parameters are float32; convert the input with x\.cast\('float32'\), or the module with model\.double\(\)/;
  for (const [name, m] of [
    ['LSTM', new nn.LSTM(3, 4)],
    ['GRU', new nn.GRU(3, 4)],
    ['RNN', new nn.RNN(3, 4)],
  ] as const) {
    throwsStrata(() => m.forward(seq), new RegExp(`^${name}: `), fix);
    // As the message says: either conversion runs.
    assert.equal(m.forward(seq.cast('float32'))[0].dtype, 'float32');
    assert.equal(m.double().forward(seq)[0].dtype, 'float64');
  }
  for (const [name, m] of [
    ['LSTMCell', new nn.LSTMCell(3, 4)],
    ['GRUCell', new nn.GRUCell(3, 4)],
    ['RNNCell', new nn.RNNCell(3, 4)],
  ] as const) {
    throwsStrata(() => m.forward(seq.select(0, 0)), new RegExp(`^${name}: `), fix);
  }
});
