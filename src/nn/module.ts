import { zeroGrads } from '../autograd/grads.js';
import { noGrad } from '../autograd/mode.js';
import { checkArity, checkOptions, describe, fail, fmtShape } from '../errors.js';
import { zeros } from '../tensor/creation.js';
import { type DType, isFloat, type TypedArray } from '../tensor/dtype.js';
import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type ModelSummary, type SummaryInput, type SummaryOptions, summarize } from './summary.js';

/** Checks the prefix and recurse arguments of the walks over a module tree (namedParameters, buffers, …). */
function checkWalkArgs(op: string, prefix: unknown, recurse: unknown): void {
  if (typeof prefix !== 'string') fail(op, `prefix must be a string, got ${describe(prefix)}`);
  if (typeof recurse !== 'boolean') fail(op, `recurse must be true or false, got ${describe(recurse)}`);
}

/** A tensor that a Module trains: a leaf that requires gradients. */
export class Parameter extends Tensor {
  constructor(t: Tensor) {
    if (!(t instanceof Tensor))
      fail('Parameter', `expected a Tensor, got ${describe(t)}; wrap it with tensor(…)`);
    // Share the storage when it is exactly this tensor's (as torch.nn.Parameter does), else copy.
    const own = t.isContiguous() && t.offset === 0 && t.data.length === t.size ? t : t.detach().clone();
    super(own.data, t.shape);
    this.requiresGrad_(true);
  }
}

/** The dtypes a layer's parameters may have. */
export type FloatDType = 'float32' | 'float64';

/**
 * The dtype a layer makes its parameters and floating buffers in (its `dtype` option): float32 unless
 * asked, float64 for gradient checks. Anything else fails, naming the layer.
 */
export function floatDType(op: string, dtype: unknown = 'float32'): FloatDType {
  if (dtype !== 'float32' && dtype !== 'float64')
    fail(op, `dtype must be 'float32' or 'float64', got ${describe(dtype)}`);
  return dtype;
}

/**
 * A new parameter of `shape` in `dtype`, filled by `init` (zeros without one). The initialiser always
 * runs in float32 and the values are then widened, so that a float64 layer starts from exactly the
 * weights of its float32 twin under the same seed (PyTorch's initialisation, computed as for float32).
 *
 *     this.weight = parameter([out, inp], dtype, (t) => kaimingUniform_(t, { a: Math.sqrt(5) }));
 */
export function parameter(
  shape: readonly number[],
  dtype: FloatDType,
  init?: (t: Tensor) => Tensor,
): Parameter {
  const t = zeros(shape);
  if (init) init(t);
  return new Parameter(dtype === 'float32' ? t : t.cast(dtype));
}

/**
 * Refuses a forward input that is not a Tensor (a JavaScript array, a number), naming the module, so
 * that the mistake is not met later as a TypeError deep in an op.
 */
export function checkInput(op: string, x: unknown, what = 'input'): asserts x is Tensor {
  if (!(x instanceof Tensor))
    fail(op, `expected a Tensor as ${what}, got ${describe(x)}; wrap it with tensor(…)`);
}

/** Checks an integer hyper-parameter (a size, an axis): an integer of at least `min` (1 unless given). */
export function checkInteger(op: string, name: string, value: unknown, min = 1): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    const what =
      min === Number.NEGATIVE_INFINITY
        ? 'an integer'
        : min === 1
          ? 'a positive integer'
          : `an integer of at least ${min}`;
    fail(op, `${name} must be ${what}, got ${describe(value)}`);
  }
}

/** Checks a real hyper-parameter: a finite number in [min, max] (the whole line unless given). */
export function checkNumber(
  op: string,
  name: string,
  value: unknown,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range =
      min === Number.NEGATIVE_INFINITY && max === Number.POSITIVE_INFINITY
        ? 'a finite number'
        : max === Number.POSITIVE_INFINITY
          ? `a finite number of at least ${min}`
          : `a number in [${min}, ${max}]`;
    fail(op, `${name} must be ${range}, got ${describe(value)}`);
  }
}

