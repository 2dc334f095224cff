/**
 * Seeded fuzzing of every file format Strata reads: thousands of mutated and truncated safetensors,
 * checkpoint and IDX files. Whatever the bytes, a reader either returns or throws a StrataError that
 * names the file, never anything else (no crash, no hang); and a file Strata wrote (checkpoint, weights)
 * is never accepted changed: each mutation is refused, or, were the changed bytes not covered by its
 * checks, must load identical to the original. The counts are recorded in docs/RELIABILITY.md.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { TensorDataset } from '../src/data/dataset.js';
import { decodeIdx } from '../src/data/idx.js';
import { DataLoader } from '../src/data/loader.js';
import { EOS, UNK, Vocab } from '../src/data/text.js';
import { StrataError } from '../src/errors.js';
import { manualSeed } from '../src/index.js';
import {
  CHECKPOINT_FILE,
  type Checkpoint,
  decodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { mlp } from '../src/models/mlp.js';
import { loadLanguageModel } from '../src/models/registry.js';
import { RnnLanguageModel } from '../src/models/rnnlm.js';
import { crossEntropy } from '../src/nn/losses.js';
import { Adam } from '../src/optim/optimizers.js';
import { StepLR } from '../src/optim/schedules.js';
import { Generator } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { fit } from '../src/train/fit.js';
import { fitLanguageModel, type LanguageModel } from '../src/train/lm.js';
import { idx } from './idxfiles.js';

const rng = new Generator(2026);
const pick = <T>(xs: readonly T[]): T => xs[rng.randint(0, xs.length)]!;

/** Bytes that mean something in JSON or in a length field: the likeliest to fool a parser. */
const SPECIAL = [
  0x00, 0xff, 0x20, 0x09, 0x0a, 0x0d, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x2d, 0x2e, 0x30, 0x39,
  0x65,
];

/** Words with a meaning to a reader: prototype keys, dtype codes, Strata's own metadata keys. */
const WORDS = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  '',
  'F32',
  'F64',
  'I32',
  'I64',
  'F16',
  'BF16',
  'U8',
  '__metadata__',
  'strata.sha256',
  'strata.checkpoint',
  'dtype',
  'shape',
  'data_offsets',
  'format',
];

/** One random change: half of them aimed at the first `hot` bytes (a header), the rest anywhere. */
function mutateOnce(bytes: Uint8Array, hot: number): { kind: string; bytes: Uint8Array } {
  const n = bytes.length;
  const at = () =>
    rng.uniform() < 0.5 ? rng.randint(0, Math.max(1, Math.min(hot, n))) : rng.randint(0, Math.max(1, n));
  const out = Uint8Array.from(bytes);
  const kind = pick(['flip', 'set', 'special', 'truncate', 'insert', 'delete', 'copy', 'length', 'word']);
  if (n === 0) return { kind: 'insert', bytes: Uint8Array.of(rng.randint(0, 256)) };
  switch (kind) {
    case 'flip':
      out[at()]! ^= 1 << rng.randint(0, 8);
      return { kind, bytes: out };
    case 'set':
      out[at()] = rng.randint(0, 256);
      return { kind, bytes: out };
    case 'special':
      out[at()] = pick(SPECIAL);
      return { kind, bytes: out };
    case 'truncate':
      return { kind, bytes: bytes.subarray(0, rng.randint(0, n)) };
    case 'insert': {
      const i = at();
      const extra = Uint8Array.from({ length: rng.randint(1, 17) }, () => rng.randint(0, 256));
      return { kind, bytes: Buffer.concat([bytes.subarray(0, i), extra, bytes.subarray(i)]) };
    }
    case 'delete': {
      const i = at();
      return { kind, bytes: Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + rng.randint(1, 17))]) };
    }
    case 'copy': {
      const [from, to, len] = [at(), at(), rng.randint(1, 33)];
      out.set(bytes.subarray(from, Math.min(n, from + len)).subarray(0, Math.max(0, n - to)), to);
      return { kind, bytes: out };
    }
    case 'word': {
      // A JSON string of the header replaced by a word that means something to a reader.
      const text = Buffer.from(bytes.subarray(0, Math.min(hot, n))).toString('latin1');
      const strings = [...text.matchAll(/"[^"\\]*"/g)];
      if (strings.length === 0) return { kind, bytes: out };
      const s = pick(strings);
      const word = `"${pick(WORDS)}"`;
      const i = s.index!;
      return {
        kind,
        bytes: Buffer.concat([
          bytes.subarray(0, i),
          Buffer.from(word, 'latin1'),
          bytes.subarray(i + s[0].length),
        ]),
      };
    }
    default: {
      // The 8-byte length of a safetensors header (or an IDX dimension): a nearby or a wild value.
      const view = new DataView(out.buffer);
      if (n >= 8) {
        const old = view.getBigUint64(0, true);
        const delta = BigInt(rng.randint(1, 64)) * (rng.uniform() < 0.5 ? -1n : 1n);
        view.setBigUint64(
          0,
          rng.uniform() < 0.8 ? BigInt.asUintN(64, old + delta) : BigInt(rng.nextU32()) << 32n,
          true,
        );
      }
      return { kind, bytes: out };
    }
  }
}

