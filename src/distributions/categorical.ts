import { fail } from '../errors.js';
import { oneHot } from '../ops/indexing.js';
import { full } from '../tensor/creation.js';
import { defaultGenerator } from '../tensor/random.js';
import { broadcastShapes, type Shape, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { dtypeEps, type ProbsOrLogits, probsOrLogits } from './bernoulli.js';
import { checkParameter, Distribution, type Parameter, type SampleOptions } from './distribution.js';

const MIN_REAL = { float32: -3.4028234663852886e38, float64: -Number.MAX_VALUE } as const;

/**
 * The categorical distribution over {0, …, K−1}, torch.distributions.Categorical, given `{ probs }`
 * (non-negative along the last axis, normalised to sum to 1) or `{ logits }` (normalised by
 * logsumexp). The last axis holds the K categories: probs [B, K] is a batch of B. Samples are int32
 * indices; there is no rsample. The mean and variance are NaN, as in PyTorch.
 *
 *     const d = new distributions.Categorical({ probs: tensor([0.5, 0.25, 0.25]) });
 *     d.logProb(tensor([0, 2], { dtype: 'int32' })).tolist() // → [-0.693147, -1.386294]
 *     d.sample([2]).dtype // → 'int32'
 */
export class Categorical extends Distribution {
  /** The normalised probabilities, [...batchShape, K]. */
  readonly probs: Tensor;
  /** The normalised log-probabilities, [...batchShape, K]. */
  readonly logits: Tensor;
  /** K, the number of categories. */
  readonly numEvents: number;

  constructor(params: ProbsOrLogits, name = 'Categorical') {
    const { probs, logits, validate } = probsOrLogits(name, params);
    const given = (probs ?? logits)!;
    if (given.rank < 1)
      fail(
        name,
        `${probs ? 'probs' : 'logits'} must have at least one axis (the categories), got a 0-d tensor`,
      );
    const k = given.shape[given.rank - 1]!;
    if (k < 1) fail(name, 'there must be at least one category (the last axis has size 0)');
    super(name, given.shape.slice(0, -1), [], validate);
    this.numEvents = k;
    if (probs) {
      if (validate) {
        checkParameter(name, 'probs', probs, (v) => v >= 0 && v < Infinity, 'non-negative and finite');
        checkParameter(name, 'the sum of probs along the last axis', probs.sum(-1), (v) => v > 0, 'positive');
      }
      this.probs = probs.div(probs.sum(-1, true));
      const eps = dtypeEps(probs.dtype);
      this.logits = this.probs.clamp(eps, 1 - eps).log();
    } else {
      if (validate) checkParameter(name, 'logits', logits!, (v) => !Number.isNaN(v), 'a number (not NaN)');
      this.logits = logits!.sub(logits!.logsumexp(-1, true));
      this.probs = this.logits.softmax(-1);
    }
  }

  get mean(): Tensor {
    return full(this.batchShape, Number.NaN, { dtype: this.probs.dtype });
  }

  get variance(): Tensor {
    return full(this.batchShape, Number.NaN, { dtype: this.probs.dtype });
  }

  /** Indices drawn by inverting the cumulative probabilities, int32 of shape [...sampleShape, ...batchShape]. */
  override sample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const g = this.generatorOf(opts) ?? defaultGenerator;
    const k = this.numEvents;
    const p = this.probs.toTypedArray();
    const batch = sizeOf(this.batchShape);
    const out = new Int32Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) {
      const row = (i % batch) * k;
      const u = g.uniform();
      let c = 0;
      let j = 0;
      // The last category of positive probability takes what rounding leaves above the running sum
      // (never one of probability 0, as torch.multinomial).
      let last = k - 1;
      while (last > 0 && p[row + last]! === 0) last--;
      for (; j < last; j++) {
        c += p[row + j]!;
        if (u < c) break;
      }
      out[i] = j;
    }
    return new Tensor(out, shape);
  }

  /** logits[value]: the value's integers pick from the last axis (batch axes broadcast). */
  logProb(value: Parameter): Tensor {
    const v = this.checkValue(value, 'float32');
    const shape = broadcastShapes(`${this.name}.logProb`, v.shape, this.batchShape);
    const index = v.cast('int32').expand(shape).unsqueeze(-1).contiguous();
    return this.logits
      .expand([...shape, this.numEvents])
      .contiguous()
      .gather(-1, index)
      .squeeze(-1);
  }

  /** −Σ p log p along the categories (log p clamped to the dtype's lowest, so 0·log 0 is 0). */
  entropy(): Tensor {
    const dtype = this.logits.dtype === 'float64' ? 'float64' : 'float32';
    return this.logits.clamp(MIN_REAL[dtype]).mul(this.probs).sum(-1).neg();
  }

  protected support(value: Tensor): Tensor {
    const v = value.toTypedArray();
    const mask = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++)
      mask[i] = Number.isInteger(v[i]) && v[i]! >= 0 && v[i]! < this.numEvents ? 1 : 0;
    return new Tensor(mask, value.shape);
  }

  protected supportText(): string {
    return `integers 0 to ${this.numEvents - 1}`;
  }
}

/**
 * Categorical as one-hot vectors, torch.distributions.OneHotCategorical: event shape [K], samples are
 * one-hot vectors in the parameters' dtype, logProb takes one-hot vectors. Mean probs, variance
 * probs·(1 − probs).
 *
 *     const d = new distributions.OneHotCategorical({ logits: tensor([0, 0, 0, 0]) });
 *     d.eventShape // → [4]
 *     d.sample([2]).sum(-1).tolist() // → [1, 1]
 */
export class OneHotCategorical extends Distribution {
  /** The categorical distribution of the index of the 1. */
  readonly categorical: Categorical;

  constructor(params: ProbsOrLogits) {
    const categorical = new Categorical(params, 'OneHotCategorical');
    super('OneHotCategorical', categorical.batchShape, [categorical.numEvents], categorical.validateArgs);
    this.categorical = categorical;
  }

  get probs(): Tensor {
    return this.categorical.probs;
  }

  get logits(): Tensor {
    return this.categorical.logits;
  }

  get mean(): Tensor {
    return this.probs;
  }

  get variance(): Tensor {
    return this.probs.mul(this.probs.neg().add(1));
  }

  override sample(sampleShape: Shape = [], opts?: SampleOptions): Tensor {
    this.extendedShape(sampleShape);
    const indices = this.categorical.sample(sampleShape, opts);
    return oneHot(indices, this.categorical.numEvents).cast(this.probs.dtype);
  }

  logProb(value: Parameter): Tensor {
    const v = this.checkValue(value, this.probs.dtype);
    return this.categorical.logProb(v.argmax(-1));
  }

  entropy(): Tensor {
    return this.categorical.entropy();
  }

  protected support(value: Tensor): Tensor {
    const binary = value.eq(0).add(value.eq(1)).cast('float32').min(-1).eq(1);
    return binary.mul(value.sum(-1).eq(1));
  }

  protected supportText(): string {
    return 'one-hot vectors';
  }
}
