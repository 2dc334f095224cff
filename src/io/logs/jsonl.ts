import { checkArity, checkOptions } from '../../errors.js';
import type { AppendFile } from '../append.js';
import {
  checkRecord,
  cutBack,
  exactNumber,
  type LineLoggerOptions,
  type LogRecord,
  openLines,
} from './lines.js';

/** JSON has no NaN or infinities: they are written as the strings "NaN", "Infinity" and "-Infinity". */
function jsonValue(v: LogRecord[string]): string {
  if (typeof v === 'number') return Number.isFinite(v) ? exactNumber(v) : JSON.stringify(String(v));
  return JSON.stringify(v);
}

/**
 * Writes every logged record as one JSON object on its own line (JSON lines, `.jsonl`), as `jq`,
 * `pandas.read_json(path, lines=True)` and most log viewers read them. Each line is written whole as
 * soon as it is logged, so a run that is killed leaves every record before it readable. Numbers are
 * written with the digits that read back to the same float64 (-0 included); NaN and ±Infinity, which
 * JSON cannot hold, as the strings "NaN", "Infinity" and "-Infinity".
 *
 *     const log = new JsonlLogger('runs/mnist/metrics.jsonl')
 *     log.log({ epoch: 1, step: 469, loss: 0.21, accuracy: 0.94 })
 *     log.close()
 */
export class JsonlLogger {
  readonly path: string;
  private readonly file: AppendFile;

  constructor(path: string, options?: LineLoggerOptions) {
    const op = 'JsonlLogger';
    checkArity(op, arguments, 2, 'new JsonlLogger(path, { append: true })');
    const { append } = checkOptions(op, options, ['append']);
    this.path = path;
    this.file = openLines(op, path, append).file;
  }

  /** Appends one record as one line. */
  log(record: LogRecord): void {
    checkRecord('JsonlLogger.log', record);
    const fields = Object.entries(record).map(([k, v]) => `${JSON.stringify(k)}:${jsonValue(v)}`);
    this.file.write(new TextEncoder().encode(`{${fields.join(',')}}\n`));
  }

  /** Bytes in the file: where {@link truncate} can cut it back to later. */
  get size(): number {
    return this.file.size;
  }

  /** Cuts the file back to a size it had (a resumed run's checkpoint recorded it), dropping the lines after. */
  truncate(size: number): void {
    cutBack('JsonlLogger.truncate', this.file, size);
  }

  /** Pushes the lines written so far to the disk (they are already safe from a crash of this process). */
  flush(): void {
    this.file.sync();
  }

  /** Flushes and closes the file. */
  close(): void {
    this.file.close();
  }
}