/** One to three stacked changes. */
function mutate(bytes: Uint8Array, hot: number): { kinds: string; bytes: Uint8Array } {
  let b = bytes;
  const kinds: string[] = [];
  for (let k = rng.uniform() < 0.75 ? 1 : rng.randint(2, 4); k > 0; k--) {
    const m = mutateOnce(b, hot);
    kinds.push(m.kind);
    b = m.bytes;
  }
  return { kinds: kinds.join('+'), bytes: b };
}

interface Counts {
  tried: number;
  refused: number;
  /** Accepted and equal to the original: the change did not alter what the file holds. */
  acceptedSame: number;
  /** Accepted with different contents: allowed only for formats without a checksum. */
  acceptedChanged: number;
  crashes: number;
}

/**
 * Feeds `cases` mutations of `original` to `read`, counting outcomes. Every refusal must be a
 * StrataError naming `source`; any other exception is a crash, reported with the mutation.
 */
function fuzz<T>(
  original: Uint8Array,
  source: string,
  cases: number,
  hot: number,
  read: (bytes: Uint8Array) => T,
  key: (value: T) => string,
): Counts {
  const expected = key(read(original));
  const counts: Counts = { tried: 0, refused: 0, acceptedSame: 0, acceptedChanged: 0, crashes: 0 };
  const crashes: string[] = [];
  for (let i = 0; i < cases; i++) {
    let m = mutate(original, hot);
    // A change that happens to give the same bytes (a byte set to its own value) is no test: draw again.
    while (Buffer.compare(m.bytes, original) === 0) m = mutate(original, hot);
    counts.tried++;
    try {
      const value = read(m.bytes);
      if (key(value) === expected) counts.acceptedSame++;
      else counts.acceptedChanged++;
    } catch (e) {
      if (e instanceof StrataError && e.message.includes(source)) counts.refused++;
      else {
        counts.crashes++;
        if (crashes.length < 3) crashes.push(`case ${i} (${m.kinds}): ${String(e).slice(0, 300)}`);
      }
    }
  }
  assert.equal(
    counts.crashes,
    0,
    `${source}: ${counts.crashes} cases ended in something other than a StrataError naming the file:\n${crashes.join('\n')}`,
  );
  return counts;
}

/** A canonical text of tensors: names, dtypes, shapes and bytes. */
function tensorsKey(tensors: Record<string, Tensor>): string {
  return JSON.stringify(
    Object.entries(tensors)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, t]) => {
        const v = t.toTypedArray();
        return [k, t.dtype, t.shape, Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')];
      }),
  );
}

