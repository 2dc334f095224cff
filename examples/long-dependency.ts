/**
 * Long-term dependencies (seed 003, "Recurrent neural networks"; Bengio et al. 1994, Hochreiter &
 * Schmidhuber 1997): the first symbol of a sequence must be reported at its end, T steps later, with
 * distractor symbols in between. The gradient that reaches the first step through a tanh RNN is a
 * product of T Jacobians and shrinks geometrically, so the RNN cannot learn the task for long T; the
 * LSTM's memory cell carries the error back additively and can. Run for T = 10, 50, 100 with a tanh
 * RNN, a GRU and an LSTM; prints the table, writes the gradient norms per time step as a chart.
 *
 *     npx tsx examples/long-dependency.ts [--out runs/long-dependency] [--steps 1000]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as st from 'strata-ml';

const { nn, optim } = st;
type Tensor = st.Tensor;

export type MemoryCell = 'rnn' | 'gru' | 'lstm';

/** Symbols to remember, and distractors (a separate set) shown in between. */
const SYMBOLS = 8;
const DISTRACTORS = 8;

/** A batch of the task: one-hot inputs [T, B, SYMBOLS + DISTRACTORS] and the first step's symbol [B]. */
export function memoryBatch(T: number, batch: number, g: st.Generator): { x: Tensor; y: Tensor } {
  const width = SYMBOLS + DISTRACTORS;
  const x = new Float32Array(T * batch * width);
  const y = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    y[b] = g.randint(0, SYMBOLS);
    x[b * width + y[b]!] = 1;
    for (let t = 1; t < T; t++) x[(t * batch + b) * width + SYMBOLS + g.randint(0, DISTRACTORS)] = 1;
  }
  return { x: st.tensor(x).reshape([T, batch, width]), y: st.tensor(y, { dtype: 'int32' }) };
}

/** A recurrent cell unrolled by hand (so every step's hidden state is at hand) and a linear read-out. */
export class MemoryNet extends nn.Module<[Tensor], [Tensor, Tensor[]]> {
  readonly cell: st.nn.RNNCell | st.nn.GRUCell | st.nn.LSTMCell;
  readonly head: st.nn.Linear;

  constructor(
    readonly kind: MemoryCell,
    horizon: number,
    hidden = 64,
  ) {
    super();
    const width = SYMBOLS + DISTRACTORS;
    this.cell =
      kind === 'lstm'
        ? new nn.LSTMCell(width, hidden)
        : kind === 'gru'
          ? new nn.GRUCell(width, hidden)
          : new nn.RNNCell(width, hidden);
    this.head = new nn.Linear(hidden, SYMBOLS);
    // Gates that start out remembering ("chrono" initialisation, Tallec & Ollivier 2018): the LSTM's
    // forget bias log(u), u ~ U(1, horizon − 1), and its input bias the negative of that, so that
    // cells keep their contents over the horizon until they learn otherwise; likewise the GRU's
    // update gate. The tanh RNN has no gate to set.
    const g = new st.Generator(horizon);
    const chrono = st.tensor(Array.from({ length: hidden }, () => Math.log(1 + g.uniform() * (horizon - 2))));
    st.noGrad(() => {
      const cell = this.cell;
      if (cell instanceof nn.LSTMCell) {
        cell.bias_ih!.narrow(0, hidden, hidden).copy_(chrono); // forget gate (rows H..2H)
        cell.bias_hh!.narrow(0, hidden, hidden).copy_(st.zeros([hidden]));
        cell.bias_ih!.narrow(0, 0, hidden).copy_(chrono.neg()); // input gate (rows 0..H)
        cell.bias_hh!.narrow(0, 0, hidden).copy_(st.zeros([hidden]));
      } else if (cell instanceof nn.GRUCell) {
        cell.bias_ih!.narrow(0, hidden, hidden).copy_(chrono); // update gate z (rows H..2H)
        cell.bias_hh!.narrow(0, hidden, hidden).copy_(st.zeros([hidden]));
      }
    });
  }

