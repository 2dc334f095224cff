import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fail } from '../errors.js';

/**
 * Temporary files are named `.<target>.<pid>.<random>.tmp` beside the target: the same directory keeps
 * the rename on one filesystem (so it is atomic), and the pid lets a later save tell whether the writer
 * that left one behind is gone.
 */
function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** The pid in the name of one of `target`'s temporary files, or null if `name` is not one. */
function tempOwner(target: string, name: string): number | null {
  const prefix = `.${basename(target)}.`;
  if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return null;
  const m = /^(\d+)\.[0-9a-f]+$/.exec(name.slice(prefix.length, -'.tmp'.length));
  return m ? Number(m[1]) : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files that earlier writes of `target` left behind when their process was killed.
 * A file is stale only if its writer is no longer running and it was last touched before `before`, so a
 * concurrent writer's file (this process's own, or another live one's) is never pulled from under it.
 */
function removeStaleTemps(target: string, before: number): void {
  let names: string[];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = tempOwner(target, name);
    if (pid === null || pid === process.pid || isAlive(pid)) continue;
    const path = join(dirname(target), name);
    try {
      if (statSync(path).mtimeMs < before) unlinkSync(path);
    } catch {
      // Another save may have removed it first; cleaning up is best effort.
    }
  }
}

function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return; // Windows cannot open a directory; its rename is durable without this.
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    // Some filesystems refuse to fsync a directory; the rename is still atomic, only its durability
    // across a power cut is then up to the filesystem.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EPERM' && code !== 'EISDIR') throw e;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file so that `path` always holds either its previous contents or the complete new ones,
 * even if the process is killed or the machine loses power part-way: the data go to a temporary file
 * in the same directory, which is flushed to disk and then renamed over the target (rename is atomic
 * on POSIX filesystems and on NTFS); the directory is flushed so the rename itself survives a crash.
 * On error the temporary file is removed and the error rethrown; the old file is never touched.
 *
 * A process killed mid-write leaves its temporary file (`.<name>.<pid>.<hex>.tmp`) behind; the next
 * successful write of the same path removes those whose process is gone. Readers never see them.
 *
 *     writeFileAtomic('runs/mnist/metrics.json', JSON.stringify(metrics))
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const started = Date.now();
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const temp = tempName(path);
  let fd: number | null = null;
  try {
    fd = openSync(temp, 'wx'); // 'x': never reuse a file someone else is writing
    for (let done = 0; done < bytes.length; ) {
      done += writeSync(fd, bytes, done, bytes.length - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // It may not exist (open failed) — nothing to clean up.
    }
    throw e;
  }
  fsyncDirectory(dirname(path));
  removeStaleTemps(path, started);
}

/**
 * Reads a whole file, turning the usual failures into a StrataError that names the file and says
 * what to do, instead of a bare `ENOENT`.
 */
export function readFileBytes(op: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(op, `no file at '${path}': check the path (and --out directory)`);
    if (code === 'EISDIR') return fail(op, `'${path}' is a directory; expected a file`);
    if (code === 'EACCES' || code === 'EPERM') return fail(op, `cannot read '${path}': permission denied`);
    throw e;
  }
}
