import cliProgress from 'cli-progress';

export interface ProgressFields {
  loss: number;
  accuracy: number;
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
  ) {
    this.live = enabled && process.stderr.isTTY === true;
  }

  startEpoch(epoch: number, batches: number, done: number): void {
    if (!this.live) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `epoch ${epoch + 1}/${this.epochs} {bar} {value}/{total} | loss {loss} | acc {acc} | {rate} samples/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(batches, done, { loss: '-', acc: '-', rate: '-' });
  }

  update(batch: number, f: ProgressFields): void {
    this.bar?.update(batch, {
      loss: f.loss.toFixed(4),
      acc: `${(100 * f.accuracy).toFixed(2)}%`,
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
