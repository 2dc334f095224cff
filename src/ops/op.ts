import {
  isAnomalyDetection,
  isGradEnabled,
  matmulPrecision,
  noGrad,
  withPrecision,
} from '../autograd/mode.js';
import type { Kernels } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { describe, fail } from '../errors.js';
import { scalar } from '../tensor/creation.js';
import { allocateUninitialized, type DType, isFloat } from '../tensor/dtype.js';
import { type Shape, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type OpName, type OpRegistry, registerOp } from './registry.js';

/** What a vector-Jacobian product may look at: the op's inputs, its output and its attributes. */
export interface VjpContext<A> {
  inputs: readonly Tensor[];
  output: Tensor;
  attrs: A;
}

/**
 * One op, defined once: its forward (kernel calls, or tensor ops, run without recording) and its
 * vector-Jacobian product written with tensor ops, so that gradients of gradients work. The VJP returns
 * one gradient per input (null where there is none); the engine sums each down to its input's shape, so
 * a VJP may return a broadcast-shaped gradient.
 */
export interface OpRecord<N extends string, A> {
  name: N;
  forward(inputs: readonly Tensor[], attrs: A): Tensor;
  vjp(g: Tensor, ctx: VjpContext<A>): (Tensor | null)[];
}

/** A built-in op's record: its name is registered in ops/registry.ts, which fixes its attributes' type. */
export type OpDef<N extends OpName> = OpRecord<N, OpRegistry[N]>;

export type Op<A> = (inputs: readonly Tensor[], attrs: A) => Tensor;

/**
 * Defines a built-in op (see ops/registry.ts for the three steps of adding one):
 *
 *     const expOp = defineOp({ name: 'exp', forward: ([x]) => ..., vjp: (g, { output }) => [g.mul(output)] });
 */
export function defineOp<N extends OpName>(def: OpDef<N>): Op<OpRegistry[N]> {
  registerOp(def.name);
  return record(def);
}

/**
 * Your own differentiable function, with its own backward: a record like a built-in op's, under any
 * name, outside the registry.
 *
 *     const cube = customOp<void>({
 *       name: 'cube',
 *       forward: ([x]) => x.mul(x).mul(x),
 *       vjp: (g, { inputs: [x] }) => [g.mul(x.mul(x)).mul(3)],
 *     });
 *     const y = cube([x], undefined);
 */
export function customOp<A>(def: OpRecord<string, A>): Op<A> {
  return record(def);
}

function record<A>(def: OpRecord<string, A>): Op<A> {
  return (inputs, attrs) => {
    for (const x of inputs) tensorArg(def.name, x);
    const output = noGrad(() => def.forward(inputs, attrs));
    if (isAnomalyDetection()) checkFinite(def.name, 'forward', inputs, [output]);
    // Integer results (casts to int32) carry no gradient.
    if (isGradEnabled() && isFloat(output.dtype) && inputs.some((t) => t.requiresGrad)) {
      // A view shares storage with its input; record it on a fresh tensor object all the same.
      const out = output.requiresGrad || inputs.includes(output) ? alias(output) : output;
      out.requiresGrad = true;
      // The backward's products run in the precision the forward's did (autocast).
      const precision = matmulPrecision();
      out.gradFn = {
        name: def.name,
        inputs,
        vjp: (g) => withPrecision(precision, () => def.vjp(g, { inputs, output: out, attrs })),
      };
      return out;
    }
    return output;
  };
}

function alias(t: Tensor): Tensor {
  return new Tensor(t.data, t.shape, t.strides, t.offset);
}

/** The backend in use; ops call kernels through it. */
export function kernels(): Kernels {
  return getBackend();
}

/** A fresh contiguous tensor to write a kernel's result into; its contents are undefined until then. */
export function empty(shape: Shape, dtype: DType): Tensor {
  return new Tensor(allocateUninitialized(dtype, sizeOf(shape)), shape);
}

export type TensorLike = Tensor | number;

/**
 * Checks that an op's argument is a Tensor: the one place a JavaScript array or other value handed to
 * an op is refused, with the fix.
 */
export function tensorArg(op: string, x: unknown, what = 'a Tensor'): Tensor {
  if (x instanceof Tensor) return x;
  return fail(
    op,
    `expected ${what}, got ${describe(x)}${Array.isArray(x) || ArrayBuffer.isView(x) ? '; wrap it with tensor(…)' : ''}`,
  );
}

/** Lifts a number to a 0-d tensor that takes the other operand's dtype (PyTorch's weak scalar typing). */
export function lift(op: string, x: TensorLike, like: Tensor): Tensor {
  if (typeof x !== 'number') return tensorArg(op, x, 'a Tensor or a number');
  const dtype = like.dtype === 'int32' && !Number.isInteger(x) ? 'float32' : like.dtype;
  return scalar(x, dtype);
}

/** Checks that an op that needs floating point got it. */
export function requireFloat(op: string, t: Tensor): void {
  tensorArg(op, t);
  if (!isFloat(t.dtype))
    fail(op, `expected a floating-point tensor, got ${t.dtype}; convert it with x.cast('float32')`);
}

/** A raw view of t broadcast to shape (stride 0 on repeated axes), for kernels; records nothing. */
export function broadcastView(t: Tensor, shape: Shape): Tensor {
  const lead = shape.length - t.rank;
  const strides = shape.map((d, i) => {
    const j = i - lead;
    if (j < 0) return 0;
    return t.shape[j] === 1 && d !== 1 ? 0 : t.strides[j]!;
  });
  return new Tensor(t.data, shape, strides, t.offset);
}

function allFinite(t: Tensor): boolean {
  if (!isFloat(t.dtype)) return true;
  const values = t.toTypedArray();
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/** Anomaly detection: fails naming the op when finite inputs gave a non-finite result. */
export function checkFinite(
  op: string,
  pass: 'forward' | 'backward',
  inputs: readonly Tensor[],
  results: readonly (Tensor | null)[],
): void {
  const bad = results.find((r) => r && !allFinite(r));
  if (bad && inputs.every(allFinite)) {
    fail(
      op,
      `the ${pass} pass turned finite inputs (${inputs.map((t) => `[${t.shape.join(', ')}]`).join(', ')}) into a NaN or an infinity (anomaly detection)`,
    );
  }
}
