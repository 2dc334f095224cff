import { isGradEnabled, noGrad } from '../autograd/mode.js';
import type { View } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { where } from '../ops/elementwise.js';
import { linear } from '../ops/linalg.js';
import { broadcastView, defineOp, empty } from '../ops/op.js';
import { scalar, tensor } from '../tensor/creation.js';
import { type DType, isFloat } from '../tensor/dtype.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkParamDType } from './checks.js';
import { dropout as dropoutFn } from './dropout.js';
import { constant_, kaimingUniform_, normal_, xavierUniform_ } from './init.js';
import { Linear } from './layers.js';
import {
  checkInput,
  checkInteger,
  checkNumber,
  floatDType,
  Module,
  type Parameter,
  parameter,
} from './module.js';

/**
 * Attention: scaled dot-product attention as a function of ops (so gradients of every order come
 * from autograd), PyTorch's MultiheadAttention with its parameter names, the additive (Bahdanau) and
 * multiplicative (Luong) attention of sequence-to-sequence models, and positional encodings.
 */

/** What a nonzero entry of an int32 mask means: 'attend' (SDPA's boolean convention) or 'ignore' (MultiheadAttention's). */
type MaskMeaning = 'attend' | 'ignore';

/** Applies a mask to attention scores: an int32 mask sets the excluded scores to -∞, a float mask is added. */
function applyMask(scores: Tensor, mask: Tensor, meaning: MaskMeaning): Tensor {
  if (isFloat(mask.dtype)) return scores.add(mask.cast(scores.dtype));
  return meaning === 'attend' ? where(mask, scores, -Infinity) : where(mask, -Infinity, scores);
}

/** An int32 [L, S] mask whose nonzero entries are the keys j > i after query i: the ones causal attention excludes. */
function futureMask(l: number, s: number): Tensor {
  const data = new Int32Array(l * s);
  for (let i = 0; i < l; i++) for (let j = i + 1; j < s; j++) data[i * s + j] = 1;
  return tensor(data, { shape: [l, s] });
}

/** Whether `shape` broadcasts to `target` (without changing `target`). */
function broadcastsTo(shape: Shape, target: Shape): boolean {
  if (shape.length > target.length) return false;
  const lead = target.length - shape.length;
  return shape.every((d, i) => d === 1 || d === target[lead + i]);
}

/** Checks that a mask is a Tensor of int32 (boolean) or floating-point values. */
function checkMaskDType(op: string, name: string, mask: unknown): asserts mask is Tensor {
  checkInput(op, mask, name);
  if (mask.dtype !== 'int32' && !isFloat(mask.dtype))
    fail(op, `${name} must be int32 (0/1) or floating point, got ${mask.dtype}`);
}

/**
 * softmax(q kᵀ · scale, masked) and its product with v: the attention output and the weights (after
 * dropout, as PyTorch's MultiheadAttention returns them).
 */
function attend(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scale: number,
  masks: readonly ((scores: Tensor) => Tensor)[],
  p: number,
  training: boolean,
  generator: Generator,
): [output: Tensor, weights: Tensor] {
  // Scaling q (L·E products) rather than the scores (L·S), as PyTorch 1.13's multi-head attention does.
  let scores = q.mul(scale).matmul(k.mT);
  for (const mask of masks) scores = mask(scores);
  const weights = dropoutFn(scores.softmax(-1), p, training, generator);
  return [weights.matmul(v), weights];
}

declare module '../ops/registry.js' {
  interface OpRegistry {
    attention: AttentionAttrs;
  }
}

interface AttentionAttrs {
  scale: number;
  causal: boolean;
  /** Whether the mask's -∞ entries came from a boolean mask, whose where() passes them no gradient. */
  boolMask: boolean;
  /** Each query row's logsumexp [B, L], written by the fused forward for the fused backward. */
  lse: Tensor | null;
}

/** softmax(q·scale kᵀ + mask, causal) for [B, L, E] q and [B, S, E] k, by ops. */
function attentionWeights(q: Tensor, k: Tensor, mask: Tensor | undefined, attrs: AttentionAttrs): Tensor {
  let scores = q.mul(attrs.scale).matmul(k.mT);
  if (mask) scores = scores.add(mask);
  if (attrs.causal) scores = where(futureMask(q.shape[1]!, k.shape[1]!), -Infinity, scores);
  return scores.softmax(-1);
}

let fusedAttentionCalls = 0;

/**
 * Attention over flattened batches q [B, L, E], k [B, S, E], v [B, S, Ev] with an additive mask
 * [B, L, S] (broadcast, never differentiated): the backend's fused kernel (the scores are never
 * materialised, only each row's logsumexp is kept) and its fused backward for first-order gradients.
 * Gradients of gradients use the composition's gradient written with ops, which autograd differentiates.
 */
