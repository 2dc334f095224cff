/**
 * Attention and the Transformer against PyTorch 1.13 on the same weights, inputs and masks, on every
 * backend: outputs, gradients with respect to every input and parameter, and state-dict keys. The
 * expected values come from test/fixtures/attention.json, written by scripts/fixtures/attention.py
 * (CI has no PyTorch); scaled dot-product attention's are computed there from explicit ops, with
 * PyTorch 2's conventions. Every case runs in evaluation mode (dropout off).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import * as st from '../src/index.js';
import { fusedAttentionCount } from '../src/nn/attention.js';

const { nn } = st;
type Tensor = st.Tensor;

interface Encoded {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int';
  data: number[];
}

/** A constructor call in Strata's spelling; an argument or option `{ new: spec }` is built the same way. */
type Spec = [ctor: string, args: unknown[], options?: Record<string, unknown> | null];

interface Case {
  name: string;
  ctor: string;
  args: unknown[];
  options: Record<string, unknown> | null;
  dtype: 'float32' | 'float64';
  keys: string[];
  state: Record<string, Encoded>;
  inputs: Encoded[];
  /** Which inputs the forward gets, in order (self-attention passes one three times). */
  call: number[];
  /** The forward's options: masks as Encoded, `{ square: n }` for generateSquareSubsequentMask(n). */
  forward: Record<string, unknown>;
  outputs: Encoded[];
  cotangents: Encoded[];
  gradInputs: Encoded[];
  grads: Record<string, Encoded>;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/attention.json', import.meta.url), 'utf8')) as {
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

const layers = nn as unknown as Record<string, new (...args: unknown[]) => st.nn.AnyModule>;

function value(v: unknown): unknown {
  if (v && typeof v === 'object' && 'new' in v) return construct((v as { new: Spec }).new);
  if (v && typeof v === 'object' && 'square' in v)
    return nn.Transformer.generateSquareSubsequentMask((v as { square: number }).square);
  if (v && typeof v === 'object' && 'shape' in v) return decode(v as Encoded);
  if (v && typeof v === 'object' && !Array.isArray(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)]));
  return v;
}

function construct([ctor, args, options]: Spec): st.nn.AnyModule {
  const Layer = layers[ctor];
  assert.ok(Layer, `nn.${ctor} exists`);
  return new Layer(...args.map(value), ...(options ? [value(options)] : []));
}

function check(c: Case): void {
  const inputs = c.inputs.map((e) => decode(e).requiresGrad_());
  const forward = value(c.forward) as Record<string, unknown>;
  const args = c.call.map((i) => inputs[i]!);
  let module: st.nn.AnyModule | null = null;
  let out: unknown;
  if (c.ctor === 'scaledDotProductAttention') {
    const [q, k, v] = args as [Tensor, Tensor, Tensor];
    out = nn.scaledDotProductAttention(q, k, v, forward);
  } else {
    module = construct([c.ctor, c.args, c.options]).to(c.dtype).eval();
    assert.deepEqual(Object.keys(module.stateDict()), c.keys, 'state-dict keys and order');
    module.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, decode(v)])));
    out = module.forward(...args, forward);
  }
  const outputs = (Array.isArray(out) ? out : [out]).filter((o): o is Tensor => o !== null);
  assert.equal(outputs.length, c.outputs.length, 'number of outputs');
  outputs.forEach((o, i) => {
    close(o, c.outputs[i]!, `output ${i}`);
  });
  outputs
    .map((o, i) => o.mul(decode(c.cotangents[i]!)).sum())
    .reduce((a, b) => a.add(b))
    .backward();
  inputs.forEach((x, i) => {
    close(x.grad!, c.gradInputs[i]!, `gradient of input ${i}`);
  });
  const params = Object.fromEntries(module?.namedParameters() ?? []);
  assert.deepEqual(Object.keys(params), Object.keys(c.grads), 'parameters');
  for (const [name, g] of Object.entries(c.grads)) close(params[name]!.grad!, g, `gradient of ${name}`);
}

const original = st.getBackend().name;
after(() => {
  st.setBackend(original);
});

for (const backend of st.backendNames()) {
  let unavailable: string | null = null;
  try {
    st.setBackend(backend);
  } catch (e) {
    unavailable = (e as Error).message;
  } finally {
    st.setBackend(original);
  }
  describe(`attention against PyTorch ${fixtures.torch} on the ${backend} backend`, {
    skip: unavailable ?? false,
  }, () => {
    let fusedModules = 0;
    for (const c of fixtures.cases)
      test(c.name, () => {
        st.setBackend(backend);
        try {
          const before = fusedAttentionCount();
          check(c);
          // A backend with the fused kernel takes it for every scaled dot-product attention here.
          const fused = fusedAttentionCount() > before;
          if (st.getBackend().fused?.attention && c.ctor === 'scaledDotProductAttention')
            assert.ok(fused, 'the fused attention kernel ran');
          if (fused && c.ctor !== 'scaledDotProductAttention') fusedModules++;
        } finally {
          st.setBackend(original);
        }
      });
    test('the modules that need no weights take the fused kernel where the backend has one', () => {
      st.setBackend(backend);
      const has = st.getBackend().fused?.attention;
      st.setBackend(original);
      if (has) assert.ok(fusedModules > 0, 'some module took the fused kernel');
      else
        assert.equal(
          fusedModules,
          0,
          `the ${backend} backend has no fused attention: all took the composition`,
        );
    });
  });
}
