import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { fail } from '../errors.js';

/** What to do about a failed file operation, by its error code. */
function advice(code: string | undefined): string {
  switch (code) {
    case 'ENOSPC':
      return 'the disk is full: free some space or log to another disk';
    case 'EDQUOT':
      return 'the disk quota is used up: free some space or log to another disk';
    case 'EFBIG':
      return 'the file has reached the largest size allowed here (ulimit -f, or the filesystem): log to a new file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: log to a directory you can write to';
    case 'EROFS':
      return 'the filesystem is read-only: log to a writable directory';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory: choose another path';
    case 'EISDIR':
      return 'it is a directory: give a file name';
    case 'EEXIST':
      return 'the file already exists: choose another name';
    default:
      return 'check the path and the disk';
  }
}

/** Turns a filesystem error into a StrataError naming the file, the cause and what to do. */
function failIo(op: string, doing: string, path: string, e: unknown): never {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string') throw e;
  return fail(op, `cannot ${doing} '${path}' (${err.code}): ${advice(err.code)}`);
}

export interface AppendFileOptions {
  /**
   * `'append'` (default) continues an existing file, `'truncate'` empties it first, `'create'` refuses
   * an existing file (so that two writers never share one).
   */
  mode?: 'append' | 'truncate' | 'create';
}

/**
 * A file written at its end in whole pieces, for logs that must stay readable when the process dies:
 * every `write` goes to the operating system at once (so a killed process loses nothing it wrote), and
 * `sync` and `close` push it to the disk. A write that fails part-way (a full disk) is cut back off, so
 * the file never ends in half a piece, and reported as one StrataError naming the path and what to do.
 * Missing parent directories are created.
 *
 *     const f = new AppendFile('fit', 'runs/mnist/metrics.jsonl')
 *     f.write(new TextEncoder().encode('{"step":1,"loss":0.5}\n'))
 *     f.close()
 */
export class AppendFile {
  readonly path: string;
  private readonly op: string;
  private fd: number | null;
  /** Bytes in the file, all of them whole pieces: where a failed write is cut back to. */
  private length: number;

  constructor(op: string, path: string, options: AppendFileOptions = {}) {
    this.op = op;
    this.path = path;
    const mode = options.mode ?? 'append';
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      failIo(op, 'create the directory of', path, e);
    }
    try {
      this.fd = openSync(path, mode === 'create' ? 'wx' : mode === 'truncate' ? 'w' : 'a+');
      this.length = fstatSync(this.fd).size;
    } catch (e) {
      failIo(op, 'open', path, e);
    }
  }

  /** The number of bytes in the file. */
  get size(): number {
    return this.length;
  }

  /** Reads the file's current contents (for a writer that continues a file and must see how it ends). */
  readAll(): Uint8Array {
    const fd = this.open();
    const out = new Uint8Array(this.length);
    try {
      for (let done = 0; done < out.length; ) {
        const n = readSync(fd, out, done, out.length - done, done);
        if (n === 0) break;
        done += n;
      }
    } catch (e) {
      failIo(this.op, 'read', this.path, e);
    }
    return out;
  }

  /** Cuts the file to its first `length` bytes (dropping a piece that a killed writer left half-written). */
  truncate(length: number): void {
    try {
      ftruncateSync(this.open(), length);
    } catch (e) {
      failIo(this.op, 'truncate', this.path, e);
    }
    this.length = length;
  }

  /** Appends `bytes` as one piece: all of it reaches the file, or none of it stays there. */
  write(bytes: Uint8Array): void {
    const fd = this.open();
    try {
      // At an explicit position: after truncate() the file offset of a file not opened for appending
      // would still point past the end, and the write would leave a hole of zeros.
      for (let done = 0; done < bytes.length; )
        done += writeSync(fd, bytes, done, bytes.length - done, this.length + done);
    } catch (e) {
      try {
        ftruncateSync(fd, this.length);
      } catch {
        // Cutting back is best effort: the write's own error is the one to report.
      }
      failIo(this.op, 'write to', this.path, e);
    }
    this.length += bytes.length;
  }

  /** Flushes what has been written to the disk, so that it survives a power cut as well as a crash. */
  sync(): void {
    try {
      fsyncSync(this.open());
    } catch (e) {
      // Character devices and some filesystems cannot fsync; what was written has still reached the OS.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'ENOTSUP') failIo(this.op, 'flush', this.path, e);
    }
  }

  /** Flushes and closes the file. Closing twice is harmless. */
  close(): void {
    if (this.fd === null) return;
    this.sync();
    const fd = this.fd;
    this.fd = null;
    try {
      closeSync(fd);
    } catch (e) {
      failIo(this.op, 'close', this.path, e);
    }
  }

  get closed(): boolean {
    return this.fd === null;
  }

  private open(): number {
    if (this.fd === null) fail(this.op, `'${this.path}' is already closed; create a new writer to log more`);
    return this.fd;
  }
}