const attentionOp = defineOp({
  name: 'attention',
  forward: ([q, k, v, mask], attrs) => {
    const fused = getBackend().fused?.attention;
    const [b, l] = q!.shape as [number, number];
    if (!fused) return attentionWeights(q!, k!, mask, attrs).matmul(v!);
    const out = empty([b, l, v!.shape[2]!], q!.dtype);
    attrs.lse = empty([b, l], q!.dtype);
    fused(out, attrs.lse, q!, k!, v!, mask ?? null, attrs.scale, attrs.causal);
    fusedAttentionCalls++;
    return out;
  },
  vjp: (g, { inputs: [q, k, v, mask], output, attrs }) => {
    const fused = getBackend().fused?.attentionBackward;
    const rest = mask ? [null] : [];
    if (fused && attrs.lse && !isGradEnabled()) {
      const [dq, dk, dv] = [q!, k!, v!].map((t) => empty(t.shape, t.dtype)) as [Tensor, Tensor, Tensor];
      const { scale, causal, boolMask } = attrs;
      fused(dq, dk, dv, q!, k!, v!, output, attrs.lse, g, mask ?? null, scale, causal, boolMask);
      return [dq, dk, dv, ...rest];
    }
    // dV = Wᵀ g, dS = W ∘ (g Vᵀ - rowsum(W ∘ g Vᵀ)), dQ = dS K · scale, dK = dSᵀ Q · scale.
    const w = attentionWeights(q!, k!, mask, attrs);
    const dw = g.matmul(v!.mT);
    let ds = w.mul(dw.sub(dw.mul(w).sum(-1, true)));
    if (mask && attrs.boolMask) ds = where(mask.eq(-Infinity), 0, ds);
    if (attrs.causal) ds = where(futureMask(q!.shape[1]!, k!.shape[1]!), 0, ds);
    return [ds.matmul(k!).mul(attrs.scale), ds.mT.matmul(q!.mul(attrs.scale)), w.mT.matmul(g), ...rest];
  },
});

/** Internal, for the tests: how many times the fused attention kernel has run. */
export function fusedAttentionCount(): number {
  return fusedAttentionCalls;
}

/** t's leading batchRank axes read as one, when their strides allow it without a copy; else null. */
function mergedBatch(t: View, batchRank: number): Tensor | null {
  let stride = 0;
  let size = 1;
  for (let i = batchRank - 1; i >= 0; i--) {
    const d = t.shape[i]!;
    if (d === 1) continue;
    if (size === 1) stride = t.strides[i]!;
    else if (t.strides[i] !== stride * size) return null;
    size *= d;
  }
  return new Tensor(
    t.data,
    [size, ...t.shape.slice(batchRank)],
    [stride, ...t.strides.slice(batchRank)],
    t.offset,
  );
}

/** A fused attention's mask: additive (-∞ excludes), or int32 whose nonzero entries attend or are ignored. */
interface FusedMask {
  mask: Tensor;
  meaning: MaskMeaning;
}

/**
 * Attention by the backend's fused kernel when it has one and the call suits it (no dropout in effect,
 * a mask that is not differentiated, nothing empty); null otherwise, for the composition to take over.
 * q [...batch, L, E] etc. with batch axes that broadcast; the result has the composition's shape.
 */
function fusedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  scores: readonly number[],
  fusedMask: FusedMask | null,
  causal: boolean,
  scale: number,
  dropping: boolean,
): Tensor | null {
  const fused = getBackend().fused;
  if (!fused?.attention || !fused.attentionBackward || dropping || fusedMask?.mask.requiresGrad) return null;
  const batch = scores.slice(0, -2);
  const [l, s] = scores.slice(-2) as [number, number];
  const [e, ev] = [q.shape[q.rank - 1]!, v.shape[v.rank - 1]!];
  if (l === 0 || s === 0 || e === 0 || ev === 0 || batch.includes(0)) return null;
  const b = batch.reduce((a, d) => a * d, 1);
  const flat = (t: Tensor, len: number, features: number) =>
    t.expand([...batch, len, features]).reshape([b, len, features]);
  let mask: Tensor | undefined;
  let boolMask = false;
  if (fusedMask) {
    const { mask: m, meaning } = fusedMask;
    const additive = noGrad(() => {
      if (isFloat(m.dtype)) return m.cast(q.dtype);
      const zero = scalar(0, q.dtype);
      return meaning === 'attend' ? where(m, zero, -Infinity) : where(m, -Infinity, zero);
    });
    boolMask = !isFloat(m.dtype);
    const view = broadcastView(additive, [...batch, l, s]);
    // A mask broadcast over the batch keeps its zero strides rather than being expanded.
    mask = mergedBatch(view, batch.length) ?? view.contiguous().reshape([b, l, s]);
  }
  const inputs = [flat(q, l, e), flat(k, s, e), flat(v, s, ev)];
  const out = attentionOp(mask ? [...inputs, mask] : inputs, { scale, causal, boolMask, lse: null });
  return out.reshape([...batch, l, ev]);
}

export interface ScaledDotProductAttentionOptions {
  /**
   * Which scores take part, broadcast to the scores [..., L, S]: an int32 mask whose nonzero entries
   * attend (PyTorch's boolean `attn_mask`: True means take part), or a floating-point mask added to
   * the scores (-∞ excludes).
   */
  mask?: Tensor | null;
  /** Causal attention: query i attends to keys 0..i (the mask's top-left aligned lower triangle). Not with `mask`. */
  isCausal?: boolean;
  /** Probability of dropping an attention weight (default 0). */
  dropout?: number;
  /** Whether dropout applies (default true, as for `dropout()`; a module passes its `training`). */
  training?: boolean;
  /** The generator dropout draws from (the global default unless given). */
  generator?: Generator;
  /** The factor on q kᵀ (default 1/√E). */
  scale?: number;
}

