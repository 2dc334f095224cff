import { fail, StrataError } from '../errors.js';
import type { Backend } from './backend.js';
import { jsBackend } from './js/index.js';

export interface Candidate {
  name: string;
  /** Higher runs first when no backend is requested. */
  priority: number;
  /** Returns the backend, or throws saying why it cannot run here. */
  load: () => Backend;
}

// Only the js backend is built in, so that this module (and a browser bundle) needs nothing from Node;
// the node entry adds the native backend (backend/node.ts).
const candidates: Candidate[] = [{ name: 'js', priority: 0, load: () => jsBackend }];
let active: Backend | null = null;
let reason = '';
let request: { name: string; why: string } | null = null;
let pinned: string | null = null;

/** Keeps the backend from being switched while `where` holds (an autocast region set its precision). */
export function pinBackend(where: string | null): void {
  pinned = where;
}

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

/**
 * Names the backend that the first `getBackend()` loads instead of the fastest, and the reason
 * `strata info` gives; under Node, backend/node.ts passes STRATA_BACKEND. Loading waits for that first
 * call, so a later `setBackend` (the CLI's --backend) still wins without the requested one being loaded.
 */
export function requestBackend(name: string, why: string): void {
  request = { name, why };
}

/** Switches to a named backend, or fails naming the ones available. */
export function setBackend(name: string): Backend {
  const c = candidates.find((x) => x.name === name);
  if (!c) fail('setBackend', `unknown backend '${name}': available are ${backendNames().join(', ')}`);
  if (pinned) fail('setBackend', `cannot switch to the ${name} backend ${pinned}; switch before entering it`);
  active = c.load();
  reason = 'requested';
  return active;
}

/**
 * The backend in use. The first call picks one: the requested one (STRATA_BACKEND under Node) if any,
 * else the highest-priority backend that loads.
 */
export function getBackend(): Backend {
  if (active) return active;
  if (request) {
    setBackend(request.name);
    reason = request.why;
    return active!;
  }
  const skipped: string[] = [];
  for (const c of candidates) {
    try {
      active = c.load();
      reason = skipped.length ? `fastest available (${skipped.join('; ')})` : 'fastest available';
      // Say once, plainly, why the fast path is off and how to get it.
      if (skipped.length) console.warn(`strata: using the ${c.name} backend because ${skipped.join('; ')}`);
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
