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
