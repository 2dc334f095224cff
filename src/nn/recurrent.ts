import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { linear } from '../ops/linalg.js';
import { concat, stack } from '../ops/movement.js';
import { gruCell, lstmCell } from '../ops/recurrent.js';
import { tensor, zeros } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import {
  checkBoolean,
  checkInput,
  checkParamDType,
  checkPositive,
  layerOptions,
  type ParamDType,
  paramDType,
} from './checks.js';
import { dropout } from './dropout.js';
import { uniform_ } from './init.js';
import { Module, Parameter } from './module.js';

/**
 * Recurrent layers with PyTorch's equations, gate order and parameter names, so that weights move
 * between the two: Elman RNNs (tanh or ReLU), LSTM (gates i, f, g, o) and GRU (gates r, z, n). The
 * input-to-hidden products of a whole sequence run as one matrix product; only the hidden-to-hidden
 * product is taken step by step, then the gates as one op (src/ops/recurrent.ts, fused on native).
 * Backpropagation through time is the autograd tape over the steps; truncated BPTT carries the final
 * state into the next chunk through `detachState`.
 */

export type CellKind = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';

const GATES: Record<CellKind, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };

const NAMES: Record<CellKind, string> = { rnn_tanh: 'RNN', rnn_relu: 'RNN', lstm: 'LSTM', gru: 'GRU' };

/**
 * One step: from the input's projection xw = x W_ihᵀ + b_ih [B, G·H] and the state (h, and c for an
 * LSTM) to the next state. An LSTM with a projection (PyTorch's proj_size) carries h = h' W_hrᵀ.
 */
function step(
  kind: CellKind,
  xw: Tensor,
  h: Tensor,
  c: Tensor | null,
  wHh: Tensor,
  bHh: Tensor | null,
  wHr: Tensor | null = null,
): [Tensor, Tensor | null] {
  const hw = linear(h, wHh, bHh);
  switch (kind) {
    case 'rnn_tanh':
      return [xw.add(hw).tanh(), null];
    case 'rnn_relu':
      return [xw.add(hw).relu(), null];
    case 'lstm': {
      const [h2, c2] = lstmCell(xw, hw, c!);
      return [wHr ? linear(h2, wHr) : h2, c2];
    }
    case 'gru':
      return [gruCell(xw, hw, h), null];
  }
}

/** PyTorch's initialisation of every recurrent weight and bias: U(±1/sqrt(hidden)). */
function recurrentParam(shape: number[], hidden: number, dtype: ParamDType): Parameter {
  const bound = 1 / Math.sqrt(hidden);
  return new Parameter(uniform_(zeros(shape, { dtype }), -bound, bound));
}

/** An LSTM's state comes as a pair [h, c]: a lone tensor would otherwise read as h with c missing. */
function checkPair(op: string, state: unknown, form: string): void {
  if (state !== undefined && !(Array.isArray(state) && state.length === 2))
    fail(op, `expected the state as a pair ${form}, got ${describe(state)}`);
}

function checkState(op: string, what: string, t: Tensor, want: readonly number[], like: Tensor): void {
  checkInput(op, t, what);
  if (t.rank !== want.length || t.shape.some((d, i) => d !== want[i]))
    fail(op, `expected the ${what} of shape ${fmtShape(want)}, got ${fmtShape(t.shape)}`);
  if (t.dtype !== like.dtype) fail(op, `the ${what} is ${t.dtype} but the input is ${like.dtype}`);
}

// ---------------------------------------------------------------------------------------------------
// Cells: one step, for loops written by hand.

export interface CellOptions {
  bias?: boolean;
  /** The parameters' dtype (default float32). */
  dtype?: ParamDType;
}

const CELL_KEYS = ['bias', 'dtype'] as const;

