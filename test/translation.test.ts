/**
 * Text for translation: the English–French reader and its checks, the tokenisation of both languages
 * on real lines of the data, vocabularies with fixed specials, encoding, padded batches with masks,
 * and the length-bucketed loader (every pair once, little padding, the same batches for a seed and
 * after a resume).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as st from '../src/index.js';
import { throwsStrata } from './assertions.js';
import { tempDirs } from './tmpdirs.js';

const { data } = st;
const tmp = tempDirs('translation');

test('loadEngFra reads the fixed split through the data path; every English sentence is in one part only', () => {
  const parts = (['train', 'valid', 'test'] as const).map((s) => data.loadEngFra(s));
  assert.deepEqual(
    parts.map((p) => p.length),
    [14315, 1896, 1854],
  );
  assert.deepEqual(
    parts.map((p) => data.groupReferences(p).length),
    [8735, 1124, 1115],
  );
  const seen = parts.map((p) => new Set(p.map((x) => x.source)));
  for (const s of seen[2]!) assert.ok(!seen[0]!.has(s) && !seen[1]!.has(s), `${s} is in two parts`);
  assert.deepEqual(parts[0]![0], { source: 'Go.', target: 'Va !' });
  const run = data.groupReferences(parts[0]!).find((g) => g.source === 'Run!')!;
  assert.deepEqual(run.references, ['Cours\u202f!', 'Courez\u202f!']);
});

test('loadEngFra names the folders it searched when the data is missing, and the file and line of a bad line', () => {
  const empty = tmp();
  throwsStrata(
    () => data.loadEngFra('valid', { dir: empty }),
    /loadEngFra: cannot find the English–French valid pairs/,
    new RegExp(`${join(empty, 'valid.tsv')}`),
    /To fix it/,
  );
  const saved = process.env[data.DATA_DIR_ENV];
  process.env[data.DATA_DIR_ENV] = empty;
  try {
    // Found anyway, in ../shared/data after $STRATA_DATA_DIR, which the message lists first.
    assert.equal(data.loadEngFra('test').length, 1854);
  } finally {
    if (saved === undefined) delete process.env[data.DATA_DIR_ENV];
    else process.env[data.DATA_DIR_ENV] = saved;
  }
  const bad = tmp();
  writeFileSync(join(bad, 'train.tsv'), 'Go.\tVa !\nRun!\tCours !\tCourez !\n');
  throwsStrata(
    () => data.loadEngFra('train', { dir: bad }),
    new RegExp(
      `${join(bad, 'train.tsv')} line 2: expected "English<TAB>French" with exactly one tab, found 2`,
    ),
  );
  writeFileSync(join(bad, 'train.tsv'), 'Go.\tVa !\r\nHi.\t \r\n');
  throwsStrata(() => data.loadEngFra('train', { dir: bad }), /line 2: the French side is empty/);
  writeFileSync(join(bad, 'train.tsv'), 'no tab here\n');
  throwsStrata(() => data.loadEngFra('train', { dir: bad }), /line 1: .* found 0/);
  writeFileSync(join(bad, 'train.tsv'), '');
  throwsStrata(() => data.loadEngFra('train', { dir: bad }), /is empty/);
  writeFileSync(join(bad, 'train.tsv'), 'Go.\tVa !\r\n');
  assert.deepEqual(data.loadEngFra('train', { dir: bad }), [{ source: 'Go.', target: 'Va !' }]);
  throwsStrata(
    () => data.loadEngFra('dev' as 'train'),
    /split must be 'train', 'valid' or 'test', got 'dev'/,
  );
});

test('French tokens of real lines: elisions split after the apostrophe, punctuation apart whatever the space before it', () => {
  const cases: [string, string[]][] = [
    ['Va !', ['va', '!']],
    ['Cours\u202f!', ['cours', '!']],
    ['Recule\u2009!', ['recule', '!']],
    ['Pigé\u202f?', ['pigé', '?']],
    ['Non\u00a0!', ['non', '!']],
    ["À l'aide !", ['à', "l'", 'aide', '!']],
    ["J'ai gagné !", ["j'", 'ai', 'gagné', '!']],
    ['Je l’ai vu.', ['je', "l'", 'ai', 'vu', '.']],
    ['J‘aime celui-ci.', ["j'", 'aime', 'celui-ci', '.']],
    ["Qu'il parte.", ["qu'", 'il', 'parte', '.']],
    ["N'avez-vous pas froid ?", ["n'", 'avez-vous', 'pas', 'froid', '?']],
    ["J'en ai besoin aujourd'hui.", ["j'", 'en', 'ai', 'besoin', "aujourd'hui", '.']],
    ["Quelqu'un est venu jusqu'ici.", ["quelqu'", 'un', 'est', 'venu', "jusqu'", 'ici', '.']],
    ["Dis : « s'il te plaît ».", ['dis', ':', '«', "s'", 'il', 'te', 'plaît', '»', '.']],
    ['Tu ne peux pas dire "Non."', ['tu', 'ne', 'peux', 'pas', 'dire', '"', 'non', '.', '"']],
    ['Je suis ravi(e).', ['je', 'suis', 'ravi', '(', 'e', ')', '.']],
    ['Je me suis réveillé à 6h30.', ['je', 'me', 'suis', 'réveillé', 'à', '6h30', '.']],
    ["Il n' y avait personne.", ['il', "n'", 'y', 'avait', 'personne', '.']],
    ['Attends...', ['attends', '...']],
  ];
  for (const [line, tokens] of cases) assert.deepEqual(data.tokenizeFrench(line), tokens, line);
  // Decomposed accents (e + U+0301) are composed first, so they meet the vocabulary's words.
  assert.deepEqual(data.tokenizeFrench('Été.'.normalize('NFD')), ['été', '.']);
  assert.deepEqual(data.tokenizeFrench('  '), []);
  throwsStrata(
    () => data.tokenizeFrench(3 as unknown as string),
    /tokenizeFrench: expected a sentence as a string/,
  );
});

test('English tokens: contractions and possessives stay one token, punctuation apart', () => {
  const cases: [string, string[]][] = [
    ["I don't know.", ['i', "don't", 'know', '.']],
    ["I'm one of you.", ["i'm", 'one', 'of', 'you', '.']],
    ['I’m home.', ["i'm", 'home', '.']],
    ["It's 3:30.", ["it's", '3', ':', '30', '.']],
    ["Tom's dog can't swim!", ["tom's", 'dog', "can't", 'swim', '!']],
    ["It's four o'clock.", ["it's", 'four', "o'clock", '.']],
    ['"Look," she said.', ['"', 'look', ',', '"', 'she', 'said', '.']],
    ["Here's $5.", ["here's", '$', '5', '.']],
    ['I like R & B.', ['i', 'like', 'r', '&', 'b', '.']],
  ];
  for (const [line, tokens] of cases) assert.deepEqual(data.tokenizeEnglish(line), tokens, line);
});

test('detokenizeFrench prints tokens as French is written, and tokenising it again gives the same tokens on every training line', () => {
  assert.equal(data.detokenizeFrench(['je', 'suis', 'froid', '.']), 'Je suis froid.');
  assert.equal(data.detokenizeFrench(['à', "l'", 'aide', '!']), "À l'aide !");
  assert.equal(
    data.detokenizeFrench(['dis', ':', '«', "s'", 'il', 'te', 'plaît', '»', '.']),
    "Dis : « s'il te plaît ».",
  );
  assert.equal(
    data.detokenizeFrench(['tu', 'ne', 'peux', 'pas', 'dire', '"', 'non', '.', '"']),
    'Tu ne peux pas dire "non."',
  );
  assert.equal(data.detokenizeFrench(['attends', '...'], { capitalize: false }), 'attends...');
  assert.equal(data.detokenizeFrench([]), '');
  for (const { target } of data.loadEngFra('train')) {
    const tokens = data.tokenizeFrench(target);
    assert.deepEqual(data.tokenizeFrench(data.detokenizeFrench(tokens)), tokens, target);
  }
});

test('translation vocabularies: fixed specials, from training tokens only, minFreq, JSON round trip', () => {
  const train = data.loadEngFra('train');
  const french = train.map((p) => data.tokenizeFrench(p.target));
  const vocab = data.translationVocab(french, { minFreq: 2 });
  assert.deepEqual(vocab.itos.slice(0, 4), ['<pad>', '<bos>', '<eos>', '<unk>']);
  assert.equal(vocab.unkId, 3);
  assert.ok(vocab.size > 2000 && vocab.size < data.translationVocab(french).size);
  for (const w of ['.', '!', '?', "j'", "l'", "qu'", 'tom']) assert.ok(vocab.has(w), w);
  const again = data.Vocab.fromJSON(JSON.parse(JSON.stringify(vocab.toJSON())));
  assert.deepEqual(again.itos, vocab.itos);
  assert.equal(again.id('zzz'), 3);
  // The Vocab's own option: any special may stand for unknowns.
  throwsStrata(
    () => data.Vocab.build(['a'], { specials: ['<pad>'], unk: '<unk>' }),
    /unk '<unk>' is not one of the specials/,
  );
});

test('sentences to ids with <bos> and <eos>, unknown words reported, ids back to tokens', () => {
  const vocab = data.translationVocab([data.tokenizeFrench("J'ai froid.")]);
  const tokens = data.tokenizeFrench("J'ai très froid !");
  assert.deepEqual([...data.encodeSentence(vocab, tokens)], [1, 4, 5, 3, 6, 3, 2]);
  assert.deepEqual(data.unknownWords(vocab, tokens), ['très', '!']);
  assert.deepEqual(data.decodeSentence(vocab, [1, 4, 5, 3, 6, 2, 7, 0]), ["j'", 'ai', '<unk>', 'froid']);
  assert.deepEqual(data.decodeSentence(vocab, [4, 0, 5]), ["j'", 'ai']);
  throwsStrata(
    () => data.encodeSentence(data.Vocab.build(['a']), ['a']),
    /encodeSentence: the vocabulary has no <bos>/,
  );
});

test('collateTranslation pads each side to the longest of the batch, with masks true where padded and the lengths', () => {
  const b = data.collateTranslation([
    { source: Int32Array.of(1, 9, 2), target: Int32Array.of(1, 5, 2) },
    { source: Int32Array.of(1, 8, 7, 6, 2), target: Int32Array.of(1, 2) },
  ]);
  assert.deepEqual(b.source.tolist(), [
    [1, 9, 2, 0, 0],
    [1, 8, 7, 6, 2],
  ]);
  assert.deepEqual(b.sourcePaddingMask.tolist(), [
    [0, 0, 0, 1, 1],
    [0, 0, 0, 0, 0],
  ]);
  assert.deepEqual(b.target.tolist(), [
    [1, 5, 2],
    [1, 2, 0],
  ]);
  assert.deepEqual(b.targetPaddingMask.tolist(), [
    [0, 0, 0],
    [0, 0, 1],
  ]);
  assert.deepEqual(b.sourceLengths.tolist(), [3, 5]);
  assert.deepEqual(b.targetLengths.tolist(), [3, 2]);
  for (const t of Object.values(b)) assert.equal(t.dtype, 'int32');
  // A mask in attention's way: padded keys get -Infinity.
  const scores = st.where(b.sourcePaddingMask, -Infinity, st.zeros([2, 5]));
  assert.deepEqual((scores.tolist() as number[][])[0], [0, 0, 0, -Infinity, -Infinity]);
  throwsStrata(() => data.collateTranslation([]), /non-empty array/);
  throwsStrata(
    () => data.collateTranslation([{ source: Int32Array.of(1, 2), target: new Int32Array(0) }]),
    /pair 0: target must be a non-empty Int32Array/,
  );
});

function encodedTrain(): st.data.EncodedPair[] {
  const train = data.loadEngFra('train');
  const en = data.translationVocab(train.map((p) => data.tokenizeEnglish(p.source)));
  const fr = data.translationVocab(train.map((p) => data.tokenizeFrench(p.target)));
  return train.map((p) => ({
    source: data.encodeSentence(en, data.tokenizeEnglish(p.source)),
    target: data.encodeSentence(fr, data.tokenizeFrench(p.target)),
  }));
}

test('BucketLoader: every pair once per epoch, far less padding than random batches, a new order every epoch', () => {
  const pairs = encodedTrain();
  const loader = new data.BucketLoader(pairs, { batchSize: 64, generator: new st.Generator(1) });
  assert.equal(loader.length, Math.ceil(pairs.length / 64));
  const epoch = [...loader];
  assert.equal(epoch.length, loader.length);
  const sizes = epoch.map((b) => b.source.shape[0]!);
  assert.equal(
    sizes.reduce((a, b) => a + b),
    pairs.length,
  );
  assert.equal(sizes.filter((s) => s !== 64).length, 1);
  // Padding: the share of source positions that are padding, bucketed and not.
  const padShare = (batches: st.data.TranslationBatch[]) =>
    batches.reduce((s, b) => s + b.sourcePaddingMask.sum().item(), 0) /
    batches.reduce((s, b) => s + b.source.size, 0);
  const random = new data.BucketLoader(pairs, {
    batchSize: 64,
    chunkBatches: 1,
    generator: new st.Generator(1),
  });
  assert.ok(padShare(epoch) < 0.02, `bucketed padding ${padShare(epoch)}`);
  assert.ok(padShare([...random]) > 0.1, `random padding ${padShare([...random])}`);
  // The pairs served are exactly the pairs given: compare the multiset of source rows.
  const key = (ids: number[]) => ids.filter((i) => i !== 0).join(' ');
  const served = epoch.flatMap((b) => (b.source.tolist() as number[][]).map(key)).sort();
  assert.deepEqual(served, pairs.map((p) => key([...p.source])).sort());
  const second = [...loader];
  assert.notDeepEqual(
    second.map((b) => b.sourceLengths.tolist()),
    epoch.map((b) => b.sourceLengths.tolist()),
  );
});

test('BucketLoader draws its order as iterate() is called, so the same generator state gives the same batches from any startBatch', () => {
  const pairs = encodedTrain().slice(0, 1000);
  const generator = new st.Generator(7);
  const loader = new data.BucketLoader(pairs, { batchSize: 32, chunkBatches: 4, generator });
  const state = generator.getState();
  const epoch = loader.iterate();
  const after = generator.getState();
  const full = [...epoch].map((b) => b.source.tolist());
  generator.setState(state);
  const resumed = [...loader.iterate({ startBatch: 10 })].map((b) => b.source.tolist());
  assert.deepEqual(resumed, full.slice(10));
  assert.deepEqual(generator.getState(), after);
  // Another seed, other batches; shuffle false: the same batches every time, without drawing.
  assert.notDeepEqual(
    [...new data.BucketLoader(pairs, { batchSize: 32, generator: new st.Generator(8) })].map((b) =>
      b.source.tolist(),
    ),
    full,
  );
  const fixed = new data.BucketLoader(pairs, { batchSize: 32, shuffle: false, generator });
  const before = generator.getState();
  assert.deepEqual(
    [...fixed].map((b) => b.source.tolist()),
    [...fixed].map((b) => b.source.tolist()),
  );
  assert.deepEqual(generator.getState(), before);
});

test('BucketLoader trains on the Trainer as an EpochSource', async () => {
  const pairs = encodedTrain().slice(0, 40);
  const generator = new st.Generator(0);
  const net = new st.nn.Linear(1, 1);
  const seen: number[] = [];
  const task: st.Task<st.data.TranslationBatch> = {
    model: net,
    optimizers: [new st.optim.SGD(net.parameters(), { lr: 0.01 })],
    trainStep(batch) {
      seen.push(batch.source.shape[0]!);
      const x = batch.sourceLengths.reshape([-1, 1]).cast('float32');
      return { loss: st.nn.mseLoss(net.forward(x), x), size: x.shape[0]! };
    },
  };
  const data_ = new data.BucketLoader(pairs, { batchSize: 16, generator });
  const { history } = await new st.Trainer(task, { epochs: 2, data: data_, generator }).fit();
  assert.equal(history.length, 2);
  assert.deepEqual(seen.sort(), [16, 16, 16, 16, 8, 8].sort());
});

test('BucketLoader refuses bad options and pairs longer than maxLength, naming the pair', () => {
  const pairs = [
    { source: Int32Array.of(1, 5, 2), target: Int32Array.of(1, 6, 2) },
    { source: Int32Array.of(1, 5, 5, 5, 2), target: Int32Array.of(1, 6, 2) },
  ];
  throwsStrata(
    () => new data.BucketLoader(pairs, { batchSize: 2, maxLength: 4 }),
    /BucketLoader: pair 1: its source has 5 ids, more than maxLength 4; filter out longer pairs first or raise maxLength/,
  );
  assert.equal(new data.BucketLoader(pairs, { batchSize: 2, maxLength: 5 }).length, 1);
  throwsStrata(
    () => new data.BucketLoader(pairs, { batchSize: 0 }),
    /batchSize must be a positive integer, got 0/,
  );
  throwsStrata(
    () => new data.BucketLoader(pairs, { batchSize: 2, maxLength: 1 }),
    /maxLength must be an integer ≥ 2/,
  );
  throwsStrata(() => new data.BucketLoader(pairs, { batchSize: 2, chunkBatches: 0.5 }), /chunkBatches/);
  throwsStrata(
    () => new data.BucketLoader(pairs, { batchSize: 2, bucket: 3 } as st.data.BucketLoaderOptions),
    /unknown option 'bucket'/,
  );
  throwsStrata(
    () => new data.BucketLoader(pairs, { batchSize: 2 }).iterate({ startBatch: 2 }),
    /startBatch must be an integer in \[0, 1\]/,
  );
});
