import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Initialisers write into a tensor's storage in place (like PyTorch's `nn.init.*_`) and return it.
 * All draw from the seeded generator, so a seed fixes a model's initial weights.
 */

function fill(t: Tensor, draw: () => number): Tensor {
  if (!(t instanceof Tensor)) fail('init', `expected a Tensor to fill, got ${describe(t)}`);
  if (!t.isContiguous()) fail('init', `expected a contiguous tensor, got strides [${t.strides}]`);
  for (let i = 0; i < t.size; i++) t.data[t.offset + i] = draw();
  return t;
}

/** fan_in and fan_out as PyTorch computes them: [out, in, ...kernel] with the kernel's size as receptive field. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (!(t instanceof Tensor)) fail('init', `expected a Tensor, got ${describe(t)}`);
  if (t.rank < 2) fail('init', `fan in and fan out need at least 2 axes, got shape ${fmtShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

/** PyTorch's names for the layers that are linear maps: calculateGain gives 1 for each. */
/** The names calculateGain treats as linear (gain 1), PyTorch's list. */
export const LINEAR_FNS = [
  'linear',
  'conv1d',
  'conv2d',
  'conv3d',
  'conv_transpose1d',
  'conv_transpose2d',
  'conv_transpose3d',
] as const;

export type Nonlinearity = (typeof LINEAR_FNS)[number] | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/**
 * The gain that keeps activations' variance steady through a non-linearity (PyTorch's calculate_gain):
 * 1 for the linear maps (linear, conv1d/2d/3d, conv_transpose1d/2d/3d) and sigmoid, 5/3 for tanh, √2 for
 * relu, √(2/(1 + slope²)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  checkArity('calculateGain', arguments, 2, "calculateGain('leaky_relu', 0.2)");
  if ((LINEAR_FNS as readonly string[]).includes(nonlinearity)) return 1;
  switch (nonlinearity) {
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      if (param !== undefined && typeof param !== 'number')
        fail('calculateGain', `leaky_relu's negative slope must be a number, got ${describe(param)}`);
      return Math.sqrt(2 / (1 + (param ?? 0.01) ** 2));
    case 'selu':
      return 3 / 4;
    default:
      return fail(
        'calculateGain',
        `unknown nonlinearity ${describe(nonlinearity)}: expected one of ${[...LINEAR_FNS, 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'].map((n) => `'${n}'`).join(', ')}`,
      );
  }
}

export interface InitOptions {
  generator?: Generator;
}

/** The generator an initialiser draws from, its options checked. */
function generatorOf(op: string, opts: InitOptions | undefined, form: string): Generator {
  const { generator = defaultGenerator } = checkOptions(op, opts, ['generator'], form);
  if (!(generator instanceof Generator))
    fail(op, `generator must be a Generator, got ${describe(generator)}`);
  return generator;
}

/** Checks a real argument of an initialiser. */
function checkReal(op: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(op, `${name} must be a finite number, got ${describe(value)}`);
}

export function uniform_(t: Tensor, low = 0, high = 1, opts?: InitOptions): Tensor {
  const form = 'uniform_(t, low, high, { generator })';
  checkArity('uniform_', arguments, 4, form);
  checkReal('uniform_', 'low', low);
  checkReal('uniform_', 'high', high);
  const g = generatorOf('uniform_', opts, form);
  return fill(t, () => low + (high - low) * g.uniform());
}

export function normal_(t: Tensor, mean = 0, std = 1, opts?: InitOptions): Tensor {
  const form = 'normal_(t, mean, std, { generator })';
  checkArity('normal_', arguments, 4, form);
  checkReal('normal_', 'mean', mean);
  checkReal('normal_', 'std', std);
  const g = generatorOf('normal_', opts, form);
  return fill(t, () => mean + std * g.normal());
}

export function constant_(t: Tensor, value: number): Tensor {
  checkArity('constant_', arguments, 2, 'constant_(t, value)');
  if (typeof value !== 'number') fail('constant_', `value must be a number, got ${describe(value)}`);
  return fill(t, () => value);
}

