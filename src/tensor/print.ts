import { isFloat } from './dtype.js';
import type { Tensor } from './tensor.js';

/**
 * PyTorch's default print options: past THRESHOLD elements a tensor is summarised to EDGE entries at
 * each end of every axis, numbers get PRECISION decimals, and lines wrap at LINE_WIDTH columns.
 */
const THRESHOLD = 1000;
const EDGE = 3;
const PRECISION = 4;
const LINE_WIDTH = 80;

/**
 * PyTorch's printing, `tensor([[1.0000, 2.5000], ...], dtype=float64)`, with its number formatting:
 * one format for the whole tensor, chosen from the values printed — integers as `1.` when every finite
 * value is an integer, scientific (`1.0000e-05`) when the finite non-zero magnitudes span more than
 * 1000× or leave [1e-4, 1e8), four decimals otherwise — and entries right-aligned to the widest.
 * Large tensors show their first and last three entries of each axis with `...` between; only those
 * are read, so printing costs the same for any size.
 */
export function formatTensor(t: Tensor): string {
  const summarise = t.size > THRESHOLD;
  const keep = t.shape.map((d) =>
    summarise && d > 2 * EDGE ? [...range(0, EDGE), ...range(d - EDGE, d)] : range(0, d),
  );
  const format = formatter(t, printedValues(t, keep));
  const prefix = 'tensor(';
  const body = t.size === 0 ? '[]' : layout(t, format, summarise, prefix.length);
  const suffixes: string[] = [];
  if (t.size === 0 && t.rank !== 1) suffixes.push(`shape=[${t.shape.join(', ')}]`);
  if (t.dtype !== 'float32') suffixes.push(`dtype=${t.dtype}`);
  if (t.gradFn) suffixes.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffixes.push('requiresGrad=true');
  return withSuffixes(prefix + body, suffixes, prefix.length);
}

/** The storage position of an element, from one index per axis. */
function position(t: Tensor, index: readonly number[]): number {
  let p = t.offset;
  for (let a = 0; a < index.length; a++) p += index[a]! * t.strides[a]!;
  return p;
}

/** The values that will be printed: the kept indices of every axis, in row-major order. */
function printedValues(t: Tensor, keep: readonly number[][]): number[] {
  const out: number[] = [];
  const index: number[] = [];
  const walk = (axis: number): void => {
    if (axis === t.rank) {
      out.push(t.data[position(t, index)]!);
      return;
    }
    for (const i of keep[axis]!) {
      index.push(i);
      walk(axis + 1);
      index.pop();
    }
  };
  walk(0);
  return out;
}

interface Format {
  width: number;
  text(v: number): string;
}

/** PyTorch's _Formatter: one way to write every entry of the tensor, and the width they pad to. */
function formatter(t: Tensor, values: readonly number[]): Format {
  let width = 1;
  if (!isFloat(t.dtype)) {
    for (const v of values) width = Math.max(width, String(v).length);
    return { width, text: (v) => String(v) };
  }
  let intMode = true;
  let sciMode = false;
  let lo = Infinity;
  let hi = 0;
  const nonzero: number[] = [];
  for (const v of values) {
    if (!Number.isFinite(v) || v === 0) continue;
    nonzero.push(v);
    lo = Math.min(lo, Math.abs(v));
    hi = Math.max(hi, Math.abs(v));
    if (v !== Math.ceil(v)) intMode = false;
  }
  if (nonzero.length > 0) {
    sciMode = hi / lo > 1000 || hi > 1e8 || (!intMode && lo < 1e-4);
    const sample = sciMode
      ? exponential
      : intMode
        ? (v: number) => `${fixed(v, 0)}.`
        : (v: number) => fixed(v, PRECISION);
    for (const v of nonzero) width = Math.max(width, sample(v).length);
  }
  const text = (v: number): string => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (sciMode) return exponential(v);
    return intMode ? `${fixed(v, 0)}.` : fixed(v, PRECISION);
  };
  return { width, text };
}

/** Digits beyond the printed ones that tell whether a value lies exactly halfway (a tie). */
const TIE_DIGITS = 30;

/**
 * Python rounds a tie to the even digit where JavaScript's toFixed and toExponential round it away
 * from zero. Given the digits written with TIE_DIGITS more than wanted, returns them cut to the wanted
 * ones when the value is a tie whose last kept digit is even (the one case where the two differ).
 */
function evenTie(long: string): string | null {
  if (long.slice(-TIE_DIGITS) !== `5${'0'.repeat(TIE_DIGITS - 1)}`) return null;
  const kept = long.slice(0, -TIE_DIGITS).replace(/\.$/, '');
  return Number(kept[kept.length - 1]) % 2 === 0 ? kept : null;
}

const signOf = (v: number) => (v < 0 || Object.is(v, -0) ? '-' : '');

/** v with `digits` decimals as Python's '{:.4f}' writes it (ties to even, negative zero signed). */
function fixed(v: number, digits: number): string {
  const a = Math.abs(v);
  return signOf(v) + (evenTie(a.toFixed(digits + TIE_DIGITS)) ?? a.toFixed(digits));
}

/** v as Python's '{:.4e}' writes it: 1.0000e-05 (ties to even, an exponent of two digits at least). */
function exponential(v: number): string {
  const a = Math.abs(v);
  const [long, longExponent] = a.toExponential(PRECISION + TIE_DIGITS).split('e') as [string, string];
  const even = evenTie(long);
  const [mantissa, exponent] = even === null ? a.toExponential(PRECISION).split('e') : [even, longExponent];
  const e = Number(exponent);
  return `${signOf(v)}${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** The nested brackets of a non-empty tensor, as PyTorch's _tensor_str lays them out. */
function layout(t: Tensor, format: Format, summarise: boolean, indent: number): string {
  const pad = (v: number) => format.text(v).padStart(format.width);
  const index: number[] = [];
  const picks = (d: number): number[] =>
    summarise && d > 2 * EDGE ? [...range(0, EDGE), -1, ...range(d - EDGE, d)] : range(0, d);
  const build = (axis: number, indent: number): string => {
    if (axis === t.rank) return pad(t.data[position(t, index)]!);
    const parts = picks(t.shape[axis]!).map((i) => {
      if (i < 0) return axis === t.rank - 1 ? ' ...' : '...';
      index.push(i);
      const s = build(axis + 1, indent + 1);
      index.pop();
      return s;
    });
    if (axis < t.rank - 1)
      return `[${parts.join(`,${'\n'.repeat(t.rank - axis - 1)}${' '.repeat(indent + 1)}`)}]`;
    // A row wraps so that its lines stay within the line width.
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (format.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < parts.length; i += perLine) lines.push(parts.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  };
  return build(0, indent);
}

/** Appends `, dtype=...` and the like, each on a new line when it would pass the line width. */
function withSuffixes(text: string, suffixes: readonly string[], indent: number): string {
  let out = text;
  // PyTorch's count: the last line's length, plus one.
  let last = text.length - text.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (last + s.length + 2 > LINE_WIDTH) {
      out += `,\n${' '.repeat(indent)}${s}`;
      last = indent + s.length;
    } else {
      out += `, ${s}`;
      last += s.length + 2;
    }
  }
  return `${out})`;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
