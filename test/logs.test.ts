// Every assert.ok has a message: without one, node re-parses the (transpiled, one-line) source to write it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { StrataError } from '../src/errors.js';
import { crc32c, encodeRecord, maskedCrc32c } from '../src/io/tfrecord.js';
import '../src/ops/methods.js';
import {
  addParameterHistograms,
  CsvLogger,
  configMarkdown,
  JsonlLogger,
  makeHistogram,
  SummaryWriter,
} from '../src/io/logs/index.js';
import { Linear } from '../src/nn/layers.js';
import { tensor } from '../src/tensor/creation.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { imageGrid } from '../src/viz/grid.js';
import {
  crc32cBitwise,
  type ReadEvent,
  type ReadValue,
  readEventFile,
  readHparams,
  readRecords,
} from './event-reader.js';
import { tempDirs } from './tmpdirs.js';

const freshDir = tempDirs('logs');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function throwsStrata(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Every event file under `dir`, by its path relative to `dir`. */
function eventFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (name.split('/').pop()!.startsWith('events.out.tfevents.')) out.set(name, join(dir, name));
  }
  return out;
}

function onlyEventFile(dir: string): string {
  const files = [...eventFiles(dir).values()];
  assert.equal(files.length, 1, `one event file in ${dir}, got ${files.length}`);
  return files[0]!;
}

function summaries(path: string): ReadEvent[] {
  const events = readEventFile(readFileSync(path));
  assert.equal(events[0]?.fileVersion, 'brain.Event:2', 'the first event is the file version');
  assert.equal(events[0]?.values, undefined, 'the file-version event has no summary');
  return events.slice(1);
}

function onlyValue(e: ReadEvent): ReadValue {
  assert.equal(e.values?.length, 1, 'one value per event');
  return e.values[0]!;
}

function decodePixels(png: Uint8Array): { width: number; height: number; rgba: Buffer } {
  const img = PNG.sync.read(Buffer.from(png));
  return { width: img.width, height: img.height, rgba: img.data };
}

test('CRC-32C: the table-driven implementation matches the standard check values and a bitwise one', () => {
  // RFC 3720 (iSCSI), appendix B.4, and the "123456789" check value of the CRC catalogue.
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  const cases: [Uint8Array, number][] = [
    [new Uint8Array(32), 0x8a9136aa],
    [new Uint8Array(32).fill(0xff), 0x62a8ab43],
    [ascending, 0x46dd794e],
    [ascending.slice().reverse(), 0x113fdb5c],
    [ascii('123456789'), 0xe3069283],
    [new Uint8Array(0), 0],
  ];
  for (const [bytes, expected] of cases) {
    assert.equal(crc32c(bytes), expected, `table CRC of ${bytes.length} bytes`);
    assert.equal(crc32cBitwise(bytes), expected, `bitwise CRC of ${bytes.length} bytes`);
  }
  let seed = 7;
  for (let n = 0; n < 300; n += 7) {
    const bytes = Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    assert.equal(crc32c(bytes), crc32cBitwise(bytes), `random ${n} bytes`);
  }
  // The mask, worked by hand for "123456789": rotate 0xe3069283 right by 15, add 0xa282ead8 mod 2^32.
  const rotated = ((0xe3069283 >>> 15) | ((0xe3069283 & 0x7fff) << 17)) >>> 0;
  assert.equal(maskedCrc32c(ascii('123456789')), (rotated + 0xa282ead8) % 2 ** 32);
});

test('TFRecord framing: length, masked CRCs and data as TensorFlow lays them out', () => {
  const data = ascii('hello, tensorboard');
  const record = encodeRecord(data);
  assert.equal(record.length, 8 + 4 + data.length + 4);
  const view = new DataView(record.buffer);
  assert.equal(view.getBigUint64(0, true), BigInt(data.length));
  assert.equal(view.getUint32(8, true), maskedCrc32c(record.subarray(0, 8)));
  assert.deepEqual(record.subarray(12, 12 + data.length), data);
  assert.equal(view.getUint32(12 + data.length, true), maskedCrc32c(data));
  const two = new Uint8Array([...record, ...encodeRecord(new Uint8Array(0))]);
  const read = readRecords(two);
  assert.deepEqual(
    read.map((r) => [r.offset, [...r.data]]),
    [
      [0, [...data]],
      [record.length, []],
    ],
  );
});

interface Stored {
  shape: number[];
  data: number[];
}

interface FixtureCall {
  kind: 'addScalar' | 'addScalars' | 'addHistogram' | 'addImage' | 'addText';
  args: unknown[];
  options: Record<string, unknown>;
}

interface FixtureEvent {
  dir: string;
  step: number;
  tag: string;
  simpleValue?: number;
  histo?: Record<string, number | number[]>;
  image?: { height: number; width: number; colorspace: number; pixels: number[] };
  tensor?: { dtype: string; shape: number[]; strings: string[] };
  plugin?: { name: string; content: number[] };
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/logs.json', import.meta.url), 'utf8')) as {
  calls: FixtureCall[];
  events: FixtureEvent[];
};