/** Checks q, k and v and returns the scores' shape [...batch, L, S]. */
function checkQKV(op: string, q: unknown, k: unknown, v: unknown): number[] {
  const named = [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const;
  for (const [name, t] of named) {
    checkInput(op, t, name);
    if (t.rank < 2)
      fail(op, `${name} must have at least two axes [..., length, features], got ${fmtShape(t.shape)}`);
    if (!isFloat(t.dtype))
      fail(op, `${name} must be floating point, got ${t.dtype}; convert it with ${name}.cast('float32')`);
  }
  const [tq, tk, tv] = [q, k, v] as Tensor[] as [Tensor, Tensor, Tensor];
  if (tk.dtype !== tq.dtype || tv.dtype !== tq.dtype)
    fail(op, `q, k and v must have one dtype, got ${tq.dtype}, ${tk.dtype} and ${tv.dtype}`);
  const e = tq.shape[tq.rank - 1]!;
  const ek = tk.shape[tk.rank - 1]!;
  if (ek !== e)
    fail(
      op,
      `q [..., L, E] and k [..., S, E] must have the same features E: q is ${fmtShape(tq.shape)}, k is ${fmtShape(tk.shape)} (${e} ≠ ${ek})`,
    );
  const s = tk.shape[tk.rank - 2]!;
  const sv = tv.shape[tv.rank - 2]!;
  if (sv !== s)
    fail(
      op,
      `k [..., S, E] and v [..., S, Ev] must have the same length S: k is ${fmtShape(tk.shape)}, v is ${fmtShape(tv.shape)} (${s} ≠ ${sv})`,
    );
  const batch = [tq, tk, tv].map((t) => t.shape.slice(0, -2));
  const rank = Math.max(...batch.map((b) => b.length));
  const out = Array.from({ length: rank }, (_, i) =>
    Math.max(...batch.map((b) => b[i - rank + b.length] ?? 1)),
  );
  if (!batch.every((b) => broadcastsTo(b, out)))
    fail(
      op,
      `the batch axes of q ${fmtShape(tq.shape)}, k ${fmtShape(tk.shape)} and v ${fmtShape(tv.shape)} do not broadcast together`,
    );
  return [...out, tq.shape[tq.rank - 2]!, s];
}

/**
 * Scaled dot-product attention (Vaswani et al., 2017), with PyTorch 2's
 * `F.scaled_dot_product_attention` semantics:
 *
 *     softmax(q kᵀ · scale + mask) v,   q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev]
 *
 * The batch axes broadcast. An int32 mask keeps its nonzero scores (PyTorch's boolean convention:
 * true attends); a float mask is added. A query row that attends to nothing gives NaN, as in PyTorch.
 * Dropout acts on the attention weights when `training` (PyTorch's function has no such flag and
 * always drops; modules pass their mode). Composed of ops, so it has gradients of every order.
 *
 *     const y = scaledDotProductAttention(q, k, v, { isCausal: true });
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options?: ScaledDotProductAttentionOptions,
): Tensor {
  const op = 'scaledDotProductAttention';
  const form = 'scaledDotProductAttention(q, k, v, { mask, isCausal: true, dropout: 0.1 })';
  checkArity(op, arguments, 4, form);
  const {
    mask = null,
    isCausal = false,
    dropout = 0,
    training = true,
    generator = defaultGenerator,
    scale,
  } = checkOptions(op, options, ['mask', 'isCausal', 'dropout', 'training', 'generator', 'scale'], form);
  const scores = checkQKV(op, q, k, v);
  checkBoolean(op, 'isCausal', isCausal);
  checkBoolean(op, 'training', training);
  checkNumber(op, 'dropout', dropout, 0, 1);
  if (scale !== undefined) checkNumber(op, 'scale', scale);
  const [l, s] = scores.slice(-2) as [number, number];
  const masks: ((t: Tensor) => Tensor)[] = [];
  if (mask !== null) {
    if (isCausal)
      fail(op, 'give either mask or isCausal, not both; for both, combine the causal mask into your mask');
    checkMaskDType(op, 'mask', mask);
    if (!broadcastsTo(mask.shape, scores))
      fail(
        op,
        `mask ${fmtShape(mask.shape)} does not broadcast to the scores ${fmtShape(scores)}; give a mask of shape [L, S] = [${l}, ${s}] or one that broadcasts to the scores`,
      );
    masks.push((t) => applyMask(t, mask, 'attend'));
  } else if (isCausal) {
    const future = futureMask(l, s);
    masks.push((t) => applyMask(t, future, 'ignore'));
  }
  const factor = scale ?? 1 / Math.sqrt(q.shape[q.rank - 1]!);
  const fusedMask = mask === null ? null : { mask, meaning: 'attend' as const };
  const dropping = dropout > 0 && training;
  return (
    fusedAttention(q, k, v, scores, fusedMask, isCausal, factor, dropping) ??
    attend(q, k, v, factor, masks, dropout, training, generator)[0]
  );
}

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
  /** Learn the biases in_proj_bias and out_proj.bias (default true). */
  bias?: boolean;
  /** Features of the keys (default embedDim); with kdim or vdim ≠ embedDim the projections are separate. */
  kdim?: number;
  /** Features of the values (default embedDim). */
  vdim?: number;
  /** Inputs and output as [N, L, E] rather than PyTorch's default [L, N, E]. */
  batchFirst?: boolean;
  /** dtype of the parameters (float64 for gradient checks). */
  dtype?: DType;
  /** The generator dropout draws from (the global default unless given). */
  generator?: Generator;
}

