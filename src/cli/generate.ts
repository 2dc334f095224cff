import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { charTokens, EOS, UNK, Vocab, wordTokens } from '../data/text.js';
import { fail } from '../errors.js';
import { loadCheckpoint, loadWeights } from '../io/checkpoint.js';
import { NeuralProbabilisticLM } from '../models/nplm.js';
import { type RnnCell, RnnLanguageModel, sampleTokens } from '../models/rnnlm.js';
import type { Module } from '../nn/module.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Flags, helpText, num, parse } from './args.js';

const FLAGS: Flags = {
  prompt: { type: 'string', help: 'text to continue', default: 'call me' },
  length: { type: 'string', help: 'tokens (words, or characters for char-rnn) to generate', default: '60' },
  temperature: {
    type: 'string',
    help: 'below 1: safer choices; above 1: more surprising ones',
    default: '1',
  },
  'top-k': { type: 'string', help: 'draw only among the k most likely words' },
  seed: { type: 'string', help: 'seed for the draws', default: '0' },
  backend: { type: 'string', help: 'backend to run on (see strata info)' },
};

export const GENERATE_HELP = helpText(
  'strata generate <checkpoint> [options]',
  'Continues a prompt by sampling from a language model trained with `strata train nplm|rnnlm|char-rnn` (the best weights beside the checkpoint when there are any).',
  FLAGS,
);

/** A trained language model, its vocabulary and its token level, from a `train nplm|rnnlm|char-rnn` checkpoint. */
export function restoreLanguageModel(path: string): {
  model: Module<[Tensor, never?], [Tensor, unknown]>;
  vocab: Vocab;
  level: 'word' | 'char';
  config: Record<string, unknown>;
} {
  const ckpt = loadCheckpoint(path);
  const extra = (ckpt.extra ?? {}) as { config?: Record<string, unknown>; vocab?: unknown };
  const c = extra.config;
  if (!['nplm', 'rnnlm', 'char-rnn'].includes(String(c?.model)) || !extra.vocab)
    fail(
      'generate',
      `'${path}' is not a checkpoint of strata train nplm, rnnlm or char-rnn (its config: ${JSON.stringify(c ?? null)})`,
    );
  const config = c!;
  const vocab = Vocab.fromJSON(extra.vocab as { itos: string[] });
  const model =
    config.model === 'nplm'
      ? new NeuralProbabilisticLM(vocab.size, {
          order: Number(config.order),
          embed: Number(config.embed),
          hidden: Number(config.hidden),
          direct: config.direct === true,
          startId: vocab.has(EOS) ? vocab.id(EOS) : 0,
        })
      : new RnnLanguageModel(vocab.size, {
          cell: config.cell as RnnCell,
          hidden: Number(config.hidden),
          embed: Number(config.embed),
          layers: Number(config.layers),
          tie: config.tie === true,
        });
  const best = join(dirname(path), 'best.safetensors');
  model.loadStateDict(existsSync(best) ? loadWeights(best) : ckpt.model);
  return {
    model: model as unknown as Module<[Tensor, never?], [Tensor, unknown]>,
    vocab,
    level: config.level === 'char' ? 'char' : 'word',
    config,
  };
}

/** Words back to text: no space before punctuation that closes, a new paragraph at <eos>. */
export function detokenize(words: readonly string[]): string {
  let text = '';
  for (const w of words) {
    if (w === EOS) text += '\n\n';
    else if (/^[.,;:!?)’'”]$/.test(w) || text === '' || text.endsWith('\n') || /[—(“‘-]$/.test(text))
      text += w;
    else if (w === '—') text += w;
    else text += ` ${w}`;
  }
  return text.trim();
}

/** `strata generate <checkpoint>`: the prompt and its continuation. */
export function generate(argv: string[]): string {
  const { values: v, positionals } = parse('generate', argv, FLAGS);
  const [path] = positionals;
  if (!path)
    fail('generate', "usage: strata generate <checkpoint> [--prompt TEXT] (see 'strata generate --help')");
  const length = num('generate', 'length', v.length, { integer: true, min: 1 });
  const temperature = num('generate', 'temperature', v.temperature);
  if (!(temperature > 0)) fail('generate', `--temperature must be positive, got ${temperature}`);
  const topK =
    v['top-k'] === undefined ? undefined : num('generate', 'top-k', v['top-k'], { integer: true, min: 1 });
  const { model, vocab, level } = restoreLanguageModel(path);
  const prompt =
    level === 'char' ? charTokens(String(v.prompt)) : wordTokens(String(v.prompt)).filter((w) => w !== EOS);
  if (!prompt.length) fail('generate', 'the prompt is empty');
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