/** Replays PyTorch's calls (scripts/fixtures/logs.py) on a Strata SummaryWriter, at the given wall times. */
function replay(writer: SummaryWriter, wallTime: (i: number) => number): void {
  fixture.calls.forEach((c, i) => {
    const [tag, value, step] = c.args as [string, unknown, number];
    const time = wallTime(i);
    if (c.kind === 'addScalar') writer.addScalar(tag, value as number, step, time);
    else if (c.kind === 'addScalars') writer.addScalars(tag, value as Record<string, number>, step, time);
    else if (c.kind === 'addHistogram')
      writer.addHistogram(tag, value as number[], step, { ...c.options, wallTime: time });
    else if (c.kind === 'addImage') {
      const img = value as Stored;
      const dtype = tag === 'grey' ? 'float64' : 'float32';
      const t = tensor(Float64Array.from(img.data), { shape: img.shape }).cast(dtype);
      writer.addImage(tag, t, step, { ...c.options, wallTime: time });
    } else writer.addText(tag, value as string, step, time);
  });
}

function closeTo(actual: number, expected: number, what: string): void {
  const tol = 1e-12 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs PyTorch's ${expected}`);
}

test('SummaryWriter writes what PyTorch writes, and an independent reader checks every CRC, tag, step, time and value', () => {
  const dir = freshDir();
  const before = Date.now() / 1000;
  const writer = new SummaryWriter(dir, { filenameSuffix: '.strata' });
  const wallTime = (i: number): number => 1.7e9 + i + 0.125;
  replay(writer, wallTime);
  writer.close();

  // The file names TensorBoard looks for: events.out.tfevents.<seconds>.<hostname>.<pid>.<n><suffix>.
  const files = eventFiles(dir);
  assert.deepEqual([...files.keys()].map((f) => f.split('/').slice(0, -1).join('/')).sort(), [
    '',
    'loss_train',
    'loss_valid/x',
  ]);
  for (const name of files.keys()) {
    const m = /^events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)\.strata$/.exec(name.split('/').pop()!);
    assert.ok(m, `event file name ${name}`);
    assert.equal(m[2], hostname());
    assert.equal(Number(m[3]), process.pid);
    assert.ok(Math.abs(Number(m[1]) - before) <= 5, `the name's seconds ${m[1]} are now`);
  }
  assert.equal(writer.path, join(dir, [...files.keys()].find((f) => !f.includes('/'))!));

  // Read every file back; readEventFile checks the length and data CRC of every record.
  const read: { dir: string; event: ReadEvent }[] = [];
  for (const [name, path] of files) {
    const events = readEventFile(readFileSync(path));
    const first = events[0]!;
    assert.equal(first.fileVersion, 'brain.Event:2');
    assert.equal(first.step, 0n);
    assert.ok(
      first.wallTime >= before - 1 && first.wallTime <= Date.now() / 1000 + 1,
      'file version wall time',
    );
    for (const event of events.slice(1)) read.push({ dir: relative(dir, join(dir, name, '..')), event });
  }
  const callOf = new Map<string, number>();
  fixture.calls.forEach((c, i) => {
    callOf.set(c.args[0] as string, i);
  });
  const key = (d: string, tag: string, step: number): string => `${d}|${tag}|${step}`;
  const mine = new Map(read.map((r) => [key(r.dir, onlyValue(r.event).tag, Number(r.event.step)), r.event]));
  assert.equal(mine.size, fixture.events.length, 'as many summaries as PyTorch wrote');

  for (const expected of fixture.events) {
    const event = mine.get(key(expected.dir, expected.tag, expected.step));
    assert.ok(event, `no event for ${expected.tag} at step ${expected.step} in '${expected.dir}'`);
    const v = onlyValue(event);
    const call = callOf.get(expected.tag.replace(/\/text_summary$/, ''))!;
    assert.equal(event.wallTime, wallTime(call), `${expected.tag}: wall time`);
    if (expected.simpleValue !== undefined) {
      assert.equal(v.simpleValue, Math.fround(expected.simpleValue), `${expected.tag}: float32 value`);
    }
    if (expected.histo) {
      const h = v.histo;
      assert.ok(h, `${expected.tag}: a histogram`);
      for (const field of ['min', 'max', 'num', 'sum', 'sumSquares'] as const)
        closeTo(h[field], expected.histo[field] as number, `${expected.tag}.${field}`);
      const limits = expected.histo.bucketLimit as number[];
      assert.equal(h.bucketLimit.length, limits.length, `${expected.tag}: bucket count`);
      // The default edges come from the same repeated multiplication, so they agree to the bit.
      for (const [i, l] of limits.entries())
        closeTo(h.bucketLimit[i]!, l, `${expected.tag}.bucketLimit[${i}]`);
      assert.deepEqual(h.bucket, expected.histo.bucket, `${expected.tag}: bucket counts`);
    }
    if (expected.image) {
      const img = v.image;
      assert.ok(img, `${expected.tag}: an image`);
      assert.equal(img.height, expected.image.height);
      assert.equal(img.width, expected.image.width);
      const png = decodePixels(img.png);
      assert.deepEqual([png.width, png.height], [img.width, img.height], `${expected.tag}: PNG size`);
      // PyTorch turns a grey image into RGB; Strata keeps one channel (colorspace 1), with the same bytes.
      const channels = expected.image.colorspace;
      assert.equal(img.colorspace, expected.tag === 'grey' ? 1 : channels);
      for (let p = 0; p < img.width * img.height; p++)
        for (let c = 0; c < channels; c++)
          assert.equal(
            png.rgba[p * 4 + c],
            expected.image.pixels[p * channels + c],
            `${expected.tag}: pixel ${p} channel ${c}`,
          );
    }
    if (expected.tensor) {
      assert.deepEqual(v.tensor, {
        dtype: 7,
        shape: expected.tensor.shape,
        strings: expected.tensor.strings,
      });
      assert.equal(expected.tensor.dtype, 'DT_STRING');
      assert.equal(v.pluginName, expected.plugin!.name);
      assert.deepEqual([...v.pluginContent!], expected.plugin!.content);
    }
  }
});