export interface MultiheadAttentionForwardOptions {
  /** Keys to IGNORE (padding), [N, S] ([S] unbatched): int32, nonzero where ignored, or a float mask added. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights (default true); false returns null in their place. */
  needWeights?: boolean;
  /**
   * [L, S] or [N·numHeads, L, S]: int32 whose nonzero entries are NOT allowed to attend (PyTorch's
   * boolean attn_mask here, the opposite of scaledDotProductAttention's), or a float mask added.
   */
  attnMask?: Tensor | null;
  /** Average the weights over the heads, [N, L, S] (default true), or keep them per head, [N, numHeads, L, S]. */
  averageAttnWeights?: boolean;
  /** Causal attention (query i sees keys 0..i) without building the mask; not together with attnMask. */
  isCausal?: boolean;
}

/**
 * Multi-head attention (Vaswani et al., 2017) with PyTorch 1.13's parameters, names and conventions:
 * `in_proj_weight` [3E, E] (or `q_proj_weight` [E, E], `k_proj_weight` [E, kdim], `v_proj_weight`
 * [E, vdim] when kdim or vdim differ from E), `in_proj_bias` [3E] and `out_proj` (a Linear), so that
 * a PyTorch state dict loads by name. Inputs are [L, N, E] ([N, L, E] with batchFirst, or unbatched
 * [L, E]); forward returns the output and the attention weights, averaged over the heads unless
 * asked. Initialised as PyTorch: Xavier-uniform projections, zero biases. PyTorch's add_bias_kv and
 * add_zero_attn are not supported.
 *
 *     const mha = new MultiheadAttention(64, 8, { batchFirst: true });
 *     const [y, weights] = mha.forward(x, x, x); // x [N, L, 64] -> y [N, L, 64], weights [N, L, L]
 */
export class MultiheadAttention extends Module<
  [Tensor, Tensor, Tensor, MultiheadAttentionForwardOptions?],
  [Tensor, Tensor | null]
