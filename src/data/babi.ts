import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { findDataFile } from './paths.js';
import { Vocab } from './text.js';

/**
 * The credit the licence of bAbI asks for: show it wherever the data, or a model trained on it, is shown.
 *
 *     data.BABI_ATTRIBUTION.includes('CC BY 3.0') // → true
 */
export const BABI_ATTRIBUTION = 'bAbI tasks v1.2 (Weston et al. 2015), en-10k, © Facebook, Inc., CC BY 3.0';

/** One bAbI question: the statements of its story before it, in order, and its answer. */
export interface BabiQuestion {
  /** The task, 1 to 20. */
  task: number;
  /** Where it was read: the file and its 1-based line. */
  file: string;
  line: number;
  /** The story's position in its file, from 0 (a story restarts at line id 1). */
  story: number;
  /** Every statement of the story before the question, oldest first: its line id and its words. */
  statements: { id: number; words: string[] }[];
  question: string[];
  /** One answer word; a comma-separated list ("football,apple", "s,w") is one answer (tasks 8 and 19). */
  answer: string;
  /** The line ids of the supporting statements. */
  supporting: number[];
}

/**
 * Words of a bAbI line as the usual MemN2N preprocessing has them: lower case, punctuation split off as
 * tokens of its own, and the full stops and question marks dropped (every statement ends in one and every
 * question in the other, so they say nothing).
 *
 *     data.babiWords('Where is Mary?') // → ['where', 'is', 'mary']
 */
export function babiWords(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []).filter((w) => w !== '.' && w !== '?');
}

/**
 * Reads a bAbI file's text into its questions (see BabiQuestion). Each line is `ID text` (a statement) or
 * `ID question<TAB>answer<TAB>supporting IDs` (a question); the ids count 1, 2, 3, … within a story and a
 * story starts again at 1. A malformed line, an id out of order, or a supporting id that names no
 * statement before it, fails naming `file:line`.
 *
 *     const qs = data.parseBabi('1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t1\n', 'tiny.txt', 1);
 *     qs[0]!.answer // → 'kitchen'
 *     qs[0]!.statements // → [{ id: 1, words: ['mary', 'went', 'to', 'the', 'kitchen'] }]
 */
export function parseBabi(text: string, file: string, task: number): BabiQuestion[] {
  const op = 'parseBabi';
  const out: BabiQuestion[] = [];
  let statements: { id: number; words: string[] }[] = [];
  let last = 0;
  let story = -1;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const at = `${file}:${i + 1}`;
    const m = /^(\d+) (.*)$/.exec(raw);
    if (!m)
      fail(op, `${at}: expected 'ID text' or 'ID question<TAB>answer<TAB>supporting IDs', got '${raw}'`);
    const id = Number(m[1]);
    if (id === 1) {
      statements = [];
      story++;
    } else if (id !== last + 1 || story < 0)
      fail(
        op,
        `${at}: line id ${id} follows ${story < 0 ? 'nothing' : last}; expected ${last + 1}, or 1 to start a story`,
      );
    last = id;
    const parts = m[2]!.split('\t');
    if (parts.length === 1) {
      const words = babiWords(parts[0]!);
      if (words.length === 0) fail(op, `${at}: the statement has no words`);
      statements.push({ id, words });
      continue;
    }
    if (parts.length !== 3)
      fail(
        op,
        `${at}: a question has 3 tab-separated fields (question, answer, supporting IDs), got ${parts.length}`,
      );
    const question = babiWords(parts[0]!);
    const answer = parts[1]!.trim().toLowerCase();
    const facts = parts[2]!.trim().split(/\s+/);
    if (question.length === 0 || answer === '' || /\s/.test(answer))
      fail(
        op,
        `${at}: expected a question and a one-word (or comma-separated) answer, got '${parts[0]}' and '${parts[1]}'`,
      );
    const supporting = facts.map((f) => {
      const s = Number(f);
      if (!(/^\d+$/.test(f) && statements.some((st) => st.id === s)))
        fail(op, `${at}: supporting id '${f}' names no statement of the story before the question`);
      return s;
    });
    out.push({
      task,
      file,
      line: i + 1,
      story,
      statements: statements.slice(),
      question,
      answer,
      supporting,
    });
  }
  return out;
}

/** The bAbI task names, by number (`qa1_single-supporting-fact`, …). */
const FILE_PATTERN = /^qa(\d+)_(.+)_(train|test)\.txt$/;

