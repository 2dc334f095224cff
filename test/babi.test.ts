/**
 * The bAbI reader on small inline files: statements, questions, supporting facts, story restarts, the
 * list and path answers of tasks 8 and 19 as one answer each, malformed lines named by file and line; the
 * tokenisation, the vocabulary, memories cut to the last ones, the validation split by story, batches
 * (slot 0 the most recent statement, random noise), and an answer outside the vocabulary refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  babiBatch,
  babiVocab,
  babiWords,
  encodeBabi,
  loadBabi,
  parseBabi,
  splitBabi,
} from '../src/data/babi.js';
import * as st from '../src/index.js';
import { throwsStrata } from './assertions.js';

const TASK1 = [
  '1 Mary moved to the bathroom.',
  '2 John went to the hallway.',
  '3 Where is Mary? \tbathroom\t1',
  '4 Daniel went back to the hallway.',
  '5 Where is Daniel? \thallway\t4',
  '1 Sandra journeyed to the garden.',
  '2 Where is Sandra? \tgarden\t1',
  '',
].join('\n');

test('the reader: statements before each question, answers, supporting facts, stories restarting at 1', () => {
  const qs = parseBabi(TASK1, 'qa1.txt', 1);
  assert.equal(qs.length, 3);
  assert.deepEqual(qs[0]!.question, ['where', 'is', 'mary']);
  assert.equal(qs[0]!.answer, 'bathroom');
  assert.deepEqual(qs[0]!.supporting, [1]);
  assert.deepEqual(
    qs[1]!.statements.map((s) => s.id),
    [1, 2, 4],
    'questions are not memories: the statements only',
  );
  assert.deepEqual(qs[1]!.statements[2]!.words, ['daniel', 'went', 'back', 'to', 'the', 'hallway']);
  assert.equal(qs[2]!.story, 1);
  assert.deepEqual(qs[2]!.statements, [{ id: 1, words: ['sandra', 'journeyed', 'to', 'the', 'garden'] }]);
  assert.deepEqual([qs[0]!.line, qs[2]!.line], [3, 7]);
});

test('tasks 8 and 19: a list or a path is one answer, one word of the vocabulary', () => {
  const lists = parseBabi(
    '1 Mary got the football there.\n2 Mary took the apple.\n3 What is Mary carrying? \tfootball,apple\t1 2\n',
    'qa8.txt',
    8,
  );
  assert.equal(lists[0]!.answer, 'football,apple');
  assert.deepEqual(lists[0]!.supporting, [1, 2]);
  const paths = parseBabi(
    '1 The office is east of the hallway.\n2 The kitchen is north of the office.\n3 How do you go from the hallway to the kitchen?\te,n\t1 2\n',
    'qa19.txt',
    19,
  );
  assert.equal(paths[0]!.answer, 'e,n');
  const vocab = babiVocab([...lists, ...paths]);
  assert.ok(vocab.has('football,apple') && vocab.has('e,n'));
  assert.equal(vocab.id('<nil>'), 0);
  assert.equal(vocab.id('never-seen'), vocab.id('<unk>'));
});

test('tokens: lower case, punctuation split off, full stops and question marks dropped', () => {
  assert.deepEqual(babiWords('Is Mary in the office?'), ['is', 'mary', 'in', 'the', 'office']);
  assert.deepEqual(babiWords("Sandra's apple, then."), ['sandra', "'", 's', 'apple', ',', 'then']);
});

test('malformed lines fail naming the file and the line', () => {
  throwsStrata(
    () => parseBabi('1 Mary went home.\nMary went away.\n', 'bad.txt', 1),
    /parseBabi: bad.txt:2: expected 'ID text'/,
  );
  throwsStrata(
    () => parseBabi('1 Mary went home.\n3 John left.\n', 'bad.txt', 1),
    /bad.txt:2: line id 3 follows 1; expected 2, or 1 to start a story/,
  );
  throwsStrata(
    () => parseBabi('1 Mary went home.\n2 Where is Mary?\thome\n', 'bad.txt', 1),
    /bad.txt:2: a question has 3 tab-separated fields .* got 2/,
  );
  throwsStrata(
    () => parseBabi('1 Mary went home.\n2 Where is Mary?\thome\t7\n', 'bad.txt', 1),
    /bad.txt:2: supporting id '7' names no statement of the story before the question/,
  );
  throwsStrata(() => parseBabi('2 Mary went home.\n', 'bad.txt', 1), /bad.txt:1: line id 2 follows nothing/);
  throwsStrata(() => loadBabi(3, 'train'), /loadBabi: .* holds no train file of task 3 .*--task all/);
});

test('a story longer than the memory keeps its last statements; slot 0 is the most recent', () => {
  const lines = Array.from({ length: 60 }, (_, i) => `${i + 1} Mary went to room${i}.`);
  const qs = parseBabi(`${lines.join('\n')}\n61 Where is Mary?\troom59\t60\n`, 'long.txt', 1);
  const vocab = babiVocab(qs);
  const set = encodeBabi(qs, vocab, 50);
  assert.equal(set.memories[0]!.length, 50);
  assert.equal(vocab.token(set.memories[0]![0]![3]!), 'room10', 'the oldest kept is statement 11');
  const b = babiBatch(set, [0]);
  assert.deepEqual(b.stories.shape, [1, 50, 4]);
  assert.equal(vocab.token((b.stories.tolist() as number[][][])[0]![0]![3]!), 'room59');
  assert.equal(b.slots.sum().item(), 50);
  const short = encodeBabi(parseBabi(TASK1, 'qa1.txt', 1), babiVocab(parseBabi(TASK1, 'qa1.txt', 1)), 5);
  const s = babiBatch(short, [1, 2]);
  assert.deepEqual(s.slots.tolist(), [
    [1, 1, 1],
    [1, 0, 0],
  ]);
  assert.deepEqual(s.stories.shape, [2, 3, 6], 'the batch stops at its longest memory, 3 of 5 slots');
  assert.deepEqual(s.queries.shape, [2, 3]);
});

test('random noise inserts empty memories, about one in ten, and they count as slots', () => {
  const lines = Array.from({ length: 40 }, (_, i) => `${i + 1} Mary went to room${i}.`);
  const qs = parseBabi(`${lines.join('\n')}\n41 Where is Mary?\troom39\t40\n`, 'long.txt', 1);
  const set = encodeBabi(qs, babiVocab(qs), 50);
  const b = babiBatch(set, new Int32Array(200), { rate: 0.1, generator: new st.Generator(3) });
  const stories = b.stories.toTypedArray();
  const slots = b.slots.toTypedArray();
  let [empty, used] = [0, 0];
  for (let i = 0; i < 200 * 50; i++) {
    if (slots[i] === 0) continue;
    used++;
    if (stories[i * 4] === 0) empty++;
  }
  assert.ok(empty / used > 0.06 && empty / used < 0.14, `${empty} empty of ${used}`);
  assert.ok(used > 200 * 40, 'every statement is still there (up to the memory size)');
});

test('the validation split: the last 10% of the questions by story, no story split', () => {
  // 20 stories of 5 questions each: the last 2 stories (10 questions) validate.
  const story = (k: number) =>
    Array.from(
      { length: 5 },
      (_, i) => `${2 * i + 1} Mary went to room${k}.\n${2 * i + 2} Where is Mary?\troom${k}\t${2 * i + 1}`,
    ).join('\n');
  const qs = parseBabi(`${Array.from({ length: 20 }, (_, k) => story(k)).join('\n')}\n`, 'f.txt', 1);
  const { train, valid } = splitBabi(qs);
  assert.deepEqual([train.length, valid.length], [90, 10]);
  assert.deepEqual([...new Set(valid.map((q) => q.story))], [18, 19]);
  // Stories of 3 questions: the cut (question 27 of 30) falls inside story 8, which stays in training.
  const three = parseBabi(
    `${Array.from({ length: 10 }, (_, k) => story(k).split('\n').slice(0, 6).join('\n')).join('\n')}\n`,
    'g.txt',
    1,
  );
  assert.deepEqual(
    splitBabi(three).valid.map((q) => q.story),
    [9, 9, 9],
  );
});

test('an answer outside the vocabulary is refused, naming the question', () => {
  const qs = parseBabi(TASK1, 'qa1.txt', 1);
  const vocab = babiVocab(qs.slice(0, 2));
  throwsStrata(
    () => encodeBabi(qs, vocab),
    /encodeBabi: qa1.txt:7: the answer 'garden' is outside the vocabulary \(\d+ words from the training questions\)/,
  );
});

test('the en-10k files: 10,000 training and 1,000 test questions a task', () => {
  const train = loadBabi(1, 'train');
  assert.equal(train.length, 10000);
  assert.equal(loadBabi(3, 'test').length, 1000);
  const { valid } = splitBabi(train);
  assert.equal(valid.length, 1000);
});
