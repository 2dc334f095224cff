/** How a metric is shown: accuracy as a percentage, perplexity with one decimal, the rest with four. */
function metric(name: string, value: number): string {
  if (name === 'accuracy') return `acc ${(100 * value).toFixed(2)}%`;
  if (name === 'perplexity') return `ppl ${value.toFixed(1)}`;
  return `${name} ${value.toFixed(4)}`;
}

/** The shown metrics of `means`, loss first, as separate fields (so a line is cut between them, never inside). */
export function metricFields(means: Record<string, number>, prefix = ''): string[] {
  const names = Object.keys(means).sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : 0));
  return names.map((k) => prefix + metric(k, means[k]!));
}

/** Seconds as 1:05 or 1:02:05. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * The line every finished epoch prints, the same for every task:
 * `epoch 2/5 | loss 0.1234 acc 96.10% | val loss 0.1500 acc 95.20% | 5120 samples/s | 3.1 s`.
 */
export function epochLine(r: Record<string, number | undefined>, epochs: number, unit: string): string {
  const train: Record<string, number> = {};
  const val: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined || ['epoch', 'lr', 'seconds', 'samplesPerSecond'].includes(k)) continue;
    if (/^val[A-Z]/.test(k)) val[k[3]!.toLowerCase() + k.slice(4)] = v;
    else train[k] = v;
  }
  const parts = [`epoch ${r.epoch}/${epochs}`, metricFields(train).join(' ')];
  if (Object.keys(val).length > 0) parts.push(`val ${metricFields(val).join(' ')}`);
  parts.push(`lr ${Number(r.lr!.toPrecision(4))}`);
  parts.push(`${Math.round(r.samplesPerSecond!)} ${unit}/s`, `${r.seconds!.toFixed(1)} s`);
  return parts.join(' | ');
}

/** Fields joined by spaces, as many whole ones as fit in `width`, then a bar in what is left. */
export function fitLine(fields: readonly string[], width: number, fraction?: number): string {
  let line = '';
  for (const f of fields) {
    const next = line ? `${line}  ${f}` : f;
    if (next.length > width) break;
    line = next;
  }
  const room = width - line.length - 3;
  if (fraction !== undefined && room >= 10) {
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * room);
    line += ` [${'█'.repeat(filled)}${'·'.repeat(room - filled)}]`;
  }
  return line;
}

export interface ProgressShape {
  epochs: number;
  /** Batches per epoch. */
  batches: number;
  /** What the throughput counts. */
  unit: string;
  /** Steps already done when this run started (a resumed run), for the run's ETA. */
  stepsDone?: number;
}

/** How often a line is printed when standard error is not a terminal. */
const PLAIN_EVERY_MS = 30_000;

/**
 * Progress on standard error. On a terminal, one live line fitted to its width: the numbers first
 * (epoch, batch, metrics, throughput, the epoch's and the whole run's ETA), a bar in what room is left,
 * never cut inside a number; a finished epoch replaces it with its one summary line. Elsewhere (CI,
 * pipes): the same fields as a plain line every 30 s, and one line per epoch. Standard output is left to
 * results.
 */
export class Progress {
  private readonly live: boolean;
  private epoch = 0;
  private drawn = performance.now();
  private readonly started = performance.now();
  private stepsThisRun = 0;
  private epochStart = 0;
  private doneAtStart = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly shape: ProgressShape,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.live = enabled && stream.isTTY === true;
  }

  startEpoch(epoch: number, done: number): void {
    this.epoch = epoch;
    this.epochStart = performance.now();
    this.doneAtStart = done;
  }

  update(batch: number, means: Record<string, number>, rate: number): void {
    this.stepsThisRun++;
    if (!this.enabled) return;
    const now = performance.now();
    const { epochs, batches, unit, stepsDone = 0 } = this.shape;
    const perStep = (now - this.started) / 1000 / this.stepsThisRun;
    const epochPerStep = (now - this.epochStart) / 1000 / Math.max(1, batch - this.doneAtStart);
    const left = epochs * batches - (stepsDone + this.stepsThisRun);
    const fields = [
      `epoch ${this.epoch + 1}/${epochs}`,
      `${batch}/${batches}`,
      ...metricFields(means),
      `${Math.round(rate)} ${unit}/s`,
      `ETA ${clock((batches - batch) * epochPerStep)}`,
      `run ${clock(left * perStep)}`,
    ];
    this.draw(fields, batch / batches, now);
  }

  /** Progress through another phase (validation, the test set), `done` of `total` batches. */
  phase(label: string, done: number, total: number): void {
    if (this.enabled) this.draw([label, `${done}/${total}`], done / total, performance.now());
  }

  endEpoch(line: string): void {
    if (!this.enabled) return;
    this.stream.write(this.live ? `\r\x1b[K${line}\n` : `${line}\n`);
    this.drawn = performance.now();
  }

  /** Clears the live line (before other output). */
  done(): void {
    if (this.live) this.stream.write('\r\x1b[K');
  }

  private draw(fields: string[], fraction: number, now: number): void {
    if (this.live) {
      if (now - this.drawn < 100 && fraction < 1) return;
      this.stream.write(`\r${fitLine(fields, (this.stream.columns || 80) - 1, fraction)}\x1b[K`);
    } else {
      if (now - this.drawn < PLAIN_EVERY_MS) return;
      this.stream.write(`${fields.join('  ')}\n`);
    }
    this.drawn = now;
  }
}

/** Progress for a pass that is not training (scoring a test set): the label and batches done. */
export function scoringProgress(enabled: boolean, label: string, total: number): (done: number) => void {
  const bar = new Progress(enabled, { epochs: 1, batches: total, unit: 'samples' });
  return (done) => {
    bar.phase(label, done, total);
    if (done === total) bar.done();
  };
}
