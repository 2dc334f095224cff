import cliProgress from 'cli-progress';

export interface ProgressFields {
  loss: number;
  /** Shown for classifiers. */
  accuracy?: number;
  /** Shown for language models instead of accuracy. */
  perplexity?: number;
  /** Examples (or tokens, for a language model) per second. */
  samplesPerSecond: number;
}

/**
 * The live line a long run shows on standard error: epoch, batches, loss, accuracy, throughput and ETA,
 * drawn by cli-progress when stderr is a terminal. Elsewhere (CI, pipes) it prints one line per epoch
 * instead, so logs stay readable; standard output is left to results.
 */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly live: boolean;

  constructor(
    private readonly enabled: boolean,
    private readonly epochs: number,
    /** What the throughput counts. */
    private readonly unit: 'samples' | 'tokens' = 'samples',
  ) {
    this.live = enabled && process.stderr.isTTY === true;
  }

  startEpoch(epoch: number, batches: number, done: number): void {
    if (!this.live) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `epoch ${epoch + 1}/${this.epochs} {bar} {value}/{total} | loss {loss} | {metric} | {rate} ${this.unit}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(batches, done, { loss: '-', metric: '-', rate: '-' });
  }

  update(batch: number, f: ProgressFields): void {
    this.bar?.update(batch, {
      loss: f.loss.toFixed(4),
      metric:
        f.perplexity !== undefined
          ? `ppl ${f.perplexity.toFixed(1)}`
          : `acc ${(100 * (f.accuracy ?? Number.NaN)).toFixed(2)}%`,
      rate: Math.round(f.samplesPerSecond),
    });
  }

  endEpoch(summary: string): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
    if (this.enabled) process.stderr.write(`${summary}\n`);
  }
}