abstract class CellBase<State> extends Module<[Tensor, State?], State> {
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  constructor(
    protected readonly kind: CellKind,
    readonly inputSize: number,
    readonly hiddenSize: number,
    { bias = true, dtype }: CellOptions = {},
  ) {
    super();
    const op = this.constructor.name;
    checkPositive(op, 'inputSize', inputSize);
    checkPositive(op, 'hiddenSize', hiddenSize);
    checkBoolean(op, 'bias', bias);
    const type = paramDType(op, dtype);
    const rows = GATES[kind] * hiddenSize;
    this.weight_ih = recurrentParam([rows, inputSize], hiddenSize, type);
    this.weight_hh = recurrentParam([rows, hiddenSize], hiddenSize, type);
    this.bias_ih = bias ? recurrentParam([rows], hiddenSize, type) : null;
    this.bias_hh = bias ? recurrentParam([rows], hiddenSize, type) : null;
  }

  /** The input as a batch [B, inputSize] (a single input [inputSize] counts as a batch of one). */
  protected batch(x: Tensor): Tensor {
    const op = this.constructor.name;
    checkInput(op, x);
    if ((x.rank !== 1 && x.rank !== 2) || x.shape[x.rank - 1] !== this.inputSize)
      fail(
        op,
        `expected an input [batch, ${this.inputSize}] or [${this.inputSize}], got ${fmtShape(x.shape)}`,
      );
    checkParamDType(op, x, this.weight_ih);
    return x.rank === 1 ? x.unsqueeze(0) : x;
  }

  protected state(op: string, what: string, t: Tensor | undefined, x: Tensor, batched: boolean): Tensor {
    const want = [x.shape[0]!, this.hiddenSize];
    if (!t) return zeros(want, { dtype: x.dtype });
    const s = batched ? t : t.rank === 1 ? t.unsqueeze(0) : t;
    checkState(op, what, s, want, x);
    return s;
  }

  protected advance(x: Tensor, h: Tensor, c: Tensor | null): [Tensor, Tensor | null] {
    return step(this.kind, linear(x, this.weight_ih, this.bias_ih), h, c, this.weight_hh, this.bias_hh);
  }

