import { noGrad } from '../autograd/mode.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { gelu } from '../ops/functional.js';
import { tensor, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { MultiheadAttention } from './attention.js';
import { checkBoolean } from './checks.js';
import { Dropout } from './dropout.js';
import { xavierUniform_ } from './init.js';
import { Linear } from './layers.js';
import { checkInput, checkInteger, checkNumber, floatDType, Module } from './module.js';
import { LayerNorm } from './normalization.js';

/**
 * The Transformer of Vaswani et al. (2017) as PyTorch 1.13 builds it: encoder and decoder layers,
 * their stacks and the whole model, with PyTorch's submodule names (self_attn, linear1, norm1, …,
 * layers.0, encoder, decoder), so that a PyTorch state dict loads by name.
 */

/** The feed-forward block's activation. */
export type TransformerActivation = 'relu' | 'gelu';

export interface TransformerLayerOptions {
  /** Width of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout in attention, after each block and inside the feed-forward block (default 0.1). */
  dropout?: number;
  /** 'relu' (default) or 'gelu' (the exact erf form) in the feed-forward block. */
  activation?: TransformerActivation;
  /** LayerNorm's eps (default 1e-5). */
  layerNormEps?: number;
  /** Inputs and outputs as [N, L, dModel] rather than [L, N, dModel]. */
  batchFirst?: boolean;
  /** Normalise before each block (pre-LN, x + f(norm(x))) rather than after (post-LN, the default). */
  normFirst?: boolean;
  /** dtype of the parameters (float64 for gradient checks). */
  dtype?: DType;
  /** The generator dropout draws from (the global default unless given). */
  generator?: Generator;
}

const LAYER_OPTIONS = [
  'dimFeedforward',
  'dropout',
  'activation',
  'layerNormEps',
  'batchFirst',
  'normFirst',
  'dtype',
  'generator',
] as const;

/** A layer's options checked and with their defaults. */
function layerConfig(
  op: string,
  dModel: unknown,
  nhead: unknown,
  options: TransformerLayerOptions | undefined,
  form: string,
): Required<TransformerLayerOptions> {
  const {
    dimFeedforward = 2048,
    dropout = 0.1,
    activation = 'relu',
    layerNormEps = 1e-5,
    batchFirst = false,
    normFirst = false,
    dtype,
    generator = defaultGenerator,
  } = checkOptions(op, options, LAYER_OPTIONS, form);
  checkInteger(op, 'dModel', dModel);
  checkInteger(op, 'nhead', nhead);
  checkInteger(op, 'dimFeedforward', dimFeedforward);
  checkNumber(op, 'dropout', dropout, 0, 1);
  if (activation !== 'relu' && activation !== 'gelu')
    fail(op, `activation must be 'relu' or 'gelu', got ${describe(activation)}`);
  checkNumber(op, 'layerNormEps', layerNormEps, 0);
  checkBoolean(op, 'batchFirst', batchFirst);
  checkBoolean(op, 'normFirst', normFirst);
  const type = floatDType(op, dtype);
  return {
    dimFeedforward,
    dropout,
    activation,
    layerNormEps,
    batchFirst,
    normFirst,
    dtype: type,
    generator,
  };
}

/** The feed-forward block's nonlinearity. */
function activate(x: Tensor, activation: TransformerActivation): Tensor {
  return activation === 'relu' ? x.relu() : gelu(x);
}

export interface TransformerEncoderLayerForwardOptions {
  /** The self-attention mask [L, L] (or [N·nhead, L, L]): int32 nonzero = not allowed, or float added. */
  srcMask?: Tensor | null;
  /** Padding to ignore, [N, L]: int32 nonzero = padding, or a float mask added. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * One encoder layer, PyTorch's TransformerEncoderLayer: self-attention then a feed-forward block
 * (linear1, activation, dropout, linear2), each with dropout, a residual connection and a LayerNorm
 * (after the sum by default; before the block with normFirst). Parts named as PyTorch's: self_attn,
 * linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
 *
 *     const layer = new TransformerEncoderLayer(512, 8, { dimFeedforward: 2048, batchFirst: true });
 *     const y = layer.forward(x, { srcKeyPaddingMask }); // x [N, L, 512]
 */
export class TransformerEncoderLayer extends Module<[Tensor, TransformerEncoderLayerForwardOptions?]> {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly options: Readonly<Required<TransformerLayerOptions>>;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    options?: TransformerLayerOptions,
  ) {
    super();
    const op = 'TransformerEncoderLayer';
    const form = `new TransformerEncoderLayer(${describe(dModel)}, ${describe(nhead)}, { dimFeedforward: 2048, dropout: 0.1 })`;
    checkArity(op, arguments, 3, form);
    const o = layerConfig(op, dModel, nhead, options, form);
    this.options = o;
    const { dtype, generator } = o;
    this.self_attn = new MultiheadAttention(dModel, nhead, {
      dropout: o.dropout,
      batchFirst: o.batchFirst,
      dtype,
      generator,
    });
    this.linear1 = new Linear(dModel, o.dimFeedforward, { dtype });
    this.dropout = new Dropout(o.dropout, { generator });
    this.linear2 = new Linear(o.dimFeedforward, dModel, { dtype });
    this.norm1 = new LayerNorm(dModel, { eps: o.layerNormEps, dtype });
    this.norm2 = new LayerNorm(dModel, { eps: o.layerNormEps, dtype });
    this.dropout1 = new Dropout(o.dropout, { generator });
    this.dropout2 = new Dropout(o.dropout, { generator });
  }

  /** A new layer with this one's configuration, weights (copied) and mode: PyTorch's deepcopy when it stacks a layer. */
  clone(): TransformerEncoderLayer {
    const copy = new TransformerEncoderLayer(this.dModel, this.nhead, this.options);
    copy.loadStateDict(this.stateDict());
    return copy.train(this.training);
  }

  forward(src: Tensor, options?: TransformerEncoderLayerForwardOptions): Tensor {
    const op = 'TransformerEncoderLayer';
    const form = 'forward(src, { srcMask, srcKeyPaddingMask })';
    checkArity(op, arguments, 2, form);
    const { srcMask = null, srcKeyPaddingMask = null } = checkOptions(
      op,
      options,
      ['srcMask', 'srcKeyPaddingMask'],
      form,
    );
    checkInput(op, src, 'src');
    const selfAttention = (x: Tensor) => {
      const [y] = this.self_attn.forward(x, x, x, {
        attnMask: srcMask,
        keyPaddingMask: srcKeyPaddingMask,
        needWeights: false,
      });
      return this.dropout1.forward(y);
    };
    const feedForward = (x: Tensor) =>
      this.dropout2.forward(
        this.linear2.forward(
          this.dropout.forward(activate(this.linear1.forward(x), this.options.activation)),
        ),
      );
    let x = src;
    if (this.options.normFirst) {
      x = x.add(selfAttention(this.norm1.forward(x)));
      return x.add(feedForward(this.norm2.forward(x)));
    }
    x = this.norm1.forward(x.add(selfAttention(x)));
    return this.norm2.forward(x.add(feedForward(x)));
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, normFirst=${this.options.normFirst}`;
  }
}

export interface TransformerDecoderLayerForwardOptions {
  /** The self-attention mask [T, T] (generateSquareSubsequentMask for causal decoding). */
  tgtMask?: Tensor | null;
  /** The mask of the attention to the memory, [T, S]. */
  memoryMask?: Tensor | null;
  /** Padding of the target to ignore, [N, T]. */
  tgtKeyPaddingMask?: Tensor | null;
  /** Padding of the memory to ignore, [N, S]. */
  memoryKeyPaddingMask?: Tensor | null;
}

const DECODER_MASKS = ['tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask'] as const;

/**
 * One decoder layer, PyTorch's TransformerDecoderLayer: self-attention, attention to the encoder's
 * output (the memory), then the feed-forward block, each with dropout, a residual connection and a
 * LayerNorm (post-LN by default, pre-LN with normFirst). Parts named as PyTorch's: self_attn,
 * multihead_attn, linear1, dropout, linear2, norm1, norm2, norm3, dropout1, dropout2, dropout3.
 *
 *     const layer = new TransformerDecoderLayer(512, 8);
 *     const y = layer.forward(tgt, memory, { tgtMask: Transformer.generateSquareSubsequentMask(tgt.shape[0]) });
 */
export class TransformerDecoderLayer extends Module<
  [Tensor, Tensor, TransformerDecoderLayerForwardOptions?]
> {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly options: Readonly<Required<TransformerLayerOptions>>;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    options?: TransformerLayerOptions,
  ) {
    super();
    const op = 'TransformerDecoderLayer';
    const form = `new TransformerDecoderLayer(${describe(dModel)}, ${describe(nhead)}, { dimFeedforward: 2048, dropout: 0.1 })`;
    checkArity(op, arguments, 3, form);
    const o = layerConfig(op, dModel, nhead, options, form);
    this.options = o;
    const { dtype, generator } = o;
    const attention = () =>
      new MultiheadAttention(dModel, nhead, {
        dropout: o.dropout,
        batchFirst: o.batchFirst,
        dtype,
        generator,
      });
    this.self_attn = attention();
    this.multihead_attn = attention();
    this.linear1 = new Linear(dModel, o.dimFeedforward, { dtype });
    this.dropout = new Dropout(o.dropout, { generator });
    this.linear2 = new Linear(o.dimFeedforward, dModel, { dtype });
    this.norm1 = new LayerNorm(dModel, { eps: o.layerNormEps, dtype });
    this.norm2 = new LayerNorm(dModel, { eps: o.layerNormEps, dtype });
    this.norm3 = new LayerNorm(dModel, { eps: o.layerNormEps, dtype });
    this.dropout1 = new Dropout(o.dropout, { generator });
    this.dropout2 = new Dropout(o.dropout, { generator });
    this.dropout3 = new Dropout(o.dropout, { generator });
  }

  /** A new layer with this one's configuration, weights (copied) and mode: PyTorch's deepcopy when it stacks a layer. */
  clone(): TransformerDecoderLayer {
    const copy = new TransformerDecoderLayer(this.dModel, this.nhead, this.options);
    copy.loadStateDict(this.stateDict());
    return copy.train(this.training);
  }

  forward(tgt: Tensor, memory: Tensor, options?: TransformerDecoderLayerForwardOptions): Tensor {
    const op = 'TransformerDecoderLayer';
    const form = 'forward(tgt, memory, { tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask })';
    checkArity(op, arguments, 3, form);
    const {
      tgtMask = null,
      memoryMask = null,
      tgtKeyPaddingMask = null,
      memoryKeyPaddingMask = null,
    } = checkOptions(op, options, DECODER_MASKS, form);
    checkInput(op, tgt, 'tgt');
    checkInput(op, memory, 'memory');
    const selfAttention = (x: Tensor) => {
      const [y] = this.self_attn.forward(x, x, x, {
        attnMask: tgtMask,
        keyPaddingMask: tgtKeyPaddingMask,
        needWeights: false,
      });
      return this.dropout1.forward(y);
    };
    const crossAttention = (x: Tensor) => {
      const [y] = this.multihead_attn.forward(x, memory, memory, {
        attnMask: memoryMask,
        keyPaddingMask: memoryKeyPaddingMask,
        needWeights: false,
      });
      return this.dropout2.forward(y);
    };
    const feedForward = (x: Tensor) =>
      this.dropout3.forward(
        this.linear2.forward(
          this.dropout.forward(activate(this.linear1.forward(x), this.options.activation)),
        ),
      );
    let x = tgt;
    if (this.options.normFirst) {
      x = x.add(selfAttention(this.norm1.forward(x)));
      x = x.add(crossAttention(this.norm2.forward(x)));
      return x.add(feedForward(this.norm3.forward(x)));
    }
    x = this.norm1.forward(x.add(selfAttention(x)));
    x = this.norm2.forward(x.add(crossAttention(x)));
    return this.norm3.forward(x.add(feedForward(x)));
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, normFirst=${this.options.normFirst}`;
  }
}

export interface TransformerStackOptions {
  /** A module applied to the last layer's output (a LayerNorm), PyTorch's `norm`. */
  norm?: Module | null;
}

/** The layers of a stack: `numLayers` copies of a layer (PyTorch's deepcopies), or one call of a factory per layer. */
function stack<L extends { clone(): L }>(
  op: string,
  layer: L | ((index: number) => L),
  numLayers: number,
  kind: abstract new (...args: never[]) => L,
): L[] {
  checkInteger(op, 'numLayers', numLayers);
  const make = typeof layer === 'function' ? layer : () => layer.clone();
  return Array.from({ length: numLayers }, (_, i) => {
    const made = make(i);
    if (!(made instanceof kind))
      fail(op, `the layer factory must return a ${kind.name}, got ${describe(made)} for layer ${i}`);
    return made;
  });
}

export interface TransformerEncoderForwardOptions {
  /** The self-attention mask of every layer (PyTorch's `mask`). */
  mask?: Tensor | null;
  /** Padding to ignore, [N, L]. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * A stack of `numLayers` encoder layers, then `norm` if given: PyTorch's TransformerEncoder. Given a
 * layer, it stacks copies of it (same initial weights, as PyTorch's deepcopy); given a factory
 * `(i) => layer`, it calls it once per layer. The layers are `layers.0`, `layers.1`, ….
 *
 *     const encoder = new TransformerEncoder(new TransformerEncoderLayer(512, 8), 6, { norm: new LayerNorm(512) });
 */
export class TransformerEncoder extends Module<[Tensor, TransformerEncoderForwardOptions?]> {
  layers: TransformerEncoderLayer[];
  norm: Module | null;

  constructor(
    layer: TransformerEncoderLayer | ((index: number) => TransformerEncoderLayer),
    readonly numLayers: number,
    options?: TransformerStackOptions,
  ) {
    super();
    const op = 'TransformerEncoder';
    const form = 'new TransformerEncoder(layer, 6, { norm: new LayerNorm(512) })';
    checkArity(op, arguments, 3, form);
    const { norm = null } = checkOptions(op, options, ['norm'], form);
    if (norm !== null && !(norm instanceof Module)) fail(op, `norm must be a Module, got ${describe(norm)}`);
    if (typeof layer !== 'function' && !(layer instanceof TransformerEncoderLayer))
      fail(op, `expected a TransformerEncoderLayer or a function (i) => layer, got ${describe(layer)}`);
    this.layers = stack(op, layer, numLayers, TransformerEncoderLayer);
    this.norm = norm;
  }

  forward(src: Tensor, options?: TransformerEncoderForwardOptions): Tensor {
    const op = 'TransformerEncoder';
    const form = 'forward(src, { mask, srcKeyPaddingMask })';
    checkArity(op, arguments, 2, form);
    const { mask = null, srcKeyPaddingMask = null } = checkOptions(
      op,
      options,
      ['mask', 'srcKeyPaddingMask'],
      form,
    );
    checkInput(op, src, 'src');
    let x = src;
    for (const layer of this.layers) x = layer.forward(x, { srcMask: mask, srcKeyPaddingMask });
    return this.norm ? this.norm.forward(x) : x;
  }
}

/**
 * A stack of `numLayers` decoder layers over the memory, then `norm` if given: PyTorch's
 * TransformerDecoder, built as TransformerEncoder is (copies of a layer, or a factory).
 *
 *     const decoder = new TransformerDecoder(new TransformerDecoderLayer(512, 8), 6);
 *     const y = decoder.forward(tgt, memory, { tgtMask });
 */
export class TransformerDecoder extends Module<[Tensor, Tensor, TransformerDecoderLayerForwardOptions?]> {
  layers: TransformerDecoderLayer[];
  norm: Module | null;

  constructor(
    layer: TransformerDecoderLayer | ((index: number) => TransformerDecoderLayer),
    readonly numLayers: number,
    options?: TransformerStackOptions,
  ) {
    super();
    const op = 'TransformerDecoder';
    const form = 'new TransformerDecoder(layer, 6, { norm: new LayerNorm(512) })';
    checkArity(op, arguments, 3, form);
    const { norm = null } = checkOptions(op, options, ['norm'], form);
    if (norm !== null && !(norm instanceof Module)) fail(op, `norm must be a Module, got ${describe(norm)}`);
    if (typeof layer !== 'function' && !(layer instanceof TransformerDecoderLayer))
      fail(op, `expected a TransformerDecoderLayer or a function (i) => layer, got ${describe(layer)}`);
    this.layers = stack(op, layer, numLayers, TransformerDecoderLayer);
    this.norm = norm;
  }

  forward(tgt: Tensor, memory: Tensor, options?: TransformerDecoderLayerForwardOptions): Tensor {
    const op = 'TransformerDecoder';
    const form = 'forward(tgt, memory, { tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask })';
    checkArity(op, arguments, 3, form);
    const masks = checkOptions(op, options, DECODER_MASKS, form);
    checkInput(op, tgt, 'tgt');
    checkInput(op, memory, 'memory');
    let x = tgt;
    for (const layer of this.layers) x = layer.forward(x, memory, masks);
    return this.norm ? this.norm.forward(x) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  /** Features of every layer (default 512). */
  dModel?: number;
  /** Attention heads (default 8). */
  nhead?: number;
  /** Encoder layers (default 6). */
  numEncoderLayers?: number;
  /** Decoder layers (default 6). */
  numDecoderLayers?: number;
}

export interface TransformerForwardOptions extends TransformerDecoderLayerForwardOptions {
  /** The encoder's self-attention mask [S, S]. */
  srcMask?: Tensor | null;
  /** Padding of the source to ignore, [N, S]. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * The encoder-decoder Transformer (Vaswani et al., 2017), PyTorch 1.13's nn.Transformer: an
 * `encoder` (TransformerEncoder with a final LayerNorm) and a `decoder` (TransformerDecoder with a
 * final LayerNorm), every parameter of two or more axes re-initialised Xavier-uniform, as PyTorch.
 * Source [S, N, dModel] and target [T, N, dModel] ([N, …] with batchFirst; unbatched [S, dModel]
 * and [T, dModel] too) give [T, N, dModel]. Embeddings, positional encodings and the output layer
 * are the caller's, as in PyTorch.
 *
 *     const model = new Transformer({ dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3 });
 *     const tgtMask = Transformer.generateSquareSubsequentMask(tgt.shape[0]);
 *     const y = model.forward(src, tgt, { tgtMask });
 */
export class Transformer extends Module<[Tensor, Tensor, TransformerForwardOptions?]> {
  encoder: TransformerEncoder;
  decoder: TransformerDecoder;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(options?: TransformerOptions) {
    super();
    const op = 'Transformer';
    const form = 'new Transformer({ dModel: 512, nhead: 8, numEncoderLayers: 6, numDecoderLayers: 6 })';
    checkArity(op, arguments, 1, form);
    const {
      dModel = 512,
      nhead = 8,
      numEncoderLayers = 6,
      numDecoderLayers = 6,
      ...layerOptions
    } = checkOptions(
      op,
      options,
      ['dModel', 'nhead', 'numEncoderLayers', 'numDecoderLayers', ...LAYER_OPTIONS],
      form,
    );
    const o = layerConfig(op, dModel, nhead, layerOptions, form);
    const norm = () => new LayerNorm(dModel, { eps: o.layerNormEps, dtype: o.dtype });
    this.encoder = new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, o), numEncoderLayers, {
      norm: norm(),
    });
    this.decoder = new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, o), numDecoderLayers, {
      norm: norm(),
    });
    // Drawn in float32 and widened, as parameter() does, so a float64 model starts from its float32 twin's weights.
    noGrad(() => {
      for (const p of this.parameters()) if (p.rank > 1) p.copy_(xavierUniform_(zeros(p.shape)));
    });
    this.dModel = dModel;
    this.nhead = nhead;
    this.batchFirst = o.batchFirst;
  }

  /**
   * The causal mask of a length-n sequence for `tgtMask`: [n, n] float, -∞ above the diagonal (the
   * future) and 0 elsewhere, PyTorch's generate_square_subsequent_mask.
   */
  static generateSquareSubsequentMask(n: number, dtype: DType = 'float32'): Tensor {
    const op = 'generateSquareSubsequentMask';
    checkArity(op, arguments, 2, "generateSquareSubsequentMask(n, 'float32')");
    checkInteger(op, 'n', n);
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) data[i * n + j] = -Infinity;
    return tensor(data, { shape: [n, n] }).cast(floatDType(op, dtype));
  }

  forward(src: Tensor, tgt: Tensor, options?: TransformerForwardOptions): Tensor {
    const op = 'Transformer';
    const form = 'forward(src, tgt, { srcMask, tgtMask, memoryMask, srcKeyPaddingMask, … })';
    checkArity(op, arguments, 3, form);
    const {
      srcMask = null,
      srcKeyPaddingMask = null,
      ...masks
    } = checkOptions(op, options, ['srcMask', 'srcKeyPaddingMask', ...DECODER_MASKS], form);
    checkInput(op, src, 'src');
    checkInput(op, tgt, 'tgt');
    if (src.rank !== tgt.rank || (src.rank !== 2 && src.rank !== 3))
      fail(
        op,
        `src and tgt must both be ${this.batchFirst ? '[N, L, dModel]' : '[L, N, dModel]'} or both unbatched [L, dModel], got ${fmtShape(src.shape)} and ${fmtShape(tgt.shape)}`,
      );
    const batchAxis = this.batchFirst ? 0 : 1;
    if (src.rank === 3 && src.shape[batchAxis] !== tgt.shape[batchAxis])
      fail(
        op,
        `the batch size of src and tgt must be equal: src is ${fmtShape(src.shape)}, tgt ${fmtShape(tgt.shape)} (axis ${batchAxis})`,
      );
    if (src.shape[src.rank - 1] !== this.dModel || tgt.shape[tgt.rank - 1] !== this.dModel)
      fail(
        op,
        `the features of src and tgt must be dModel = ${this.dModel}: src is ${fmtShape(src.shape)}, tgt ${fmtShape(tgt.shape)}`,
      );
    const memory = this.encoder.forward(src, { mask: srcMask, srcKeyPaddingMask });
    return this.decoder.forward(tgt, memory, masks);
  }

  protected override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}`;
  }
}