/** JSON with the non-finite numbers JSON lacks written out, so Infinity and NaN compare too. */
const jsonKey = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? `#${x}` : x)) ?? 'undefined';

function checkpointKey(c: Checkpoint): string {
  return [
    tensorsKey(c.model),
    tensorsKey(c.optimizer.tensors),
    jsonKey([c.optimizer.state, c.rng, c.progress, c.extra]),
  ].join('\n');
}

const headerEnd = (bytes: Uint8Array): number => 8 + Number(Buffer.from(bytes).readBigUint64LE(0));

/** A small checkpoint as fit writes one: weights, a BatchNorm count (stored as I64), moments, progress. */
function sampleCheckpointBytes(): Uint8Array {
  const values = (n: number, scale: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * scale));
  const model = {
    '0.weight': new Tensor(values(24, 0.7), [4, 6]),
    '0.bias': new Tensor(values(4, 1.3), [4]),
    '1.num_batches_tracked': new Tensor(new Int32Array([12]), []),
    '1.running_var': new Tensor(Float64Array.from([1, 0.5, 2, 0.25]), [4]),
  };
  const optimizer = {
    tensors: {
      '0.exp_avg': new Tensor(values(24, 0.1), [4, 6]),
      '1.exp_avg': new Tensor(values(4, 0.2), [4]),
    },
    state: {
      type: 'Adam',
      paramGroups: [{ lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, params: [0, 1] }],
      steps: { 0: 12, 1: 12 },
    },
  };
  const encoded = {
    format: 2,
    optimizer: optimizer.state,
    rng: { s: [1, 2, 3, 4], spare: null },
    progress: { epoch: 1, step: 12, best: { $float: 'Infinity' }, history: [{ epoch: 1, loss: 0.5 }] },
    extra: { model: 'mlp', lr: 0.001 },
  };
  const tensors = Object.fromEntries([
    ...Object.entries(model).map(([k, t]) => [`model.${k}`, t] as const),
    ...Object.entries(optimizer.tensors).map(([k, t]) => [`optim.${k}`, t] as const),
  ]);
  return encodeSafetensors(
    tensors,
    { 'strata.checkpoint': JSON.stringify(encoded) },
    {
      int64: (name) => name.endsWith('num_batches_tracked'),
    },
  );
}

const results: Record<string, Counts> = {};

test('fuzz: mutated Strata checkpoints are all refused with a StrataError, none accepted changed', () => {
  const bytes = sampleCheckpointBytes();
  const c = fuzz(
    bytes,
    'ckpt.safetensors',
    20000,
    headerEnd(bytes),
    (b) => decodeCheckpoint(b, 'ckpt.safetensors'),
    checkpointKey,
  );
  assert.equal(c.acceptedChanged, 0, 'a corrupted checkpoint was accepted');
  results['Strata checkpoint'] = c;
});

test('every single-bit flip and every truncation of a Strata checkpoint is refused', () => {
  const bytes = sampleCheckpointBytes();
  let refused = 0;
  const refuse = (b: Uint8Array, what: string) => {
    assert.throws(
      () => decodeCheckpoint(b, 'ckpt.safetensors'),
      (e: unknown) => {
        assert.ok(
          e instanceof StrataError && e.message.includes('ckpt.safetensors'),
          `${what}: ${String(e)}`,
        );
        return true;
      },
      what,
    );
    refused++;
  };
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const b = Uint8Array.from(bytes);
      b[i]! ^= 1 << bit;
      refuse(b, `bit ${bit} of byte ${i} flipped`);
    }
  }
  for (let n = 0; n < bytes.length; n++) refuse(bytes.subarray(0, n), `truncated to ${n} bytes`);
  results['Strata checkpoint, every bit flip and truncation'] = {
    tried: refused,
    refused,
    acceptedSame: 0,
    acceptedChanged: 0,
    crashes: 0,
  };
});

