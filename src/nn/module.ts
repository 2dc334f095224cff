import { noGrad } from '../autograd/mode.js';
import { fail, fmtShape } from '../errors.js';
import { sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** A tensor that a Module trains: a leaf that requires gradients. */
export class Parameter extends Tensor {
  constructor(t: Tensor) {
    // Share the storage when it is exactly this tensor's (as torch.nn.Parameter does), else copy.
    const own = t.isContiguous() && t.offset === 0 && t.data.length === t.size ? t : t.detach().clone();
    super(own.data, t.shape);
    this.requiresGrad_(true);
  }
}

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
/** A module of any signature, as the walks over a module tree see its members. */
// biome-ignore lint/suspicious/noExplicitAny: forward's parameters vary by module; the tree walks never call it.
export type AnyModule = Module<any[], unknown>;

export abstract class Module<In extends unknown[] = Tensor[], Out = Tensor> {
  /** Whether the module is in training mode (dropout active, batch statistics used). */
  training = true;
  private readonly buffers = new Map<string, Tensor>();

  /** What the module computes; most take tensors to a tensor, recurrent layers also carry state. */
  abstract forward(...inputs: In): Out;

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

  /** Every parameter, depth first, each once even if shared, with dotted names. */
  namedParameters(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.namedOwnParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** This module and all below it, with dotted paths ('' for this one). */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren())
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** State that is saved and loaded but not trained (running statistics). */
  registerBuffer(name: string, value: Tensor): void {
    this.buffers.set(name, value);
  }

  getBuffer(name: string): Tensor {
    const b = this.buffers.get(name);
    if (!b) fail(this.constructor.name, `no buffer named '${name}'`);
    return b;
  }

  namedBuffers(): [string, Tensor][] {
    return this.namedModules().flatMap(([prefix, m]) =>
      [...m.buffers].map(([name, b]): [string, Tensor] => [prefix ? `${prefix}.${name}` : name, b]),
    );
  }

  /** Sets training mode on this module and every sub-module. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Clears the gradients of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /**
   * Parameters and buffers by dotted name; the tensors share storage with the module. A parameter
   * shared by two modules (tied weights) appears under both names, as in PyTorch.
   */
  stateDict(): Record<string, Tensor> {
    // Module by module, parameters then buffers: PyTorch's key order.
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of this.namedModules()) {
      const name = (n: string) => (prefix ? `${prefix}.${n}` : n);
      for (const [n, p] of m.namedOwnParameters()) out[name(n)] = p;
      for (const [n, b] of m.buffers) out[name(n)] = b;
    }
    return out;
  }

  /**
   * Copies values into the module's parameters and buffers. Strict by default: every missing,
   * unexpected and mis-shaped key is listed in one error, and nothing is changed unless all fit.
   */
  loadStateDict(
    state: Record<string, Tensor>,
    { strict = true } = {},
  ): { missing: string[]; unexpected: string[] } {
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