/**
 * The questions of one bAbI task's training or test file (`babi-en-10k/qaN_<name>_<split>.txt` on the
 * data search path, `$STRATA_DATA_DIR` first, or in `dir`). Task 3 has no training file in the en-10k
 * copy; asking for it fails saying so.
 *
 *     const test = data.loadBabi(1, 'test');
 *     test.length // → 1000
 */
export function loadBabi(task: number, split: 'train' | 'test', opts: { dir?: string } = {}): BabiQuestion[] {
  const op = 'loadBabi';
  if (!(Number.isInteger(task) && task >= 1 && task <= 20))
    fail(op, `task must be an integer from 1 to 20, got ${task}`);
  if (split !== 'train' && split !== 'test')
    fail(op, `split must be 'train' or 'test', got '${String(split)}'`);
  const dir =
    opts.dir ?? join(findDataFile(['babi-en-10k/README.md'], 'the bAbI tasks (en-10k)', { op }), '..');
  const name = readdirSync(dir).find((f) => {
    const m = FILE_PATTERN.exec(f);
    return m !== null && Number(m[1]) === task && m[3] === split;
  });
  if (name === undefined)
    fail(
      op,
      `${dir} holds no ${split} file of task ${task}` +
        (task === 3 && split === 'train'
          ? ' (the en-10k copy lacks it: task 3 is only scored by a model trained on the other tasks, --task all)'
          : ''),
    );
  return parseBabi(readFileSync(join(dir, name), 'utf8'), join(dir, name), task);
}

/**
 * Splits a training file's questions by story: the validation part is every story whose first question
 * comes at or after position round((1 − fraction) · n) of the file's n questions, so that about the last
 * `fraction` of the questions are held out and no story is split.
 *
 *     const qs = data.parseBabi('1 A b.\n2 C?\tb\t1\n1 D e.\n2 F?\te\t1\n', 'f.txt', 1);
 *     data.splitBabi(qs, 0.5).valid.length // → 1
 */
export function splitBabi(
  questions: readonly BabiQuestion[],
  fraction = 0.1,
): { train: BabiQuestion[]; valid: BabiQuestion[] } {
  if (!(fraction > 0 && fraction < 1)) fail('splitBabi', `fraction must be in (0, 1), got ${fraction}`);
  const cut = Math.round((1 - fraction) * questions.length);
  const firstOf = new Map<string, number>();
  questions.forEach((q, i) => {
    const key = `${q.file}#${q.story}`;
    if (!firstOf.has(key)) firstOf.set(key, i);
  });
  const train: BabiQuestion[] = [];
  const valid: BabiQuestion[] = [];
  questions.forEach((q) => {
    (firstOf.get(`${q.file}#${q.story}`)! >= cut ? valid : train).push(q);
  });
  return { train, valid };
}

/**
 * The word of nothing (id 0: padding, empty memories), which every embedding maps to zero.
 *
 *     data.BABI_NIL // → '<nil>'
 */
export const BABI_NIL = '<nil>';
/**
 * The word (id 1) standing for every word not seen in training.
 *
 *     data.BABI_UNK // → '<unk>'
 */
export const BABI_UNK = '<unk>';

/**
 * The vocabulary of a set of bAbI questions: `<nil>` (id 0), `<unk>` (id 1), then every word of their
 * statements and questions, and every answer as one word.
 *
 *     const qs = data.parseBabi('1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t1\n', 'tiny.txt', 1);
 *     data.babiVocab(qs).size // → 9
 */
export function babiVocab(questions: readonly BabiQuestion[]): Vocab {
  function* words(): IterableIterator<string> {
    for (const q of questions) {
      for (const s of q.statements) yield* s.words;
      yield* q.question;
      yield q.answer;
    }
  }
  return Vocab.build(words(), { specials: [BABI_NIL, BABI_UNK], unk: BABI_UNK });
}

/** bAbI questions as ids: each one's memories (the last ≤ memorySize statements, oldest first), question and answer. */
export interface BabiSet {
  memories: Int32Array[][];
  queries: Int32Array[];
  answers: Int32Array;
  tasks: Int32Array;
  questions: readonly BabiQuestion[];
  memorySize: number;
}

/**
 * Encodes questions over a vocabulary. A story longer than the memory keeps its last `memorySize`
 * statements (the documented behaviour: the older ones are dropped); words outside the vocabulary become
 * `<unk>`; an answer outside it fails, naming the question's file and line, since the model could never
 * give it.
 *
 *     const qs = data.parseBabi('1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t1\n', 'tiny.txt', 1);
 *     data.encodeBabi(qs, data.babiVocab(qs), 50).memories[0]!.length // → 1
 */
