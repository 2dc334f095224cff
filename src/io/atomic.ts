import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fail, StrataError } from '../errors.js';

/** What a file-system error code means for the user, and what to do about it. */
const FILE_SYSTEM_ERRORS: Record<string, string> = {
  EROFS: 'the file system is read-only; choose a directory on a writable disk (--out)',
  EACCES: 'permission denied; choose a directory you can write (--out) or change its permissions',
  EPERM: 'the operation is not permitted here; choose another directory (--out)',
  ENOSPC: 'the disk is full; free some space, then run again (--resume continues from the last checkpoint)',
  EDQUOT:
    'the disk quota is used up; free some space, then run again (--resume continues from the last checkpoint)',
  EISDIR: 'it is a directory; remove it or choose another directory (--out)',
  ENOTDIR: 'a part of the path is a file, not a directory; choose another path (--out)',
  EEXIST: 'a file of that name is in the way; remove it or choose another path (--out)',
  ENOENT:
    'its directory does not exist, or the file system does not allow new files there; choose another path (--out)',
  ENAMETOOLONG: 'the name is too long; choose a shorter path',
  EMFILE: 'too many files are open; close some programs and run again',
  EIO: 'the disk reported an input/output error; check the disk, then run again',
};

/**
 * A file-system error (`EROFS`, `ENOSPC`, ...) as a one-line StrataError naming the path and what to do.
 * `doing` says what failed: `write`, `create the directory`. A StrataError passes through unchanged and
 * anything else that is not a file-system error is rethrown as it is.
 */
export function fileSystemFailure(op: string, doing: string, path: string, e: unknown): never {
  if (e instanceof StrataError) throw e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw e;
  const why = FILE_SYSTEM_ERRORS[code] ?? `${(e as Error).message.split(',')[0]}`;
  return fail(op, `cannot ${doing} '${path}' (${code}): ${why}`);
}

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
 * On error the temporary file is removed and a StrataError names the path and what to do (a full disk,
 * a read-only file system, ...); the old file is never touched.
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
    // The file named is the target: the temporary file is an implementation detail, and gone.
    fileSystemFailure('writeFileAtomic', 'write', path, e);
  }
  try {
    fsyncDirectory(dirname(path));
  } catch (e) {
    fileSystemFailure('writeFileAtomic', 'flush the directory of', path, e);
  }
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
    return fileSystemFailure(op, 'read', path, e);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Makes sure `dir` is a directory this process can write, creating it (and missing parents) if need be,
 * and that none of `files` in it is in the way (a directory of that name): checked before a long run
 * starts, so that a bad output directory fails at once, in one line, instead of after an epoch. Parents
 * are created one at a time: Node's recursive mkdir spins forever on paths such as `/proc/x`.
 *
 *     ensureOutputDir('fit', 'runs/mnist', ['checkpoint.safetensors'])
 */
export function ensureOutputDir(op: string, dir: string, files: readonly string[] = []): void {
  if (dir === '') fail(op, 'the output directory is an empty string; give a directory (--out DIR)');
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let stats: Stats | null = null;
    try {
      stats = statOrNull(at);
    } catch (e) {
      fileSystemFailure(op, 'use the output directory', dir, e);
    }
    if (stats !== null) {
      if (!stats.isDirectory()) {
        fail(
          op,
          `cannot use '${dir}' as the output directory: '${at}' is a file, not a directory; choose another --out`,
        );
      }
      break;
    }
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statOrNull(d)?.isDirectory())
        fileSystemFailure(op, 'create the output directory', d, e);
    }
  }
  for (const f of files) {
    if (statOrNull(join(dir, f))?.isDirectory()) {
      fail(op, `cannot write '${join(dir, f)}': it is a directory; remove it or choose another --out`);
    }
  }
  // Writing a probe file finds a read-only or unwritable directory before any work is done.
  const probe = join(dir, `.strata-probe.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    fileSystemFailure(op, 'write in the output directory', dir, e);
  }
}