  protected override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih ? '' : ', bias=false'}`;
  }
}

/** h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or ReLU), PyTorch's RNNCell. */
export class RNNCell extends CellBase<Tensor> {
  constructor(
    inputSize: number,
    hiddenSize: number,
    options?: CellOptions & { nonlinearity?: 'tanh' | 'relu' },
  ) {
    const { nonlinearity = 'tanh', ...o } = layerOptions<CellOptions & { nonlinearity?: 'tanh' | 'relu' }>(
      'RNNCell',
      arguments,
      2,
      options,
      ['bias', 'nonlinearity'],
      [...CELL_KEYS, 'nonlinearity'],
    );
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu')
      fail('RNNCell', `nonlinearity must be 'tanh' or 'relu', got '${nonlinearity}'`);
    super(nonlinearity === 'tanh' ? 'rnn_tanh' : 'rnn_relu', inputSize, hiddenSize, o);
  }

  forward(x: Tensor, h?: Tensor): Tensor {
    checkArity('RNNCell', arguments, 2, 'cell.forward(x, h)');
    const xb = this.batch(x);
    const out = this.advance(xb, this.state('RNNCell', 'hidden state', h, xb, x.rank === 2), null)[0];
    return x.rank === 1 ? out.squeeze(0) : out;
  }
}

/** PyTorch's LSTMCell: the state is [h, c]; gates i, f, g, o in that order in the weights' rows. */
export class LSTMCell extends CellBase<[Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, options?: CellOptions) {
    super(
      'lstm',
      inputSize,
      hiddenSize,
      layerOptions('LSTMCell', arguments, 2, options, ['bias'], [...CELL_KEYS]),
    );
  }

  forward(x: Tensor, state?: [Tensor, Tensor]): [Tensor, Tensor] {
    checkArity('LSTMCell', arguments, 2, 'cell.forward(x, [h, c])');
    checkPair('LSTMCell', state, '[h, c]');
    const xb = this.batch(x);
    const batched = x.rank === 2;
    const h = this.state('LSTMCell', 'hidden state h', state?.[0], xb, batched);
    const c = this.state('LSTMCell', 'cell state c', state?.[1], xb, batched);
    const [h2, c2] = this.advance(xb, h, c) as [Tensor, Tensor];
    return batched ? [h2, c2] : [h2.squeeze(0), c2.squeeze(0)];
  }
}

/** PyTorch's GRUCell: gates r, z, n in that order in the weights' rows. */
export class GRUCell extends CellBase<Tensor> {
  constructor(inputSize: number, hiddenSize: number, options?: CellOptions) {
    super(
      'gru',
      inputSize,
      hiddenSize,
      layerOptions('GRUCell', arguments, 2, options, ['bias'], [...CELL_KEYS]),
    );
  }

  forward(x: Tensor, h?: Tensor): Tensor {
    checkArity('GRUCell', arguments, 2, 'cell.forward(x, h)');
    const xb = this.batch(x);
    const out = this.advance(xb, this.state('GRUCell', 'hidden state', h, xb, x.rank === 2), null)[0];
    return x.rank === 1 ? out.squeeze(0) : out;
  }
}

// ---------------------------------------------------------------------------------------------------
// Layers over whole sequences.

export interface RecurrentOptions {
  /** Stacked layers, each reading the previous one's output sequence (default 1). */
  numLayers?: number;
  bias?: boolean;
  /** Input and output as [batch, time, features] instead of [time, batch, features]. */
  batchFirst?: boolean;
  /** Dropout on the output of every layer but the last, in training (default 0). */
  dropout?: number;
  /** A second pass over each sequence from its end; outputs concatenated, states stacked per direction. */
  bidirectional?: boolean;
  /** Where the dropout masks come from (default: the global generator); a training run passes its own. */
  generator?: Generator;
  /** The parameters' dtype (default float32). */
  dtype?: ParamDType;
}

export interface LSTMOptions extends RecurrentOptions {
  /**
   * Projects each step's h [H] to [projSize] by weight_hr (PyTorch's proj_size, 0 for none, below
   * hiddenSize): the outputs and h carry projSize features, c keeps hiddenSize.
   */
  projSize?: number;
}

const RECURRENT_POSITIONAL = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'projSize'];
const RECURRENT_KEYS = [
  'numLayers',
  'bias',
  'batchFirst',
  'dropout',
  'bidirectional',
  'generator',
  'dtype',
] as const;

export interface SequenceOptions {
  /**
   * The true length of each sequence of the batch (the rest is padding): steps past a sequence's end
   * leave its state unchanged and output zeros, as PyTorch's packed sequences do.
   */
  lengths?: readonly number[] | Tensor;
}

abstract class RecurrentBase<State> extends Module<[Tensor, State?, SequenceOptions?], [Tensor, State]> {
  readonly numLayers: number;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** Features of h and of the outputs per direction: projSize when an LSTM projects, else hiddenSize. */
  readonly outputSize: number;
  private readonly hasBias: boolean;
  private readonly generator: Generator | undefined;

  constructor(
    protected readonly kind: CellKind,
    readonly inputSize: number,
    readonly hiddenSize: number,
    {
      numLayers = 1,
      bias = true,
      batchFirst = false,
      dropout = 0,
      bidirectional = false,
      generator,
      dtype,
      projSize = 0,
    }: LSTMOptions = {},
  ) {
    super();
    const op = NAMES[kind];
    checkPositive(op, 'inputSize', inputSize);
    checkPositive(op, 'hiddenSize', hiddenSize);
    checkPositive(op, 'numLayers', numLayers);
    checkBoolean(op, 'bias', bias);
    checkBoolean(op, 'batchFirst', batchFirst);
    checkBoolean(op, 'bidirectional', bidirectional);
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
      fail(op, `dropout must be a probability in [0, 1), got ${describe(dropout)}`);
    if (!Number.isInteger(projSize) || projSize < 0 || projSize >= hiddenSize)
      fail(op, `projSize must be an integer in [0, hiddenSize ${hiddenSize}), got ${describe(projSize)}`);
    const type = paramDType(op, dtype);
    this.numLayers = numLayers;
    this.batchFirst = batchFirst;
    this.dropout = dropout;
    this.bidirectional = bidirectional;
    this.outputSize = projSize || hiddenSize;
    this.hasBias = bias;
    this.generator = generator;
    const rows = GATES[kind] * hiddenSize;
    // PyTorch's names and order: per layer, per direction, weight_ih, weight_hh, bias_ih, bias_hh, weight_hr.
    const own = this as unknown as Record<string, Parameter>;
    for (let layer = 0; layer < numLayers; layer++) {
      const inSize = layer === 0 ? inputSize : this.outputSize * this.directions;
      for (let d = 0; d < this.directions; d++) {
        const suffix = `_l${layer}${d === 1 ? '_reverse' : ''}`;
        own[`weight_ih${suffix}`] = recurrentParam([rows, inSize], hiddenSize, type);
        own[`weight_hh${suffix}`] = recurrentParam([rows, this.outputSize], hiddenSize, type);
        if (bias) {
          own[`bias_ih${suffix}`] = recurrentParam([rows], hiddenSize, type);
          own[`bias_hh${suffix}`] = recurrentParam([rows], hiddenSize, type);
        }
        if (projSize) own[`weight_hr${suffix}`] = recurrentParam([projSize, hiddenSize], hiddenSize, type);
      }
    }
  }

  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** The parameter named as PyTorch names it (weight_ih_l0, bias_hh_l1_reverse, ...). */
  param(name: string): Parameter | null {
    return (this as unknown as Record<string, Parameter | undefined>)[name] ?? null;
  }

  /**
   * Runs every layer over x; returns the last layer's outputs [T, B, D·P] (time-major) and the final
   * states (h [L·D, B, P], and c [L·D, B, H] for an LSTM), P the outputSize.
   */
  protected run(
    x: Tensor,
    h0: Tensor | undefined,
    c0: Tensor | undefined,
    options: SequenceOptions | undefined,
  ): { output: Tensor; h: Tensor; c: Tensor | null } {
    const op = NAMES[this.kind];
    const opts = checkOptions(op, options, ['lengths']);
    checkInput(op, x);
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[x.rank - 1] !== this.inputSize) {
      fail(
        op,
        `expected an input ${this.batchFirst ? '[batch, time' : '[time, batch'}, ${this.inputSize}] (or [time, ${this.inputSize}] unbatched), got ${fmtShape(x.shape)}`,
      );
    }
    checkParamDType(op, x, this.param('weight_ih_l0')!);
    const batched = x.rank === 3;
    let seq = batched ? (this.batchFirst ? x.transpose(0, 1) : x) : x.unsqueeze(1);
    const [steps, batch] = seq.shape as [number, number];
    const initial = (t: Tensor | undefined, what: string, features: number): Tensor => {
      const stateShape = [this.numLayers * this.directions, batch, features];
      if (!t) return zeros(stateShape, { dtype: x.dtype });
      checkInput(op, t, what);
      const s = batched ? t : t.rank === 2 ? t.unsqueeze(1) : t;
      checkState(op, what, s, stateShape, x);
      return s;
    };
    const hInit = initial(h0, 'hidden state h0', this.outputSize);
    const cInit = this.kind === 'lstm' ? initial(c0, 'cell state c0', this.hiddenSize) : null;
    const masks = this.masks(op, opts.lengths, steps, batch, x);
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < this.directions; d++) {
        const k = layer * this.directions + d;
        const r = this.direction(seq, layer, d, hInit.select(0, k), cInit?.select(0, k) ?? null, masks);
        outs.push(r.output);
        hs.push(r.h);
        if (r.c) cs.push(r.c);
      }
      seq = outs.length === 1 ? outs[0]! : concat(outs, 2);
      if (layer < this.numLayers - 1 && this.dropout > 0)
        seq = dropout(seq, this.dropout, this.training, this.generator);
    }
    const output = batched ? (this.batchFirst ? seq.transpose(0, 1) : seq) : seq.squeeze(1);
    const unbatch = (t: Tensor) => (batched ? t : t.squeeze(1));
    return { output, h: unbatch(stack(hs, 0)), c: cs.length ? unbatch(stack(cs, 0)) : null };
  }

  /** Per step, a [B, 1] mask of the sequences still running, or null when every sequence is full length. */
  private masks(
    op: string,
    lengths: readonly number[] | Tensor | undefined,
    steps: number,
    batch: number,
    x: Tensor,
  ): Tensor[] | null {
    if (lengths === undefined) return null;
    const list = lengths instanceof Tensor ? Array.from(lengths.toTypedArray()) : [...lengths];
    if (list.length !== batch)
      fail(op, `lengths has ${list.length} entries but the batch holds ${batch} sequences`);
    list.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 1 || n > steps)
        fail(
          op,
          `lengths[${i}] is ${n}, but a sequence must have between 1 and ${steps} steps (the input's time axis)`,
        );
    });
    if (list.every((n) => n === steps)) return null;
    return Array.from({ length: steps }, (_, t) =>
      tensor(
        list.map((n) => [t < n ? 1 : 0]),
        { dtype: x.dtype },
      ),
    );
  }

  /** One layer, one direction, over seq [T, B, in]. */
  private direction(
    seq: Tensor,
    layer: number,
    d: number,
    h0: Tensor,
    c0: Tensor | null,
    masks: Tensor[] | null,
  ): { output: Tensor; h: Tensor; c: Tensor | null } {
    const suffix = `_l${layer}${d === 1 ? '_reverse' : ''}`;
    const [steps, batch, inSize] = seq.shape as [number, number, number];
    const wHh = this.param(`weight_hh${suffix}`)!;
    const bHh = this.param(`bias_hh${suffix}`);
    const wHr = this.param(`weight_hr${suffix}`);
    // The input's part of every step at once: [T·B, in] × W_ihᵀ.
    const xw = linear(
      seq.reshape([steps * batch, inSize]),
      this.param(`weight_ih${suffix}`)!,
      this.param(`bias_ih${suffix}`),
    ).reshape([steps, batch, -1]);
    let h = h0;
    let c = c0;
    const outputs: Tensor[] = new Array(steps);
    for (let i = 0; i < steps; i++) {
      const t = d === 0 ? i : steps - 1 - i;
      const [h2, c2] = step(this.kind, xw.select(0, t), h, c, wHh, bHh, wHr);
      const m = masks?.[t];
      if (m) {
        // Finished sequences keep their state and output zeros.
        const running = m.gt(0);
        h = where(running, h2, h);
        if (c2) c = where(running, c2, c!);
        outputs[t] = h2.mul(m);
      } else {
        h = h2;
        c = c2;
        outputs[t] = h2;
      }
    }
    return { output: stack(outputs, 0), h, c };
  }

  protected override extraRepr(): string {
    const extra = [
      this.numLayers !== 1 ? `numLayers=${this.numLayers}` : '',
      this.hasBias ? '' : 'bias=false',
      this.batchFirst ? 'batchFirst=true' : '',
      this.dropout ? `dropout=${this.dropout}` : '',
      this.bidirectional ? 'bidirectional=true' : '',
      this.outputSize !== this.hiddenSize ? `projSize=${this.outputSize}` : '',
    ].filter(Boolean);
    return [`${this.inputSize}, ${this.hiddenSize}`, ...extra].join(', ');
  }
}

