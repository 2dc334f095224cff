/**
 * Every layer and activation against PyTorch 1.13 on the same weights and inputs: forward values,
 * gradients with respect to the input and every parameter, state-dict keys, and the running statistics
 * after several training steps. The expected values come from test/fixtures/layers.json, written by
 * scripts/fixtures/layers.py (CI has no PyTorch); each case names the Strata constructor it checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as st from '../src/index.js';

const { nn } = st;
type Tensor = st.Tensor;

interface Encoded {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int';
  data: number[];
}

interface Case {
  name: string;
  ctor: string;
  args: unknown[];
  options: Record<string, unknown> | null;
  dtype: 'float32' | 'float64';
  training: boolean;
  keys: string[];
  state: Record<string, Encoded>;
  inputs: Encoded[];
  cotangent: Encoded;
  output: Encoded;
  gradInput: Encoded;
  grads: Record<string, Encoded>;
  stateAfter: Record<string, Encoded>;
  evalInput?: Encoded;
  evalOutput?: Encoded;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/layers.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: Case[];
};

function decode(e: Encoded): Tensor {
  return st.tensor(e.data, { shape: e.shape, dtype: e.dtype === 'int' ? 'int32' : e.dtype });
}

/** float64 to 1e-9, float32 to 1e-5, relative to the expected value's size (absolute below 1). */
function close(actual: Tensor, expected: Encoded, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const tol = expected.dtype === 'float32' ? 1e-5 : 1e-9;
  const a = actual.toTypedArray();
  for (let i = 0; i < a.length; i++) {
    const e = expected.data[i]!;
    assert.ok(
      Math.abs(a[i]! - e) <= tol * Math.max(1, Math.abs(e)),
      `${what}[${i}]: got ${a[i]}, PyTorch ${e} (tol ${tol})`,
    );
  }
}

const layers = nn as unknown as Record<string, new (...args: unknown[]) => st.nn.Module>;

type Spec = [ctor: string, args: unknown[], options?: Record<string, unknown> | null];

function construct([ctor, args, options]: Spec): st.nn.Module {
  if (ctor === 'Sequential') return new nn.Sequential(...(args as Spec[]).map(construct));
  const Layer = layers[ctor];
  assert.ok(Layer, `nn.${ctor} exists`);
  return new Layer(...args, ...(options ? [options] : []));
}

function build(c: Case): st.nn.Module {
  // Layers with state take the dtype option; a Sequential is converted with Module.to; stateless
  // layers compute in their input's dtype.
  if (c.ctor === 'Sequential') return construct([c.ctor, c.args]).to(c.dtype);
  const options = c.keys.length > 0 ? { ...c.options, dtype: c.dtype } : c.options;
  return construct([c.ctor, c.args, options]);
}

describe(`layers against PyTorch ${fixtures.torch}`, () => {
  for (const c of fixtures.cases) {
    test(c.name, () => {
      const m = build(c);
      assert.deepEqual(Object.keys(m.stateDict()), c.keys, 'state-dict keys and order');
      m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, decode(v)])));
      m.train(c.training);
      let y: Tensor | null = null;
      let x: Tensor | null = null;
      c.inputs.forEach((input, step) => {
        x = decode(input).requiresGrad_();
        m.zeroGrad();
        y = m.forward(x);
        // Earlier steps only move the running statistics; the last one is compared.
        const last = step === c.inputs.length - 1;
        (last ? y.mul(decode(c.cotangent)) : y).sum().backward();
      });
      close(y!, c.output, 'output');
      close((x as Tensor | null)!.grad!, c.gradInput, 'gradient of the input');
      const params = Object.fromEntries(m.namedParameters());
      assert.deepEqual(Object.keys(params), Object.keys(c.grads), 'parameters');
      for (const [name, g] of Object.entries(c.grads)) close(params[name]!.grad!, g, `gradient of ${name}`);
      const state = m.stateDict();
      for (const [key, value] of Object.entries(c.stateAfter)) {
        if (value.dtype === 'int') assert.deepEqual(Array.from(state[key]!.toTypedArray()), value.data, key);
        else close(state[key]!, value, key);
      }
      if (c.evalInput && c.evalOutput) {
        m.eval();
        close(m.forward(decode(c.evalInput)), c.evalOutput, 'output in eval mode');
      }
    });
  }
});