export function encodeBabi(questions: readonly BabiQuestion[], vocab: Vocab, memorySize = 50): BabiSet {
  const op = 'encodeBabi';
  if (!(Number.isInteger(memorySize) && memorySize >= 1))
    fail(op, `memorySize must be a positive integer, got ${memorySize}`);
  const answers = new Int32Array(questions.length);
  const memories = questions.map((q, i) => {
    if (!vocab.has(q.answer) || q.answer === BABI_UNK || q.answer === BABI_NIL)
      fail(
        op,
        `${q.file}:${q.line}: the answer '${q.answer}' is outside the vocabulary (${vocab.size} words from the training questions); the model cannot give it`,
      );
    answers[i] = vocab.id(q.answer);
    return q.statements.slice(-memorySize).map((s) => vocab.encode(s.words));
  });
  return {
    memories,
    queries: questions.map((q) => vocab.encode(q.question)),
    answers,
    tasks: Int32Array.from(questions, (q) => q.task),
    questions,
    memorySize,
  };
}

/** One batch of bAbI questions for a memory network. */
export interface BabiBatch {
  /**
   * Word ids [B, M, L], memory slot 0 the most recent statement; empty slots and padding are id 0. M is
   * the batch's longest memory (at most the set's memorySize): the slots past it would be empty in every row.
   */
  stories: Tensor;
  /** 1 for a slot holding a memory (or an empty one inserted as noise), 0 for a slot past the story [B, M]. */
  slots: Tensor;
  /** Question word ids [B, Lq], padded with 0. */
  queries: Tensor;
  answers: Tensor;
  /** The questions' indices in the set. */
  indices: Int32Array;
}

/**
 * The questions `indices` of a set as one batch (see BabiBatch). With `noise` (Sukhbaatar et al.'s random
 * noise, "RN"), before each memory an empty one is inserted with probability `noise.rate`, drawn from
 * `noise.generator`, and the most recent `memorySize` slots kept: the temporal encoding then learns not to
 * count slots exactly. The batch has as many slots as its longest memory (one statement here).
 *
 *     const qs = data.parseBabi('1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t1\n', 'tiny.txt', 1);
 *     const set = data.encodeBabi(qs, data.babiVocab(qs), 4);
 *     data.babiBatch(set, [0]).stories.shape // → [1, 1, 5]
 */
export function babiBatch(
  set: BabiSet,
  indices: ArrayLike<number>,
  noise?: { rate: number; generator: Generator },
): BabiBatch {
  const rows = Array.from(indices, (i) => {
    const memory = set.memories[i];
    if (memory === undefined) fail('babiBatch', `question ${i} is outside the set of ${set.memories.length}`);
    const slots: (Int32Array | null)[] = [];
    for (let s = memory.length - 1; s >= 0 && slots.length < set.memorySize; s--) {
      slots.push(memory[s]!);
      if (noise && slots.length < set.memorySize && noise.generator.uniform() < noise.rate) slots.push(null);
    }
    return slots;
  });
  const b = rows.length;
  // Slots past every story of the batch would take no weight: the batch stops at its longest memory.
  const m = Math.max(1, ...rows.map((r) => r.length));
  const width = Math.max(1, ...rows.flatMap((r) => r.map((s) => s?.length ?? 0)));
  const stories = new Int32Array(b * m * width);
  const slots = new Float32Array(b * m);
  rows.forEach((r, i) => {
    r.forEach((s, j) => {
      slots[i * m + j] = 1;
      if (s) stories.set(s, (i * m + j) * width);
    });
  });
  const qWidth = Math.max(1, ...Array.from(indices, (i) => set.queries[i]!.length));
  const queries = new Int32Array(b * qWidth);
  Array.from(indices).forEach((q, i) => {
    queries.set(set.queries[q]!, i * qWidth);
  });
  return {
    stories: tensor(stories, { dtype: 'int32' }).reshape([b, m, width]),
    slots: tensor(slots).reshape([b, m]),
    queries: tensor(queries, { dtype: 'int32' }).reshape([b, qWidth]),
    answers: tensor(
      Int32Array.from(indices, (i) => set.answers[i]!),
      { dtype: 'int32' },
    ),
    indices: Int32Array.from(indices),
  };
}
