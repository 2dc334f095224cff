import { fail, fmtShape } from '../errors.js';
import { checkFinite, defineOp } from '../ops/op.js';
import { onesLike, zerosLike } from '../tensor/creation.js';
import { sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { enableGrad, inBackward, isAnomalyDetection, isGradEnabled, noGrad } from './mode.js';

export interface BackwardOptions {
  /** Record the backward pass itself, so the gradients can be differentiated again. */
  createGraph?: boolean;
}

/** Sums a gradient down to an input's shape: the one place broadcasting is undone. */
function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return g.sum(axes, true).reshape(shape);
}

/**
 * The tensors between `roots` and `targets` in an order where every tensor comes after all tensors
 * computed from it (reverse topological), restricted to paths that reach a target.
 */
function schedule(roots: readonly Tensor[], isTarget: (t: Tensor) => boolean): Tensor[] {
  const reaches = new Map<Tensor, boolean>();
  const order: Tensor[] = [];
  // Iterative depth-first search: deep graphs (long RNN unrolls) would overflow the call stack.
  const stack: [Tensor, number][] = roots.filter((r) => r.requiresGrad).map((r) => [r, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    if (i === 0 && reaches.has(t)) {
      stack.pop();
      continue;
    }
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const u = inputs[i]!;
      if (u.requiresGrad && !reaches.has(u)) stack.push([u, 0]);
      continue;
    }
    stack.pop();
    if (reaches.has(t)) continue;
    const r = isTarget(t) || inputs.some((u) => reaches.get(u) === true);
    reaches.set(t, r);
    if (r) order.push(t);
  }
  return order.reverse();
}

/**
 * Runs reverse-mode differentiation from `roots` seeded with `seeds`, handing each target tensor's
 * total gradient to `collect`.
 */
function propagate(
  roots: readonly Tensor[],
  seeds: readonly Tensor[],
  isTarget: (t: Tensor) => boolean,
  collect: (t: Tensor, g: Tensor) => void,
  createGraph: boolean,
): void {
  const grads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? prev.add(g) : g);
  };
  roots.forEach((r, i) => {
    accumulate(r, seeds[i]!);
  });
  const run = createGraph ? enableGrad : noGrad;
  run(() => {
    for (const t of schedule(roots, isTarget)) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t); // free intermediate gradients as soon as they are used
      if (isTarget(t)) collect(t, g);
      if (!t.gradFn) continue;
      const check = isAnomalyDetection();
      const inputGrads = check ? inBackward(() => t.gradFn!.vjp(g)) : t.gradFn.vjp(g);
      if (check) checkFinite(t.gradFn.name, 'backward', [g], inputGrads);
      checkVjp(t.gradFn.name, t.gradFn.inputs, inputGrads);
      t.gradFn.inputs.forEach((u, k) => {
        const gu = inputGrads[k];
        if (!u.requiresGrad || !gu) return;
        const shaped = sumTo(gu, u.shape);
        accumulate(u, shaped.dtype === u.dtype ? shaped : shaped.cast(u.dtype));
      });
    }
  });
}

/**
 * A VJP must return one gradient (or null) per input, each of its input's shape or of a shape the input
 * broadcasts to (sumTo then reduces it): anything else is a bug in the op's rule, named here rather
 * than surfacing as a shape error in some later op.
 */
function checkVjp(op: string, inputs: readonly Tensor[], grads: readonly (Tensor | null)[]): void {
  if (grads.length !== inputs.length) {
    fail(
      op,
      `its VJP returned ${grads.length} gradients for ${inputs.length} inputs; return one per input (null where there is none)`,
    );
  }
  grads.forEach((g, k) => {
    const shape = inputs[k]!.shape;
    if (g && !broadcastsTo(shape, g.shape)) {
      fail(
        op,
        `its VJP returned a gradient of shape ${fmtShape(g.shape)} for input ${k} of shape ${fmtShape(shape)}; a gradient has its input's shape (or one the input broadcasts to)`,
      );
    }
  });
}

/**
 * True when a gradient of shape `target` sums down to `shape`: the shape, less any leading size-1 axes
 * (a [1] input may get a 0-d gradient), broadcasts to it by NumPy's rules.
 */
function broadcastsTo(shape: readonly number[], target: readonly number[]): boolean {
  let first = 0;
  while (first < shape.length && shape[first] === 1) first++;
  const lead = target.length - (shape.length - first);
  return lead >= 0 && shape.slice(first).every((d, i) => d === target[i + lead] || d === 1);
}

