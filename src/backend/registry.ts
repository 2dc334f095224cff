import { fail, StrataError } from '../errors.js';
import type { Backend } from './backend.js';
import { jsBackend } from './js/index.js';
import { createNativeBackend } from './native/index.js';

export interface Candidate {
  name: string;
  /** Higher runs first when no backend is requested. */
  priority: number;
  /** Returns the backend, or throws saying why it cannot run here. */
  load: () => Backend;
}

const candidates: Candidate[] = [
  { name: 'native', priority: 10, load: createNativeBackend },
  { name: 'js', priority: 0, load: () => jsBackend },
];
let active: Backend | null = null;
let reason = '';

/** Adds a backend that start-up may pick. A backend is one folder plus one call to this. */
export function registerBackend(candidate: Candidate): void {
  const i = candidates.findIndex((c) => c.name === candidate.name);
  if (i >= 0) candidates.splice(i, 1);
  candidates.push(candidate);
  candidates.sort((a, b) => b.priority - a.priority);
}

export function backendNames(): string[] {
  return candidates.map((c) => c.name);
}

/** Switches to a named backend, or fails naming the ones available. */
export function setBackend(name: string): Backend {
  const c = candidates.find((x) => x.name === name);
  if (!c) fail('setBackend', `unknown backend '${name}': available are ${backendNames().join(', ')}`);
  active = c.load();
  reason = 'requested';
  return active;
}

/**
 * The backend in use. The first call picks one: STRATA_BACKEND if set, else the highest-priority
 * backend that loads.
 */
export function getBackend(): Backend {
  if (active) return active;
  const requested = process.env.STRATA_BACKEND;
  if (requested) {
    setBackend(requested);
    reason = 'STRATA_BACKEND';
    return active!;
  }
  const skipped: string[] = [];
  for (const c of candidates) {
    try {
      active = c.load();
      reason = skipped.length ? `fastest available (${skipped.join('; ')})` : 'fastest available';
      // Say once, plainly, why the fast path is off and how to get it.
      if (skipped.length)
        process.stderr.write(`strata: using the ${c.name} backend because ${skipped.join('; ')}\n`);
      return active;
    } catch (e) {
      // A StrataError is a wrong setting (STRATA_NUM_THREADS=abc), which falling back would hide.
      if (e instanceof StrataError) throw e;
      skipped.push(`${c.name}: ${(e as Error).message}`);
    }
  }
  return fail('getBackend', `no backend could be loaded: ${skipped.join('; ')}`);
}

/** Why the active backend was chosen, for `strata info`. */
export function backendReason(): string {
  getBackend();
  return reason;
}
