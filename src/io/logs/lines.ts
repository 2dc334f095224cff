import { describe, fail } from '../../errors.js';
import { AppendFile } from '../append.js';
import { isCount } from '../checkpoint.js';

/** What a logged record may hold: numbers (metrics, steps), strings, booleans, and null for "no value". */
export type LogValue = number | string | boolean | null;

/** One logged record, e.g. `{ epoch: 3, step: 1200, loss: 0.31, lr: 0.01 }`. */
export type LogRecord = Readonly<Record<string, LogValue>>;

export interface LineLoggerOptions {
  /**
   * Continue an existing file (to resume a run) instead of starting it afresh (default false). A last
   * line without its newline, left by a run that was killed while writing it, is dropped first.
   */
  append?: boolean;
}

/** Checks a record at the API's edge: a plain object whose values are all {@link LogValue}s. */
export function checkRecord(op: string, record: unknown): LogRecord {
  const proto = record === null || typeof record !== 'object' ? undefined : Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null)
    fail(op, `expected a record object such as { step: 10, loss: 0.5 }, got ${describe(record)}`);
  for (const [key, value] of Object.entries(record as object)) {
    const type = typeof value;
    if (value !== null && type !== 'number' && type !== 'string' && type !== 'boolean')
      fail(op, `'${key}' is ${describe(value)}; a record holds numbers, strings, booleans or null`);
  }
  return record as LogRecord;
}

/**
 * Opens a log written a line at a time: `append` keeps what is there, cut back to its last complete
 * line; otherwise the file starts empty. Returns the file and the text it keeps.
 */
export function openLines(op: string, path: string, append: unknown): { file: AppendFile; kept: string } {
  if (append !== undefined && typeof append !== 'boolean')
    fail(op, `append must be true or false, got ${describe(append)}`);
  if (typeof path !== 'string' || path === '') fail(op, `path must be a file path, got ${describe(path)}`);
  const file = new AppendFile(op, path, { mode: append ? 'append' : 'truncate' });
  if (!append || file.size === 0) return { file, kept: '' };
  const bytes = file.readAll();
  const end = bytes.lastIndexOf(0x0a) + 1;
  if (end < bytes.length) file.truncate(end);
  return { file, kept: new TextDecoder().decode(bytes.subarray(0, end)) };
}

/** A number as text that reads back to the same number: shortest round-trip digits, and -0 kept. */
export function exactNumber(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/**
 * Cuts a log back to a size it had earlier (a checkpoint's), dropping what a resumed run will write
 * again; `least` is the smallest size that keeps the file readable (a CSV header), 0 always allowed.
 */
export function cutBack(op: string, file: AppendFile, size: unknown, least = 0): void {
  if (!isCount(size) || size > file.size || (size > 0 && size < least))
    fail(
      op,
      `expected a size the file had before: 0${least > 0 ? ` or ${least}` : ''} to ${file.size} bytes, got ${describe(size)}`,
    );
  file.truncate(size);
}
