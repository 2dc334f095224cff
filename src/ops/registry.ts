/**
 * The registry of built-in differentiable ops: every op, by name, with the type of its attributes.
 *
 * How to add an op:
 *
 * 1. Write its record with `defineOp({ name: 'myOp', forward, vjp })` beside its family (ops/*.ts, or the
 *    layer's own file above ops/). `defineOp` only accepts a registered name.
 * 2. Register it: one entry `myOp: Attrs;` (the attributes' type, `undefined` when there are none) in
 *    `OpRegistry` below for an op in ops/ or autograd/; a file above ops/ (nn/, say) adds its entry
 *    where the op lives, so that ops/ never imports from above:
 *
 *        declare module '../ops/registry.js' {
 *          interface OpRegistry { myOp: MyAttrs }
 *        }
 *
 * 3. Give it its rows in test/optable.ts, first and second order. The table is typed over `OpName`, so
 *    until those rows exist `npm run lint` (`tsc -p tsconfig.check.json`) fails, naming the op.
 *
 * At run time every record registers its name here (`registeredOps()`), so a name can be defined once.
 */
import type { Window } from '../backend/backend.js';
import { fail } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ForwardConvAttrs, ShapedConvAttrs, UnfoldAttrs } from './conv.js';
import type { LinearActivation } from './linalg.js';
import type { CtcAttrs } from './losses.js';
import type { EmbedAttrs, SliceAttrs } from './movement.js';
import type { ReduceAttrs } from './reduce.js';

/** Op name → the type of its attributes. Open (an interface), so files above ops/ can add their ops. */
export interface OpRegistry {
  // autograd/engine.ts: a fresh tensor for grad() to differentiate with respect to.
  identity: undefined;
  // elementwise.ts
  cast: DType;
  neg: undefined;
  exp: undefined;
  log: undefined;
  sqrt: undefined;
  abs: undefined;
  sign: undefined;
  sin: undefined;
  cos: undefined;
  tanh: undefined;
  sigmoid: undefined;
  relu: undefined;
  erf: undefined;
  log1p: undefined;
  add: undefined;
  sub: undefined;
  mul: undefined;
  div: undefined;
  pow: undefined;
  maximum: undefined;
  minimum: undefined;
  where: undefined;
  // reduce.ts
  sum: ReduceAttrs;
  max: ReduceAttrs;
  min: ReduceAttrs;
  // linalg.ts
  matmul: undefined;
  linear: LinearActivation;
  // movement.ts
  copy: undefined;
  reshape: number[];
  permute: number[];
  expand: number[];
  slice: SliceAttrs;
  embed: EmbedAttrs;
  concat: number;
  // indexing.ts
  gather: number;
  scatterAdd: number;
  // functional.ts
  logSoftmax: number;
  stableSoftplus: undefined;
  // losses.ts
  binaryCrossEntropy: undefined;
  ctcNegLogLikelihood: CtcAttrs;
  // recurrent.ts
  lstmCell: undefined;
  gruCell: undefined;
  // conv.ts
  unfold: UnfoldAttrs;
  fold: { window: Window; shape: number[] };
  conv: ForwardConvAttrs;
  convBackwardInput: ShapedConvAttrs;
  convBackwardWeight: ShapedConvAttrs;
  maxPool: { window: Window; argmax: Tensor | null };
  maxUnpool: { shape: readonly number[] };
}

/** The name of a built-in differentiable op. */
export type OpName = keyof OpRegistry;

const registered = new Set<string>();

/** Records that an op of this name is defined; a name defined twice is a mistake (two records, one name). */
export function registerOp(name: OpName): void {
  if (registered.has(name))
    fail('defineOp', `an op named '${name}' is already defined; give it another name`);
  registered.add(name);
}

/** The names of the built-in ops defined so far (all of them once src/index.ts is loaded). */
export function registeredOps(): string[] {
  return [...registered];
}
