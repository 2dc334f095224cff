import { checkArity, checkOptions, describe, fail } from '../../errors.js';
import type { AppendFile } from '../append.js';
import {
  checkRecord,
  cutBack,
  exactNumber,
  type LineLoggerOptions,
  type LogRecord,
  type LogValue,
  openLines,
} from './lines.js';

export interface CsvLoggerOptions extends LineLoggerOptions {
  /** The field separator, one character (default `','`). */
  separator?: string;
}

/**
 * The fields of the first record of CSV text (RFC 4180: quoted fields may hold separators, quotes,
 * newlines), and the length of its text with its line break.
 */
function firstRow(text: string, separator: string): [string[], number] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === separator) {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      fields.push(field);
      return [fields, new TextEncoder().encode(text.slice(0, ch === '\n' ? i + 1 : i + 2)).length];
    } else field += ch;
  }
  fields.push(field);
  return [fields, new TextEncoder().encode(text).length];
}

/**
 * Writes logged records as CSV, as Keras's `CSVLogger` does: a header row of column names, then one row
 * per record, each written whole as soon as it is logged, so that a run that is killed leaves every row
 * before it readable (by pandas, a spreadsheet, R).
 *
 * The columns are the first record's keys, in their order (with `append`, the existing file's header).
 * A later record without one of them leaves that cell empty; a later record with a key the header lacks
 * is an error, because a CSV file cannot grow a column part-way: log every column from the first
 * record (null where there is no value yet), or use {@link JsonlLogger}. Numbers are written with the
 * digits that read back to the same float64 (-0 included; NaN, Infinity and -Infinity by those names);
 * null is an empty cell; text is quoted where it holds the separator, a quote or a line break.
 *
 *     const csv = new CsvLogger('runs/mnist/metrics.csv')
 *     csv.log({ epoch: 1, loss: 0.21, accuracy: 0.94 })
 *     csv.log({ epoch: 2, loss: 0.12, accuracy: 0.97 })
 *     csv.close()
 */
export class CsvLogger {
  readonly path: string;
  private readonly file: AppendFile;
  private readonly separator: string;
  private header: readonly string[] | null = null;
  /** Bytes of the header row. */
  private headerBytes = 0;

  constructor(path: string, options?: CsvLoggerOptions) {
    const op = 'CsvLogger';
    checkArity(op, arguments, 2, "new CsvLogger(path, { separator: ';', append: true })");
    const { append, separator = ',' } = checkOptions(op, options, ['append', 'separator']);
    if (typeof separator !== 'string' || separator.length !== 1 || /["\r\n]/.test(separator))
      fail(
        op,
        `separator must be one character other than a quote or a line break, got ${describe(separator)}`,
      );
    this.path = path;
    this.separator = separator;
    const { file, kept } = openLines(op, path, append);
    this.file = file;
    if (kept !== '') [this.header, this.headerBytes] = firstRow(kept, separator);
  }

  /** The column names: the first record's keys, or the existing file's header; null before either. */
  get columns(): readonly string[] | null {
    return this.header;
  }

  /** Appends one record as one row (writing the header first, if this is the file's first record). */
  log(record: LogRecord): void {
    const op = 'CsvLogger.log';
    checkRecord(op, record);
    let text = '';
    if (this.header === null) {
      const keys = Object.keys(record);
      if (keys.length === 0) fail(op, 'the first record has no keys; its keys become the columns');
      text = this.row(keys);
      this.headerBytes = new TextEncoder().encode(text).length;
    }
    const header = this.header ?? Object.keys(record);
    const extra = Object.keys(record).filter((k) => !header.includes(k));
    if (extra.length > 0)
      fail(
        op,
        `${extra.map((k) => `'${k}'`).join(', ')} ${extra.length > 1 ? 'are not columns' : 'is not a column'} of '${this.path}' (columns: ${header.join(', ')}); a CSV file cannot add a column part-way: give every column in the first record (null for no value yet), or log with JsonlLogger`,
      );
    text += this.row(header.map((k) => record[k] ?? null));
    this.file.write(new TextEncoder().encode(text));
    this.header = header;
  }

  /** Bytes in the file: where {@link truncate} can cut it back to later. */
  get size(): number {
    return this.file.size;
  }

  /**
   * Cuts the file back to a size it had (a resumed run's checkpoint recorded it), dropping the rows
   * after; to 0, the header goes too and the next record's keys become the columns again.
   */
  truncate(size: number): void {
    cutBack('CsvLogger.truncate', this.file, size, this.headerBytes);
    if (size === 0) this.header = null;
  }

  /** Pushes the rows written so far to the disk (they are already safe from a crash of this process). */
  flush(): void {
    this.file.sync();
  }

  /** Flushes and closes the file. */
  close(): void {
    this.file.close();
  }

  private row(values: readonly LogValue[]): string {
    return `${values.map((v) => this.cell(v)).join(this.separator)}\n`;
  }

  private cell(v: LogValue): string {
    if (v === null) return '';
    if (typeof v === 'number') return exactNumber(v);
    const s = String(v);
    return s.includes(this.separator) || /["\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  }
}
