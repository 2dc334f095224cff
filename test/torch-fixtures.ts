/**
 * Layers against PyTorch on the same weights: the fixtures (test/fixtures/conv.json, written by
 * scripts/fixtures/conv.py) hold each case's parameters, input and cotangents, and PyTorch's outputs,
 * gradients and state-dict keys. float64 cases must agree to 1e-9, float32 cases to 1e-5 relative.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as st from '../src/index.js';

const { nn } = st;
type Tensor = st.Tensor;

interface Stored {
  shape: number[];
  data: number[];
}

interface Case {
  name: string;
  layer: string;
  args: unknown[];
  options: Record<string, unknown>;
  /** Options of the forward call (ConvTranspose's outputSize), empty for most. */
  forward: Record<string, unknown>;
  dtype: 'float32' | 'float64';
  params: Record<string, Stored>;
  stateKeys: string[];
  input: Stored;
  outputs: Stored[];
  cotangents: Stored[];
  gradParams: Record<string, Stored>;
  gradInput?: Stored;
  /** Initial states given to a recurrent layer (h, or h and c), and their gradients. */
  states?: Stored[];
  gradStates?: Stored[];
  paramsAfter?: Record<string, Stored>;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/conv.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

type Layer = new (...args: unknown[]) => st.nn.AnyModule & { forward(x: Tensor, o?: object): unknown };

function toTensor(s: Stored, dtype: st.DType): Tensor {
  return st
    .tensor(dtype === 'int32' ? Int32Array.from(s.data) : Float64Array.from(s.data), {
      shape: s.shape,
    })
    .cast(dtype);
}

function flatten(out: unknown): Tensor[] {
  return out instanceof st.Tensor ? [out] : (out as unknown[]).flatMap(flatten);
}

function close(actual: Tensor, expected: Stored, dtype: string, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toTypedArray();
  const tol = dtype === 'float64' ? 1e-9 : 1e-5;
  expected.data.forEach((e, i) => {
    const v = a[i]!;
    assert.ok(Math.abs(v - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: got ${v}, PyTorch ${e}`);
  });
}

/** One test per fixture case whose layer `select` picks. */
export function testAgainstTorch(select: (layer: string) => boolean): void {
  for (const c of fixtures.cases.filter((k) => select(k.layer))) check(c);
}

function check(c: Case): void {
  test(`${c.name} matches PyTorch: outputs, gradients, state dict`, () => {
    const Ctor = (nn as unknown as Record<string, Layer>)[c.layer]!;
    // Layers with parameters create them in the case's dtype; pooling has none.
    const hasParams = Object.keys(c.params).length > 0;
    const layer = new Ctor(...c.args, hasParams ? { ...c.options, dtype: c.dtype } : c.options);
    const ids = c.gradInput === undefined;
    const state = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, toTensor(v, c.dtype)]));
    layer.loadStateDict(state);
    assert.deepEqual(Object.keys(layer.stateDict()), c.stateKeys);
    const x = ids ? toTensor(c.input, 'int32') : toTensor(c.input, c.dtype).requiresGrad_();
    const states = (c.states ?? []).map((s) => toTensor(s, c.dtype).requiresGrad_());
    const outs = flatten(
      states.length > 0
        ? layer.forward(x, states.length === 1 ? states[0] : states)
        : Object.keys(c.forward).length > 0
          ? layer.forward(x, c.forward)
          : layer.forward(x),
    );
    assert.equal(outs.length, c.outputs.length, 'number of outputs');
    outs.forEach((o, i) => {
      close(o, c.outputs[i]!, o.dtype === 'int32' ? 'float64' : c.dtype, `output ${i}`);
    });
    const floats = outs.filter((o) => o.dtype !== 'int32');
    const loss = floats
      .map((o, i) => o.mul(toTensor(c.cotangents[i]!, c.dtype)).sum())
      .reduce((a, b) => a.add(b));
    loss.backward();
    if (c.gradInput) close(x.grad!, c.gradInput, c.dtype, 'input gradient');
    states.forEach((s, i) => {
      close(s.grad!, c.gradStates![i]!, c.dtype, `state ${i} gradient`);
    });
    const params = Object.fromEntries(layer.namedParameters());
    assert.deepEqual(Object.keys(params).sort(), Object.keys(c.gradParams).sort());
    for (const [name, g] of Object.entries(c.gradParams)) close(params[name]!.grad!, g, c.dtype, `∂${name}`);
    if (c.paramsAfter) {
      const after = layer.stateDict();
      for (const [name, v] of Object.entries(c.paramsAfter)) close(after[name]!, v, c.dtype, `${name} after`);
    }
  });
}
