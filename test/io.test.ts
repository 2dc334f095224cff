// Every assert.ok has a message: without one, node re-parses the (transpiled, one-line) source to write it,
// which takes minutes on this file.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { StrataError } from '../src/errors.js';
import { nn, optim, tensor } from '../src/index.js';
import { ensureOutputDir, writeFileAtomic } from '../src/io/atomic.js';
import {
  type Checkpoint,
  loadCheckpoint,
  loadWeights,
  saveCheckpoint,
  saveWeights,
} from '../src/io/checkpoint.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
} from '../src/io/safetensors.js';
import { Tensor } from '../src/tensor/tensor.js';
import { type FailingCall, withFailing } from './failingfs.js';
import { tempDirs } from './tmpdirs.js';

const freshDir = tempDirs('io');

function throwsStrata(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

function assertSameTensor(actual: Tensor | undefined, expected: Tensor): void {
  assert.ok(actual, 'tensor is missing');
  assert.equal(actual.dtype, expected.dtype);
  assert.deepEqual([...actual.shape], [...expected.shape]);
  assert.deepEqual(actual.toTypedArray(), expected.toTypedArray());
}

/** A safetensors file built by hand from a header object, the way the reference implementation lays it out. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json), data]);
}

const f32 = (...v: number[]): Uint8Array => new Uint8Array(new Float32Array(v).buffer);

test('safetensors round-trips float32, float64 and int32, views, 0-d and empty tensors', () => {
  const storage = new Float32Array([1, 2, 3, 4, 5, 6]);
  const tensors = {
    f32: new Tensor(new Float32Array([0.5, -1.25, 3e38, Number.NaN]), [2, 2]),
    f64: new Tensor(new Float64Array([Math.PI, -0, 1e-300]), [3]),
    i32: new Tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 7]), [4, 1]),
    transposed: new Tensor(storage, [3, 2], [1, 3]), // a view: rows are storage columns
    sliced: new Tensor(storage, [2], [2], 1), // elements 2 and 4
    scalar: new Tensor(new Float64Array([42]), []),
    empty: new Tensor(new Float32Array(0), [0]),
    empty3: new Tensor(new Int32Array(0), [2, 0, 3]),
  };
  const { tensors: back, metadata } = decodeSafetensors(encodeSafetensors(tensors, { note: 'hi' }));
  assert.deepEqual(metadata, { note: 'hi' });
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) assertSameTensor(back[name], t);
  assert.deepEqual([...back.transposed!.toTypedArray()], [1, 4, 2, 5, 3, 6]);
  assert.deepEqual([...back.sliced!.toTypedArray()], [2, 4]);
  assert.ok(back.transposed!.isContiguous(), 'loaded tensors are contiguous');
});

test('safetensors bytes follow the format exactly', () => {
  const bytes = encodeSafetensors({
    b: new Tensor(new Float32Array([1.5, -2]), [2]),
    a: new Tensor(new Int32Array([7]), []),
  });
  const data = Buffer.alloc(12);
  data.writeInt32LE(7, 0); // 'a' first: sorted by name
  data.writeFloatLE(1.5, 4);
  data.writeFloatLE(-2, 8);
  // The checksum covers the other metadata and the tensor entries (sorted, canonical) and then the data.
  const layout = JSON.stringify([
    [],
    [
      ['a', 'int32', [], 0, 4],
      ['b', 'float32', [2], 4, 12],
    ],
  ]);
  const sha = createHash('sha256').update(layout).update(data).digest('hex');
  const header =
    `{"__metadata__":{"strata.sha256":"${sha}"},` +
    '"a":{"dtype":"I32","shape":[],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  assert.deepEqual(Buffer.from(bytes), Buffer.concat([length, Buffer.from(padded), data]));
  assert.equal(padded.length % 8, 0);
  assert.equal(Number(Buffer.from(bytes).readBigUInt64LE(0)), padded.length);
});

test('safetensors reads files without a Strata checksum (as PyTorch writes them)', () => {
  const bytes = craft({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(1, 2));
  // Copy into an odd offset of a larger buffer, as Buffer pools do: reading must not assume alignment.
  const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
  unaligned.set(bytes);
  const { tensors, metadata } = decodeSafetensors(unaligned);
  assert.deepEqual(metadata, {});
  assertSameTensor(tensors.x, new Tensor(new Float32Array([1, 2]), [2]));
});

test('safetensors: dtypes Strata lacks get a clear error', () => {
  for (const dtype of ['U8', 'BOOL', 'I16', 'F8_E4M3', 'constructor', '__proto__']) {
    const bytes = craft({ h: { dtype, shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2));
    throwsStrata(
      () => decodeSafetensors(bytes, 'half.safetensors'),
      new RegExp(`half\\.safetensors.*'h'.*${dtype}.*F32, F64, I32, I64, F16, BF16`),
    );
  }
});

test('safetensors: every kind of damage is a StrataError naming the file and the problem', () => {
  const entry = (extra: object) => ({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...extra } });
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /5 bytes, fewer than the 8/],
    [
      'header length beyond the file',
      craft(entry({})).subarray(0, 20),
      /header length field says \d+ bytes but only 12/,
    ],
    ['header not JSON', craft('{"x": nope}', f32(1, 2)), /not valid UTF-8 JSON/],
    ['header not an object', craft([1, 2]), /header is not a JSON object/],
    ['header not UTF-8', craft('\xff', f32()), /not valid UTF-8 JSON/],
    ['unknown dtype', craft(entry({ dtype: 'Q7' }), f32(1, 2)), /dtype "Q7".*F32, F64, I32/],
    ['missing dtype', craft(entry({ dtype: undefined }), f32(1, 2)), /tensor 'x' has no dtype/],
    [
      'negative shape',
      craft(entry({ shape: [-2] }), f32(1, 2)),
      /shape element 0 = -2; expected a list of non-negative integers/,
    ],
    ['fractional shape', craft(entry({ shape: [1.5] }), f32(1, 2)), /non-negative integers/],
    ['shape not a list', craft(entry({ shape: 2 }), f32(1, 2)), /non-negative integers/],
    [
      'offsets not a pair',
      craft(entry({ data_offsets: [0] }), f32(1, 2)),
      /data_offsets an array of length 1; expected \[begin, end\]/,
    ],
    [
      'offsets vs size',
      craft(entry({ data_offsets: [0, 4] }), f32(1)),
      /needs 8 bytes but its data_offsets \[0, 4\] span 4/,
    ],
    [
      'offsets outside data',
      craft(entry({ data_offsets: [8, 16] }), f32(1, 2)),
      /occupies bytes \[8, 16\) of a data section that has only 8/,
    ],
    [
      'overlap',
      craft({ ...entry({}), y: { dtype: 'I32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)),
      /overlaps another tensor/,
    ],
    ['gap', craft(entry({ data_offsets: [4, 12] }), f32(0, 1, 2)), /gap of unused bytes \[0, 4\)/],
    ['trailing bytes', craft(entry({}), f32(1, 2, 3)), /4 bytes follow the last tensor/],
    ['metadata not strings', craft({ __metadata__: { a: 1 } }), /metadata 'a' is not a string/],
    ['metadata not an object', craft({ __metadata__: [] }), /"__metadata__" is not an object/],
  ];
  for (const [what, bytes, pattern] of cases) {
    assert.doesNotThrow(() => craft(entry({})), what);
    throwsStrata(
      () => decodeSafetensors(bytes, 'w.safetensors'),
      new RegExp(`'w\\.safetensors'.*${pattern.source}`),
    );
  }
});

test('safetensors: a flipped bit anywhere in the data fails the checksum; truncation anywhere fails', () => {
  const bytes = encodeSafetensors({
    w: new Tensor(new Float32Array([1, 2, 3]), [3]),
    n: new Tensor(new Int32Array([4, 5]), [2]),
  });
  const dataStart = 8 + Number(Buffer.from(bytes).readBigUInt64LE(0));
  for (let i = dataStart; i < bytes.length; i++) {
    const bad = bytes.slice();
    bad[i]! ^= 0x10;
    throwsStrata(
      () => decodeSafetensors(bad, 'm.st'),
      /'m\.st' is corrupt or truncated: the header or data does not match its SHA-256/,
    );
  }
  for (let n = 0; n < bytes.length; n++) {
    throwsStrata(() => decodeSafetensors(bytes.subarray(0, n), 'm.st'), /'m\.st' is corrupt or truncated/);
  }
});

test('saveSafetensors / loadSafetensors use files; a missing file is a clear error', () => {
  const path = join(freshDir(), 'w.safetensors');
  const w = new Tensor(new Float64Array([1, 2, 3, 4]), [2, 2]);
  saveSafetensors(path, { w }, { format: 'pt' });
  const { tensors, metadata } = loadSafetensors(path);
  assertSameTensor(tensors.w, w);
  assert.deepEqual(metadata, { format: 'pt' });
  throwsStrata(
    () => loadSafetensors(join(freshDir(), 'nope.safetensors')),
    /loadSafetensors: no file at '.*nope\.safetensors'/,
  );
  throwsStrata(
    () => encodeSafetensors({ w }, { n: 1 as unknown as string }),
    /metadata 'n' must be a string/,
  );
});

test('writeFileAtomic replaces a file and leaves no temporary files', () => {
  const dir = freshDir();
  const path = join(dir, 'a.txt');
  writeFileAtomic(path, 'old');
  writeFileAtomic(path, new Uint8Array([110, 101, 119]));
  assert.equal(readFileSync(path, 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['a.txt']);
});

test('writeFileAtomic: on failure the temporary file is removed and the error rethrown', () => {
  const dir = freshDir();
  const target = join(dir, 'taken');
  mkdirSync(join(target, 'inside'), { recursive: true }); // renaming a file over a non-empty directory fails
  assert.throws(() => writeFileAtomic(target, 'data'));
  assert.deepEqual(readdirSync(dir), ['taken']);
  assert.throws(() => writeFileAtomic(join(dir, 'missing', 'x'), 'data'), /ENOENT/);
});

test('writeFileAtomic removes stale temporary files of dead writers, and only those', () => {
  const dir = freshDir();
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  const old = new Date(Date.now() - 60_000);
  const names = {
    stale: `.c.bin.${deadPid}.abc123.tmp`,
    live: `.c.bin.${process.ppid}.abc123.tmp`, // our parent is alive: maybe still writing
    mine: `.c.bin.${process.pid}.abc123.tmp`,
    other: `.d.bin.${deadPid}.abc123.tmp`, // another target's
    unrelated: 'notes.tmp',
  };
  for (const n of Object.values(names)) {
    writeFileSync(join(dir, n), 'x');
    utimesSync(join(dir, n), old, old);
  }
  writeFileAtomic(join(dir, 'c.bin'), 'ok');
  assert.deepEqual(
    readdirSync(dir).sort(),
    ['c.bin', names.live, names.mine, names.other, names.unrelated].sort(),
  );
});

function sampleCheckpoint(): Checkpoint {
  const w = new Float32Array([1, 2, 3, 4, 5, 6]);
  return {
    model: {
      'layers.0.weight': new Tensor(w, [2, 3]),
      'layers.0.bias': new Tensor(new Float32Array([0.1, 0.2]), [2]),
      'embed.weight.T': new Tensor(w, [3, 2], [1, 3]),
    },
    optimizer: {
      tensors: {
        '0.exp_avg': new Tensor(new Float64Array([1e-8, 2]), [2]),
        '0.step': new Tensor(new Int32Array([3]), []),
      },
      state: { groups: [{ lr: 0.001, betas: [0.9, 0.999] }], step: 3 },
    },
    rng: { s: [1, 2, 3, 4294967295], spare: 0.25 },
    progress: {
      epoch: 2,
      step: 300,
      best: Number.POSITIVE_INFINITY,
      worst: Number.NEGATIVE_INFINITY,
      nan: Number.NaN,
      history: [0.5, 0.25],
    },
    extra: { config: { model: 'mlp', lr: 0.001 } },
  };
}

test('checkpoints round-trip weights, optimizer state, RNG state, progress and extra', () => {
  const path = join(freshDir(), 'ckpt.safetensors');
  const ckpt = sampleCheckpoint();
  saveCheckpoint(path, ckpt);
  const back = loadCheckpoint(path);
  for (const [k, t] of Object.entries(ckpt.model)) assertSameTensor(back.model[k], t);
  for (const [k, t] of Object.entries(ckpt.optimizer.tensors)) assertSameTensor(back.optimizer.tensors[k], t);
  assert.deepEqual(Object.keys(back.model).sort(), Object.keys(ckpt.model).sort());
  assert.deepEqual(back.optimizer.state, ckpt.optimizer.state);
  assert.deepEqual(back.rng, ckpt.rng);
  assert.deepEqual(back.progress, ckpt.progress); // Infinity and NaN survive JSON
  assert.deepEqual(back.extra, ckpt.extra);
  // The checkpoint is an ordinary safetensors file: any reader sees model.* and optim.* tensors.
  assert.deepEqual(Object.keys(loadSafetensors(path).tensors).sort(), [
    'model.embed.weight.T',
    'model.layers.0.bias',
    'model.layers.0.weight',
    'optim.0.exp_avg',
    'optim.0.step',
  ]);
});

test('checkpoints: wrong files and bad state get clear errors', () => {
  const dir = freshDir();
  const weights = join(dir, 'weights.safetensors');
  const w = new Tensor(new Float32Array([1, 2]), [2]);
  saveWeights(weights, { 'fc.weight': w });
  assertSameTensor(loadWeights(weights)['fc.weight'], w);
  assert.deepEqual(loadSafetensors(weights).metadata, { format: 'pt' });
  throwsStrata(
    () => loadCheckpoint(weights),
    /loadCheckpoint: '.*weights\.safetensors' is not a Strata checkpoint/,
  );

  const ckptPath = join(dir, 'ckpt.safetensors');
  saveCheckpoint(ckptPath, sampleCheckpoint());
  throwsStrata(() => loadWeights(ckptPath), /is a Strata checkpoint, not a weights file; use loadCheckpoint/);
  throwsStrata(() => loadCheckpoint(join(dir, 'absent')), /loadCheckpoint: no file at/);

  const bad = join(dir, 'bad.safetensors');
  const withMeta = (json: string, tensors: Record<string, Tensor> = {}) =>
    saveSafetensors(bad, tensors, { 'strata.checkpoint': json });
  const good = { format: 2, optimizer: null, rng: { s: [1, 2, 3, 4], spare: null }, progress: {} };
  withMeta('{oops');
  throwsStrata(
    () => loadCheckpoint(bad),
    /'.*bad\.safetensors' is corrupt: its 'strata\.checkpoint' metadata is not valid JSON/,
  );
  withMeta(JSON.stringify({ ...good, format: 3 }));
  throwsStrata(() => loadCheckpoint(bad), /checkpoint format 3; this version of Strata reads format 2/);
  withMeta(JSON.stringify({ ...good, format: 1 }));
  throwsStrata(() => loadCheckpoint(bad), /checkpoint format 1, from an earlier Strata.*reads format 2/);
  withMeta(JSON.stringify({ ...good, config: [1] }));
  throwsStrata(
    () => loadCheckpoint(bad),
    /is corrupt: its run config is an array of length 1, not an object/,
  );
  withMeta(JSON.stringify({ ...good, rng: 5 }));
  throwsStrata(() => loadCheckpoint(bad), /is corrupt: it has no valid RNG state/);
  withMeta(JSON.stringify(good), { stray: w });
  throwsStrata(() => loadCheckpoint(bad), /is corrupt: unexpected tensor 'stray'/);
  withMeta(JSON.stringify(good), { 'model.w': w });
  assertSameTensor(loadCheckpoint(bad).model.w, w);

  const withTensor = sampleCheckpoint();
  withTensor.optimizer.state = { momentum: w };
  throwsStrata(
    () => saveCheckpoint(bad, withTensor),
    /'momentum' is a Tensor; put tensors in model or optimizer\.tensors/,
  );
  // An optimizer's stateDict() is not what a checkpoint takes: the optimizer itself is.
  const opt = new optim.SGD([new nn.Parameter(tensor([1, 2]))], { lr: 0.1 });
  throwsStrata(
    () => saveCheckpoint(bad, { ...sampleCheckpoint(), optimizer: opt.stateDict() as never }),
    /saveCheckpoint: optimizer must be the optimizer itself, e\.g\. \{ optimizer: opt \}, got .*\(an optimizer\.stateDict\(\)\)/,
  );
  throwsStrata(
    () => saveCheckpoint(bad, { ...sampleCheckpoint(), optimizer: undefined as never }),
    /optimizer must be the optimizer itself.*got undefined/,
  );
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  throwsStrata(
    () => saveCheckpoint(bad, { ...sampleCheckpoint(), progress: cyclic }),
    /cannot be written as JSON/,
  );
  assertSameTensor(loadCheckpoint(bad).model.w, w); // failed saves left the last good file in place
});

const writer = fileURLToPath(new URL('./fixtures/io-checkpoint-writer.ts', import.meta.url));

test('a checkpoint writer killed at random moments never leaves a broken checkpoint', async (t) => {
  const dir = freshDir();
  const path = join(dir, 'ckpt.safetensors');
  let previous = 0;
  let killedMidWrite = 0;
  for (let round = 0; round < 6; round++) {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', writer, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // Wait until this run has saved at least once, then kill it at a random moment of its save loop.
    await Promise.race([
      new Promise<void>((resolve) => child.stdout!.once('data', () => resolve())),
      exited.then(() => assert.fail(`the writer exited before saving: ${stderr}`)),
    ]);
    await sleep(Math.random() * 250);
    child.kill('SIGKILL');
    await exited;
    if (readdirSync(dir).some((n) => n.endsWith('.tmp'))) killedMidWrite++;

    const ckpt = loadCheckpoint(path);
    const step = ckpt.progress.step as number;
    assert.ok(step > previous, `step went from ${previous} to ${step}`);
    // One save's contents throughout, not a mix of two.
    assert.ok(
      ckpt.model['layer.weight']!.toTypedArray().every((v) => v === step),
      `weights are not all ${step}`,
    );
    assert.deepEqual([...ckpt.model['layer.bias']!.toTypedArray()], [step]);
    assert.ok(
      ckpt.optimizer.tensors['0.exp_avg']!.toTypedArray().every((v) => v === -step),
      `moments not all ${-step}`,
    );
    assert.deepEqual(ckpt.optimizer.state, { step });
    assert.equal(ckpt.rng.s[0], step);
    previous = step;
  }
  t.diagnostic(`reached step ${previous}; ${killedMidWrite} of 6 kills left a temporary file behind`);

  // Leftover temporary files never affect loading; the next successful save removes them.
  const ckpt = loadCheckpoint(path);
  saveCheckpoint(path, ckpt);
  assert.deepEqual(readdirSync(dir), ['ckpt.safetensors']);
});

/** `bytes` with every occurrence of the ASCII text `from` replaced by `to` (of the same length). */
function replaceText(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = Buffer.from(bytes);
  const at = out.indexOf(from, 0, 'latin1');
  assert.ok(at >= 0, `'${from}' is in the file`);
  out.write(to, at, 'latin1');
  return out;
}

test('a Strata file whose checksum key is damaged is refused, not loaded unverified', () => {
  const dir = freshDir();
  const ckptPath = join(dir, 'ckpt.safetensors');
  saveCheckpoint(ckptPath, sampleCheckpoint());
  const good = readFileSync(ckptPath);
  const dataStart = 8 + Number(good.readBigUInt64LE(0));
  // One flipped bit renames the key ('6' is 0x36, '7' 0x37), a second one corrupts a weight.
  const renamed = Buffer.from(replaceText(good, 'strata.sha256', 'strata.sha257'));
  renamed[dataStart + 2]! ^= 0x40;
  writeFileSync(ckptPath, renamed);
  throwsStrata(
    () => loadCheckpoint(ckptPath),
    /corrupt.*Strata's entry 'strata\.sha257' but no 'strata\.sha256' checksum/,
  );
  throwsStrata(() => loadSafetensors(ckptPath), /corrupt/);

  const weightsPath = join(dir, 'w.safetensors');
  saveWeights(weightsPath, { w: new Tensor(new Float32Array([-0.438]), [1]) });
  for (const key of ['strata.sha257', 'strbta.sha256', 'strata/sha256']) {
    writeFileSync(weightsPath, replaceText(readFileSync(weightsPath), 'strata.sha256', key));
    throwsStrata(() => loadWeights(weightsPath), /corrupt/);
    throwsStrata(() => loadSafetensors(weightsPath), /corrupt/);
    saveWeights(weightsPath, { w: new Tensor(new Float32Array([-0.438]), [1]) });
  }
});

test('readers of Strata files refuse a file without a checksum; the plain reader loads it, unverified', () => {
  const dir = freshDir();
  const path = join(dir, 'torch.safetensors');
  writeFileSync(
    path,
    craft(
      { __metadata__: { format: 'pt' }, x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
      f32(1, 2),
    ),
  );
  throwsStrata(() => loadWeights(path), /loadWeights|no 'strata\.sha256' checksum.*use loadSafetensors/);
  throwsStrata(
    () => loadCheckpoint(path),
    /no 'strata\.sha256' checksum, so its contents cannot be verified/,
  );
  const plain = loadSafetensors(path);
  assert.equal(plain.verified, false);
  assertSameTensor(plain.tensors.x, new Tensor(new Float32Array([1, 2]), [2]));
  saveWeights(path, { x: plain.tensors.x! });
  assert.equal(loadSafetensors(path).verified, true);
  // A checkpoint's metadata without the checksum is a damaged Strata file even for the plain reader.
  writeFileSync(path, craft({ __metadata__: { 'strata.checkpoint': '{}' } }));
  throwsStrata(() => loadSafetensors(path), /corrupt.*'strata\.checkpoint' but no 'strata\.sha256'/);
});

test('errors about a deeply nested header value do not overflow the stack', () => {
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  for (const field of ['shape', 'data_offsets', 'dtype']) {
    const others: Record<string, string> = { dtype: '"F32"', shape: '[2]', data_offsets: '[0, 8]' };
    others[field] = deep;
    const json = `{"x":{${Object.entries(others)
      .map(([k, v]) => `"${k}":${v}`)
      .join(',')}}}`;
    throwsStrata(
      () => decodeSafetensors(craft(json, f32(1, 2)), 'deep.st'),
      /'deep\.st'.*an array of length 1/,
    );
  }
  const nested = sampleCheckpoint();
  const path = join(freshDir(), 'deep.safetensors');
  saveSafetensors(path, nested.model, {
    'strata.checkpoint': `{"format":2,"rng":${deep},"progress":{}}`,
  });
  throwsStrata(() => loadCheckpoint(path), /metadata is nested more than 64 levels deep/);
});

test('checkpoints with a malformed RNG state are refused', () => {
  const path = join(freshDir(), 'ckpt.safetensors');
  const cases: [unknown, RegExp][] = [
    [{ s: [0, 0, 0, 0], spare: null }, /four zeros/],
    [{ s: [1, 2, 3, 2 ** 32], spare: null }, /s\[3\] = 4294967296/],
    [{ s: [1, 2, 3, 4.5], spare: null }, /s\[3\] = 4\.5/],
    [{ s: [1, 2, 3, 4], spare: Number.NaN }, /spare = NaN/],
    [{ s: [1, 2, 3, 4], spare: Number.POSITIVE_INFINITY }, /spare = Infinity/],
    [{ s: [1, 2, 3, 4], spare: -9 }, /spare = -9/], // beyond any deviate Box–Muller gives
    [{ s: [1, 2, 3, 4] }, /spare = undefined/],
    [{ s: [1, 2, 3] }, /s = an array of length 3/],
  ];
  for (const [rng, pattern] of cases) {
    saveCheckpoint(path, { ...sampleCheckpoint(), rng: rng as Checkpoint['rng'] });
    throwsStrata(
      () => loadCheckpoint(path),
      new RegExp(`corrupt: it has no valid RNG state.*${pattern.source}`),
    );
  }
});

/** Little-endian bytes of each value as `width`-byte elements written by `write`. */
function packed(
  values: (number | bigint)[],
  width: number,
  write: (b: Buffer, v: never, at: number) => void,
) {
  const b = Buffer.alloc(values.length * width);
  for (let i = 0; i < values.length; i++) write(b, values[i] as never, i * width);
  return b;
}

test('safetensors reads I64 as int32, F16 and BF16 as float32 (as PyTorch and the hub store them)', () => {
  const i64 = packed([0n, -5n, 2n ** 31n - 1n, -(2n ** 31n)], 8, (b, v, at) => b.writeBigInt64LE(v, at));
  // Half: 1, -2, 0.5^24 (smallest subnormal), 65504 (largest), -0, ∞, NaN.
  const f16 = packed([0x3c00, 0xc000, 0x0001, 0x7bff, 0x8000, 0x7c00, 0x7e00], 2, (b, v, at) =>
    b.writeUInt16LE(v, at),
  );
  // bfloat16: 1, -3.140625, 1e38-ish (0x7e96), smallest subnormal.
  const bf16 = packed([0x3f80, 0xc049, 0x7e96, 0x0001], 2, (b, v, at) => b.writeUInt16LE(v, at));
  const header = {
    i: { dtype: 'I64', shape: [2, 2], data_offsets: [0, 32] },
    h: { dtype: 'F16', shape: [7], data_offsets: [32, 46] },
    b: { dtype: 'BF16', shape: [4], data_offsets: [46, 54] },
  };
  const { tensors } = decodeSafetensors(craft(header, Buffer.concat([i64, f16, bf16])));
  assertSameTensor(tensors.i, new Tensor(new Int32Array([0, -5, 2 ** 31 - 1, -(2 ** 31)]), [2, 2]));
  assertSameTensor(
    tensors.h,
    new Tensor(new Float32Array([1, -2, 2 ** -24, 65504, -0, Infinity, Number.NaN]), [7]),
  );
  const bits = new Uint32Array([0x3f800000, 0xc0490000, 0x7e960000, 0x00010000]);
  assertSameTensor(tensors.b, new Tensor(new Float32Array(bits.buffer), [4]));

  const big = packed([2n ** 31n], 8, (b, v, at) => b.writeBigInt64LE(v, at));
  throwsStrata(
    () => decodeSafetensors(craft({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big), 'n.st'),
    /'n\.st'.*'n' \(I64\) holds 2147483648 at element 0, outside the int32 range/,
  );
});

test('num_batches_tracked is written as I64, as PyTorch keeps it, and loads back as int32', () => {
  const path = join(freshDir(), 'bn.safetensors');
  const state = {
    'bn.num_batches_tracked': new Tensor(new Int32Array([7]), []),
    'bn.running_mean': new Tensor(new Float32Array([0.5, -1]), [2]),
    'other.count': new Tensor(new Int32Array([3]), []),
  };
  saveWeights(path, state);
  const bytes = readFileSync(path);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
  assert.equal(header['bn.num_batches_tracked'].dtype, 'I64');
  assert.equal(header['other.count'].dtype, 'I32');
  const back = loadWeights(path);
  for (const [k, t] of Object.entries(state)) assertSameTensor(back[k], t);
  const ckptPath = join(freshDir(), 'ckpt.safetensors');
  saveCheckpoint(ckptPath, { ...sampleCheckpoint(), model: state });
  assertSameTensor(loadCheckpoint(ckptPath).model['bn.num_batches_tracked'], state['bn.num_batches_tracked']);
});

// Files written by PyTorch (scripts/fixtures/safetensors.py), and the file Strata writes from one of them.
const fixtures = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));
interface TorchTensor {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}
const torchFiles = (
  JSON.parse(readFileSync(new URL('./fixtures/safetensors-torch.json', import.meta.url), 'utf8')) as {
    files: Record<string, Record<string, TorchTensor>>;
  }
).files;

test('safetensors written by PyTorch load with every value PyTorch holds (F32, F64, F16, BF16, I64)', () => {
  for (const [file, expected] of Object.entries(torchFiles)) {
    const { tensors, metadata, verified } = loadSafetensors(join(fixtures, `${file}.safetensors`));
    assert.equal(verified, false, `${file}: a PyTorch file cannot be verified`);
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected).sort());
    for (const [name, e] of Object.entries(expected)) {
      const t = tensors[name]!;
      assert.deepEqual([...t.shape], e.shape, `${file} ${name}: shape`);
      assert.equal(t.dtype, e.dtype === 'F64' ? 'float64' : e.dtype === 'I64' ? 'int32' : 'float32');
      // Widening to float32 is exact for half and bfloat16, so the values are equal, not merely close.
      assert.deepEqual([...t.toTypedArray()], e.values.map(Number), `${file} ${name}: values`);
    }
    throwsStrata(
      () => loadWeights(join(fixtures, `${file}.safetensors`)),
      /cannot be verified.*loadSafetensors/,
    );
  }
});

