import assert from 'node:assert/strict';
import type { Tensor } from '../src/index.js';
import * as st from '../src/index.js';

// Assertions shared by the layer tests: values close to hand-worked ones, and StrataErrors by message.

export function f64(values: st.NestedArray, requiresGrad = false): Tensor {
  return st.tensor(values, { dtype: 'float64', requiresGrad });
}

export function flat(x: Tensor | readonly number[] | number): number[] {
  if (typeof x === 'number') return [x];
  if (x instanceof st.Tensor) return Array.from(x.toTypedArray());
  return [...x];
}

/** Elementwise |actual - expected| <= tol, with the position in the message. */
export function near(
  actual: Tensor | readonly number[] | number,
  expected: Tensor | readonly number[] | number,
  tol = 1e-6,
  what = '',
): void {
  const a = flat(actual);
  const e = flat(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} values, expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok = a[i] === e[i] || Math.abs(a[i]! - e[i]!) <= tol;
    assert.ok(ok, `${what}[${i}]: got ${a[i]}, expected ${e[i]} (tol ${tol}); all: [${a.join(', ')}]`);
  }
}

export function throwsStrata(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof st.StrataError, `expected a StrataError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** Writes values into a parameter in place (as torch.no_grad(): p.copy_(...)). */
export function setParam(p: Tensor | null, values: st.NestedArray): void {
  assert.ok(p);
  st.noGrad(() => p.copy_(st.tensor(values, { dtype: p.dtype })));
}

/** Images read from IDX bytes: pixels are bytes / 255 and nothing else, spanning exactly [0, 1]. */
export function assertBytePixels(images: Tensor): void {
  let min = Infinity;
  let max = -Infinity;
  let offGrid = 0;
  const px = images.data;
  for (let i = 0; i < px.length; i++) {
    const v = px[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (Math.abs(v * 255 - Math.round(v * 255)) > 1e-4) offGrid++;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  assert.equal(offGrid, 0);
}

/** Runs `fn` on every backend built here, restoring the one in use (one not built is skipped: the conformance test reports it). */
export async function onEveryBackend(fn: (name: string) => void | Promise<void>): Promise<void> {
  const before = st.getBackend().name;
  try {
    for (const name of st.backendNames()) {
      try {
        st.setBackend(name);
      } catch {
        continue;
      }
      await fn(name);
    }
  } finally {
    st.setBackend(before);
  }
}