test('fuzz: mutated Strata weights files are all refused, none accepted changed', () => {
  const bytes = encodeSafetensors(
    {
      'fc.weight': new Tensor(
        Float32Array.from({ length: 30 }, (_, i) => i / 7 - 2),
        [5, 6],
      ),
      'fc.bias': new Tensor(new Float64Array(5).fill(-0.438), [5]),
    },
    { format: 'pt' },
  );
  const c = fuzz(
    bytes,
    'w.safetensors',
    5000,
    headerEnd(bytes),
    (b) => decodeSafetensors(b, 'w.safetensors', { requireChecksum: true }).tensors,
    tensorsKey,
  );
  assert.equal(c.acceptedChanged, 0, 'a corrupted weights file was accepted');
  results['Strata weights'] = c;
});

test('fuzz: mutated safetensors from PyTorch (no checksum) are read or refused, never a crash', () => {
  for (const name of ['torch-batchnorm', 'torch-dtypes']) {
    const bytes = readFileSync(new URL(`./fixtures/safetensors/${name}.safetensors`, import.meta.url));
    const read = (b: Uint8Array) => decodeSafetensors(b, `${name}.safetensors`).tensors;
    results[`PyTorch safetensors (${name})`] = fuzz(
      bytes,
      `${name}.safetensors`,
      3000,
      headerEnd(bytes),
      read,
      tensorsKey,
    );
  }
});

test('fuzz: mutated IDX files, plain and gzipped, are read or refused, never a crash', () => {
  const images = idx(
    [5, 28, 28],
    Uint8Array.from({ length: 5 * 784 }, (_, i) => (i * 31) % 256),
  );
  const labels = idx([5], [3, 1, 4, 1, 5]);
  const key = (f: { magic: number; dims: number[]; data: Uint8Array }) =>
    `${f.magic} ${f.dims.join('x')} ${Buffer.from(f.data).toString('hex')}`;
  const cases: [string, Uint8Array, number][] = [
    ['train-images-idx3-ubyte', images, 16],
    ['train-labels-idx1-ubyte', labels, 8],
    ['train-images-idx3-ubyte.gz', gzipSync(images), 24],
    ['train-labels-idx1-ubyte.gz', gzipSync(labels), 24],
  ];
  for (const [name, bytes, hot] of cases) {
    const magic = name.includes('images') ? 0x0803 : 0x0801;
    results[`IDX ${name}`] = fuzz(bytes, name, 3000, hot, (b) => decodeIdx(b, name, magic), key);
  }
});

/** Values a crafted checkpoint might hold where a count, a rate, a state or a record belongs. */
const ODD_VALUES: readonly unknown[] = [
  -1,
  0.5,
  1e308,
  -1e-308,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '',
  'x',
  '0',
  true,
  false,
  null,
  [],
  [1, 2, 3],
  {},
  { s: [1, 2, 3, 4] },
  { $float: 'NaN' },
];

/**
 * `root` with one value, at a random depth and key, replaced by a different odd one (a deep copy; root is
 * kept). A replacement equal to the value it replaces is no test, and is drawn again.
 */
function alter(root: unknown): { path: string; value: unknown } {
  for (;;) {
    const altered = alterOnce(root);
    if (jsonKey(altered.value) !== jsonKey(root)) return altered;
  }
}

function alterOnce(root: unknown): { path: string; value: unknown } {
  const copy = structuredClone(root) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  let path = '';
  for (;;) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const k = pick(keys);
    const child = node[k];
    path += `.${k}`;
    if (typeof child === 'object' && child !== null && rng.uniform() < 0.7) {
      node = child as Record<string, unknown>;
      continue;
    }
    node[k] = pick(ODD_VALUES);
    break;
  }
  return { path, value: copy };
}