/**
 * A hook run before a module's forward (see `Module.registerForwardPreHook`): it gets the module and
 * the inputs, and returns nothing, new inputs (an array), or the new value of a single input.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook written as a block that returns nothing (PyTorch's None) is typed void.
export type ForwardPreHook<M, I extends unknown[]> = (module: M, inputs: I) => I[0] | I[number][] | void;

/**
 * A hook run after a module's forward (see `Module.registerForwardHook`): it gets the module, the
 * inputs and the output, and returns nothing or a new output.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook written as a block that returns nothing (PyTorch's None) is typed void.
export type ForwardHook<M, In extends unknown[], Out> = (module: M, inputs: In, output: Out) => Out | void;

/** Options of `registerForwardHook` and `registerForwardPreHook`. */
export interface HookOptions {
  /** Run this hook before those already registered (default false: after them). */
  prepend?: boolean;
}

/** What a hook registration returns: `remove()` unregisters the hook (a second call does nothing). */
export interface RemovableHandle {
  remove(): void;
}

// The stored form of either kind of hook; registerForward(Pre)Hook type them for their module.
// biome-ignore lint/suspicious/noExplicitAny: a hook's inputs and output are typed where it is registered.
type Hook = (module: any, inputs: any, output?: any) => unknown;

/** Gives a tensor new storage in place, so that everything holding it (an optimizer) sees the change. */
function replaceStorage(t: Tensor, data: TypedArray): void {
  (t as { data: TypedArray }).data = data;
}

/** A module of any signature, as the walks over a module tree see its members. */
// biome-ignore lint/suspicious/noExplicitAny: forward's parameters vary by module; the tree walks never call it.
export type AnyModule = Module<any[], unknown>;

/**
 * The base of every layer and model, with PyTorch's behaviour: parameters and sub-modules are found by
 * walking the instance's fields in declaration order (arrays of modules count, as ModuleList does), and
 * named with dots (`layers.0.weight`) so that weights move to and from PyTorch.
 *
 *     class Net extends Module {
 *       fc1 = new Linear(784, 128);
 *       fc2 = new Linear(128, 10);
 *       forward(x: Tensor) { return this.fc2.forward(this.fc1.forward(x).relu()); }
 *     }
 */
export abstract class Module<In extends unknown[] = Tensor[], Out = Tensor> {
  /** Whether the module is in training mode (dropout active, batch statistics used). */
  training = true;
  readonly #buffers = new Map<string, Tensor>();
  // A true private field, so that the walks over the instance's fields never meet it.
  #hooks: { pre: Hook[]; post: Hook[] } | undefined;

  /** What the module computes; most take tensors to a tensor, recurrent layers also carry state. */
  abstract forward(...inputs: In): Out;

  /**
   * Registers `hook` to run before every call of this module's `forward`, with the module and the
   * inputs, as PyTorch's `register_forward_pre_hook`. Returning nothing keeps the inputs; returning
   * an array replaces them, and any other value replaces a single input. Hooks run in the order they
   * were registered (`{ prepend: true }` puts this one first). Returns a handle whose `remove()`
   * unregisters it.
   *
   *     const handle = model.fc1.registerForwardPreHook((m, [x]) => console.log(x.shape));
   *     model.forward(x);
   *     handle.remove();
   */
  registerForwardPreHook<M extends AnyModule>(
    this: M,
    hook: ForwardPreHook<M, Parameters<M['forward']>>,
    options?: HookOptions,
  ): RemovableHandle {
    return this.#addHook('registerForwardPreHook', 'pre', hook, arguments.length, options);
  }

  /**
   * Registers `hook` to run after every call of this module's `forward`, with the module, the inputs
   * (as the pre-hooks left them) and the output, as PyTorch's `register_forward_hook`. Returning
   * nothing keeps the output; returning a value replaces it. Hooks run in the order they were
   * registered (`{ prepend: true }` puts this one first). Returns a handle whose `remove()`
   * unregisters it.
   *
   *     const shapes: number[][] = [];
   *     const handle = model.fc1.registerForwardHook((m, inputs, y) => { shapes.push([...y.shape]); });
   *     model.forward(x);
   *     handle.remove();
   */
  registerForwardHook<M extends AnyModule>(
    this: M,
    hook: ForwardHook<M, Parameters<M['forward']>, ReturnType<M['forward']>>,
    options?: HookOptions,
  ): RemovableHandle {
    return this.#addHook('registerForwardHook', 'post', hook, arguments.length, options);
  }

  /** Whether forward hooks are registered here, so that a caller fusing this layer with the next calls forward instead. */
  hasForwardHooks(): boolean {
    return !!this.#hooks && this.#hooks.pre.length + this.#hooks.post.length > 0;
  }

