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