function seedFor(root: Tensor, g: Tensor | undefined, op: string): Tensor {
  if (!g) {
    if (root.size !== 1)
      fail(op, `a gradient must be given for a non-scalar output of shape ${fmtShape(root.shape)}`);
    return onesLike(root);
  }
  if (!sameShape(g.shape, root.shape))
    fail(op, `gradient shape ${fmtShape(g.shape)} does not match output ${fmtShape(root.shape)}`);
  return g;
}

/**
 * Accumulates d(root)/d(leaf) into `.grad` of every leaf that requires gradients (PyTorch's
 * `loss.backward()`).
 */
export function backward(root: Tensor, gradient?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad)
    fail('backward', 'the tensor does not require gradients: no input was marked requiresGrad');
  const createGraph = opts.createGraph ?? false;
  propagate(
    [root],
    [seedFor(root, gradient, 'backward')],
    (t) => t.isLeaf,
    (leaf, g) => {
      // A leaf's gradient owns its storage: VJPs may hand the same tensor to several inputs.
      const own = createGraph ? g : g.clone().detach();
      leaf.grad = leaf.grad ? (createGraph ? leaf.grad.add(own) : leaf.grad.add(own).detach()) : own;
    },
    createGraph,
  );
}

/**
 * The gradients of `outputs` with respect to `inputs` (PyTorch's `torch.autograd.grad`), without
 * touching any `.grad`. An input the outputs do not depend on gets zeros.
 */
export function gradients(
  outputs: readonly Tensor[],
  inputs: readonly Tensor[],
  opts: BackwardOptions & { gradOutputs?: readonly Tensor[] } = {},
): Tensor[] {
  const wanted = new Set(inputs);
  const found = new Map<Tensor, Tensor>();
  const live = outputs.filter((o) => o.requiresGrad);
  const seeds = live.map((o) => seedFor(o, opts.gradOutputs?.[outputs.indexOf(o)], 'gradients'));
  propagate(
    live,
    seeds,
    (t) => wanted.has(t),
    (t, g) => found.set(t, g),
    opts.createGraph ?? false,
  );
  return inputs.map((x) => found.get(x) ?? zerosLike(x));
}

const identity = defineOp({ name: 'identity', forward: ([x]) => x!, vjp: (g) => [g] });

/** A fresh tensor to differentiate with respect to; still connected to x if an outer tape tracks x. */
function track(x: Tensor): Tensor {
  if (x.requiresGrad && isGradEnabled()) return identity([x], undefined);
  return x.detach().requiresGrad_(true);
}

/** A function of tensors to a tensor: what grad and valueAndGrad differentiate. */
export type TensorFunction = (...args: Tensor[]) => Tensor;

/** How many grad transformations are evaluating their function right now (nesting depth). */
let depth = 0;

/**
 * Transforms f into a function returning [f(...args), gradients of f with respect to the arguments in
 * argnums]. f must return a one-element tensor. Nest it for higher derivatives:
 *
 *     const d2 = grad((x) => grad((y) => y.tanh())(x)[0]);  // tanh''
 */
export function valueAndGrad(
  f: TensorFunction,
  argnums: number | readonly number[] = 0,
): (...args: Tensor[]) => [Tensor, Tensor[]] {
  const nums = typeof argnums === 'number' ? [argnums] : [...argnums];
  return (...args) => {
    for (const i of nums)
      if (!(i >= 0 && i < args.length))
        fail('grad', `argnum ${i} is out of range for ${args.length} arguments`);
    // Keep the backward pass on the tape when an outer transformation (or tape) may differentiate it:
    // inside another grad's function, or when an argument is already tracked.
    const createGraph = isGradEnabled() && (depth > 0 || args.some((a) => a.requiresGrad));
    const tracked = args.map((a, i) => (nums.includes(i) ? track(a) : a));
    depth++;
    let y: Tensor;
    try {
      y = enableGrad(() => f(...tracked));
    } finally {
      depth--;
    }
    if (y.size !== 1)
      fail('grad', `the function must return a one-element tensor, got shape ${fmtShape(y.shape)}`);
    const gs = gradients(
      [y],
      nums.map((i) => tracked[i]!),
      { createGraph },
    );
    return [createGraph ? y : y.detach(), gs];
  };
}

/** Transforms f into a function returning the gradients of f with respect to the arguments in argnums. */
export function grad(
  f: TensorFunction,
  argnums: number | readonly number[] = 0,
): (...args: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f, argnums);
  return (...args) => vg(...args)[1];
}
