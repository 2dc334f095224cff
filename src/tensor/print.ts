import { isFloat } from './dtype.js';
import type { Tensor } from './tensor.js';

const THRESHOLD = 1000;
const EDGE = 3;

/**
 * PyTorch-like printing: `tensor([[1.0000, 2.0000], ...], dtype=float64)`. Large tensors show the first
 * and last three entries of each axis.
 */
export function formatTensor(t: Tensor): string {
  const flat = t.toTypedArray();
  const summarise = t.size > THRESHOLD;
  const float = isFloat(t.dtype);
  const finite = Array.from(flat).filter((v) => Number.isFinite(v));
  const useExp = float && finite.some((v) => v !== 0 && (Math.abs(v) >= 1e8 || Math.abs(v) < 1e-4));
  const fmt = (v: number): string => {
    if (!float) return String(v);
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    // Two-digit exponents, as PyTorch prints them: 1.0000e-05.
    return useExp ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : v.toFixed(4);
  };
  const width = Math.max(1, ...Array.from(flat, (v) => fmt(v).length));
  const pad = (s: string) => s.padStart(width);
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const build = (axis: number, start: number, indent: string): string => {
    if (axis === t.rank) return pad(fmt(flat[start]!));
    const d = t.shape[axis]!;
    const pick = summarise && d > 2 * EDGE ? [...range(0, EDGE), -1, ...range(d - EDGE, d)] : range(0, d);
    const parts = pick.map((i) =>
      i < 0 ? '...' : build(axis + 1, start + i * strides[axis]!, `${indent} `),
    );
    const sep = axis === t.rank - 1 ? ', ' : `,${'\n'.repeat(t.rank - axis - 1)}${indent} `;
    return `[${parts.join(sep)}]`;
  };
  const body = build(0, 0, '       ');
  const extra = t.dtype !== 'float32' ? `, dtype=${t.dtype}` : '';
  const grad = t.gradFn ? `, gradFn=<${t.gradFn.name}>` : t.requiresGrad ? ', requiresGrad=true' : '';
  const shape = t.size === 0 ? `, shape=[${t.shape.join(', ')}]` : '';
  return `tensor(${body}${shape}${extra}${grad})`;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