test('a BatchNorm state dict moves from PyTorch to Strata and back with num_batches_tracked as I64', () => {
  const { tensors } = loadSafetensors(join(fixtures, 'torch-batchnorm.safetensors'));
  const bn = new nn.BatchNorm1d(3);
  bn.loadStateDict(tensors);
  assert.equal(bn.numBatchesTracked!.item(), 2);
  // The bytes PyTorch was shown to load with no cast (see the script's --check): Strata still writes them.
  const path = join(freshDir(), 'bn.safetensors');
  saveWeights(path, bn.stateDict());
  assert.deepEqual(readFileSync(path), readFileSync(join(fixtures, 'strata-batchnorm.safetensors')));
});

test('writeFileAtomic: a failed write is a one-line StrataError naming the file and what to do; the old file stays', () => {
  const dir = freshDir();
  const path = join(dir, 'checkpoint.safetensors');
  writeFileAtomic(path, 'good');
  const cases: [FailingCall, string, RegExp][] = [
    ['writeSync', 'ENOSPC', /the disk is full; free some space.*--resume/],
    ['writeSync', 'EDQUOT', /the disk quota is used up/],
    ['openSync', 'EROFS', /the file system is read-only; choose a directory on a writable disk \(--out\)/],
    ['openSync', 'EACCES', /permission denied; choose a directory you can write/],
    ['fsyncSync', 'EIO', /the disk reported an input\/output error/],
    ['renameSync', 'EISDIR', /it is a directory/],
    ['openSync', 'EXDEV', /EXDEV: injected failure/],
  ];
  for (const [call, code, pattern] of cases) {
    withFailing(call, code, () => {
      throwsStrata(
        () => writeFileAtomic(path, 'new'),
        new RegExp(
          `^writeFileAtomic: cannot write '.*checkpoint\\.safetensors' \\(${code}\\): ${pattern.source}`,
        ),
      );
    });
    assert.equal(readFileSync(path, 'utf8'), 'good', `${code}: the old file is untouched`);
    assert.deepEqual(readdirSync(dir), ['checkpoint.safetensors'], `${code}: no temporary file is left`);
  }
});