test('fuzz: resuming from checkpoints with altered state (and a valid checksum) never crashes, and a refusal changes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const x = new Tensor(
    Float32Array.from({ length: 48 * 8 }, (_, i) => Math.sin(i)),
    [48, 8],
  );
  const y = new Tensor(
    Int32Array.from({ length: 48 }, (_, i) => i % 4),
    [48],
  );
  const run = () => {
    manualSeed(1);
    const model = mlp([8, 6, 4]);
    const optimizer = new Adam(model.parameters(), { lr: 0.01 });
    const generator = new Generator(2);
    const options = {
      epochs: 2,
      loss: (o: Tensor, t: Tensor) => crossEntropy(o, t),
      train: new DataLoader(new TensorDataset(x, y), { batchSize: 16, shuffle: true, generator }),
      generator,
      scheduler: new StepLR(optimizer, { stepSize: 1, gamma: 0.5 }),
      out: dir,
      config: { seed: 1 },
    };
    return { model, optimizer, generator, options };
  };
  const first = run();
  await fit(first.model, first.optimizer, { ...first.options, epochs: 1 });
  const path = join(dir, CHECKPOINT_FILE);
  const good = loadCheckpoint(path);
  const standing = (r: ReturnType<typeof run>) =>
    JSON.stringify([
      Object.values(r.model.stateDict()).map((t) => [...t.toTypedArray()]),
      r.optimizer.paramGroups.map(({ params: _, ...h }) => h),
      [...r.optimizer.state.values()].map((s) => [
        s.step,
        Object.values(s.buffers).map((t) => [...t.toTypedArray()]),
      ]),
      r.generator.getState(),
    ]);
  const counts: Counts = { tried: 0, refused: 0, acceptedSame: 0, acceptedChanged: 0, crashes: 0 };
  const crashes: string[] = [];
  const parts = ['progress', 'rng', 'optimizer', 'config'] as const;
  for (let i = 0; i < 400; i++) {
    const part = pick(parts);
    const state = part === 'optimizer' ? good.optimizer.state : good[part];
    const { path: where, value } = alter(state);
    const ckpt: Checkpoint = {
      ...good,
      optimizer: part === 'optimizer' ? { ...good.optimizer, state: value } : good.optimizer,
      ...(part === 'progress' ? { progress: value as Record<string, unknown> } : {}),
      ...(part === 'rng' ? { rng: value as Checkpoint['rng'] } : {}),
      ...(part === 'config' ? { config: value as Record<string, unknown> } : {}),
    };
    try {
      saveCheckpoint(path, ckpt);
    } catch (e) {
      assert.ok(e instanceof StrataError, `saving ${part}${where}: ${String(e)}`);
      continue; // a value that JSON cannot hold is refused when saving
    }
    counts.tried++;
    const r = run();
    const before = standing(r);
    try {
      await fit(r.model, r.optimizer, { ...r.options, epochs: 1, resume: true });
      counts.acceptedChanged++;
    } catch (e) {
      if (e instanceof StrataError) {
        counts.refused++;
        assert.equal(standing(r), before, `${part}${where}: refused, yet the run changed (${e.message})`);
      } else {
        counts.crashes++;
        if (crashes.length < 3)
          crashes.push(`${part}${where} = ${jsonKey(value).slice(0, 200)}: ${String(e)}`);
      }
    }
  }
  assert.equal(counts.crashes, 0, `resuming crashed:\n${crashes.join('\n')}`);
  results['fit checkpoint with altered state, resumed'] = counts;
});