/**
 * PyTorch's RNN (Elman): h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), or ReLU.
 *
 *     const rnn = new RNN(10, 20, { numLayers: 2, batchFirst: true });
 *     const [output, hN] = rnn.forward(x); // x [B, T, 10] -> output [B, T, 20], hN [2, B, 20]
 */
export class RNN extends RecurrentBase<Tensor> {
  constructor(
    inputSize: number,
    hiddenSize: number,
    options?: RecurrentOptions & { nonlinearity?: 'tanh' | 'relu' },
  ) {
    const { nonlinearity = 'tanh', ...o } = layerOptions<
      RecurrentOptions & { nonlinearity?: 'tanh' | 'relu' }
    >('RNN', arguments, 2, options, RECURRENT_POSITIONAL, [...RECURRENT_KEYS, 'nonlinearity']);
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu')
      fail('RNN', `nonlinearity must be 'tanh' or 'relu', got '${nonlinearity}'`);
    super(nonlinearity === 'tanh' ? 'rnn_tanh' : 'rnn_relu', inputSize, hiddenSize, o);
  }

  forward(x: Tensor, h0?: Tensor, opts?: SequenceOptions): [Tensor, Tensor] {
    checkArity(
      NAMES[this.kind],
      arguments,
      3,
      `${NAMES[this.kind].toLowerCase()}.forward(x, h0, { lengths })`,
    );
    const r = this.run(x, h0, undefined, opts);
    return [r.output, r.h];
  }
}