test('ensureOutputDir: an unusable output directory is refused at once, in one sentence', () => {
  const dir = freshDir();
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  mkdirSync(join(dir, 'run', 'checkpoint.safetensors'), { recursive: true });
  const cases: [string, RegExp, string[]?][] = [
    ['', /the output directory is an empty string/],
    [file, /cannot use '.*a-file' as the output directory: '.*a-file' is a file, not a directory/],
    [
      join(file, 'below'),
      /cannot use the output directory '.*a-file\/below' \(ENOTDIR\): a part of the path is a file/,
    ],
    [
      join(dir, 'run'),
      /cannot write '.*checkpoint\.safetensors': it is a directory/,
      ['checkpoint.safetensors'],
    ],
    // Node's recursive mkdir spun forever here; even root cannot create directories in /proc or /sys
    // (ENOENT on Linux, as root and as other users; EACCES is accepted for systems that check
    // permissions first).
    ['/proc/strata-probe', /cannot create the output directory '\/proc\/strata-probe' \(E(NOENT|ACCES)\)/],
    ['/proc/strata-probe/deeper/still', /cannot create the output directory '\/proc\/strata-probe'/],
    ['/sys/strata-probe', /cannot create the output directory '\/sys\/strata-probe' \(E(PERM|ROFS|ACCES)\)/],
  ];
  for (const [out, pattern, files] of cases)
    throwsStrata(() => ensureOutputDir('fit', out, files), new RegExp(`^fit: ${pattern.source}`));
  // A directory that cannot be written (root may write anywhere, so the refusal is injected).
  for (const code of ['EACCES', 'EROFS']) {
    withFailing('openSync', code, () => {
      throwsStrata(
        () => ensureOutputDir('fit', join(dir, 'fresh')),
        new RegExp(`write in the output directory .*\\(${code}\\)`),
      );
    });
  }
  ensureOutputDir('fit', join(dir, 'made', 'two', 'levels'), ['checkpoint.safetensors']);
  assert.deepEqual(
    readdirSync(join(dir, 'made', 'two', 'levels')),
    [],
    'created, and the probe file is gone',
  );
});

