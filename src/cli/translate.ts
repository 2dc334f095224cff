import { ENG_FRA_ATTRIBUTION } from '../data/eng-fra.js';
import { UNK } from '../data/text.js';
import {
  decodeSentence,
  detokenizeFrench,
  encodeSentence,
  tokenizeEnglish,
  unknownWords,
} from '../data/translation.js';
import { fail } from '../errors.js';
import { loadTranslationModel } from '../models/registry.js';
import { attentionMap, beamTranslate, greedyTranslate } from '../models/translate.js';
import { saveAttentionFigure } from '../viz/attention.js';
import { type Flags, helpText, num, parse } from './args.js';

const FLAGS: Flags = {
  beam: { type: 'string', help: 'beam width', default: '5' },
  'length-penalty': {
    type: 'string',
    help: 'α: beam hypotheses ranked by log-probability / length^α',
    default: '0.6',
  },
  greedy: {
    type: 'boolean',
    help: 'greedy decoding (the most probable word each step) instead of beam search',
  },
  'attention-map': {
    type: 'string',
    help: 'also draw where each French word looked, as FILE.svg and FILE.png',
  },
  backend: { type: 'string', help: 'backend to run on (see strata info)' },
};

export const TRANSLATE_HELP = helpText(
  'strata translate <run folder | checkpoint> "English sentence" [options]',
  'Translates an English sentence into French with a model of `strata train seq2seq|transformer` (the best weights\n' +
    'beside the checkpoint when there are any). Words the model never saw in training are read as <unk>, with a\n' +
    "warning on stderr; a sentence longer than the model's --max-length is an error.",
  FLAGS,
);

/** `strata translate RUN "sentence"`: the French translation (and, with --attention-map, the figure). */
export function translate(argv: string[]): string {
  const op = 'translate';
  const { values: v, positionals } = parse(op, argv, FLAGS, 2);
  const [path, sentence] = positionals;
  if (!path || sentence === undefined)
    fail(
      op,
      'usage: strata translate <run folder | checkpoint> "I am cold." (see \'strata translate --help\')',
    );
  const beamWidth = num(op, 'beam', v.beam, { integer: true, min: 1 });
  const lengthPenalty = num(op, 'length-penalty', v['length-penalty'], { min: 0 });
  const words = tokenizeEnglish(sentence);
  if (words.length === 0) fail(op, `the sentence is empty: give an English sentence, e.g. "I am cold."`);
  const { model, vocabs } = loadTranslationModel(path, op);
  const source = encodeSentence(vocabs.source, words);
  if (source.length > model.maxLength)
    fail(
      op,
      `the sentence has ${words.length} tokens, but this model reads at most ${model.maxLength - 2} (its --max-length ${model.maxLength} counts <bos> and <eos>); shorten it or train with a larger --max-length`,
    );
  const unknown = unknownWords(vocabs.source, words);
  if (unknown.length > 0)
    process.stderr.write(
      `${op}: warning: ${unknown.map((w) => `'${w}'`).join(', ')} not in the model's English vocabulary, read as ${UNK}\n`,
    );
  const ids =
    v.greedy === true
      ? greedyTranslate(model, [source])[0]!
      : beamTranslate(model, source, { beamWidth, lengthPenalty }).tokens;
  const french = decodeSentence(vocabs.target, ids);
  const text = detokenizeFrench(french);
  const file = v['attention-map'];
  if (typeof file === 'string') {
    if (file === '') fail(op, '--attention-map is empty; give a file, e.g. --attention-map attention.png');
    const paths = saveAttentionFigure(file.replace(/\.(png|svg)$/i, ''), attentionMap(model, source, ids), {
      source: ['<bos>', ...words.map((w) => (vocabs.source.has(w) ? w : `${w} (${UNK})`)), '<eos>'],
      target: [...french, '<eos>'],
      title: `${sentence} → ${text}`,
      footnote: ENG_FRA_ATTRIBUTION,
    });
    process.stderr.write(`${op}: attention map written to ${paths.png} and ${paths.svg}\n`);
  }
  return text;
}