/**
 * PyTorch's LSTM (Hochreiter & Schmidhuber, 1997, with forget gates): per step i, f, g, o =
 * σ, σ, tanh, σ of x W_ihᵀ + b_ih + h W_hhᵀ + b_hh; c' = f c + i g; h' = o tanh(c').
 *
 * With `projSize` P, h' = (o tanh(c')) W_hrᵀ carries P features (Sak et al., 2014; PyTorch's proj_size).
 *
 *     const lstm = new LSTM(128, 256, { batchFirst: true });
 *     const [output, [hN, cN]] = lstm.forward(x, [h0, c0]);
 */
export class LSTM extends RecurrentBase<[Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, options?: LSTMOptions) {
    const keys = [...RECURRENT_KEYS, 'projSize'] as const;
    super(
      'lstm',
      inputSize,
      hiddenSize,
      layerOptions('LSTM', arguments, 2, options, RECURRENT_POSITIONAL, keys),
    );
  }

  forward(x: Tensor, state?: [Tensor, Tensor], opts?: SequenceOptions): [Tensor, [Tensor, Tensor]] {
    checkArity('LSTM', arguments, 3, 'lstm.forward(x, [h0, c0], { lengths })');
    checkPair('LSTM', state, '[h0, c0]');
    const r = this.run(x, state?.[0], state?.[1], opts);
    return [r.output, [r.h, r.c!]];
  }
}

