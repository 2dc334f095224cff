import { describe, fail } from '../errors.js';
import { isRecord } from '../io/checkpoint.js';

export {
  isCount,
  isRecord,
  optimizerFromCheckpoint,
  optimizerToCheckpoint,
  restoreCheckpoint,
  snapshot,
} from '../io/checkpoint.js';

/**
 * Fails listing every setting of `config` that differs from the one the checkpoint was made with, or
 * that the checkpoint does not record (a checkpoint of another command or version), or that it records
 * and this run lacks.
 */
export function checkResumeConfig(op: string, saved: unknown, config: Record<string, unknown>): void {
  if (!isRecord(saved)) fail(op, `--resume: the checkpoint records no run settings (got ${describe(saved)})`);
  const unrecorded = Object.keys(config).filter((k) => !Object.hasOwn(saved, k));
  if (unrecorded.length > 0) {
    fail(
      op,
      `--resume: the checkpoint does not record the setting${unrecorded.length > 1 ? 's' : ''} ${unrecorded
        .map((k) => `${k} (this run has ${JSON.stringify(config[k])})`)
        .join(', ')}; it was made by another command or version: start a new run in another --out directory`,
    );
  }
  // Loaded JSON is at most 64 levels deep (loadCheckpoint), so stringifying it cannot overflow.
  const changed = Object.keys({ ...saved, ...config }).filter(
    (k) => JSON.stringify(saved[k]) !== JSON.stringify(config[k]),
  );
  if (changed.length > 0) {
    const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));
    fail(
      op,
      `--resume: this run's settings differ from the checkpoint's: ${changed
        .map((k) => `${k}=${show(saved[k])} in the checkpoint, ${show(config[k])} now`)
        .join(
          '; ',
        )}. Resume with the same settings (only --epochs may grow), or start a new run in another --out`,
    );
  }
}