test('every byte of a Strata header is covered: a change of spacing alone is refused too', () => {
  // A note of the length that leaves at least two padding spaces to play with.
  const encode = (note: string) =>
    encodeSafetensors({ w: new Tensor(new Float32Array([1, 2]), [2]) }, { note });
  const header = (b: Uint8Array) =>
    Buffer.from(b.subarray(8, 8 + Number(Buffer.from(b).readBigUInt64LE(0)))).toString('latin1');
  const bytes = [0, 1, 2, 3, 4, 5, 6, 7]
    .map((n) => encode('x'.repeat(n)))
    .find((b) => header(b).length - header(b).trimEnd().length >= 2)!;
  const json = header(bytes);
  const variants: [string, string][] = [
    [
      'a padding space made a newline',
      `${json.trimEnd()}\n${' '.repeat(json.length - json.trimEnd().length - 1)}`,
    ],
    [
      'a space after the first colon',
      `${json.trimEnd().replace(':', ': ')}${' '.repeat(json.length - json.trimEnd().length - 1)}`,
    ],
  ];
  for (const [what, text] of variants) {
    assert.equal(text.length, json.length, what);
    assert.deepEqual(JSON.parse(text), JSON.parse(json), `${what}: the same JSON`);
    const changed = Buffer.from(bytes);
    changed.write(text, 8, 'latin1');
    throwsStrata(
      () => decodeSafetensors(changed, 'w.st'),
      /'w\.st' is corrupt.*not byte for byte the form Strata writes/,
    );
  }
});

test('a Strata header with an unknown field nested 100,000 deep is refused, not a stack overflow', () => {
  const good = encodeSafetensors({ w: new Tensor(new Float32Array([1, 2]), [2]) });
  const json = Buffer.from(good.subarray(8, 8 + Number(Buffer.from(good).readBigUInt64LE(0))))
    .toString()
    .trimEnd();
  const deep = json.replace('"shape":[2]', `"shape":[2],"x":${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  throwsStrata(
    () => decodeSafetensors(craft(deep, good.subarray(good.length - 8)), 'd.st'),
    /'d\.st' is corrupt.*nested too deeply/,
  );
});