> {
  in_proj_weight: Parameter | null;
  q_proj_weight: Parameter | null;
  k_proj_weight: Parameter | null;
  v_proj_weight: Parameter | null;
  in_proj_bias: Parameter | null;
  out_proj: Linear;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly generator: Generator;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options?: MultiheadAttentionOptions,
  ) {
    super();
    const op = 'MultiheadAttention';
    const form = `new MultiheadAttention(${describe(embedDim)}, ${describe(numHeads)}, { dropout: 0.1, batchFirst: true })`;
    checkArity(op, arguments, 3, form);
    const {
      dropout = 0,
      bias = true,
      kdim = embedDim,
      vdim = embedDim,
      batchFirst = false,
      dtype,
      generator = defaultGenerator,
    } = checkOptions(
      op,
      options,
      ['dropout', 'bias', 'kdim', 'vdim', 'batchFirst', 'dtype', 'generator'],
      form,
    );
    checkInteger(op, 'embedDim', embedDim);
    checkInteger(op, 'numHeads', numHeads);
    if (embedDim % numHeads !== 0) fail(op, `embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    checkInteger(op, 'kdim', kdim);
    checkInteger(op, 'vdim', vdim);
    checkNumber(op, 'dropout', dropout, 0, 1);
    checkBoolean(op, 'bias', bias);
    checkBoolean(op, 'batchFirst', batchFirst);
    const type = floatDType(op, dtype);
    const xavier = (t: Tensor) => xavierUniform_(t);
    const packed = kdim === embedDim && vdim === embedDim;
    this.in_proj_weight = packed ? parameter([3 * embedDim, embedDim], type, xavier) : null;
    this.q_proj_weight = packed ? null : parameter([embedDim, embedDim], type, xavier);
    this.k_proj_weight = packed ? null : parameter([embedDim, kdim], type, xavier);
    this.v_proj_weight = packed ? null : parameter([embedDim, vdim], type, xavier);
    this.in_proj_bias = bias ? parameter([3 * embedDim], type) : null;
    this.out_proj = new Linear(embedDim, embedDim, { bias, dtype: type });
    if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
    this.headDim = embedDim / numHeads;
    this.kdim = kdim;
    this.vdim = vdim;
    this.dropout = dropout;
    this.batchFirst = batchFirst;
    this.generator = generator;
  }

  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: MultiheadAttentionForwardOptions,
  ): [Tensor, Tensor | null] {
    const op = 'MultiheadAttention';
    const form = 'forward(query, key, value, { keyPaddingMask, attnMask, needWeights: false })';
    checkArity(op, arguments, 4, form);
    const {
      keyPaddingMask = null,
      needWeights = true,
      attnMask = null,
      averageAttnWeights = true,
      isCausal = false,
    } = checkOptions(
      op,
      options,
      ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights', 'isCausal'],
      form,
    );
    checkInput(op, query, 'query');
    checkInput(op, key, 'key');
    checkInput(op, value, 'value');
    checkBoolean(op, 'needWeights', needWeights);
    checkBoolean(op, 'averageAttnWeights', averageAttnWeights);
    checkBoolean(op, 'isCausal', isCausal);
    const layout = this.batchFirst ? '[N, L, E]' : '[L, N, E]';
    if (query.rank !== 2 && query.rank !== 3)
      fail(op, `expected query ${layout} or unbatched [L, E], got ${fmtShape(query.shape)}`);
    if (key.rank !== query.rank || value.rank !== query.rank)
      fail(
        op,
        `key and value must have the query's rank: query is ${fmtShape(query.shape)}, key ${fmtShape(key.shape)}, value ${fmtShape(value.shape)}`,
      );
    const weight = (this.in_proj_weight ?? this.q_proj_weight)!;
    for (const x of [query, key, value]) checkParamDType(op, x, weight);
    const batched = query.rank === 3;
    // Computed as [N, L, E] whatever the layout.
    const toBatchFirst = (t: Tensor) => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const [q0, k0, v0] = [query, key, value].map(toBatchFirst) as [Tensor, Tensor, Tensor];
    const [n, l, e] = q0.shape as [number, number, number];
    const s = k0.shape[1]!;
    const checkFeatures = (t: Tensor, name: string, want: number, option: string) => {
      if (t.shape[2] !== want)
        fail(
          op,
          `${name} must have ${want} features (${option}) on its last axis, got ${fmtShape(t === q0 ? query.shape : t === k0 ? key.shape : value.shape)}`,
        );
    };
    checkFeatures(q0, 'query', this.embedDim, 'embedDim');
    checkFeatures(k0, 'key', this.kdim, 'kdim');
    checkFeatures(v0, 'value', this.vdim, 'vdim');
    if (k0.shape[0] !== n || v0.shape[0] !== n || v0.shape[1] !== s)
      fail(
        op,
        `query, key and value must have one batch size, and key and value one length: query is ${fmtShape(query.shape)}, key ${fmtShape(key.shape)}, value ${fmtShape(value.shape)} (layout ${batched ? layout : '[L, E]'})`,
      );
    const h = this.numHeads;
    const masks: ((t: Tensor) => Tensor)[] = [];
    let fusedMask: FusedMask | null = null;
    if (attnMask !== null) {
      if (isCausal) fail(op, 'give either attnMask or isCausal, not both');
      checkMaskDType(op, 'attnMask', attnMask);
      const [want, shaped] =
        attnMask.rank === 2
          ? [[l, s], attnMask]
          : [[n * h, l, s], attnMask.rank === 3 ? attnMask.reshape([n, h, l, s]) : attnMask];
      if (attnMask.rank > 3 || attnMask.shape.some((d, i) => d !== want[i]))
        fail(
          op,
          `attnMask must be [L, S] = [${l}, ${s}] or [N·numHeads, L, S] = [${n * h}, ${l}, ${s}], got ${fmtShape(attnMask.shape)}`,
        );
      masks.push((t) => applyMask(t, shaped, 'ignore'));
      fusedMask = { mask: shaped, meaning: 'ignore' };
    } else if (isCausal) {
      const future = futureMask(l, s);
      masks.push((t) => applyMask(t, future, 'ignore'));
    }
    if (keyPaddingMask !== null) {
      checkMaskDType(op, 'keyPaddingMask', keyPaddingMask);
      const want = batched ? [n, s] : [s];
      if (keyPaddingMask.rank !== want.length || keyPaddingMask.shape.some((d, i) => d !== want[i]))
        fail(
          op,
          `keyPaddingMask must be ${batched ? `[N, S] = [${n}, ${s}]` : `[S] = [${s}] for unbatched input`}, got ${fmtShape(keyPaddingMask.shape)}`,
        );
      const padding = keyPaddingMask.reshape([n, 1, 1, s]);
      masks.push((t) => applyMask(t, padding, 'ignore'));
    }
    const [wq, wk, wv] = this.in_proj_weight
      ? (this.in_proj_weight.split(e, 0) as [Tensor, Tensor, Tensor])
      : [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!];
    const [bq, bk, bv] = this.in_proj_bias
      ? (this.in_proj_bias.split(e) as [Tensor, Tensor, Tensor])
      : [null, null, null];
    // [N, len, E] -> [N, heads, len, headDim]
    const heads = (t: Tensor, len: number) => t.reshape([n, len, h, this.headDim]).transpose(1, 2);
    const q = heads(linear(q0, wq, bq), l);
    const k = heads(linear(k0, wk, bk), s);
    const v = heads(linear(v0, wv, bv), s);
    const scale = 1 / Math.sqrt(this.headDim);
    const project = (out: Tensor) => {
      const y = this.out_proj.forward(out.transpose(1, 2).reshape([n, l, e]));
      return !batched ? y.squeeze(0) : this.batchFirst ? y : y.transpose(0, 1);
    };
    // Without the weights to return, a backend's fused kernel can skip materialising them.
    if (!needWeights && keyPaddingMask === null) {
      const dropping = this.dropout > 0 && this.training;
      const out = fusedAttention(q, k, v, [n, h, l, s], fusedMask, isCausal, scale, dropping);
      if (out) return [project(out), null];
    }
    const [out, weights] = attend(q, k, v, scale, masks, this.dropout, this.training, this.generator);
    const output = project(out);
    if (!needWeights) return [output, null];
    const w = averageAttnWeights ? weights.mean(1) : weights;
    return [output, batched ? w : w.squeeze(0)];
  }

  protected override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, dropout=${this.dropout}, batchFirst=${this.batchFirst}`;
  }
}

export interface SeqAttentionOptions {
  /** The real (not padded) source positions, [N, S]: int32, nonzero where real; the others get weight 0. */
  mask?: Tensor | null;
}

/**
 * Checks a seq2seq attention's query [N, Dq] or [N, T, Dq], keys [N, S, Dk] and values [N, S, Dv],
 * and returns the query as [N, T, Dq], with whether it had the T axis.
 */
function checkSeqInputs(
  op: string,
  query: unknown,
  keys: unknown,
  values: unknown,
  dq: number,
  dk: number,
): [Tensor, boolean] {
  checkInput(op, query, 'query');
  checkInput(op, keys, 'keys');
  checkInput(op, values, 'values');
  if (query.rank !== 2 && query.rank !== 3)
    fail(op, `expected query [N, ${dq}] or [N, T, ${dq}], got ${fmtShape(query.shape)}`);
  if (query.shape[query.rank - 1] !== dq)
    fail(op, `query must have ${dq} features on its last axis, got ${fmtShape(query.shape)}`);
  if (keys.rank !== 3 || keys.shape[2] !== dk || keys.shape[0] !== query.shape[0])
    fail(
      op,
      `expected keys [N, S, ${dk}] with the query's N = ${query.shape[0]}, got ${fmtShape(keys.shape)}`,
    );
  if (values.rank !== 3 || values.shape[0] !== keys.shape[0] || values.shape[1] !== keys.shape[1])
    fail(
      op,
      `expected values [N, S, Dv] with the keys' N and S (keys are ${fmtShape(keys.shape)}), got ${fmtShape(values.shape)}`,
    );
  return [query.rank === 2 ? query.unsqueeze(1) : query, query.rank === 3];
}