  #addHook(
    op: string,
    kind: 'pre' | 'post',
    hook: Hook,
    argCount: number,
    options: HookOptions | undefined,
  ): RemovableHandle {
    checkArity(op, { length: argCount }, 2, `${op}(hook, { prepend: true })`);
    if (typeof hook !== 'function')
      fail(
        op,
        `expected a function (module, inputs${kind === 'post' ? ', output' : ''}) => …, got ${describe(hook)}`,
      );
    const { prepend = false } = checkOptions(op, options, ['prepend'], `${op}(hook, { prepend: true })`);
    if (typeof prepend !== 'boolean') fail(op, `prepend must be a boolean, got ${describe(prepend)}`);
    const hooks = this.#hooks ?? this.#installHooks();
    const list = hooks[kind];
    if (prepend) list.unshift(hook);
    else list.push(hook);
    return {
      remove: () => {
        const i = list.indexOf(hook);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  /**
   * Wraps this instance's forward (as an own, non-enumerable property, so that the walks over its
   * fields never meet it) so that its hooks run around it; once they are all removed, the wrapper
   * stays and only passes calls through.
   */
  #installHooks(): { pre: Hook[]; post: Hook[] } {
    const hooks = { pre: [] as Hook[], post: [] as Hook[] };
    this.#hooks = hooks;
    const inner = this.forward;
    const wrapped = (...inputs: In): Out => {
      let args = inputs;
      // Copies, so that a hook removing itself (or adding another) does not upset this call.
      for (const pre of [...hooks.pre]) {
        const r = pre(this, args);
        if (r !== undefined) args = (Array.isArray(r) ? r : [r]) as In;
      }
      let out = inner.apply(this, args);
      for (const post of [...hooks.post]) {
        const r = post(this, args, out);
        if (r !== undefined) out = r as Out;
      }
      return out;
    };
    Object.defineProperty(this, 'forward', {
      value: wrapped,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    return hooks;
  }

  /** Direct sub-modules with their names. */
  *namedChildren(): Generator<[string, AnyModule]> {
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Module) yield [name, value];
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++)
          if (value[i] instanceof Module) yield [`${name}.${i}`, value[i]];
      }
    }
  }

  /** This module's own parameters (not its children's). */
  *namedOwnParameters(): Generator<[string, Parameter]> {
    for (const [name, value] of Object.entries(this)) if (value instanceof Parameter) yield [name, value];
  }

  /**
   * Every parameter, depth first, each once even if shared, with dotted names, as PyTorch's
   * `named_parameters(prefix, recurse)`: `prefix` goes before every name (`'pre'` gives `pre.fc.weight`),
   * and with recurse false only this module's own parameters are listed.
   */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    const op = `${this.constructor.name}.namedParameters`;
    checkArity(op, arguments, 2, "namedParameters('', false)");
    checkWalkArgs(op, prefix, recurse);
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [path, m] of recurse ? this.namedModules(prefix) : [[prefix, this] as const]) {
      for (const [name, p] of m.namedOwnParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([path ? `${path}.${name}` : name, p]);
      }
    }
    return out;
  }

  /** Every parameter, as namedParameters lists them; with recurse false only this module's own (PyTorch's `parameters(recurse)`). */
  parameters(recurse = true): Parameter[] {
    const op = `${this.constructor.name}.parameters`;
    checkArity(op, arguments, 1, 'parameters(false)');
    checkWalkArgs(op, '', recurse);
    return this.namedParameters('', recurse).map(([, p]) => p);
  }

  /** This module and all below it, with dotted paths ('' for this one, or `prefix`), as PyTorch's `named_modules(prefix=…)`. */
  namedModules(prefix = ''): [string, AnyModule][] {
    const op = `${this.constructor.name}.namedModules`;
    checkArity(op, arguments, 1, "namedModules('prefix')");
    checkWalkArgs(op, prefix, true);
    // A module reached twice (shared by two parents) is listed once, at its first path, as in PyTorch.
    const seen = new Set<AnyModule>();
    return this.#walk(prefix).filter(([, m]) => !seen.has(m) && seen.add(m));
  }

  /** Every path to every module below, depth first, a shared module under each of its paths. */
  #walk(prefix: string): [string, AnyModule][] {
    const out: [string, AnyModule][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren())
      out.push(...(child as Module).#walk(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** This module and all below it. */
  modules(): AnyModule[] {
    checkArity(`${this.constructor.name}.modules`, arguments, 0, 'modules()');
    return this.namedModules().map(([, m]) => m);
  }

  /** State that is saved and loaded but not trained (running statistics); every buffer is saved (PyTorch's persistent=True). */
  registerBuffer(name: string, value: Tensor): void {
    checkArity('registerBuffer', arguments, 2, 'registerBuffer(name, value)');
    if (typeof name !== 'string' || name === '' || name.includes('.'))
      fail(
        'registerBuffer',
        `a buffer's name must be a non-empty string without dots, got ${describe(name)}`,
      );
    if (!(value instanceof Tensor))
      fail('registerBuffer', `buffer '${name}' must be a Tensor, got ${describe(value)}`);
    this.#buffers.set(name, value);
  }

  getBuffer(name: string): Tensor {
    const b = this.#buffers.get(name);
    if (!b) fail(this.constructor.name, `no buffer named '${name}'`);
    return b;
  }

  /**
   * Every buffer with its dotted name, as PyTorch's `named_buffers(prefix, recurse)`: `prefix` goes before
   * every name, and with recurse false only this module's own buffers are listed.
   */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const op = `${this.constructor.name}.namedBuffers`;
    checkArity(op, arguments, 2, "namedBuffers('', false)");
    checkWalkArgs(op, prefix, recurse);
    const walk: [string, AnyModule][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    return walk.flatMap(([path, m]) =>
      [...m.#buffers].map(([name, b]): [string, Tensor] => [path ? `${path}.${name}` : name, b]),
    );
  }

  /** Every buffer, as namedBuffers lists them; with recurse false only this module's own (PyTorch's `buffers(recurse)`). */
  buffers(recurse = true): Tensor[] {
    const op = `${this.constructor.name}.buffers`;
    checkArity(op, arguments, 1, 'buffers(false)');
    checkWalkArgs(op, '', recurse);
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }

  /** Sets training mode on this module and every sub-module. */
  train(mode = true): this {
    checkArity('train', arguments, 1, 'train(false)');
    if (typeof mode !== 'boolean')
      fail('train', `mode must be a boolean, got ${describe(mode)}; use eval() for false`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** `train(false)`; takes no argument, as PyTorch's eval(). */
  eval(): this {
    if (arguments.length > 0)
      fail(
        'eval',
        `takes no arguments, got ${arguments.length}; use train(false) or train(true) to set the mode`,
      );
    return this.train(false);
  }

  /**
   * Converts every parameter and floating buffer, here and below, to `dtype`, in place: a parameter
   * keeps its identity (only its storage and gradient change), so an optimizer made before still
   * updates it, as in PyTorch. Integer buffers (`num_batches_tracked`) are left as they are.
   *
   *     const model = new Linear(3, 2).to('float64');
   */
  to(dtype: DType): this {
    checkArity(`${this.constructor.name}.to`, arguments, 1, "to('float64')");
    const target = floatDType(`${this.constructor.name}.to`, dtype);
    noGrad(() => {
      for (const p of this.parameters()) {
        if (p.dtype === target) continue;
        replaceStorage(p, p.cast(target).data);
        if (p.grad) p.grad = p.grad.cast(target);
      }
      for (const m of this.modules()) {
        for (const [name, b] of m.#buffers) if (isFloat(b.dtype)) m.#buffers.set(name, b.cast(target));
      }
    });
    return this;
  }

  /** `to('float64')`. */
  double(): this {
    checkArity(`${this.constructor.name}.double`, arguments, 0, 'double()');
    return this.to('float64');
  }

  /** `to('float32')`. */
  float(): this {
    checkArity(`${this.constructor.name}.float`, arguments, 0, 'float()');
    return this.to('float32');
  }

  /**
   * Clears the gradients of every parameter, here and below: to null with setToNone true (the default,
   * PyTorch 2's; PyTorch 1.13's default was false), or filled with zeros in place (detached, null ones
   * kept null) with false. The difference shows in the optimizer: a parameter whose gradient is null
   * is skipped by `step()`, one with a zero gradient is still stepped (momentum, Adam's moments and
   * weight decay carry on). See `Optimizer.zeroGrad`.
   */
  zeroGrad(setToNone = true): void {
    zeroGrads(`${this.constructor.name}.zeroGrad`, this.parameters(), setToNone, arguments);
  }

  numParameters(): number {
    checkArity(`${this.constructor.name}.numParameters`, arguments, 0, 'numParameters()');
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /**
   * A Keras-style table of the module tree: each module's dotted path, type, output shape and own
   * parameter count, then the total, trainable and non-trainable parameter counts. Output shapes come
   * from one forward on the example input (a tensor, or a shape filled with zeros of the model's
   * dtype; `{ dtype: 'int32' }` for token ids), run in eval mode without gradients through forward
   * hooks, so that the model is left as it was. Without an input only the parameters are counted.
   *
   *     console.log(lenet().summary([1, 1, 28, 28]));
   *     // Layer    Type        Output shape     Param #
   *     // (model)  Sequential  [1, 10]                0
   *     // 0        Conv2d      [1, 6, 28, 28]       156  …
   *     // Total params: 61,706
   */
  summary(input?: SummaryInput, options?: SummaryOptions): ModelSummary {
    const form = 'summary([1, 1, 28, 28], { dtype: "float32" })';
    checkArity('summary', arguments, 2, form);
    const { dtype } = checkOptions('summary', options, ['dtype'], form);
    return summarize(this, input, dtype);
  }

  /**
   * Parameters and buffers by dotted name; the tensors share storage with the module. A parameter
   * shared by two modules (tied weights) appears under both names, as in PyTorch.
   */
  stateDict(): Record<string, Tensor> {
    if (arguments.length > 0)
      fail(
        `${this.constructor.name}.stateDict`,
        `takes no arguments, got ${arguments.length} (PyTorch's destination, prefix and keep_vars are not supported); add a prefix to the keys yourself, and detach() values to keep`,
      );
    // Module by module, parameters then buffers: PyTorch's key order.
    const out: Record<string, Tensor> = {};
    // A shared module's state appears under each of its paths, as PyTorch's state_dict has it.
    for (const [prefix, m] of this.#walk('')) {
      const name = (n: string) => (prefix ? `${prefix}.${n}` : n);
      for (const [n, p] of m.namedOwnParameters()) out[name(n)] = p;
      for (const [n, b] of m.#buffers) out[name(n)] = b;
    }
    return out;
  }

  /**
   * Copies values into the module's parameters and buffers. Strict by default: every missing,
   * unexpected and mis-shaped key is listed in one error, and nothing is changed unless all fit.
   */
  loadStateDict(
    state: Record<string, Tensor>,
    options?: { strict?: boolean },
  ): { missing: string[]; unexpected: string[] } {
    const form = 'loadStateDict(state, { strict: false })';
    checkArity('loadStateDict', arguments, 2, form);
    const { strict = true } = checkOptions('loadStateDict', options, ['strict'], form);
    if (state === null || typeof state !== 'object')
      fail('loadStateDict', `expected a record of tensors by name, got ${describe(state)}`);
    const notTensors = Object.keys(state).filter((k) => !(state[k] instanceof Tensor));
    if (notTensors.length)
      fail(
        'loadStateDict',
        `expected tensors, but ${notTensors.join(', ')} ${notTensors.length > 1 ? 'are' : 'is'} not`,
      );
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !(k in own));
    const misShaped = Object.keys(own)
      .filter((k) => k in state && !sameShape(own[k]!.shape, state[k]!.shape))
      .map((k) => `${k} (model ${fmtShape(own[k]!.shape)}, given ${fmtShape(state[k]!.shape)})`);
    const problems = [
      ...(strict && missing.length ? [`missing keys: ${missing.join(', ')}`] : []),
      ...(strict && unexpected.length ? [`unexpected keys: ${unexpected.join(', ')}`] : []),
      ...(misShaped.length ? [`mis-shaped keys: ${misShaped.join(', ')}`] : []),
    ];
    if (problems.length)
      fail('loadStateDict', `the state does not match ${this.constructor.name}: ${problems.join('; ')}`);
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) if (k in state) t.copy_(state[k]!);
    });
    return { missing, unexpected };
  }

  /** A PyTorch-like outline of the module tree. */
  toString(): string {
    const children = [...this.namedChildren()];
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (!children.length) return `${head})`;
    const body = children.map(([n, c]) => `  (${n}): ${c.toString().replaceAll('\n', '\n  ')}`).join('\n');
    return `${head}\n${body}\n)`;
  }

  /** Constructor arguments to show in toString. */
  protected extraRepr(): string {
    return '';
  }
}

/**
 * Runs `fn` with `module` in eval mode and without recording, then puts the module's mode back, also
 * when `fn` throws: how evaluation, decoding and sampling read a model mid-training.
 */
export function evaluating<T>(module: Module<never[], unknown>, fn: () => T): T {
  const was = module.training;
  module.eval();
  try {
    return noGrad(fn);
  } finally {
    module.train(was);
  }
}