test('fuzz: language-model checkpoints with altered state, resumed or opened by generate, never crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-fuzz-lm-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vocab = Vocab.build('a b c d e f g h'.split(' '), { minFreq: 1, specials: [UNK, EOS] });
  const stream = Int32Array.from({ length: 200 }, (_, i) => 2 + (i % 8));
  const config = { model: 'rnnlm', level: 'word', cell: 'gru', hidden: 4, embed: 4, layers: 1, tie: false };
  const run = () => {
    manualSeed(3);
    const generator = new Generator(4);
    const model = new RnnLanguageModel(vocab.size, {
      cell: 'gru',
      hidden: 4,
      embed: 4,
      layers: 1,
      generator,
    });
    const optimizer = new Adam(model.parameters(), { lr: 0.01 });
    const options = {
      batchSize: 4,
      bptt: 5,
      train: stream,
      valid: stream.subarray(0, 40),
      clip: 1,
      generator,
    };
    return { model, optimizer, generator, lm: model as unknown as LanguageModel, options };
  };
  const first = run();
  const extra = { vocab: vocab.toJSON() };
  await fitLanguageModel(first.lm, first.optimizer, { ...first.options, epochs: 1, out: dir, config, extra });
  const path = join(dir, CHECKPOINT_FILE);
  const good = loadCheckpoint(path);
  const counts: Counts = { tried: 0, refused: 0, acceptedSame: 0, acceptedChanged: 0, crashes: 0 };
  const crashes: string[] = [];
  const attempt = async (what: string, fn: () => unknown, unchanged?: () => boolean) => {
    try {
      await fn();
      counts.acceptedChanged++;
    } catch (e) {
      if (!(e instanceof StrataError)) {
        counts.crashes++;
        if (crashes.length < 3) crashes.push(`${what}: ${String(e).slice(0, 300)}`);
      } else {
        counts.refused++;
        if (unchanged) assert.ok(unchanged(), `${what}: refused (${e.message}), yet the run changed`);
      }
    }
    counts.tried++;
  };
  for (let i = 0; i < 150; i++) {
    const part = pick(['progress', 'rng', 'optimizer', 'extra', 'config'] as const);
    const { path: where, value } = alter(part === 'optimizer' ? good.optimizer.state : good[part]);
    const ckpt: Checkpoint = {
      ...good,
      optimizer: part === 'optimizer' ? { ...good.optimizer, state: value } : good.optimizer,
      ...(part === 'progress' ? { progress: value as Record<string, unknown> } : {}),
      ...(part === 'rng' ? { rng: value as Checkpoint['rng'] } : {}),
      ...(part === 'extra' ? { extra: value } : {}),
      ...(part === 'config' ? { config: value as Record<string, unknown> } : {}),
    };
    try {
      saveCheckpoint(path, ckpt);
    } catch (e) {
      assert.ok(e instanceof StrataError, `saving ${part}${where}: ${String(e)}`);
      continue;
    }
    const r = run();
    const before = jsonKey([tensorsKey(r.model.stateDict()), r.generator.getState()]);
    await attempt(
      `resume, ${part}${where}`,
      () =>
        fitLanguageModel(r.lm, r.optimizer, {
          ...r.options,
          epochs: 1,
          out: dir,
          resume: true,
          config,
          extra,
        }),
      () => jsonKey([tensorsKey(r.model.stateDict()), r.generator.getState()]) === before,
    );
    await attempt(`generate, ${part}${where}`, () => loadLanguageModel(path, 'generate'));
  }
  assert.equal(counts.crashes, 0, `crashed:\n${crashes.join('\n')}`);
  results['language-model checkpoint with altered state, resumed and opened'] = counts;
});

test('fuzz: the counts', (t) => {
  const total = Object.values(results).reduce(
    (s, c) => ({
      tried: s.tried + c.tried,
      refused: s.refused + c.refused,
      acceptedSame: s.acceptedSame + c.acceptedSame,
      acceptedChanged: s.acceptedChanged + c.acceptedChanged,
      crashes: s.crashes + c.crashes,
    }),
    { tried: 0, refused: 0, acceptedSame: 0, acceptedChanged: 0, crashes: 0 },
  );
  for (const [what, c] of [...Object.entries(results), ['total', total] as const]) {
    t.diagnostic(
      `${what}: ${c.tried} tried, ${c.refused} refused, ${c.acceptedSame} accepted identical, ${c.acceptedChanged} accepted changed, ${c.crashes} crashes`,
    );
  }
  assert.equal(total.crashes, 0);
});
