import { charTokens, detokenize, EOS, UNK, wordTokens } from '../data/text.js';
import { fail } from '../errors.js';
import { loadLanguageModel } from '../models/registry.js';
import { sampleTokens } from '../models/rnnlm.js';
import { Generator } from '../tensor/random.js';
import { type Flags, helpText, num, parse } from './args.js';

const FLAGS: Flags = {
  prompt: { type: 'string', help: 'text to continue', default: 'call me' },
  length: { type: 'string', help: 'tokens (words, or characters for char-rnn) to generate', default: '60' },
  temperature: { type: 'string', help: 'below 1: safer choices, above 1: bolder ones', default: '1' },
  'top-k': { type: 'string', help: 'draw only among the k most likely words' },
  seed: { type: 'string', help: 'seed for the draws', default: '0' },
  backend: { type: 'string', help: 'backend to run on (see strata info)' },
};

export const GENERATE_HELP = helpText(
  'strata generate <run folder | checkpoint> [options]',
  'Continues a prompt by sampling from a language model trained with `strata train nplm|rnnlm|char-rnn` (the best weights beside the checkpoint when there are any).',
  FLAGS,
);

/** `strata generate <checkpoint>`: the prompt and its continuation. */
export function generate(argv: string[]): string {
  const { values: v, positionals } = parse('generate', argv, FLAGS, 1);
  const [path] = positionals;
  if (!path)
    fail(
      'generate',
      "usage: strata generate <run folder | checkpoint> [--prompt TEXT] (see 'strata generate --help')",
    );
  const length = num('generate', 'length', v.length, { integer: true, min: 1 });
  const temperature = num('generate', 'temperature', v.temperature);
  if (!(temperature > 0)) fail('generate', `--temperature must be positive, got ${temperature}`);
  const topK =
    v['top-k'] === undefined ? undefined : num('generate', 'top-k', v['top-k'], { integer: true, min: 1 });
  const { model, vocab, level } = loadLanguageModel(path, 'generate');
  const prompt =
    level === 'char' ? charTokens(String(v.prompt)) : wordTokens(String(v.prompt)).filter((w) => w !== EOS);
  if (!prompt.length) fail('generate', 'the prompt is empty');
  const unknown = [...new Set(prompt.filter((w) => !vocab.has(w)))];
  if (unknown.length > 0) {
    process.stderr.write(
      `generate: warning: ${unknown.map((w) => `'${w}'`).join(', ')} not in the model's vocabulary, read as ${UNK}\n`,
    );
  }
  const ids = sampleTokens(model, vocab.encode(prompt), {
    length,
    temperature,
    topK,
    exclude: vocab.has(UNK) ? [vocab.id(UNK)] : [],
    generator: new Generator(num('generate', 'seed', v.seed, { integer: true })),
  });
  const tokens = [...prompt, ...vocab.decode(ids)];
  return level === 'char' ? tokens.join('') : detokenize(tokens);
}