/** softmax of the scores [N, T, S] under a source mask, then the weighted values: [context, weights]. */
function seqAttend(
  op: string,
  scores: Tensor,
  values: Tensor,
  mask: Tensor | null,
  steps: boolean,
): [Tensor, Tensor] {
  let masked = scores;
  if (mask !== null) {
    checkMaskDType(op, 'mask', mask);
    const [n, , s] = scores.shape as [number, number, number];
    if (mask.rank !== 2 || mask.shape[0] !== n || mask.shape[1] !== s)
      fail(op, `mask must be [N, S] = [${n}, ${s}], got ${fmtShape(mask.shape)}`);
    masked = applyMask(scores, mask.unsqueeze(1), 'attend');
  }
  const weights = masked.softmax(-1);
  const context = weights.matmul(values);
  return steps ? [context, weights] : [context.squeeze(1), weights.squeeze(1)];
}

export interface AdditiveAttentionOptions {
  /** dtype of the parameters (float64 for gradient checks). */
  dtype?: DType;
}

/**
 * Additive attention (Bahdanau, Cho & Bengio, 2015): the score of each source position is
 *
 *     e_s = vᵀ tanh(W q + U k_s + b),   weights = softmax_s(e),   context = Σ_s weights_s · values_s
 *
 * with W `queryProj` (no bias), U and b `keyProj`, and v `energy` (no bias), all Linear. forward takes
 * the query [N, Dq] (or [N, T, Dq], T decoder steps at once), the keys [N, S, Dk] and the values
 * (the keys unless given), and returns the context [N, Dv] and the weights [N, S] ([N, T, …] for a
 * 3-D query). PyTorch has no such class.
 *
 *     const attn = new AdditiveAttention(decoderDim, encoderDim, 128);
 *     const [context, weights] = attn.forward(state, encoded, encoded, { mask });
 */
export class AdditiveAttention extends Module<
  [Tensor, Tensor, (Tensor | null)?, SeqAttentionOptions?],
  [Tensor, Tensor]
> {
  queryProj: Linear;
  keyProj: Linear;
  energy: Linear;

  constructor(
    readonly queryDim: number,
    readonly keyDim: number,
    readonly hiddenDim: number,
    options?: AdditiveAttentionOptions,
  ) {
    super();
    const op = 'AdditiveAttention';
    const form = 'new AdditiveAttention(queryDim, keyDim, hiddenDim, { dtype })';
    checkArity(op, arguments, 4, form);
    const { dtype } = checkOptions(op, options, ['dtype'], form);
    checkInteger(op, 'queryDim', queryDim);
    checkInteger(op, 'keyDim', keyDim);
    checkInteger(op, 'hiddenDim', hiddenDim);
    this.queryProj = new Linear(queryDim, hiddenDim, { bias: false, dtype });
    this.keyProj = new Linear(keyDim, hiddenDim, { dtype });
    this.energy = new Linear(hiddenDim, 1, { bias: false, dtype });
  }

  forward(
    query: Tensor,
    keys: Tensor,
    values: Tensor | null = null,
    options?: SeqAttentionOptions,
  ): [Tensor, Tensor] {
    const op = 'AdditiveAttention';
    checkArity(op, arguments, 4, 'forward(query, keys, values, { mask })');
    const { mask = null } = checkOptions(op, options, ['mask'], 'forward(query, keys, values, { mask })');
    const vals = values ?? keys;
    const [q, steps] = checkSeqInputs(op, query, keys, vals, this.queryDim, this.keyDim);
    checkParamDType(op, q, this.keyProj.weight);
    // [N, T, 1, H] + [N, 1, S, H] -> scores [N, T, S]
    const hidden = this.queryProj.forward(q).unsqueeze(2).add(this.keyProj.forward(keys).unsqueeze(1)).tanh();
    const scores = this.energy.forward(hidden).squeeze(3);
    return seqAttend(op, scores, vals, mask, steps);
  }

  protected override extraRepr(): string {
    return `queryDim=${this.queryDim}, keyDim=${this.keyDim}, hiddenDim=${this.hiddenDim}`;
  }
}

