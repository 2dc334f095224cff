import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/** The file-system calls that writing a file goes through. */
export type FailingCall = 'writeSync' | 'openSync' | 'renameSync' | 'fsyncSync';

/**
 * Runs `fn` with `fs[name]` failing as the file system does with `code` (`ENOSPC`, `EROFS`...) for the
 * calls `when` picks: failures that root, which runs the tests, cannot otherwise provoke. The named
 * exports of `node:fs` that Strata imports are live bindings, updated by syncBuiltinESMExports.
 */
export function withFailing(
  name: FailingCall,
  code: string,
  fn: () => void,
  when: (...args: unknown[]) => boolean = () => true,
): void {
  const original = fs[name] as (...args: unknown[]) => unknown;
  const failing = (...args: unknown[]) => {
    if (!when(...args)) return original(...args);
    throw Object.assign(new Error(`${code}: injected failure, ${name}`), { code, syscall: name });
  };
  const table = fs as unknown as Record<FailingCall, unknown>;
  table[name] = failing;
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    table[name] = original;
    syncBuiltinESMExports();
  }
}

/** withFailing for an asynchronous `fn` (a training run): the call fails until `fn` settles. */
export async function withFailingAsync(
  name: FailingCall,
  code: string,
  fn: () => Promise<void>,
  when: (...args: unknown[]) => boolean = () => true,
): Promise<void> {
  const original = fs[name] as (...args: unknown[]) => unknown;
  const failing = (...args: unknown[]) => {
    if (!when(...args)) return original(...args);
    throw Object.assign(new Error(`${code}: injected failure, ${name}`), { code, syscall: name });
  };
  const table = fs as unknown as Record<FailingCall, unknown>;
  table[name] = failing;
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    table[name] = original;
    syncBuiltinESMExports();
  }
}