export function zeros_(t: Tensor): Tensor {
  checkArity('zeros_', arguments, 1, 'zeros_(t)');
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  checkArity('ones_', arguments, 1, 'ones_(t)');
  return constant_(t, 1);
}

/** Glorot & Bengio (2010): U(±gain·sqrt(6 / (fan_in + fan_out))). */
export function xavierUniform_(t: Tensor, gain = 1, opts?: InitOptions): Tensor {
  checkArity('xavierUniform_', arguments, 3, 'xavierUniform_(t, gain, { generator })');
  const { fanIn, fanOut } = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, opts);
}

/** Glorot & Bengio (2010): N(0, gain²·2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, gain = 1, opts?: InitOptions): Tensor {
  checkArity('xavierNormal_', arguments, 3, 'xavierNormal_(t, gain, { generator })');
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends InitOptions {
  /** The negative slope of a leaky ReLU (PyTorch's `a`). */
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
}

const KAIMING_FORM = "kaimingUniform_(t, { a: Math.sqrt(5), mode: 'fan_in', nonlinearity: 'leaky_relu' })";

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions | undefined): number {
  const {
    a = 0,
    mode = 'fan_in',
    nonlinearity = 'leaky_relu',
  } = checkOptions(op, opts, ['a', 'mode', 'nonlinearity', 'generator'], KAIMING_FORM);
  checkReal(op, 'a', a);
  if (mode !== 'fan_in' && mode !== 'fan_out')
    fail(op, `mode must be 'fan_in' or 'fan_out', got ${describe(mode)}`);
  const { fanIn, fanOut } = fans(t);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fan_in' ? fanIn : fanOut);
}

/** He et al. (2015): U(±sqrt(3)·gain/sqrt(fan)). */
export function kaimingUniform_(t: Tensor, opts?: KaimingOptions): Tensor {
  checkArity('kaimingUniform_', arguments, 2, KAIMING_FORM);
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  return uniform_(t, -bound, bound, { generator: opts?.generator ?? defaultGenerator });
}

/** He et al. (2015): N(0, gain²/fan). */
export function kaimingNormal_(t: Tensor, opts?: KaimingOptions): Tensor {
  checkArity('kaimingNormal_', arguments, 2, KAIMING_FORM.replace('Uniform', 'Normal'));
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, opts), {
    generator: opts?.generator ?? defaultGenerator,
  });
}

/**
 * Saxe et al. (2014): a (semi-)orthogonal matrix, the Q of a Gaussian matrix's QR decomposition.
 * Gram–Schmidt yields the Q whose R has a positive diagonal, which makes Q uniformly (Haar)
 * distributed. Axes after the first are flattened.
 */
export function orthogonal_(t: Tensor, gain = 1, opts?: InitOptions): Tensor {
  const form = 'orthogonal_(t, gain, { generator })';
  checkArity('orthogonal_', arguments, 3, form);
  const g = generatorOf('orthogonal_', opts, form);
  if (!(t instanceof Tensor)) fail('orthogonal_', `expected a Tensor, got ${describe(t)}`);
  if (t.rank < 2) fail('orthogonal_', `expected at least 2 axes, got shape ${fmtShape(t.shape)}`);
  if (!t.isContiguous()) fail('orthogonal_', `expected a contiguous tensor, got strides [${t.strides}]`);
  const rows = t.shape[0]!;
  const cols = t.size / rows;
  // Orthonormalise the columns of a tall matrix (transposing a wide one), by modified Gram–Schmidt.
  const tall = rows >= cols;
  const [m, n] = tall ? [rows, cols] : [cols, rows];
  const q = Array.from({ length: n }, () => Float64Array.from({ length: m }, () => g.normal()));
  for (let j = 0; j < n; j++) {
    const v = q[j]!;
    for (let k = 0; k < j; k++) {
      const u = q[k]!;
      let d = 0;
      for (let i = 0; i < m; i++) d += u[i]! * v[i]!;
      for (let i = 0; i < m; i++) v[i]! -= d * u[i]!;
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) v[i]! /= norm;
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) t.data[t.offset + r * cols + c] = gain * (tall ? q[c]![r]! : q[r]![c]!);
  }
  return t;
}