/** Luong et al.'s multiplicative scores: 'dot' qᵀk, 'general' qᵀ W k. */
export type LuongScore = 'dot' | 'general';

export interface LuongAttentionOptions {
  /** 'dot' (default, no parameters) or 'general' (a learnt [dim, dim] `weight`). */
  score?: LuongScore;
  /** dtype of the parameters (float64 for gradient checks). */
  dtype?: DType;
}

/**
 * Multiplicative attention (Luong, Pham & Manning, 2015): scores qᵀ k_s ('dot') or qᵀ W k_s
 * ('general', W the parameter `weight` [dim, dim], initialised as a Linear's), softmax over the
 * source positions, and the weighted sum of the values. Same forward as AdditiveAttention: query
 * [N, dim] (or [N, T, dim]), keys [N, S, dim], values (the keys unless given), `{ mask }`, returning
 * [context, weights]. PyTorch has no such class.
 *
 *     const attn = new LuongAttention(256, { score: 'general' });
 *     const [context, weights] = attn.forward(state, encoded);
 */
export class LuongAttention extends Module<
  [Tensor, Tensor, (Tensor | null)?, SeqAttentionOptions?],
  [Tensor, Tensor]
> {
  weight: Parameter | null;
  readonly score: LuongScore;

  constructor(
    readonly dim: number,
    options?: LuongAttentionOptions,
  ) {
    super();
    const op = 'LuongAttention';
    const form = "new LuongAttention(dim, { score: 'general' })";
    checkArity(op, arguments, 2, form);
    const { score = 'dot', dtype } = checkOptions(op, options, ['score', 'dtype'], form);
    checkInteger(op, 'dim', dim);
    if (score !== 'dot' && score !== 'general')
      fail(op, `score must be 'dot' or 'general', got ${describe(score)}`);
    this.score = score;
    this.weight =
      score === 'general'
        ? parameter([dim, dim], floatDType(op, dtype), (t) => kaimingUniform_(t, { a: Math.sqrt(5) }))
        : null;
  }

  forward(
    query: Tensor,
    keys: Tensor,
    values: Tensor | null = null,
    options?: SeqAttentionOptions,
  ): [Tensor, Tensor] {
    const op = 'LuongAttention';
    checkArity(op, arguments, 4, 'forward(query, keys, values, { mask })');
    const { mask = null } = checkOptions(op, options, ['mask'], 'forward(query, keys, values, { mask })');
    const vals = values ?? keys;
    const [q, steps] = checkSeqInputs(op, query, keys, vals, this.dim, this.dim);
    if (this.weight) checkParamDType(op, q, this.weight);
    const projected = this.weight ? q.matmul(this.weight) : q;
    return seqAttend(op, projected.matmul(keys.mT), vals, mask, steps);
  }

  protected override extraRepr(): string {
    return `dim=${this.dim}, score='${this.score}'`;
  }
}

export interface PositionalEncodingOptions {
  /** Inputs as [N, L, dModel] rather than [L, N, dModel] (unbatched [L, dModel] works either way). */
  batchFirst?: boolean;
  /** dtype of the table (float64 for gradient checks). */
  dtype?: DType;
  /** The generator dropout draws from (the global default unless given). */
  generator?: Generator;
}

export interface SinusoidalPositionalEncodingOptions extends PositionalEncodingOptions {
  /** The longest sequence (default 5000). */
  maxLen?: number;
  /** Dropout after adding the encoding, in training (default 0.1, as in PyTorch's tutorial). */
  dropout?: number;
}

/** Checks a positional encoding's input and returns the shape its table's first L rows take to be added to it. */
function positions(op: string, x: unknown, dModel: number, maxLen: number, batchFirst: boolean): number[] {
  checkInput(op, x);
  const layout = batchFirst ? '[N, L, dModel]' : '[L, N, dModel]';
  if ((x.rank !== 2 && x.rank !== 3) || x.shape[x.rank - 1] !== dModel)
    fail(op, `expected input ${layout} or [L, dModel] with dModel = ${dModel}, got ${fmtShape(x.shape)}`);
  const timeAxis = x.rank === 3 && batchFirst ? 1 : 0;
  const l = x.shape[timeAxis]!;
  if (l > maxLen)
    fail(
      op,
      `the sequence has length ${l} (input ${fmtShape(x.shape)}) but maxLen is ${maxLen}; make the layer with a larger maxLen`,
    );
  // The table's first L rows, shaped to broadcast over the batch axis.
  return x.rank === 3 && !batchFirst ? [l, 1, dModel] : [l, dModel];
}