/**
 * PyTorch's GRU (Cho et al., 2014): r, z = σ(...), n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)),
 * h' = (1 - z) n + z h.
 */
export class GRU extends RecurrentBase<Tensor> {
  constructor(inputSize: number, hiddenSize: number, options?: RecurrentOptions) {
    super(
      'gru',
      inputSize,
      hiddenSize,
      layerOptions('GRU', arguments, 2, options, RECURRENT_POSITIONAL, [...RECURRENT_KEYS]),
    );
  }

  forward(x: Tensor, h0?: Tensor, opts?: SequenceOptions): [Tensor, Tensor] {
    checkArity(
      NAMES[this.kind],
      arguments,
      3,
      `${NAMES[this.kind].toLowerCase()}.forward(x, h0, { lengths })`,
    );
    const r = this.run(x, h0, undefined, opts);
    return [r.output, r.h];
  }
}

/** A recurrent state cut from the graph, for truncated BPTT: the values carry on, the gradients stop. */
export function detachState<S extends Tensor | readonly Tensor[]>(state: S): S {
  checkArity('detachState', arguments, 1, 'detachState([h, c])');
  if (!(state instanceof Tensor) && !(Array.isArray(state) && state.every((t) => t instanceof Tensor)))
    fail('detachState', `expected a Tensor or an array of Tensors, got ${describe(state)}`);
  return (state instanceof Tensor ? state.detach() : state.map((t) => t.detach())) as S;
}
