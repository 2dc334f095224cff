#!/usr/bin/env node
import '../backend/node.js';
import '../ops/methods.js';
import { setBackend } from '../backend/registry.js';
import { StrataError } from '../errors.js';
import { fileSystemFailure } from '../io/atomic.js';
import { GENERATE_HELP, generate } from './generate.js';
import { INFO_HELP, infoCommand, version } from './info.js';
import { SAMPLE_HELP, sample } from './sample.js';
import { TRAINABLE, train, trainHelp } from './train.js';
import { TRANSLATE_HELP, translate } from './translate.js';
import { VIZ_HELP, viz } from './viz.js';
import { WORDS_HELP, words } from './words.js';

const HELP = `Usage: strata <command> [options]

Commands:
  train mlp           train the MNIST MLP and report test accuracy
  train lenet         train LeNet-5 on MNIST (or --dataset fashion-mnist)
  train resnet-mnist  train a small ResNet on MNIST (or Fashion-MNIST)
  train ngram         count a Kneser-Ney trigram model of Moby-Dick and report test perplexity
  train nplm          train Bengio et al.'s neural probabilistic language model on Moby-Dick
  train rnnlm         train a recurrent language model on Moby-Dick (--cell lstm|gru|rnn)
  train char-rnn      train a character-level LSTM on Moby-Dick
  train seq2seq       train a recurrent encoder–decoder English → French (--attention none|additive|dot)
  train transformer   train a Transformer English → French
  train read-digits   train an attention reader of strips of MNIST digits (their names as captions)
  train memn2n        train an end-to-end memory network on the bAbI tasks (--task N|all)
  train ntm           train a neural Turing machine on copy, associative recall or priority sort
  train rbm           train a restricted Boltzmann machine on MNIST's images (CD-k or PCD; log Z by AIS)
  train vae           train a variational autoencoder on binarised MNIST (test log-likelihood, samples)
  generate RUN        continue a prompt by sampling from a trained language model
  sample RUN          draw images from a trained RBM or VAE as a picture grid
  translate RUN TEXT  translate an English sentence with a trained seq2seq or transformer
  words RUN           nearest neighbours and analogies of a language model's word vectors
  viz filters RUN     draw a trained model's first-layer filters, with a colour bar
  viz features RUN    draw every layer's output for one test digit, and the prediction
  viz words RUN       map a language model's word vectors to 2-D with t-SNE
  info         version, backend, threads and data path

RUN is a run folder (--out of strata train) or the checkpoint in it.
Run 'strata <command> --help' for a command's options.
`;

/** Applies --backend before any tensor is made, so every op runs on the chosen one. */
function chooseBackend(argv: string[]): void {
  const i = argv.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  if (i < 0) return;
  const name = argv[i]!.includes('=') ? argv[i]!.split('=')[1]! : argv[i + 1];
  if (!name) throw new StrataError('strata: --backend needs a name (see strata info)');
  setBackend(name);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  chooseBackend(rest);
  if (command === 'train') {
    const [model, ...flags] = rest;
    if (model === '--help') {
      process.stdout.write(
        `Usage: strata train <model> [options]\n\nModels: ${TRAINABLE.join(', ')}\n\n` +
          'A neural model writes metrics.jsonl and metrics.csv into --out; --tensorboard DIR also\n' +
          "writes TensorBoard event files. See 'strata train <model> --help' for each model's options.\n",
      );
      return 0;
    }
    if (!model)
      throw new StrataError(
        `train: which model? Usage: strata train <model>; models: ${TRAINABLE.join(', ')}`,
      );
    if (!TRAINABLE.includes(model))
      throw new StrataError(`train: unknown model '${model}': expected one of ${TRAINABLE.join(', ')}`);
    if (flags.includes('--help')) {
      process.stdout.write(trainHelp(model));
      return 0;
    }
    const result = await train(model, flags);
    process.stdout.write(flags.includes('--json') ? `${JSON.stringify(result)}\n` : `${result.summary}\n`);
    return 0;
  }
  // Help on --help; a command that uses a trained model is a usage error (exit 1) without arguments.
  const uses: Record<string, [string, (argv: string[]) => string]> = {
    info: [INFO_HELP, infoCommand],
    generate: [GENERATE_HELP, generate],
    sample: [SAMPLE_HELP, sample],
    translate: [TRANSLATE_HELP, translate],
    words: [WORDS_HELP, words],
    viz: [VIZ_HELP, (argv) => viz(argv).join('\n')],
  };
  const use = Object.hasOwn(uses, command) ? uses[command] : undefined;
  if (use) {
    if (rest.includes('--help')) {
      process.stdout.write(use[0]);
      return 0;
    }
    if (rest.length === 0 && command !== 'info')
      throw new StrataError(`${command}: missing arguments; ${use[0].split('\n')[0]}`);
    process.stdout.write(`${use[1](rest)}\n`);
    return 0;
  }
  throw new StrataError(`strata: unknown command '${command}' (see strata --help)`);
}

/** The one line to print for an error a user can act on, or null for a bug (which keeps its stack trace). */
function userError(e: unknown): string | null {
  if (e instanceof StrataError) return e.message;
  // A file-system failure that no check caught still gets one line naming the path, not a stack trace.
  const { code, path, syscall } = (e ?? {}) as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof path !== 'string') return null;
  try {
    fileSystemFailure('strata', syscall ?? 'use', path, e);
  } catch (f) {
    if (f instanceof StrataError) return f.message;
  }
  return null;
}

// A reader that goes away (`strata info | head -1`) is not an error of ours: stop quietly, as Unix tools do.
// Any other failure to write the output is reported in one line; stderr failures cannot be reported at all.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') process.stderr.write(`error: cannot write the output (${e.code}): ${e.message}\n`);
  process.exit(e.code === 'EPIPE' ? 0 : 1);
});
process.stderr.on('error', () => {});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const message = userError(e);
    if (message === null) throw e;
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = 1;
  },
);
