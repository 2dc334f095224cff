import { fail, fmtShape } from '../errors.js';
import { Linear } from '../nn/layers.js';
import { Module, Parameter } from '../nn/module.js';
import { LSTM, LSTMCell } from '../nn/recurrent.js';
import { sigmoid, tanh } from '../ops/elementwise.js';
import { softmax, softplus } from '../ops/functional.js';
import { concat, stack } from '../ops/movement.js';
import { full, tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

// The addressing of a neural Turing machine (Graves, Wayne & Danihelka 2014, §3.3), one function per
// stage, each batched over B memories of N rows of width M. They are compositions of differentiable ops,
// so they are differentiable to any order.

/** Added under the square roots of the norms (a zero key or row has cosine 0, not NaN). */
const NORM_EPS = 1e-12;
/** Added to a weighting before its logarithm in sharpen (a weight of exactly 0 stays finite). */
const SHARPEN_EPS = 1e-12;

function checkRank(op: string, name: string, x: Tensor, rank: number, form: string): void {
  if (x.rank !== rank) fail(op, `${name} must be ${form}, got ${fmtShape(x.shape)}`);
}

function checkMemory(op: string, memory: Tensor): [number, number, number] {
  checkRank(op, 'the memory', memory, 3, '[B, N, M] (B memories of N rows of width M)');
  return memory.shape as unknown as [number, number, number];
}

/** A per-memory scalar as [B, 1]: [B] and [B, 1] are taken. */
function scalarPerRow(op: string, name: string, x: Tensor, b: number): Tensor {
  if (x.rank === 1 && x.shape[0] === b) return x.reshape([b, 1]);
  if (x.rank === 2 && x.shape[0] === b && x.shape[1] === 1) return x;
  return fail(op, `${name} must be [${b}] or [${b}, 1] (one per memory), got ${fmtShape(x.shape)}`);
}

function checkWeighting(op: string, name: string, w: Tensor, b: number, n: number): void {
  if (w.rank !== 2 || w.shape[0] !== b || w.shape[1] !== n)
    fail(op, `${name} must be [${b}, ${n}] (a weighting over the ${n} rows), got ${fmtShape(w.shape)}`);
}

function checkVector(op: string, name: string, v: Tensor, b: number, m: number): void {
  if (v.rank !== 2 || v.shape[0] !== b || v.shape[1] !== m)
    fail(
      op,
      `${name} must be [${b}, ${m}] (one vector of the row width per memory), got ${fmtShape(v.shape)}`,
    );
}

/**
 * The cosine similarity K[k, M(i)] = k·M(i) / (‖k‖ ‖M(i)‖) of a key `key` [B, M] with every row of
 * `memory` [B, N, M] (eq. 6), as [B, N]. The norms are √(Σx² + 10⁻¹²), so a zero row scores 0.
 *
 *     const memory = tensor([[[1, 0], [0, 2], [-3, 0]]]);
 *     cosineSimilarity(tensor([[2, 0]]), memory).tolist() // → [[1, 0, -1]]
 */
export function cosineSimilarity(key: Tensor, memory: Tensor): Tensor {
  const op = 'cosineSimilarity';
  const [b, , m] = checkMemory(op, memory);
  checkVector(op, 'the key', key, b, m);
  const dots = memory.matmul(key.unsqueeze(2)).squeeze(2);
  const keyNorm = key.mul(key).sum(1, true).add(NORM_EPS).sqrt();
  const rowNorms = memory.mul(memory).sum(2).add(NORM_EPS).sqrt();
  return dots.div(rowNorms.mul(keyNorm));
}

/**
 * Content addressing (eqs. 5–6): w_c(i) = softmax_i(β K[k, M(i)]), the cosine similarity of the key with
 * each row sharpened by the key strength β ≥ 0 [B] or [B, 1]. Returns [B, N], each row summing to 1.
 *
 *     const memory = tensor([[[1, 0], [0, 1]]]);
 *     const w = contentAddressing(tensor([[1, 0]]), tensor([50]), memory);
 *     w.argmax(1).tolist() // → [0]
 */
export function contentAddressing(key: Tensor, strength: Tensor, memory: Tensor): Tensor {
  const op = 'contentAddressing';
  const [b] = checkMemory(op, memory);
  const beta = scalarPerRow(op, 'the key strength β', strength, b);
  return softmax(cosineSimilarity(key, memory).mul(beta), 1);
}

/**
 * Interpolation (eq. 7): w_g = g w_c + (1 − g) w_{t−1}, the content weighting `content` [B, N] and the
 * previous weighting `previous` [B, N] mixed by the gate g ∈ [0, 1], [B] or [B, 1].
 *
 *     interpolateWeighting(tensor([[1, 0]]), tensor([[0, 1]]), tensor([0.25])).tolist() // → [[0.25, 0.75]]
 */
export function interpolateWeighting(content: Tensor, previous: Tensor, gate: Tensor): Tensor {
  const op = 'interpolateWeighting';
  checkRank(op, 'the content weighting', content, 2, '[B, N]');
  const [b, n] = content.shape as unknown as [number, number];
  checkWeighting(op, 'the previous weighting', previous, b, n);
  const g = scalarPerRow(op, 'the gate g', gate, b);
  return content.mul(g).add(previous.mul(g.neg().add(1)));
}

/**
 * The rotation (eq. 8): w̃(i) = Σ_j w(j) s(i − j), indices modulo N — the circular convolution of a
 * weighting `weighting` [B, N] with a shift distribution `shift` [B, 2R + 1] over the shifts −R..R (its
 * column R + k is the weight of moving every weight k rows on). R < N.
 *
 *     circularShift(tensor([[1, 0, 0, 0]]), tensor([[0, 0, 1]])).tolist() // → [[0, 1, 0, 0]]
 */
export function circularShift(weighting: Tensor, shift: Tensor): Tensor {
  const op = 'circularShift';
  checkRank(op, 'the weighting', weighting, 2, '[B, N]');
  const [b, n] = weighting.shape as unknown as [number, number];
  if (shift.rank !== 2 || shift.shape[0] !== b || shift.shape[1]! % 2 !== 1)
    fail(op, `the shift distribution must be [${b}, 2R + 1] (shifts −R..R), got ${fmtShape(shift.shape)}`);
  const range = (shift.shape[1]! - 1) / 2;
  if (range >= n) fail(op, `the shift range ${range} must be below the ${n} rows`);
  let out: Tensor | null = null;
  for (let k = -range; k <= range; k++) {
    // rolled(i) = w(i − k): the last k rows come round to the front.
    const s = ((k % n) + n) % n;
    const rolled =
      s === 0 ? weighting : concat([weighting.narrow(1, n - s, s), weighting.narrow(1, 0, n - s)], 1);
    const term = rolled.mul(shift.narrow(1, k + range, 1));
    out = out ? out.add(term) : term;
  }
  return out!;
}

/**
 * Sharpening (eq. 9): w(i) = w̃(i)^γ / Σ_j w̃(j)^γ with γ ≥ 1 [B] or [B, 1], computed as
 * softmax_i(γ log(w̃(i) + 10⁻¹²)) so that a large γ neither underflows nor divides by zero.
 *
 *     sharpen(tensor([[0.5, 0.25, 0.25]]), tensor([2])).tolist() // → [[0.6667, 0.1667, 0.1667]]
 */
export function sharpen(weighting: Tensor, sharpness: Tensor): Tensor {
  const op = 'sharpen';
  checkRank(op, 'the weighting', weighting, 2, '[B, N]');
  const gamma = scalarPerRow(op, 'the sharpening γ', sharpness, weighting.shape[0]!);
  return softmax(weighting.add(SHARPEN_EPS).log().mul(gamma), 1);
}

/**
 * Reading (eq. 2): r = Σ_i w(i) M(i), the rows of `memory` [B, N, M] weighted by `weighting` [B, N], as [B, M].
 *
 *     memoryRead(tensor([[[1, 2], [3, 4]]]), tensor([[0.5, 0.5]])).tolist() // → [[2, 3]]
 */
export function memoryRead(memory: Tensor, weighting: Tensor): Tensor {
  const op = 'memoryRead';
  const [b, n] = checkMemory(op, memory);
  checkWeighting(op, 'the weighting', weighting, b, n);
  return weighting.unsqueeze(1).matmul(memory).squeeze(1);
}

/**
 * Writing (eqs. 3–4): erase, M̃(i) = M(i) ⊙ (1 − w(i) e), then add, M(i) = M̃(i) + w(i) a, with the
 * erase vector e ∈ [0, 1]^M and the add vector a, both [B, M]. Returns the new memory [B, N, M].
 *
 *     const memory = tensor([[[1, 1], [1, 1]]]);
 *     memoryWrite(memory, tensor([[1, 0]]), tensor([[1, 1]]), tensor([[5, 6]])).tolist() // → [[[5, 6], [1, 1]]]
 */
export function memoryWrite(memory: Tensor, weighting: Tensor, erase: Tensor, add: Tensor): Tensor {
  return memoryWrites(memory, [{ weighting, erase, add }], 'memoryWrite');
}

/** One write head's weighting [B, N], erase vector and add vector [B, M]. */
export interface HeadWrite {
  weighting: Tensor;
  erase: Tensor;
  add: Tensor;
}

/**
 * Several write heads at once (§3.2): every head's erase, then every head's add, each from the weighting it
 * computed on the memory before the step (the erasures commute, and so do the adds), so no head's erase
 * removes another's add. One head is memoryWrite.
 *
 *     const memory = tensor([[[1, 1], [1, 1]]]);
 *     const adds = { weighting: tensor([[1, 0]]), erase: tensor([[0, 0]]), add: tensor([[5, 6]]) };
 *     const erases = { weighting: tensor([[1, 0]]), erase: tensor([[1, 1]]), add: tensor([[0, 0]]) };
 *     memoryWrites(memory, [adds, erases]).tolist() // → [[[5, 6], [1, 1]]]
 */
export function memoryWrites(memory: Tensor, heads: readonly HeadWrite[], op = 'memoryWrites'): Tensor {
  const [b, n, m] = checkMemory(op, memory);
  if (heads.length === 0) fail(op, 'no write heads: give at least one { weighting, erase, add }');
  let kept = memory;
  let added: Tensor | null = null;
  for (const h of heads) {
    checkWeighting(op, 'the weighting', h.weighting, b, n);
    checkVector(op, 'the erase vector', h.erase, b, m);
    checkVector(op, 'the add vector', h.add, b, m);
    const w = h.weighting.unsqueeze(2);
    kept = kept.mul(w.matmul(h.erase.unsqueeze(1)).neg().add(1));
    const a = w.matmul(h.add.unsqueeze(1));
    added = added ? added.add(a) : a;
  }
  return kept.add(added!);
}

/** One head's addressing parameters, already in their ranges (see NTM for the maps that put them there). */
export interface HeadAddressing {
  /** k [B, M]. */
  key: Tensor;
  /** β ≥ 0, [B, 1]. */
  strength: Tensor;
  /** g ∈ (0, 1), [B, 1]. */
  gate: Tensor;
  /** s [B, 2R + 1], a distribution over the shifts −R..R. */
  shift: Tensor;
  /** γ ≥ 1, [B, 1]. */
  sharpness: Tensor;
}

/**
 * The whole addressing of Fig. 2: content addressing, interpolation with the previous weighting,
 * the circular shift and sharpening, from one head's parameters. Returns the weighting w_t [B, N].
 *
 *     const memory = tensor([[[1, 0], [0, 1], [1, 1]]]);
 *     const head = { key: tensor([[1, 0]]), strength: tensor([[1]]), gate: tensor([[0]]), shift: tensor([[0, 0, 1]]), sharpness: tensor([[1]]) };
 *     ntmAddress(head, memory, tensor([[1, 0, 0]])).tolist() // → [[0, 1, 0]]
 */
export function ntmAddress(head: HeadAddressing, memory: Tensor, previous: Tensor): Tensor {
  const content = contentAddressing(head.key, head.strength, memory);
  return sharpen(
    circularShift(interpolateWeighting(content, previous, head.gate), head.shift),
    head.sharpness,
  );
}

/** The controller of an NTM: an LSTM cell, or one tanh layer (feedforward). */
export type NtmController = 'lstm' | 'feedforward';

export interface NtmOptions {
  /** Input channels per step. */
  inputSize: number;
  /** Output channels per step (logits: the recipes read them through a sigmoid). */
  outputSize: number;
  controller?: NtmController;
  /** Units of the controller (default 100, as the paper's copy task). */
  hidden?: number;
  /** Memory rows N (default 128). */
  memoryRows?: number;
  /** Memory row width M (default 20). */
  memoryWidth?: number;
  readHeads?: number;
  writeHeads?: number;
  /** Shifts −R..R a head may rotate its weighting by (default 1). */
  shiftRange?: number;
  /** Draws the initial read vectors (default a fresh Generator(0)). */
  generator?: Generator;
}

/** One pass over a batch of sequences: the logits [B, T, O] and every step's weightings, [B, T, heads, N]. */
export interface NtmOutput {
  logits: Tensor;
  reads: Tensor;
  writes: Tensor;
}

/** The memory's every cell at the start of a sequence: a small constant (Collier & Beel 2018 found it trains best). */
const MEMORY_INIT = 1e-6;

/**
 * A neural Turing machine (Graves, Wayne & Danihelka 2014) over batches of sequences [B, T, inputSize].
 *
 * ```text
 * controller:  h_t = LSTM([x_t, r_{t−1}], h_{t−1})   or   h_t = tanh(W [x_t, r_{t−1}] + b)
 * each head:   k, β̂, ĝ, ŝ, γ̂ = W_head h_t;  β = softplus(β̂), g = σ(ĝ), s = softmax(ŝ), γ = 1 + softplus(γ̂)
 *              w_t = ntmAddress(k, β, g, s, γ; M_{t−1}, w_{t−1})        (see ntmAddress)
 * write heads: e = σ(ê), a = â from W_head h_t too;  M_t = memoryWrites(M_{t−1}, every head's w_t, e, a)
 * read heads:  r_t = memoryRead(M_t, w_t)          (they read what the writes of step t left)
 * output:      y_t = W_out [h_t, r_t] + b          (logits)
 * ```
 *
 * At the start of every sequence the memory holds 10⁻⁶ in every cell (a fixed constant), every head's
 * weighting is fixed one-hot on row 0, the read vectors are learned (`initialReads`), and the LSTM's state
 * is zero. `run` returns the read and write weightings of every step for figures.
 *
 *     const ntm = new NTM({ inputSize: 9, outputSize: 8, memoryRows: 16, memoryWidth: 6 });
 *     const out = ntm.run(zeros([2, 5, 9]));
 *     out.logits.shape // → [2, 5, 8]
 *     out.writes.shape // → [2, 5, 1, 16]
 */
export class NTM extends Module<[Tensor], Tensor> {
  readonly lstm: LSTMCell | null;
  readonly feedforward: Linear | null;
  /** Each head's parameters from the controller: read heads first, then write heads. */
  readonly heads: Linear[];
  readonly output: Linear;
  /** The read vectors r_0 every sequence starts with, [readHeads, M]. */
  readonly initialReads: Parameter;
  readonly controller: NtmController;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly hidden: number;
  readonly memoryRows: number;
  readonly memoryWidth: number;
  readonly readHeads: number;
  readonly writeHeads: number;
  readonly shiftRange: number;

  constructor({
    inputSize,
    outputSize,
    controller = 'lstm',
    hidden = 100,
    memoryRows = 128,
    memoryWidth = 20,
    readHeads = 1,
    writeHeads = 1,
    shiftRange = 1,
    generator = new Generator(0),
  }: NtmOptions) {
    super();
    const op = 'NTM';
    for (const [k, v, min] of [
      ['inputSize', inputSize, 1],
      ['outputSize', outputSize, 1],
      ['hidden', hidden, 1],
      ['memoryRows', memoryRows, 1],
      ['memoryWidth', memoryWidth, 1],
      ['readHeads', readHeads, 1],
      ['writeHeads', writeHeads, 0],
      ['shiftRange', shiftRange, 0],
    ] as const)
      if (!(Number.isInteger(v) && v >= min)) fail(op, `${k} must be an integer ≥ ${min}, got ${String(v)}`);
    if (controller !== 'lstm' && controller !== 'feedforward')
      fail(op, `controller must be 'lstm' or 'feedforward', got ${String(controller)}`);
    if (shiftRange >= memoryRows) fail(op, `shiftRange ${shiftRange} must be below memoryRows ${memoryRows}`);
    this.controller = controller;
    this.inputSize = inputSize;
    this.outputSize = outputSize;
    this.hidden = hidden;
    this.memoryRows = memoryRows;
    this.memoryWidth = memoryWidth;
    this.readHeads = readHeads;
    this.writeHeads = writeHeads;
    this.shiftRange = shiftRange;
    const m = memoryWidth;
    const inner = inputSize + readHeads * m;
    this.lstm = controller === 'lstm' ? new LSTMCell(inner, hidden) : null;
    this.feedforward = controller === 'feedforward' ? new Linear(inner, hidden) : null;
    const addressing = m + 3 + 2 * shiftRange + 1;
    this.heads = [
      ...Array.from({ length: readHeads }, () => new Linear(hidden, addressing)),
      ...Array.from({ length: writeHeads }, () => new Linear(hidden, addressing + 2 * m)),
    ];
    this.output = new Linear(hidden + readHeads * m, outputSize);
    const reads = new Float32Array(readHeads * m);
    for (let i = 0; i < reads.length; i++) reads[i] = 0.01 * generator.normal();
    this.initialReads = new Parameter(tensor(reads).reshape([readHeads, m]));
  }

  /** A head's raw parameters [B, P] split and mapped into their ranges. */
  private addressing(raw: Tensor): HeadAddressing {
    const m = this.memoryWidth;
    const s = 2 * this.shiftRange + 1;
    return {
      key: raw.narrow(1, 0, m),
      strength: softplus(raw.narrow(1, m, 1)),
      gate: sigmoid(raw.narrow(1, m + 1, 1)),
      shift: softmax(raw.narrow(1, m + 2, s), 1),
      sharpness: softplus(raw.narrow(1, m + 2 + s, 1)).add(1),
    };
  }

  /** The logits and every step's weightings for `inputs` [B, T, inputSize] (see the class comment). */
  run(inputs: Tensor): NtmOutput {
    const op = 'NTM';
    if (inputs.rank !== 3 || inputs.shape[2] !== this.inputSize || inputs.shape[1] === 0)
      fail(
        op,
        `inputs must be [B, T, ${this.inputSize}] with T ≥ 1 (sequences of input vectors), got ${fmtShape(inputs.shape)}`,
      );
    const [b, steps] = inputs.shape as unknown as [number, number];
    const [n, m] = [this.memoryRows, this.memoryWidth];
    let memory = full([b, n, m], MEMORY_INIT);
    const start = new Float32Array(b * n);
    for (let i = 0; i < b; i++) start[i * n] = 1;
    const heads = this.readHeads + this.writeHeads;
    let weights: Tensor[] = Array.from({ length: heads }, () => tensor(start).reshape([b, n]));
    let reads: Tensor[] = Array.from({ length: this.readHeads }, (_, i) =>
      this.initialReads.narrow(0, i, 1).expand([b, m]),
    );
    let state: [Tensor, Tensor] | undefined;
    const [logits, readWeights, writeWeights]: Tensor[][] = [[], [], []];
    for (let t = 0; t < steps; t++) {
      const x = concat([inputs.select(1, t), ...reads], 1);
      let h: Tensor;
      if (this.lstm) {
        state = this.lstm.forward(x, state);
        h = state[0];
      } else h = tanh(this.feedforward!.forward(x));
      const next: Tensor[] = new Array(heads);
      // Write heads address the memory as the previous step left it; then all erase, then all add.
      const writes: HeadWrite[] = [];
      for (let j = this.readHeads; j < heads; j++) {
        const raw = this.heads[j]!.forward(h);
        next[j] = ntmAddress(this.addressing(raw), memory, weights[j]!);
        const p = raw.shape[1]! - 2 * m;
        writes.push({
          weighting: next[j]!,
          erase: sigmoid(raw.narrow(1, p, m)),
          add: raw.narrow(1, p + m, m),
        });
      }
      if (writes.length > 0) memory = memoryWrites(memory, writes);
      for (let j = 0; j < this.readHeads; j++)
        next[j] = ntmAddress(this.addressing(this.heads[j]!.forward(h)), memory, weights[j]!);
      weights = next;
      reads = weights.slice(0, this.readHeads).map((w) => memoryRead(memory, w));
      logits.push(this.output.forward(concat([h, ...reads], 1)));
      readWeights.push(stack(weights.slice(0, this.readHeads), 1));
      if (this.writeHeads > 0) writeWeights.push(stack(weights.slice(this.readHeads), 1));
    }
    return {
      logits: stack(logits, 1),
      reads: stack(readWeights, 1),
      writes: this.writeHeads > 0 ? stack(writeWeights, 1) : full([b, steps, 0, n], 0),
    };
  }

  /** The logits [B, T, outputSize] (see run). */
  forward(inputs: Tensor): Tensor {
    return this.run(inputs).logits;
  }

  protected override extraRepr(): string {
    return `controller=${this.controller}, hidden=${this.hidden}, memory=${this.memoryRows}×${this.memoryWidth}, readHeads=${this.readHeads}, writeHeads=${this.writeHeads}, shiftRange=${this.shiftRange}`;
  }
}

export interface SequenceLstmOptions {
  inputSize: number;
  outputSize: number;
  /** Units per layer (default 256, as the paper's copy baseline). */
  hidden?: number;
  /** Stacked layers (default 3, as the paper's copy baseline). */
  layers?: number;
}

/**
 * The paper's baseline: a stacked LSTM over sequences [B, T, inputSize] with a linear read-out of the
 * top layer, logits [B, T, outputSize] (the paper's copy baseline is 3 layers of 256).
 *
 *     const lstm = new SequenceLSTM({ inputSize: 9, outputSize: 8, hidden: 16, layers: 2 });
 *     lstm.forward(zeros([2, 5, 9])).shape // → [2, 5, 8]
 */
export class SequenceLSTM extends Module<[Tensor], Tensor> {
  readonly lstm: LSTM;
  readonly output: Linear;
  readonly inputSize: number;

  constructor({ inputSize, outputSize, hidden = 256, layers = 3 }: SequenceLstmOptions) {
    super();
    for (const [k, v] of [
      ['inputSize', inputSize],
      ['outputSize', outputSize],
      ['hidden', hidden],
      ['layers', layers],
    ] as const)
      if (!(Number.isInteger(v) && v >= 1))
        fail('SequenceLSTM', `${k} must be a positive integer, got ${String(v)}`);
    this.inputSize = inputSize;
    this.lstm = new LSTM(inputSize, hidden, { numLayers: layers, batchFirst: true });
    this.output = new Linear(hidden, outputSize);
  }

  forward(inputs: Tensor): Tensor {
    if (inputs.rank !== 3 || inputs.shape[2] !== this.inputSize)
      fail(
        'SequenceLSTM',
        `inputs must be [B, T, ${this.inputSize}] (sequences of input vectors), got ${fmtShape(inputs.shape)}`,
      );
    return this.output.forward(this.lstm.forward(inputs)[0]);
  }
}