/**
 * The sinusoidal positional encoding of Vaswani et al. (2017), added to the input, then dropout:
 *
 *     PE[p, 2i] = sin(p / 10000^(2i/dModel)),   PE[p, 2i+1] = cos(p / 10000^(2i/dModel))
 *
 * The table [maxLen, dModel] is the buffer `pe` (saved in the state dict, not trained). Inputs are
 * [L, N, dModel] (batchFirst: [N, L, dModel]) or [L, dModel]; L above maxLen is an error.
 *
 *     const pos = new SinusoidalPositionalEncoding(512, { dropout: 0.1 });
 *     const h = pos.forward(embedded); // [L, N, 512]
 */
export class SinusoidalPositionalEncoding extends Module {
  readonly maxLen: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly generator: Generator;

  constructor(
    readonly dModel: number,
    options?: SinusoidalPositionalEncodingOptions,
  ) {
    super();
    const op = 'SinusoidalPositionalEncoding';
    const form = 'new SinusoidalPositionalEncoding(512, { maxLen: 5000, dropout: 0.1 })';
    checkArity(op, arguments, 2, form);
    const {
      maxLen = 5000,
      dropout = 0.1,
      batchFirst = false,
      dtype,
      generator = defaultGenerator,
    } = checkOptions(op, options, ['maxLen', 'dropout', 'batchFirst', 'dtype', 'generator'], form);
    checkInteger(op, 'dModel', dModel);
    checkInteger(op, 'maxLen', maxLen);
    checkNumber(op, 'dropout', dropout, 0, 1);
    checkBoolean(op, 'batchFirst', batchFirst);
    const table = new Float64Array(maxLen * dModel);
    for (let p = 0; p < maxLen; p++) {
      for (let i = 0; i < dModel; i += 2) {
        const angle = p * Math.exp((-i * Math.log(10000)) / dModel);
        table[p * dModel + i] = Math.sin(angle);
        if (i + 1 < dModel) table[p * dModel + i + 1] = Math.cos(angle);
      }
    }
    this.registerBuffer('pe', tensor(table, { shape: [maxLen, dModel] }).cast(floatDType(op, dtype)));
    this.maxLen = maxLen;
    this.dropout = dropout;
    this.batchFirst = batchFirst;
    this.generator = generator;
  }

  forward(x: Tensor): Tensor {
    const op = 'SinusoidalPositionalEncoding';
    const shape = positions(op, x, this.dModel, this.maxLen, this.batchFirst);
    if (!isFloat(x.dtype)) fail(op, `expected a floating-point input, got ${x.dtype}`);
    const pe = this.getBuffer('pe').narrow(0, 0, shape[0]!).reshape(shape).cast(x.dtype);
    return dropoutFn(x.add(pe), this.dropout, this.training, this.generator);
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, maxLen=${this.maxLen}, dropout=${this.dropout}`;
  }
}

export interface LearnedPositionalEncodingOptions extends PositionalEncodingOptions {
  /** Dropout after adding the encoding, in training (default 0). */
  dropout?: number;
}

/**
 * A learnt positional encoding: row p of `weight` [maxLen, dModel] (initialised N(0, 1), as
 * nn.Embedding, so a PyTorch `nn.Embedding(maxLen, dModel)` loads by name) is added at position p,
 * then dropout. Inputs as for SinusoidalPositionalEncoding; L above maxLen is an error.
 *
 *     const pos = new LearnedPositionalEncoding(512, 256, { batchFirst: true });
 *     const h = pos.forward(embedded); // [N, L, 256]
 */
export class LearnedPositionalEncoding extends Module {
  weight: Parameter;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly generator: Generator;

  constructor(
    readonly maxLen: number,
    readonly dModel: number,
    options?: LearnedPositionalEncodingOptions,
  ) {
    super();
    const op = 'LearnedPositionalEncoding';
    const form = 'new LearnedPositionalEncoding(512, 256, { dropout: 0.1, batchFirst: true })';
    checkArity(op, arguments, 3, form);
    const {
      dropout = 0,
      batchFirst = false,
      dtype,
      generator = defaultGenerator,
    } = checkOptions(op, options, ['dropout', 'batchFirst', 'dtype', 'generator'], form);
    checkInteger(op, 'maxLen', maxLen);
    checkInteger(op, 'dModel', dModel);
    checkNumber(op, 'dropout', dropout, 0, 1);
    checkBoolean(op, 'batchFirst', batchFirst);
    this.weight = parameter([maxLen, dModel], floatDType(op, dtype), (t) => normal_(t));
    this.dropout = dropout;
    this.batchFirst = batchFirst;
    this.generator = generator;
  }

  forward(x: Tensor): Tensor {
    const op = 'LearnedPositionalEncoding';
    const shape = positions(op, x, this.dModel, this.maxLen, this.batchFirst);
    checkParamDType(op, x, this.weight);
    const pe = this.weight.narrow(0, 0, shape[0]!).reshape(shape);
    return dropoutFn(x.add(pe), this.dropout, this.training, this.generator);
  }

  protected override extraRepr(): string {
    return `maxLen=${this.maxLen}, dModel=${this.dModel}, dropout=${this.dropout}`;
  }
}