  /** Logits [B, SYMBOLS] from the last step, and every step's hidden state. */
  forward(x: Tensor): [Tensor, Tensor[]] {
    const hs: Tensor[] = [];
    let state: Tensor | [Tensor, Tensor] | undefined;
    for (let t = 0; t < x.shape[0]!; t++) {
      const xt = x.select(0, t);
      if (this.cell instanceof nn.LSTMCell) {
        state = this.cell.forward(xt, state as [Tensor, Tensor] | undefined);
        hs.push(state[0]);
      } else {
        state = (this.cell as st.nn.GRUCell).forward(xt, state as Tensor | undefined);
        hs.push(state);
      }
    }
    return [this.head.forward(hs.at(-1)!), hs];
  }
}

/** ‖∂L/∂h_t‖ for t = 0 … T−1 on one batch: how much of the loss's gradient reaches each step. */
export function gradientNormsPerStep(net: MemoryNet, x: Tensor, y: Tensor): number[] {
  const [logits, hs] = net.forward(x);
  const grads = st.gradients([nn.crossEntropy(logits, y)], hs);
  return grads.map((g) => (g ? Math.sqrt(g.mul(g).sum().item()) : 0));
}

export interface MemoryResult {
  cell: MemoryCell;
  T: number;
  accuracy: number;
  steps: number;
  seconds: number;
}

/** Trains on fresh batches with Adam and gradient clipping; accuracy on 512 held-out sequences. */
export function trainMemoryTask(kind: MemoryCell, T: number, steps: number, seed = 0): MemoryResult {
  st.manualSeed(seed);
  const g = new st.Generator(seed + 1);
  const net = new MemoryNet(kind, T);
  const opt = new optim.Adam(net.parameters(), { lr: 0.003 });
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const { x, y } = memoryBatch(T, 32, g);
    opt.zeroGrad();
    nn.crossEntropy(net.forward(x)[0], y).backward();
    optim.clipGradNorm(net.parameters(), 1);
    opt.step();
  }
  const seconds = (performance.now() - t0) / 1000;
  const test = memoryBatch(T, 512, new st.Generator(seed + 1000));
  const logits = st.noGrad(() => net.forward(test.x)[0]);
  const pred = logits.argmax(1).reshape([-1]).toTypedArray();
  const truth = test.y.toTypedArray();
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (pred[i] === truth[i]) correct++;
  const accuracy = correct / truth.length;
  return { cell: kind, T, accuracy, steps, seconds };
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' }, steps: { type: 'string' } } });
  const out = values.out ?? 'runs/long-dependency';
  const steps = Number(values.steps ?? 1000);
  mkdirSync(out, { recursive: true });
  // Gradient norms at initialisation, T = 100: how far back the error signal reaches before training.
  const T = 100;
  const batch = memoryBatch(T, 32, new st.Generator(7));
  const series = (['rnn', 'gru', 'lstm'] as const).map((kind) => {
    st.manualSeed(0);
    const norms = gradientNormsPerStep(new MemoryNet(kind, T), batch.x, batch.y);
    return {
      name: kind === 'rnn' ? 'tanh RNN' : kind.toUpperCase(),
      x: norms.map((_, t) => T - 1 - t),
      y: norms.map((n) => Math.log10(n)),
    };
  });
  st.viz.saveLineChart(join(out, 'gradient-norms.svg'), {
    title: 'Gradient at each step, T = 100',
    xLabel: 'steps before the output',
    yLabel: 'log10 ||dL/dh_t||',
    series,
  });
  st.viz.saveLineChart(join(out, 'gradient-norms.png'), {
    title: 'Gradient at each step, T = 100',
    xLabel: 'steps before the output',
    yLabel: 'log10 ||dL/dh_t||',
    series,
  });
  const results: MemoryResult[] = [];
  for (const T of [10, 50, 100])
    for (const kind of ['rnn', 'gru', 'lstm'] as const) {
      const r = trainMemoryTask(kind, T, steps);
      results.push(r);
      console.log(
        `T = ${T}, ${kind}: accuracy ${(100 * r.accuracy).toFixed(1)}% (chance 12.5%), ${r.seconds.toFixed(0)} s`,
      );
    }
  for (const s of series)
    console.log(
      `${s.name}: log10 gradient norm ${s.y.at(-1)!.toFixed(2)} at the output step, ${s.y[0]!.toFixed(2)} 99 steps back`,
    );
  console.log(JSON.stringify({ results, gradientNorms: series }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
