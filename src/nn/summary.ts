import { noGrad } from '../autograd/mode.js';
import { describe, fail, fmtShape, StrataError } from '../errors.js';
import { zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from './module.js';

/** An example input for `Module.summary`: a tensor, a shape (zeros of it are used), or one per argument. */
export type SummaryInput = Tensor | Shape | readonly (Tensor | Shape)[];

/** Options of `Module.summary`. */
export interface SummaryOptions {
  /** dtype of the zeros made from a shape: the model's parameter dtype by default; `int32` for token ids. */
  dtype?: DType;
}

/** One row of a {@link ModelSummary}: a module of the tree. */
export interface SummaryRow {
  /** Dotted path from the model (`features.0`); '' for the model itself. */
  readonly name: string;
  /** The module's class name. */
  readonly type: string;
  /** The shape of what its forward returned (`[1, 6, 28, 28]`; tuples in parentheses), or null when no forward ran. */
  readonly output: string | null;
  /** How many times its forward ran during the example pass (a cell stepped over time runs many times). */
  readonly calls: number;
  /** Elements of its own parameters (its children have their own rows). */
  readonly params: number;
}

/**
 * What `Module.summary` found: a row per module, and the parameter totals. Printing it (or
 * `String(summary)`) gives a Keras-style table.
 *
 *     const s = new Linear(784, 10).summary([32, 784]);
 *     s.rows[0].output; // '[32, 10]'
 *     s.totalParams;    // 7850
 */
export class ModelSummary {
  constructor(
    /** Every module of the tree, the model first, in `namedModules()` order. */
    readonly rows: readonly SummaryRow[],
    /** The shapes of the example inputs, empty when none was given. */
    readonly inputs: readonly (readonly number[])[],
    /** Elements of all parameters, each counted once even when shared. */
    readonly totalParams: number,
    /** Elements of the parameters that require gradients. */
    readonly trainableParams: number,
    /** Elements of buffers (running statistics): saved and loaded, not trained. */
    readonly bufferValues: number,
  ) {}

  /** Elements of the parameters that do not require gradients (frozen). */
  get nonTrainableParams(): number {
    return this.totalParams - this.trainableParams;
  }

  /** The table: layer (dotted path), type, output shape and parameter count, then the totals. */
  toString(): string {
    const count = (n: number) => n.toLocaleString('en-US');
    const head = ['Layer', 'Type', 'Output shape', 'Param #'];
    const body = this.rows.map((r) => [
      r.name === '' ? '(model)' : r.name,
      r.type,
      r.output === null ? '—' : r.calls > 1 ? `${r.output} ×${r.calls}` : r.output,
      count(r.params),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ');
    const rule = (ch: string) => ch.repeat(widths.reduce((n, w) => n + w, 0) + 2 * (widths.length - 1));
    const lines = [
      ...(this.inputs.length ? [`Input: ${this.inputs.map(fmtShape).join(', ')}`] : []),
      rule('='),
      line(head),
      rule('='),
      ...body.map(line),
      rule('='),
      `Total params: ${count(this.totalParams)}`,
      `Trainable params: ${count(this.trainableParams)}`,
      `Non-trainable params: ${count(this.nonTrainableParams)}`,
      ...(this.bufferValues ? [`Buffers (not trained): ${count(this.bufferValues)}`] : []),
      ...(this.inputs.length ? [] : ['(no example input: call summary([1, 3, 32, 32]) for output shapes)']),
    ];
    return lines.join('\n');
  }
}

// console.log and the REPL print the table.
Object.defineProperty(ModelSummary.prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: ModelSummary) {
    return this.toString();
  },
});

/**
 * Runs one forward of `model` on the example input with a forward hook on every module, in eval
 * mode and without gradients, so that nothing (running statistics, the random stream) changes; the
 * hooks are removed and each module's mode restored afterwards, even when the forward fails.
 */
export function summarize(
  model: AnyModule,
  input: SummaryInput | undefined,
  dtype: DType | undefined,
): ModelSummary {
  const modules = model.namedModules();
  const outputs = new Map<AnyModule, { output: string; calls: number }>();
  const inputs = input === undefined ? [] : exampleInputs(model, input, dtype);
  if (inputs.length) {
    const modes = modules.map(([, m]) => m.training);
    const handles = [...new Set(modules.map(([, m]) => m))].map((m) =>
      m.registerForwardHook((module, _inputs, output) => {
        const seen = outputs.get(module);
        if (seen) seen.calls++;
        else outputs.set(module, { output: shapeOf(output), calls: 1 });
        return undefined;
      }),
    );
    try {
      model.eval();
      noGrad(() => model.forward(...inputs));
    } catch (e) {
      if (!(e instanceof StrataError)) throw e;
      fail(
        'summary',
        `the forward pass of ${model.constructor.name} on an example input of shape ${inputs.map((t) => fmtShape(t.shape)).join(', ')} failed: ${e.message}; give an input of the shape (and dtype) the model takes`,
      );
    } finally {
      for (const h of handles) h.remove();
      modules.forEach(([, m], i) => {
        m.training = modes[i]!;
      });
    }
  }
  const rows = modules.map(([name, m]): SummaryRow => {
    const seen = outputs.get(m);
    const params = [...m.namedOwnParameters()].reduce((n, [, p]) => n + p.size, 0);
    return { name, type: m.constructor.name, output: seen?.output ?? null, calls: seen?.calls ?? 0, params };
  });
  const parameters = model.parameters();
  const total = parameters.reduce((n, p) => n + p.size, 0);
  const trainable = parameters.reduce((n, p) => n + (p.requiresGrad ? p.size : 0), 0);
  const buffers = model.namedBuffers().reduce((n, [, b]) => n + b.size, 0);
  return new ModelSummary(
    rows,
    inputs.map((t) => t.shape),
    total,
    trainable,
    buffers,
  );
}

/** The example input as forward's arguments: tensors as given, shapes as zeros in the model's dtype. */
function exampleInputs(model: AnyModule, input: SummaryInput, dtype: DType | undefined): Tensor[] {
  const isShape = (v: unknown): v is Shape => Array.isArray(v) && v.every((d) => typeof d === 'number');
  const list: readonly unknown[] = input instanceof Tensor || isShape(input) ? [input] : input;
  if (!Array.isArray(list))
    fail(
      'summary',
      `expected an example input (a Tensor, a shape such as [1, 1, 28, 28], or an array of them), got ${describe(input)}`,
    );
  const type = dtype ?? model.parameters()[0]?.dtype ?? 'float32';
  return list.map((v, i) => {
    if (v instanceof Tensor) return v;
    if (isShape(v)) return zeros(v, { dtype: type });
    return fail(
      'summary',
      `example input ${i} must be a Tensor or a shape (an array of sizes), got ${describe(v)}`,
    );
  });
}

/** A forward's output for the table: a tensor's shape, tuples (arrays) in parentheses, anything else described. */
function shapeOf(value: unknown): string {
  if (value instanceof Tensor) return fmtShape(value.shape);
  if (Array.isArray(value)) return `(${value.map(shapeOf).join(', ')})`;
  return value === undefined || value === null ? String(value) : describe(value);
}
