import type { MatmulPrecision } from '../backend/backend.js';
import { getBackend, pinBackend } from '../backend/registry.js';
import { describe, fail } from '../errors.js';

let enabled = true;

/** True while operations are being recorded on the tape. */
export function isGradEnabled(): boolean {
  return enabled;
}

function withMode<T>(mode: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = mode;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Runs fn without recording (like `torch.no_grad()`): for evaluation and parameter updates. */
export function noGrad<T>(fn: () => T): T {
  return withMode(false, fn);
}

/** Runs fn with recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withMode(true, fn);
}

let anomaly = false;
let backwardDepth = 0;

/** True while anomaly detection should check op results (on, and not inside a backward rule). */
export function isAnomalyDetection(): boolean {
  return anomaly && backwardDepth === 0;
}

/**
 * Runs a backward rule: its own ops are not checked one by one, so that an anomaly is reported as the
 * backward of the op whose rule it is (sqrt's gradient at 0), not as the division inside that rule.
 */
export function inBackward<T>(fn: () => T): T {
  backwardDepth++;
  try {
    return fn();
  } finally {
    backwardDepth--;
  }
}

/**
 * Runs fn with anomaly detection (like `torch.autograd.detect_anomaly()`): the first op whose forward
 * turns finite inputs into a NaN or an infinity, or whose backward does so to a finite gradient, throws
 * an error naming it. Costs a pass over every result, so it is for debugging.
 */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = anomaly;
  anomaly = true;
  try {
    return fn();
  } finally {
    anomaly = prev;
  }
}

let precision: MatmulPrecision = 'float32';
const PRECISIONS: readonly MatmulPrecision[] = ['float32', 'bf16'];

/** The precision float32 matrix products run in now: 'bf16' inside `autocast('bf16', …)`. */
export function matmulPrecision(): MatmulPrecision {
  return precision;
}

/**
 * Runs fn with the float32 matrix products — matmul, linear, the convolutions, and so the recurrent
 * layers' projections — reading their operands rounded to bf16 and accumulating in float32, like
 * `torch.autocast('cpu', dtype=torch.bfloat16)`. Tensors stay float32 (weights are the float32
 * masters, results are not rounded to bf16), and every other op runs as before. The backward pass of
 * an op recorded inside runs its products in the same precision, wherever `backward()` is called.
 * `autocast('float32', fn)` turns it off inside an outer region. It covers what fn runs synchronously,
 * as `noGrad` does. Needs a backend and CPU that have it (the native backend on a CPU with
 * AVX512-BF16); elsewhere it fails saying why.
 *
 *     const loss = autocast('bf16', () => nn.crossEntropy(model.forward(x), y));
 *     loss.backward();
 */
export function autocast<T>(p: MatmulPrecision, fn: () => T): T {
  if (!PRECISIONS.includes(p))
    fail('autocast', `unknown precision ${describe(p)}: expected one of ${PRECISIONS.join(', ')}`);
  if (typeof fn !== 'function') fail('autocast', `expected a function to run, got ${describe(fn)}`);
  return withPrecision(p, fn);
}

/** Runs fn with products in p (no change when it is the current one): autocast's core, and each backward rule's. */
export function withPrecision<T>(p: MatmulPrecision, fn: () => T): T {
  if (p === precision) return fn();
  const backend = getBackend();
  const problem =
    backend.setMatmulPrecision?.(p) ??
    (p === 'float32'
      ? ''
      : `the ${backend.name} backend computes products in float32 only; bf16 needs the native backend on a CPU with AVX512-BF16`);
  if (problem) fail('autocast', `cannot compute products in ${p}: ${problem}`);
  const prev = precision;
  precision = p;
  pinBackend(p === 'float32' ? null : `inside autocast('${p}', …)`);
  try {
    return fn();
  } finally {
    precision = prev;
    pinBackend(prev === 'float32' ? null : `inside autocast('${prev}', …)`);
    backend.setMatmulPrecision?.(prev);
  }
}