test('SummaryWriter: images in every layout, int32 bytes, RGBA and strided views', () => {
  const dir = freshDir();
  const writer = new SummaryWriter(dir);
  const hwc = tensor(
    [
      [
        [0, 0.5, 1],
        [0.25, 2, -1],
      ],
    ],
    { dtype: 'float64' },
  ); // [1, 2, 3]: H=1, W=2, C=3
  writer.addImage('hwc', hwc, 1, { dataformats: 'HWC' });
  writer.addImage('chw-view', hwc.permute([2, 0, 1]), 2); // the same image as a CHW view
  writer.addImage('bytes', tensor(new Int32Array([0, 7, 128, 255]), { shape: [2, 2] }), 3, {
    dataformats: 'HW',
  });
  writer.addImage('rgba', tensor(new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]), { shape: [2, 1, 4] }), 4, {
    dataformats: 'HWC',
  });
  writer.close();
  const byTag = new Map(summaries(onlyEventFile(dir)).map((e) => [onlyValue(e).tag, onlyValue(e).image!]));
  // 0.5·255 = 127.5 and 0.25·255 = 63.75 are truncated, as PyTorch does; 2 and -1 are clamped.
  const expected = [0, 127, 255, 63, 255, 0];
  for (const tag of ['hwc', 'chw-view']) {
    const img = byTag.get(tag)!;
    assert.deepEqual([img.height, img.width, img.colorspace], [1, 2, 3], tag);
    const { rgba } = decodePixels(img.png);
    assert.deepEqual([rgba[0], rgba[1], rgba[2], rgba[4], rgba[5], rgba[6]], expected, tag);
  }
  const grey = byTag.get('bytes')!;
  assert.equal(grey.colorspace, 1);
  assert.deepEqual(
    [...decodePixels(grey.png).rgba].filter((_, i) => i % 4 === 0),
    [0, 7, 128, 255],
  );
  const rgba = byTag.get('rgba')!;
  assert.equal(rgba.colorspace, 4);
  assert.deepEqual([...decodePixels(rgba.png).rgba], [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('addHparams writes the hparams plugin data (experiment, session start and end) and the metrics, in the run directory', () => {
  const dir = freshDir();
  const writer = new SummaryWriter(dir);
  writer.addHparams(
    { lr: 0.1, optimizer: 'sgd', nesterov: true, dropout: null },
    { 'hparam/accuracy': 0.96875, 'hparam/loss': tensor([0.125]) },
    { runName: 'trial-1', hparamDomainDiscrete: { optimizer: ['sgd', 'adam'] } },
  );
  writer.close();
  assert.equal(summaries(writer.path).length, 0, 'nothing in the main file');
  const values = summaries(onlyEventFile(join(dir, 'trial-1'))).map((e) => {
    assert.equal(e.step, 0n);
    return onlyValue(e);
  });
  assert.deepEqual(
    values.map((v) => v.tag),
    [
      '_hparams_/experiment',
      '_hparams_/session_start_info',
      '_hparams_/session_end_info',
      'hparam/accuracy',
      'hparam/loss',
    ],
  );
  for (const v of values.slice(0, 3)) assert.equal(v.pluginName, 'hparams');
  const [experiment, start, end] = values.slice(0, 3).map((v) => readHparams(v.pluginContent!));
  assert.deepEqual(experiment, {
    version: 0,
    experiment: {
      hparams: [
        { name: 'lr', type: 3 },
        { name: 'optimizer', type: 1, domain: ['sgd', 'adam'] },
        { name: 'nesterov', type: 2 },
      ],
      metrics: ['hparam/accuracy', 'hparam/loss'],
    },
  });
  assert.deepEqual(start, { version: 0, sessionStart: { lr: 0.1, optimizer: 'sgd', nesterov: true } });
  assert.deepEqual(end, { version: 0, sessionEndStatus: 1 });
  assert.deepEqual(
    values.slice(3).map((v) => v.simpleValue),
    [0.96875, 0.125],
  );
  throwsStrata(
    () => writer.addHparams({ lr: [1] } as unknown as Record<string, number>, {}),
    /hparams.lr is an array/,
  );
  throwsStrata(
    () => writer.addHparams({ lr: 1 }, {}, { hparamDomainDiscrete: { lr: ['a'] } }),
    /hparamDomainDiscrete.lr must be an array of numbers/,
  );
  throwsStrata(
    () => writer.addHparams({ lr: 1 }, {}, { hparamDomainDiscrete: { wd: [1] } }),
    /names no hyperparameter/,
  );
  throwsStrata(
    () => writer.addHparams({}, { acc: 'x' } as unknown as Record<string, number>),
    /metrics.acc must be a number/,
  );
});

test('addImage takes 8-bit pixels as viz draws them, such as a grid of first-layer filters', () => {
  const dir = freshDir();
  const writer = new SummaryWriter(dir);
  const weight = tensor(
    Float64Array.from({ length: 18 }, (_, i) => Math.sin(i)),
    { shape: [2, 1, 3, 3] },
  );
  const grid = imageGrid(weight, { scale: 2, colormap: 'diverging' });
  writer.addImage('filters/conv1', grid, 5);
  const grey = { width: 2, height: 1, channels: 1 as const, data: new Uint8Array([9, 250]) };
  writer.addImage('grey', grey, 6, { dataformats: 'HWC' });
  throwsStrata(
    () => writer.addImage('x', grey, 0, { dataformats: 'CHW' }),
    /8-bit pixels are laid out 'HWC'/,
  );
  throwsStrata(
    () => writer.addImage('x', { ...grey, data: new Uint8Array(3) }, 0),
    /a 2×1 image with 1 channels needs 2 bytes, got 3/,
  );
  throwsStrata(() => writer.addImage('x', { ...grey, channels: 2 as 1 }, 0), /1, 3 or 4 channels, got 2/);
  writer.close();
  const [filters, small] = summaries(writer.path).map((e) => onlyValue(e).image!);
  assert.deepEqual(
    [filters!.width, filters!.height, filters!.colorspace],
    [grid.width, grid.height, grid.channels],
  );
  const { rgba } = decodePixels(filters!.png);
  for (let p = 0; p < grid.width * grid.height; p++)
    for (let c = 0; c < grid.channels; c++)
      assert.equal(rgba[p * 4 + c], grid.data[p * grid.channels + c], `pixel ${p} channel ${c}`);
  assert.deepEqual([...decodePixels(small!.png).rgba], [9, 9, 9, 255, 250, 250, 250, 255]);
});

test('addParameterHistograms logs every parameter and every gradient present; configMarkdown tabulates a config', () => {
  const dir = freshDir();
  const writer = new SummaryWriter(dir);
  const layer = new Linear(3, 2);
  layer
    .forward(tensor([[1, 2, 3]]))
    .sum()
    .backward();
  layer.bias!.grad = null; // a parameter without a gradient gets no gradient histogram
  addParameterHistograms(writer, layer, 7);
  writer.close();
  const read = summaries(writer.path).map((e) => [onlyValue(e).tag, onlyValue(e).histo!] as const);
  assert.deepEqual(
    read.map(([tag]) => tag),
    ['parameters/weight', 'gradients/weight', 'parameters/bias'],
  );
  const expected = [layer.weight, layer.weight.grad!, layer.bias!].map((t) =>
    makeHistogram(t.toTypedArray()),
  );
  read.forEach(([, h], i) => {
    assert.deepEqual(h, expected[i], `histogram ${i}`);
  });
  throwsStrata(() => addParameterHistograms(writer, {} as Linear, 0), /model must be a Module/);

  assert.equal(
    configMarkdown({
      model: 'lenet',
      optimizer: { name: 'sgd', lr: 0.1 },
      layers: [1, 2],
      note: 'a|b\nc',
      none: null,
    }),
    [
      '| key | value |',
      '|---|---|',
      '| model | "lenet" |',
      '| optimizer.name | "sgd" |',
      '| optimizer.lr | 0.1 |',
      '| layers | [1,2] |',
      '| note | "a\\|b\\nc" |',
      '| none | null |',
    ].join('\n'),
  );
  throwsStrata(() => configMarkdown([] as unknown as Record<string, unknown>), /config must be an object/);
});

test('makeHistogram: buckets worked out by hand', () => {
  // Four equal buckets over [0.1, 0.9]: 0.1, 0.2, 0.2 in the first, 0.9 closes the last.
  const h = makeHistogram([0.1, 0.2, 0.2, 0.9], { bins: 4 });
  assert.deepEqual(h.bucket, [0, 3, 0, 0, 1]);
  assert.deepEqual(h.bucketLimit, [0.1, 0.2 + 0.1, 2 * 0.2 + 0.1, 3 * 0.2 + 0.1, 0.9]);
  assert.deepEqual([h.min, h.max, h.num], [0.1, 0.9, 4]);
  assert.equal(h.sum, 0.1 + 0.2 + 0.2 + 0.9);
  assert.equal(h.sumSquares, 0.1 * 0.1 + 0.2 * 0.2 + 0.2 * 0.2 + 0.9 * 0.9);
  // Given edges: a value on an inner edge goes right, values outside are not counted; only the buckets
  // from the first to the last non-empty one stay, after one empty bucket ending where they start.
  const e = makeHistogram([-5, 1, 2, 2.5, 3, 9], { bins: [0, 1, 2, 3, 4, 5] });
  assert.deepEqual(e.bucketLimit, [1, 2, 3, 4]);
  assert.deepEqual(e.bucket, [0, 1, 2, 1]);
  assert.equal(e.num, 6, 'num, min and max cover every value');
  assert.deepEqual([e.min, e.max], [-5, 9]);
  // A constant: numpy's unit-wide range around it, [1.5, 2) and [2, 2.5]; the first bucket is empty,
  // so it becomes the lead bucket, ending at 2.
  const c = makeHistogram(new Float32Array([2, 2]), { bins: 2 });
  assert.deepEqual(
    [c.bucketLimit, c.bucket],
    [
      [2, 2.5],
      [0, 2],
    ],
  );
  // The default edges: 0 and ±1e-12·1.1^k below 1e20; 1 falls in the bucket whose right edge is the first above it.
  const d = makeHistogram([1]);
  assert.equal(d.bucket.length, 2);
  assert.deepEqual(d.bucket, [0, 1]);
  assert.ok(d.bucketLimit[0]! <= 1 && d.bucketLimit[1]! > 1, `1 in (${d.bucketLimit}]`);
  assert.ok(Math.abs(d.bucketLimit[1]! / d.bucketLimit[0]! - 1.1) < 1e-9, 'buckets 10% wide');
  // maxBins merges whole runs of neighbours: 6 buckets to at most 3 is runs of ⌊6 / 3⌋ = 2.
  const m = makeHistogram([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], { bins: [0, 1, 2, 3, 4, 5, 6], maxBins: 3 });
  assert.deepEqual(
    [m.bucketLimit, m.bucket],
    [
      [0, 2, 4, 6],
      [0, 2, 2, 2],
    ],
  );
});

test('makeHistogram and addHistogram refuse what TensorBoard cannot show, saying why', () => {
  throwsStrata(() => makeHistogram([]), /makeHistogram: got no values/);
  throwsStrata(() => makeHistogram([1, Number.NaN, Infinity]), /2 of 3 values are NaN or infinite/);
  throwsStrata(() => makeHistogram([1], { bins: 0 }), /bins must be 'tensorflow', a positive integer/);
  throwsStrata(
    () => makeHistogram([1], { bins: [0, 2, 1] }),
    /edges must be finite and increasing.*edge 2 is 1/,
  );
  throwsStrata(() => makeHistogram([7], { bins: [0, 1] }), /none of the 1 values.*falls inside the bins/);
  throwsStrata(() => makeHistogram([1], { maxBins: 1.5 }), /maxBins must be a positive integer/);
  const writer = new SummaryWriter(freshDir());
  throwsStrata(() => writer.addHistogram('w', [1, 'x'] as unknown as number[], 0), /values\[1\] is "x"/);
  throwsStrata(
    () => writer.addHistogram('w', [1], 0, { bins: 'auto' as 'tensorflow' }),
    /addHistogram: bins/,
  );
  writer.close();
});

test('SummaryWriter queues events and writes them on flush, when the queue is full, when due, and on close', () => {
  const dir = freshDir();
  const writer = new SummaryWriter(dir, { maxQueue: 3 });
  const count = (): number => summaries(writer.path).length;
  assert.equal(count(), 0, 'the file-version record is written at once');
  writer.addScalar('a', 1, 1);
  writer.addScalar('a', 2, 2);
  assert.equal(count(), 0, 'queued');
  writer.addScalar('a', 3, 3);
  assert.equal(count(), 3, 'the third fills the queue');
  writer.addScalar('a', 4, 4);
  writer.flush();
  assert.equal(count(), 4, 'flush writes');
  writer.addScalar('a', 5, 5);
  writer.close();
  assert.deepEqual(
    summaries(writer.path).map((e) => onlyValue(e).simpleValue),
    [1, 2, 3, 4, 5],
  );
  writer.close(); // twice is harmless
  throwsStrata(() => writer.addScalar('a', 6, 6), /already closed; create a new writer/);

  const eager = new SummaryWriter(freshDir(), { flushSecs: 0 });
  eager.addText('note', 'due at once', 0);
  assert.equal(summaries(eager.path).length, 1, 'flushSecs 0 writes every event as it comes');
  eager.close();
});

test('queued events are written when the process exits without close()', () => {
  const dir = freshDir();
  const script = `
    import { SummaryWriter } from './src/io/logs/index.ts';
    const writer = new SummaryWriter(${JSON.stringify(dir)});
    for (let step = 1; step <= 3; step++) writer.addScalar('loss', 1 / step, step);
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(
    summaries(onlyEventFile(dir)).map((e) => [Number(e.step), onlyValue(e).simpleValue]),
    [1, 2, 3].map((s) => [s, Math.fround(1 / s)]),
  );
});

test('a truncated or corrupted event file is detected by the reader', () => {
  const dir = freshDir();
  const writer = new SummaryWriter(dir);
  writer.addScalar('loss', 0.5, 1);
  writer.addText('config', 'x', 0);
  writer.close();
  const bytes = readFileSync(writer.path);
  const records = readRecords(bytes);
  assert.equal(records.length, 3);
  const lastStart = records[2]!.offset;
  // A killed writer leaves a prefix of its last record: every cut inside it is caught.
  for (let cut = lastStart + 1; cut < bytes.length; cut++)
    assert.throws(() => readRecords(bytes.subarray(0, cut)), /truncated record at \d+/, `cut at ${cut}`);
  assert.equal(
    readRecords(bytes.subarray(0, lastStart)).length,
    2,
    'a cut between records loses only what follows',
  );
  const flipped = Uint8Array.from(bytes);
  flipped[lastStart + 14]! ^= 0x10;
  assert.throws(() => readRecords(flipped), /bad data CRC at/);
  const badLength = Uint8Array.from(bytes);
  badLength[lastStart]! ^= 1;
  assert.throws(() => readRecords(badLength), /bad length CRC at/);
});

test('SummaryWriter validates its arguments and refuses PyTorch-style positional extras', () => {
  const dir = freshDir();
  throwsStrata(() => new SummaryWriter(''), /logDir must be a directory path/);
  throwsStrata(
    () => new (SummaryWriter as unknown as new (...a: unknown[]) => SummaryWriter)(dir, 'comment'),
    /SummaryWriter: expected an options object, got "comment"/,
  );
  throwsStrata(
    () => new SummaryWriter(dir, { flush_secs: 1 } as object),
    /unknown option flush_secs; accepted: flushSecs/,
  );
  throwsStrata(() => new SummaryWriter(dir, { flushSecs: -1 }), /flushSecs must be a number of seconds ≥ 0/);
  throwsStrata(
    () => new SummaryWriter(dir, { filenameSuffix: '/x' }),
    /filenameSuffix must be a string without/,
  );
  const writer = new SummaryWriter(dir);
  throwsStrata(() => writer.addScalar('', 1, 0), /addScalar: tag must be a non-empty string/);
  throwsStrata(() => writer.addScalar('a', 1, 1.5), /addScalar: step must be an integer/);
  throwsStrata(
    () => writer.addScalar('a', 'x' as unknown as number, 1),
    /value must be a number or a one-element Tensor/,
  );
  throwsStrata(() => writer.addScalar('a', 1, 1, Number.NaN), /wallTime must be seconds since 1970/);
  throwsStrata(
    () => (writer.addScalar as (...a: unknown[]) => void)('a', 1, 1, 2, true, false),
    /takes at most 4 arguments, got 6/,
  );
  throwsStrata(
    () => writer.addScalars('loss', { train: 1, test: 'x' as unknown as number }, 0),
    /addScalars: values.test must be a number/,
  );
  assert.deepEqual(
    readdirSync(dir).filter((d) => d.startsWith('loss_')),
    [],
    'a bad value leaves no series half-written',
  );
  throwsStrata(
    () => writer.addScalars('loss', [1, 2] as unknown as Record<string, number>, 0),
    /values must be an object/,
  );
  throwsStrata(() => writer.addImage('i', [[1]] as unknown as Tensor, 0), /img must be a Tensor/);
  throwsStrata(
    () => writer.addImage('i', tensor([[1, 2]]), 0),
    /a 'CHW' image needs a 3-d tensor, got shape \[1, 2\]/,
  );
  throwsStrata(() => writer.addImage('i', tensor([[[1]], [[1]]]), 0), /1, 3 or 4 channels, got 2/);
  throwsStrata(
    () => writer.addImage('i', tensor(new Int32Array([0, 300]), { shape: [1, 2] }), 0, { dataformats: 'HW' }),
    /int32 image holds bytes 0…255, got 300/,
  );
  throwsStrata(
    () => writer.addImage('i', tensor([[1]]), 0, { dataformats: 'WH' as 'HW' }),
    /dataformats must be/,
  );
  throwsStrata(() => writer.addText('t', 5 as unknown as string, 0), /text must be a string/);
  writer.addScalar('from a tensor', tensor([0.25]), 2);
  // Steps are int64: past 2^32 and below zero they come back as they went in.
  writer.addScalar('far', 1, 5_000_000_123);
  writer.addScalar('before', 1, -1);
  writer.close();
  const read = summaries(writer.path);
  assert.equal(onlyValue(read[0]!).simpleValue, 0.25);
  assert.deepEqual(
    read.map((e) => e.step),
    [2n, 5_000_000_123n, -1n],
  );
});

test('write failures are one StrataError naming the path and what to do', () => {
  const dir = freshDir();
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, 'x');
  throwsStrata(
    () => new SummaryWriter(join(file, 'run')),
    /SummaryWriter: cannot .*not-a-dir.*(ENOTDIR|EEXIST)/,
  );
  throwsStrata(() => new JsonlLogger(dir), /JsonlLogger: cannot open '.*' \(EISDIR\): it is a directory/);
});

test('a full disk (ENOSPC) is one StrataError naming the path and what to do', {
  skip: !existsSync('/dev/full') && 'needs /dev/full',
}, () => {
  const log = new JsonlLogger('/dev/full', { append: true });
  throwsStrata(
    () => log.log({ step: 1, loss: 0.5 }),
    /JsonlLogger: cannot write to '\/dev\/full' \(ENOSPC\): the disk is full: free some space/,
  );
  log.close();
});

test('a write that fails part-way is cut back off, so the log ends with its last whole line', () => {
  const path = join(freshDir(), 'm.jsonl');
  // A file-size limit of 1 KiB (bash's ulimit -f counts 1024-byte blocks) makes the line that crosses it
  // fail after part of it was written; with SIGXFSZ handled, the write reports EFBIG instead of killing.
  const script = `
    import { JsonlLogger } from './src/io/logs/index.ts';
    process.on('SIGXFSZ', () => {});
    const log = new JsonlLogger(${JSON.stringify(path)});
    try {
      for (let step = 1; step <= 100; step++) log.log({ step, note: 'x'.repeat(50) });
    } catch (e) {
      console.log(e.name + ': ' + e.message);
    }
  `;
  const child = spawnSync(
    'bash',
    ['-c', 'ulimit -f 1 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  assert.equal(child.status, 0, child.stderr);
  assert.match(
    child.stdout,
    /StrataError: JsonlLogger: cannot write to '.*m\.jsonl' \(EFBIG\): the file has reached the largest size/,
  );
  const text = readFileSync(path, 'utf8');
  assert.ok(text.length > 0 && text.length <= 1024, `${text.length} bytes, within the limit`);
  const read = lines(path).map((l) => JSON.parse(l) as { step: number });
  assert.deepEqual(
    read.map((r) => r.step),
    Array.from({ length: read.length }, (_, i) => i + 1),
  );
});

/** Lines of a file, the last one (after the final newline) left out. */
function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'), 'every line ends with a newline');
  return text.slice(0, -1).split('\n');
}

test('JsonlLogger: one JSON object per line, numbers that read back exactly, NaN and ±Infinity as strings', () => {
  const path = join(freshDir(), 'runs', 'metrics.jsonl');
  const log = new JsonlLogger(path);
  const awkward = [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, 123456789012345680000, -0];
  log.log({ epoch: 1, step: 10, loss: awkward[0]!, name: 'a "quoted"\nname', ok: true, lr: null });
  log.log({ step: 11, values: 0, x: awkward[1]!, tiny: awkward[2]!, big: awkward[3]!, int: awkward[4]! });
  log.log({ negZero: -0, nan: Number.NaN, inf: Infinity, ninf: -Infinity });
  log.close();
  const read = lines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(read.length, 3);
  assert.deepEqual(read[0], {
    epoch: 1,
    step: 10,
    loss: awkward[0],
    name: 'a "quoted"\nname',
    ok: true,
    lr: null,
  });
  assert.deepEqual(read[1], {
    step: 11,
    values: 0,
    x: awkward[1],
    tiny: 5e-324,
    big: awkward[3],
    int: awkward[4],
  });
  assert.ok(Object.is(read[2]!.negZero, -0), '-0 keeps its sign');
  assert.deepEqual(read[2], { negZero: -0, nan: 'NaN', inf: 'Infinity', ninf: '-Infinity' });
  throwsStrata(
    () => new JsonlLogger(path).log({ a: [1] } as unknown as Record<string, number>),
    /'a' is an array of length 1; a record holds numbers, strings, booleans or null/,
  );
  throwsStrata(
    () => new JsonlLogger(path).log({ a: undefined } as unknown as Record<string, number>),
    /'a' is undefined/,
  );
});

test('JsonlLogger and CsvLogger: append continues a file, dropping a line a killed run left half-written', () => {
  const dir = freshDir();
  const jsonl = join(dir, 'm.jsonl');
  writeFileSync(jsonl, '{"step":1}\n{"step":2}\n{"st');
  const log = new JsonlLogger(jsonl, { append: true });
  log.log({ step: 3 });
  log.close();
  assert.deepEqual(lines(jsonl), ['{"step":1}', '{"step":2}', '{"step":3}']);
  const fresh = new JsonlLogger(jsonl);
  fresh.close();
  assert.equal(statSync(jsonl).size, 0, 'without append the file starts empty');

  const csv = join(dir, 'm.csv');
  writeFileSync(csv, 'epoch,"loss, train"\n1,0.5\n2,0.');
  const table = new CsvLogger(csv, { append: true });
  assert.deepEqual(table.columns, ['epoch', 'loss, train']);
  table.log({ epoch: 2, 'loss, train': 0.25 });
  table.close();
  assert.deepEqual(lines(csv), ['epoch,"loss, train"', '1,0.5', '2,0.25']);
});

/** Parses CSV text (RFC 4180) into rows of fields, independently of the writer. */
function parseCsv(text: string, sep = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (quoted) field += ch;
    else if (ch === sep) {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  assert.equal(field + row.join(''), '', 'the text ends with a newline');
  return rows;
}

test('CsvLogger: header from the first record, empty cells for missing keys, exact numbers, quoting', () => {
  const path = join(freshDir(), 'metrics.csv');
  const csv = new CsvLogger(path);
  assert.equal(csv.columns, null);
  csv.log({ epoch: 1, loss: 0.1 + 0.2, note: 'a, "b"\nc', lr: null });
  csv.log({ epoch: 2, loss: -0, lr: 1e-300 });
  csv.log({ loss: Number.NaN, epoch: 3, note: 'plain', lr: Infinity });
  assert.deepEqual(csv.columns, ['epoch', 'loss', 'note', 'lr']);
  throwsStrata(
    () => csv.log({ epoch: 4, loss: 1, accuracy: 0.9, top5: 1 }),
    /CsvLogger.log: 'accuracy', 'top5' are not columns of '.*metrics\.csv' \(columns: epoch, loss, note, lr\); a CSV file cannot add a column part-way/,
  );
  csv.close();
  const rows = parseCsv(readFileSync(path, 'utf8'));
  assert.deepEqual(rows, [
    ['epoch', 'loss', 'note', 'lr'],
    ['1', String(0.1 + 0.2), 'a, "b"\nc', ''],
    ['2', '-0', '', '1e-300'],
    ['3', 'NaN', 'plain', 'Infinity'],
  ]);
  assert.ok(
    Object.is(Number(rows[2]![1]), -0) && Number(rows[1]![1]) === 0.1 + 0.2,
    'numbers read back exactly',
  );

  const semi = join(freshDir(), 'semi.csv');
  const s = new CsvLogger(semi, { separator: ';' });
  s.log({ a: 1.5, b: 'x;y' });
  s.close();
  assert.equal(readFileSync(semi, 'utf8'), 'a;b\n1.5;"x;y"\n');
  throwsStrata(() => new CsvLogger(semi, { separator: '"' }), /separator must be one character other than/);
  throwsStrata(
    () => new CsvLogger(semi, { sep: ';' } as object),
    /unknown option sep; accepted: append, separator/,
  );
  throwsStrata(() => new CsvLogger(semi).log({}), /the first record has no keys/);
});

test('a run killed mid-training leaves every complete line of its JSON-lines and CSV logs readable', () => {
  const dir = freshDir();
  const script = `
    import { CsvLogger, JsonlLogger } from './src/io/logs/index.ts';
    const jsonl = new JsonlLogger(${JSON.stringify(join(dir, 'm.jsonl'))});
    const csv = new CsvLogger(${JSON.stringify(join(dir, 'm.csv'))});
    for (let step = 1; step <= 50; step++) {
      jsonl.log({ step, loss: 1 / step });
      csv.log({ step, loss: 1 / step });
    }
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(child.signal, 'SIGKILL', `the child was killed (stderr: ${child.stderr})`);
  const json = lines(join(dir, 'm.jsonl')).map((l) => JSON.parse(l) as { step: number; loss: number });
  assert.deepEqual(
    json.map((r) => [r.step, r.loss]),
    Array.from({ length: 50 }, (_, i) => [i + 1, 1 / (i + 1)]),
  );
  const rows = parseCsv(readFileSync(join(dir, 'm.csv'), 'utf8'));
  assert.equal(rows.length, 51);
  assert.deepEqual(rows[50], ['50', String(1 / 50)]);
});

test('the line loggers cut back to a size they had (a resumed checkpoint), and refuse any other', () => {
  const dir = freshDir();
  const jsonl = new JsonlLogger(join(dir, 'm.jsonl'));
  jsonl.log({ step: 1, loss: 0.5 });
  const at = jsonl.size;
  jsonl.log({ step: 2, loss: 0.4 });
  jsonl.truncate(at);
  jsonl.log({ step: 2, loss: 0.3 });
  jsonl.close();
  assert.equal(readFileSync(join(dir, 'm.jsonl'), 'utf8'), '{"step":1,"loss":0.5}\n{"step":2,"loss":0.3}\n');

  const csv = new CsvLogger(join(dir, 'm.csv'));
  csv.log({ epoch: 1, loss: 0.5 });
  throwsStrata(
    () => csv.truncate(3),
    /CsvLogger\.truncate: expected a size the file had before: 0 or 11 to 17 bytes, got 3/,
  );
  throwsStrata(() => csv.truncate(99), /0 or 11 to 17 bytes, got 99/);
  throwsStrata(() => csv.truncate(-1), /got -1/);
  csv.truncate(11);
  csv.log({ epoch: 2, loss: 0.4 });
  // Back to nothing: the next record's keys are the columns again.
  csv.truncate(0);
  csv.log({ step: 7 });
  csv.close();
  assert.equal(readFileSync(join(dir, 'm.csv'), 'utf8'), 'step\n7\n');
  // A continued file knows its header's size from the text it keeps.
  const again = new CsvLogger(join(dir, 'm.csv'), { append: true });
  throwsStrata(() => again.truncate(2), /0 or 5 to 7 bytes, got 2/);
  again.close();
});
