/**
 * The one error type Strata throws for bad input. Messages are sentences a user can act on:
 * they name the operation, what it expected and what it got.
 */
export class StrataError extends Error {
  override name = 'StrataError';
}

/** Throws a StrataError prefixed with the operation's name. */
export function fail(op: string, message: string): never {
  throw new StrataError(`${op}: ${message}`);
}

/** Formats a shape the way messages print it: `[32, 784]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** What a value is, for messages: `2`, `'abc'`, `an array`, `a Tensor`, `null`. Never walks into the value. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default: {
      const name = (value as object).constructor?.name;
      return name && name !== 'Object' ? `a ${name}` : 'an object';
    }
  }
}

/**
 * Checks an options object at the API's edge and returns it ({} when absent). A value that is not a
 * plain object (PyTorch-style positional arguments: `new Linear(5, 4, false)`) and a key that is not
 * accepted both fail, so that nothing a user passes is silently ignored. `form` shows the call written
 * with an options object, for the message.
 */
export function checkOptions<T extends object>(
  op: string,
  options: T | undefined,
  accepted: readonly (keyof T & string)[],
  form?: string,
): Partial<T> {
  if (options === undefined) return {};
  const proto = options === null || typeof options !== 'object' ? undefined : Object.getPrototypeOf(options);
  if (proto !== Object.prototype && proto !== null) {
    fail(
      op,
      `expected an options object, got ${describe(options)}${form ? `; pass options by name: ${form}` : ''}`,
    );
  }
  const unknown = Object.keys(options).filter((k) => !(accepted as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const list = accepted.length > 0 ? accepted.join(', ') : 'none';
    fail(op, `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; accepted: ${list}`);
  }
  return options;
}

/**
 * Fails when a call got more positional arguments than the function takes (a PyTorch-style call such
 * as `new Conv2d(4, 6, 3, 2, 1)`), showing the options-object form.
 */
export function checkArity(op: string, args: ArrayLike<unknown>, max: number, form: string): void {
  if (args.length > max) {
    fail(op, `takes at most ${max} arguments, got ${args.length}; pass the rest by name: ${form}`);
  }
}
