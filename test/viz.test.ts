// Every assert.ok has a message: without one, node re-parses the transpiled source to write it, which is slow.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import '../src/ops/methods.js';
import { StrataError } from '../src/errors.js';
import { resnetMnist } from '../src/models/resnet.js';
import { ReLU } from '../src/nn/activation.js';
import { Conv2d } from '../src/nn/conv.js';
import { Flatten, Linear } from '../src/nn/layers.js';
import { Sequential } from '../src/nn/sequential.js';
import { manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { featureFigure } from '../src/viz/features.js';
import { filterFigure, gridColumns } from '../src/viz/filters.js';
import { lineExtent, textWidth } from '../src/viz/font.js';
import { divergingColor, imageGrid, saveImageGrid } from '../src/viz/grid.js';
import {
  type LineChart,
  lineChartImage,
  lineChartSvg,
  saveLineChart,
  saveTrainingCurves,
} from '../src/viz/plot.js';
import { decodePng, encodePng, type ImageBuffer, loadPng, savePng, toImageBuffer } from '../src/viz/png.js';
import { renderSvg, svgHeader } from '../src/viz/svg.js';
import { saveWordMap, wordMapLayout } from '../src/viz/wordmap.js';
import { tempDirs } from './tmpdirs.js';

const freshDir = tempDirs('viz');

function throwsStrata(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StrataError, `expected a StrataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** The pixel at (x, y) as an array of its channels. */
function pixel(img: ImageBuffer, x: number, y: number): number[] {
  const p = (y * img.width + x) * img.channels;
  return [...img.data.subarray(p, p + img.channels)];
}

/** The bounding box of the pixels darker than `level` in every channel (ink on white), or null. */
function inkBox(
  img: ImageBuffer,
  region = { x0: 0, y0: 0, x1: img.width, y1: img.height },
  level = 200,
): { x0: number; y0: number; x1: number; y1: number; count: number } | null {
  let box: { x0: number; y0: number; x1: number; y1: number; count: number } | null = null;
  for (let y = region.y0; y < region.y1; y++)
    for (let x = region.x0; x < region.x1; x++) {
      if (!pixel(img, x, y).every((c) => c < level)) continue;
      box ??= { x0: x, y0: y, x1: x + 1, y1: y + 1, count: 0 };
      [box.x0, box.y0] = [Math.min(box.x0, x), Math.min(box.y0, y)];
      [box.x1, box.y1] = [Math.max(box.x1, x + 1), Math.max(box.y1, y + 1)];
      box.count++;
    }
  return box;
}

/** Width, height, bit depth and colour type from a PNG's IHDR chunk, read straight from the bytes. */
function ihdr(bytes: Uint8Array): { width: number; height: number; depth: number; colorType: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  assert.equal(String.fromCharCode(...bytes.subarray(12, 16)), 'IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20), depth: bytes[24]!, colorType: bytes[25]! };
}

test('PNG round trip: grey and RGB pixels come back exactly, with the right size and colour type', () => {
  const dir = freshDir();
  const grey = {
    width: 3,
    height: 2,
    channels: 1 as const,
    data: new Uint8Array([0, 1, 127, 128, 254, 255]),
  };
  const rgbData = new Uint8Array(4 * 5 * 3).map((_, i) => (i * 37) % 256);
  const rgb = { width: 4, height: 5, channels: 3 as const, data: rgbData };
  for (const [name, image, colorType] of [
    ['grey.png', grey, 0],
    ['rgb.png', rgb, 2],
  ] as const) {
    const path = join(dir, name);
    savePng(path, image);
    const bytes = readFileSync(path);
    assert.deepEqual(ihdr(bytes), { width: image.width, height: image.height, depth: 8, colorType });
    const back = loadPng(path);
    assert.equal(back.width, image.width);
    assert.equal(back.height, image.height);
    assert.equal(back.channels, image.channels);
    assert.deepEqual([...back.data], [...image.data]);
  }
  // Written through a temporary file that is renamed: nothing else is left in the directory.
  assert.deepEqual(readdirSync(dir).sort(), ['grey.png', 'rgb.png']);
});

test('PNG from floats: [0, 1] is clamped and scaled to bytes, or min–max normalised', () => {
  const data = new Float32Array([-0.5, 0, 0.5, 1, 2, Number.NaN]);
  const clamped = decodePng(encodePng({ width: 6, height: 1, channels: 1, data }));
  assert.deepEqual([...clamped.data], [0, 0, 128, 255, 255, 0]);
  const stretched = toImageBuffer(
    { width: 2, height: 2, channels: 1, data: new Float64Array([-3, 1, 5, 1]) },
    {
      normalize: 'minmax',
    },
  );
  assert.deepEqual([...stretched.data], [0, 128, 255, 128]);
  const flat = toImageBuffer(
    { width: 2, height: 1, channels: 1, data: new Float32Array([7, 7]) },
    { normalize: 'minmax' },
  );
  assert.deepEqual([...flat.data], [128, 128], 'a constant image is mid-grey');
});

test('PNG errors name the problem: wrong pixel count, bad channels, a file that is not a PNG', () => {
  throwsStrata(
    () => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(4) }),
    /2×2 image with 3 channel\(s\) needs 12 values, got 4/,
  );
  throwsStrata(
    () => savePng('x.png', { width: 1, height: 1, channels: 2 as 1, data: new Uint8Array(2) }),
    /savePng: channels must be 1/,
  );
  const path = join(freshDir(), 'fake.png');
  writeFileSync(path, 'not a png');
  throwsStrata(() => loadPng(path), /fake\.png': not a valid PNG image/);
  throwsStrata(() => loadPng(join(freshDir(), 'missing.png')), /loadPng: no file at/);
});

test('imageGrid puts each pixel of three 2×2 images where the layout says', () => {
  // Image i has values (i + 1) * 0.1 + [0, 0.01, 0.02, 0.03] so every pixel is distinct.
  const values = Array.from({ length: 12 }, (_, k) => (Math.floor(k / 4) + 1) * 0.1 + (k % 4) * 0.01);
  const images = new Tensor(new Float32Array(values), [3, 1, 2, 2]);
  const grid = imageGrid(images, { columns: 2, padding: 1, normalize: 'none', background: 1 });
  // Two columns, two rows: 2·2 + 3·1 padding = 7 each way.
  assert.equal(grid.width, 7);
  assert.equal(grid.height, 7);
  assert.equal(grid.channels, 1);
  const expected: number[][] = Array.from({ length: 7 }, () => new Array<number>(7).fill(255));
  for (let i = 0; i < 3; i++) {
    const [left, top] = [1 + (i % 2) * 3, 1 + Math.floor(i / 2) * 3];
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 2; x++) expected[top + y]![left + x] = Math.round(values[i * 4 + y * 2 + x]! * 255);
  }
  const actual = Array.from({ length: 7 }, (_, y) =>
    Array.from({ length: 7 }, (_, x) => pixel(grid, x, y)[0]!),
  );
  assert.deepEqual(actual, expected);

  // [N, H, W] is the same as [N, 1, H, W]; scale 3 turns each value into a 3×3 block.
  const big = imageGrid(new Tensor(new Float32Array(values), [3, 2, 2]), {
    columns: 3,
    padding: 2,
    scale: 3,
    normalize: 'none',
  });
  assert.equal(big.width, 3 * 6 + 4 * 2);
  assert.equal(big.height, 6 + 2 * 2);
  // Image 2, value at (row 1, column 0), covers x in [2 + 2·8, 2 + 2·8 + 3), y in [2 + 3, 2 + 6).
  for (const [x, y] of [
    [18, 5],
    [20, 7],
  ])
    assert.equal(pixel(big, x!, y!)[0], Math.round(values[2 * 4 + 2]! * 255), `pixel (${x}, ${y})`);
  assert.equal(pixel(big, 1, 1)[0], 128, 'default background is mid-grey');
});

test('imageGrid RGB: channels land in the right places, and a coloured background makes grey images RGB', () => {
  // One 1×2 RGB image: left pixel pure red, right pixel pure blue.
  const rgb = new Tensor(new Float32Array([1, 0, 0, 0, 0, 1]), [1, 3, 1, 2]);
  const grid = imageGrid(rgb, { padding: 0, normalize: 'none' });
  assert.equal(grid.channels, 3);
  assert.deepEqual(pixel(grid, 0, 0), [255, 0, 0]);
  assert.deepEqual(pixel(grid, 1, 0), [0, 0, 255]);
  const onGreen = imageGrid(new Tensor(new Float32Array([0.2]), [1, 1, 1]), {
    padding: 1,
    background: [0, 1, 0],
  });
  assert.equal(onGreen.channels, 3);
  assert.deepEqual(pixel(onGreen, 0, 0), [0, 255, 0]);
  assert.deepEqual(pixel(onGreen, 1, 1), [128, 128, 128], 'a constant image, normalised, is mid-grey');
});

test("imageGrid normalisation: 'each' stretches every image on its own, 'all' keeps their relative strength", () => {
  // Image B is image A doubled.
  const images = new Tensor(new Float32Array([0, 1, 2, 3, 0, 2, 4, 6]), [2, 1, 2, 2]);
  const row = (img: ImageBuffer, i: number): number[] =>
    [0, 1, 2, 3].map((k) => pixel(img, i * 2 + (k % 2), Math.floor(k / 2))[0]!);
  const each = imageGrid(images, { columns: 2, padding: 0, normalize: 'each' });
  assert.deepEqual(row(each, 0), [0, 85, 170, 255]);
  assert.deepEqual(row(each, 1), [0, 85, 170, 255]);
  const all = imageGrid(images, { columns: 2, padding: 0, normalize: 'all' });
  assert.deepEqual(row(all, 0), [0, 43, 85, 128]);
  assert.deepEqual(row(all, 1), [0, 85, 170, 255]);
});

test('the diverging map is white at 0, red for positive and blue for negative values', () => {
  assert.deepEqual(divergingColor(0), [255, 255, 255]);
  for (const t of [0.1, 0.5, 1, 3]) {
    const [r, g, b] = divergingColor(t);
    assert.ok(r > g && r > b, `${t} should be red, got ${[r, g, b]}`);
  }
  for (const t of [-0.1, -0.5, -1, -3]) {
    const [r, g, b] = divergingColor(t);
    assert.ok(b > r && b > g, `${t} should be blue, got ${[r, g, b]}`);
  }
  assert.deepEqual(divergingColor(2), divergingColor(1), 'clamped beyond 1');
  const [r1, , b1] = divergingColor(0.2);
  const [r2, , b2] = divergingColor(0.9);
  assert.ok(r2 < r1 || b2 < b1, 'stronger values are darker');

  // In a grid, each image is divided by its largest magnitude, so 0 stays white at any scale.
  const filters = new Tensor(new Float32Array([0, 2, -1, -2, 0, 0.5]), [2, 1, 1, 3]);
  const grid = imageGrid(filters, { colormap: 'diverging', padding: 0, columns: 2 });
  assert.equal(grid.channels, 3);
  assert.deepEqual(pixel(grid, 0, 0), [255, 255, 255]);
  assert.deepEqual(pixel(grid, 1, 0), divergingColor(1));
  assert.deepEqual(pixel(grid, 2, 0), divergingColor(-0.5));
  assert.deepEqual(pixel(grid, 3, 0), divergingColor(-1));
  assert.deepEqual(pixel(grid, 4, 0), [255, 255, 255]);
  assert.deepEqual(pixel(grid, 5, 0), divergingColor(0.25));
});

test('imageGrid rejects shapes and options it cannot draw, saying what it got', () => {
  const t = (shape: number[]) => new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  throwsStrata(
    () => imageGrid(t([4, 4])),
    /expected images of shape \[N, C, H, W\] or \[N, H, W\], got \[4, 4\]/,
  );
  throwsStrata(() => imageGrid(t([2, 2, 3, 3])), /got C = 2 in \[2, 2, 3, 3\]/);
  throwsStrata(
    () => imageGrid(t([2, 3, 3, 3]), { colormap: 'diverging' }),
    /diverging colour map is for one-channel/,
  );
  throwsStrata(() => imageGrid(t([2, 3, 3]), { scale: 1.5 }), /scale must be an integer ≥ 1, got 1.5/);
  throwsStrata(() => imageGrid(t([2, 3, 3]), { background: 2 }), /background must be/);
  throwsStrata(() => imageGrid(t([0, 3, 3])), /no pixels to show/);
});

test('saveImageGrid writes a PNG of the grid', () => {
  const path = join(freshDir(), 'filters.png');
  const filters = new Tensor(
    new Float32Array(4 * 25).map((_, i) => Math.sin(i)),
    [4, 1, 5, 5],
  );
  saveImageGrid(path, filters, { scale: 4, colormap: 'diverging' });
  const img = loadPng(path);
  assert.deepEqual([img.width, img.height, img.channels], [2 * 20 + 3 * 2, 2 * 20 + 3 * 2, 3]);
  assert.deepEqual(img, imageGrid(filters, { scale: 4, colormap: 'diverging' }));
});

/**
 * A tiny XML well-formedness check: tags balance and nest, attributes are quoted, text has no stray `<`
 * or unescaped `&`. Returns the element names in document order.
 */
function checkXml(xml: string): string[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const names: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(last, m.index);
    assert.ok(!text.includes('<'), `malformed tag near: ${text.slice(0, 60)}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(text), `unescaped & in: ${text.slice(0, 60)}`);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else {
      names.push(name!);
      if (!selfClosing) stack.push(name!);
    }
    if (stack.length === 0 && !selfClosing)
      assert.equal(body.slice(last).trim(), '', 'nothing may follow the root element');
  }
  assert.equal(body.slice(last).trim(), '', 'trailing text');
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(names[0], 'svg', 'the root is <svg>');
  return names;
}

const lossChart: LineChart = {
  title: 'Loss & <friends>',
  xLabel: 'epoch',
  yLabel: 'loss',
  series: [
    { name: 'train', x: [1, 2, 3, 4], y: [2.0, 1.2, 0.8, 0.6] },
    { name: 'validation', x: [1, 2, 3, 4], y: [2.1, 1.4, 1.0, 0.9] },
  ],
};

test('lineChartSvg is well-formed XML with a polyline per series, axis labels, ticks and a legend', () => {
  const svg = lineChartSvg(lossChart);
  const names = checkXml(svg);
  assert.equal(names.filter((n) => n === 'polyline').length, 2);
  assert.match(svg, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="480" height="320"/);
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  for (const label of [
    'Loss &amp; &lt;friends&gt;',
    'epoch',
    'loss',
    'train',
    'validation',
    '0.5',
    '2.5',
    '1',
    '4',
  ])
    assert.ok(texts.includes(label), `missing text '${label}' in ${JSON.stringify(texts)}`);
  assert.match(svg, /stroke="#1f77b4"[^>]*points="/, 'first series in the first palette colour');
  assert.match(svg, /rotate\(-90\)[^>]*>loss</, 'the y label reads upwards');

  // Two panels side by side; a NaN breaks a line into two polylines; percent ticks.
  const two = lineChartSvg([
    lossChart,
    {
      yFormat: 'percent',
      series: [{ name: 'acc', x: [1, 2, 3, 4, 5], y: [0.5, 0.7, Number.NaN, 0.8, 0.9] }],
    },
  ]);
  const names2 = checkXml(two);
  assert.equal(names2.filter((n) => n === 'polyline').length, 4);
  assert.match(two, /width="960" height="320"/);
  assert.match(two, />90%</);
  const negative = lineChartSvg({ series: [{ name: 'log', x: [1, 2], y: [-20, -3] }] });
  assert.match(negative, />−20</, 'negative ticks with a minus sign');
});

test('lineChartImage draws the chart at the right size with the series along its line', () => {
  // y = x: a straight diagonal. The SVG of the same chart gives where the line's ends are.
  const chart: LineChart = {
    title: 'line',
    series: [{ name: 'y = x', x: [0, 100], y: [0, 100], color: '#d62728' }],
  };
  const img = lineChartImage(chart, { pixelRatio: 1 });
  assert.deepEqual([img.width, img.height, img.channels], [480, 320, 3]);
  const m = /stroke="#d62728"[^>]*points="([\d.]+),([\d.]+) ([\d.]+),([\d.]+)"/.exec(lineChartSvg(chart));
  assert.ok(m, 'the SVG has the polyline');
  const [x0, y0, x1, y1] = m.slice(1).map(Number) as [number, number, number, number];
  assert.ok(x1 - x0 > 300 && y0 - y1 > 150, `the line spans the plot: (${x0}, ${y0}) to (${x1}, ${y1})`);
  for (let k = 0; k <= 20; k++) {
    const t = k / 20;
    const [r, g, b] = pixel(img, Math.floor(x0 + t * (x1 - x0)), Math.floor(y0 + t * (y1 - y0)));
    assert.ok(r! > 150 && g! < 130 && b! < 130, `pixel at t = ${t} should be red, got ${[r, g, b]}`);
  }
  // Away from the line (above it, left half), the plot is background or grid: pale grey at most.
  const [r, g, b] = pixel(img, Math.floor(x0 + 0.25 * (x1 - x0)), Math.floor(y0 + 0.75 * (y1 - y0)));
  assert.ok(r! > 200 && g! > 200 && b! > 200, `off the line should be pale, got ${[r, g, b]}`);

  const hi = lineChartImage([chart, chart], { pixelRatio: 2, panelWidth: 300, panelHeight: 200 });
  assert.deepEqual([hi.width, hi.height], [1200, 400]);
  throwsStrata(() => lineChartImage([]), /no charts to draw/);
  throwsStrata(
    () => lineChartSvg({ series: [{ name: 'a', x: [1, 2], y: [1] }] }),
    /series 'a' has 2 x values but 1 y values/,
  );
  throwsStrata(() => lineChartSvg({ series: [{ name: 'a', x: [1], y: [1], color: 'red' }] }), /'#rrggbb'/);
  throwsStrata(() => saveLineChart(join(freshDir(), 'chart.jpg'), chart), /name it .svg or .png/);
});

test('saveTrainingCurves writes curves.svg and curves.png with loss and accuracy panels', () => {
  const history = Array.from({ length: 6 }, (_, i) => ({
    epoch: i + 1,
    loss: 2 / (i + 1),
    accuracy: 1 - 0.5 / (i + 1),
    valLoss: 2.2 / (i + 1),
    valAccuracy: 1 - 0.6 / (i + 1),
    lr: 0.1,
  }));
  const dir = join(freshDir(), 'run', 'nested');
  const paths = saveTrainingCurves(dir, history);
  assert.deepEqual(paths, { svg: join(dir, 'curves.svg'), png: join(dir, 'curves.png') });
  const svg = readFileSync(paths.svg, 'utf8');
  const names = checkXml(svg);
  assert.equal(names.filter((n) => n === 'polyline').length, 4, 'train and validation in each of two panels');
  for (const label of ['>Loss<', '>Accuracy<', '>epoch<', '>validation<', '%<'])
    assert.ok(svg.includes(label), label);
  const png = loadPng(paths.png);
  assert.deepEqual([png.width, png.height, png.channels], [2 * 480 * 2, 320 * 2, 3]);
  assert.deepEqual(readdirSync(dir).sort(), ['curves.png', 'curves.svg']);

  // Without validation or accuracy (an autoencoder, say): one panel, one series, one point is still drawn.
  const lossOnly = saveTrainingCurves(freshDir(), [{ epoch: 1, loss: 0.3 }]);
  const svg1 = readFileSync(lossOnly.svg, 'utf8');
  assert.equal(checkXml(svg1).filter((n) => n === 'polyline').length, 1);
  assert.match(svg1, /<circle /, 'a single epoch shows as a dot');
  assert.equal(loadPng(lossOnly.png).width, 960);
  throwsStrata(() => saveTrainingCurves(freshDir(), []), /history is empty/);
});

test('text is rendered in the vector font, inside the box its metrics give, the same pixels every time', () => {
  const words = 'Accuracy 97.5%';
  const svg = `${svgHeader(400, 80)}<text x="20" y="50" font-size="32" fill="#000000">${words}</text><text x="20" y="75" font-size="16" font-weight="bold" fill="#000000">bold</text></svg>`;
  const img = renderSvg(svg, 1);
  assert.deepEqual([img.width, img.height, img.channels], [400, 80, 3]);
  const { ascent, descent } = lineExtent(32);
  const box = inkBox(img, { x0: 0, y0: 0, x1: 400, y1: 58 });
  assert.ok(box, 'the line has ink');
  // Ink fills most of the advance the metrics give (glyphs have side bearings), and stays inside it.
  const width = textWidth(words, 32);
  assert.ok(box.x0 >= 20 && box.x1 <= 20 + width + 1, `ink ${box.x0}–${box.x1}, advance 20–${20 + width}`);
  assert.ok(box.x1 - box.x0 > 0.9 * width, `ink ${box.x1 - box.x0} wide for an advance of ${width}`);
  assert.ok(box.y0 >= 50 - ascent - 1 && box.y1 <= 50 + descent + 1, `ink rows ${box.y0}–${box.y1}`);
  // Capitals are about 0.73 em tall in DejaVu Sans: a real outline font, not a 7-pixel bitmap scaled up.
  assert.ok(box.y1 - box.y0 > 0.7 * 32, `ink ${box.y1 - box.y0} tall`);
  const grey = img.data.filter((v) => v > 40 && v < 215).length;
  assert.ok(grey > 100, `anti-aliased edges: ${grey} grey values`);
  assert.ok(textWidth('bold', 16, 'bold') > textWidth('bold', 16), 'the bold face is wider');
  assert.deepEqual(renderSvg(svg, 1).data, img.data, 'deterministic');
  assert.deepEqual([renderSvg(svg, 2).width, renderSvg(svg, 2).height], [800, 160]);
  throwsStrata(() => renderSvg(svg, 0), /pixelRatio must be a number in \(0, 8\], got 0/);
});

test("the training curves carry the run's name over the figure and the test result as a dashed line", () => {
  const history = Array.from({ length: 4 }, (_, i) => ({
    epoch: i + 1,
    loss: 1 / (i + 1),
    accuracy: 0.8 + 0.04 * i,
    valLoss: 1.1 / (i + 1),
    valAccuracy: 0.78 + 0.04 * i,
  }));
  const dir = freshDir();
  const paths = saveTrainingCurves(dir, history, {
    title: 'runs/lenet',
    subtitle: 'lenet on mnist, 4 epochs',
    test: { loss: 0.3125, accuracy: 0.9012 },
  });
  const svg = readFileSync(paths.svg, 'utf8');
  checkXml(svg);
  for (const label of ['>runs/lenet<', '>lenet on mnist, 4 epochs<', '>test 0.3125<', '>test 90.12%<'])
    assert.ok(svg.includes(label), label);
  const refs = [
    ...svg.matchAll(/<line class="reference" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)"[^>]*stroke="(#\w+)"/g),
  ];
  assert.equal(refs.length, 2, 'one dashed test line in each panel');
  const png = loadPng(paths.png);
  // The heading and subheading add 48 units above the 320-unit panels; at the default 2 pixels per unit.
  assert.deepEqual([png.width, png.height], [2 * 960, 2 * (320 + 48)]);
  const title = inkBox(png, { x0: 0, y0: 0, x1: png.width, y1: 2 * 30 });
  assert.ok(title, 'the title has ink');
  const centre = (title.x0 + title.x1) / 2;
  assert.ok(Math.abs(centre - png.width / 2) < 4, `the title is centred (${centre})`);
  // Along the accuracy panel's dashed line: about 6 of every 10 units in the line's green.
  const [, x1, y, x2] = refs[1]!.map(Number) as [number, number, number, number];
  assert.equal(refs[1]![4], '#2ca02c', 'the palette colour after train and validation');
  let green = 0;
  const samples = 100;
  for (let k = 0; k < samples; k++) {
    const [r, g, b] = pixel(png, Math.floor(2 * (x1 + ((x2 - x1) * (k + 0.5)) / samples)), Math.floor(2 * y));
    if (g! > r! + 40 && g! > b! + 40) green++;
  }
  assert.ok(green > 40 && green < 80, `${green} of ${samples} samples on the dashes`);
  throwsStrata(
    () => saveTrainingCurves(dir, history, { tset: { loss: 1 } } as never),
    /saveTrainingCurves: unknown option tset; accepted: test, title/,
  );
});

test('a filter figure: every filter on one colour scale, a colour bar with its values, the name and the shape', () => {
  // Filter i is constant at (i − 2.5) / 2.5 · 0.4, so the scale runs from −0.4 to +0.4.
  const values = Array.from({ length: 6 * 25 }, (_, k) => ((Math.floor(k / 25) - 2.5) / 2.5) * 0.4);
  const weight = new Tensor(new Float64Array(values), [6, 1, 5, 5]);
  const { svg, layout } = filterFigure(weight, { name: '0.weight (Conv2d)' });
  checkXml(svg);
  assert.ok(svg.includes('>0.weight (Conv2d) [6, 1, 5, 5]<'), 'the title names the weight and its shape');
  assert.ok(svg.includes('>all 6 filters, 5×5<'), 'the caption says all filters are shown');
  for (const label of ['>0.4<', '>0<', '>−0.4<']) assert.ok(svg.includes(label), `colour bar label ${label}`);
  assert.deepEqual([layout.shown, layout.total], [6, 6]);
  // Three columns of two rows; 5×5 kernels drawn 10× with 2-unit gaps.
  assert.deepEqual([layout.grid.width, layout.grid.height], [3 * 50 + 4 * 2, 2 * 50 + 3 * 2]);
  const img = renderSvg(svg, 1);
  assert.deepEqual([img.width, img.height], [layout.width, layout.height]);
  const title = inkBox(img, { x0: 0, y0: 0, x1: img.width, y1: layout.grid.y - 20 });
  assert.ok(title && title.count > 200, 'the title is drawn');
  // Tile i's centre has its value's colour on the shared scale.
  for (let i = 0; i < 6; i++) {
    const x = layout.grid.x + 2 + (i % 3) * 52 + 25;
    const y = layout.grid.y + 2 + Math.floor(i / 3) * 52 + 25;
    const want = divergingColor((i - 2.5) / 2.5);
    const got = pixel(img, x, y);
    assert.ok(
      got.every((c, k) => Math.abs(c - want[k]!) <= 2),
      `tile ${i}: ${got} against ${want}`,
    );
  }
  // The colour bar: dark red at the top, white in the middle, dark blue at the bottom.
  const bar = layout.colorBar;
  const at = (t: number) => pixel(img, Math.floor(bar.x + bar.width / 2), Math.floor(bar.y + t * bar.height));
  const [top, middle, bottom] = [at(0.02), at(0.5), at(0.98)];
  assert.ok(top[0]! > 150 && top[2]! < 80, `top of the bar is red: ${top}`);
  assert.ok(
    middle.every((c) => c > 235),
    `middle of the bar is white: ${middle}`,
  );
  assert.ok(bottom[2]! > 150 && bottom[0]! < 80, `bottom of the bar is blue: ${bottom}`);

  // More tiles than the figure takes: it says how many of how many.
  const many = filterFigure(new Tensor(new Float32Array(300 * 9).map(Math.sin), [300, 1, 3, 3]), {
    name: 'w',
    maxTiles: 100,
  });
  assert.deepEqual([many.layout.shown, many.layout.total], [100, 300]);
  assert.ok(many.svg.includes('>the first 100 of 300 tiles: 300 filters, 3×3<'), 'the caption counts');
  // A Linear layer over 28×28 images: each unit's weights as a 28×28 picture.
  const fc = filterFigure(new Tensor(new Float32Array(10 * 784).map(Math.cos), [10, 784]), { name: 'fc' });
  assert.ok(fc.svg.includes('>all 10 units&apos; 28×28 input weights<'), 'receptive fields');
  throwsStrata(
    () => filterFigure(new Tensor(new Float32Array(50), [5, 10]), { name: 'x' }),
    /F a square, got \[5, 10\]/,
  );
  assert.deepEqual([6, 16, 64, 128, 7].map(gridColumns), [3, 4, 8, 16, 4]);
  throwsStrata(
    () => filterFigure(weight, { name: 'w', scale: 2 } as never),
    /unknown option scale; accepted: name, maxTiles/,
  );
  throwsStrata(() => filterFigure(weight, {} as never), /needs the weight's name/);
});

test("the feature figure shows every part's output with its name and shape, and the predicted class", () => {
  manualSeed(3);
  const model = new Sequential(new Conv2d(1, 4, 3), new ReLU(), new Flatten(), new Linear(4 * 4 * 4, 3));
  model.eval();
  const input = new Tensor(
    new Float32Array(36).map((_, i) => Math.sin(i)),
    [1, 1, 6, 6],
  );
  const { svg, layout } = featureFigure(model, input, {
    title: 'tiny',
    label: 2,
    classes: ['cat', 'dog', 'fish'],
  });
  checkXml(svg);
  assert.deepEqual(
    layout.panels.map((p) => [p.name, p.shape.join('×')]),
    [
      ['input', '1×1×6×6'],
      ['0 · Conv2d', '1×4×4×4'],
      ['1 · ReLU', '1×4×4×4'],
      ['2 · Flatten', '1×64'],
      ['3 · Linear', '1×3'],
    ],
  );
  for (const p of layout.panels)
    assert.ok(svg.includes(`>${p.name}<`) && svg.includes(`>[${p.shape.join(', ')}]<`), `panel ${p.name}`);
  const logits = [...(model.forward(input) as Tensor).toTypedArray()];
  assert.equal(layout.predicted.class, logits.indexOf(Math.max(...logits)));
  const name = ['cat', 'dog', 'fish'][layout.predicted.class];
  assert.match(svg, new RegExp(`>predicted ${name} \\(\\d+\\.\\d%\\), true class fish<`));
  // Panels lie inside the figure and never on top of each other.
  for (const [i, a] of layout.panels.entries()) {
    assert.ok(
      a.x >= 0 && a.y >= 0 && a.x + a.width <= layout.width && a.y + a.height <= layout.height,
      a.name,
    );
    for (const b of layout.panels.slice(i + 1))
      assert.ok(
        a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y,
        `${a.name} overlaps ${b.name}`,
      );
  }
  const img = renderSvg(svg, 1);
  assert.deepEqual([img.width, img.height], [layout.width, layout.height]);
  for (const p of layout.panels)
    assert.ok(
      inkBox(img, {
        x0: Math.floor(p.x),
        y0: Math.floor(p.y),
        x1: Math.ceil(p.x + p.width),
        y1: Math.floor(p.y + 14),
      }),
      `${p.name}'s heading is drawn`,
    );

  // A model whose forward calls its parts by hand (a ResNet) shows each part; its methods are restored.
  const resnet = resnetMnist({ channels: [2], blocksPerStage: 1 }).eval();
  const image = new Tensor(
    new Float32Array(784).map((_, i) => (i % 28) / 28),
    [1, 1, 28, 28],
  );
  const r = featureFigure(resnet, image);
  assert.deepEqual(
    r.layout.panels.map((p) => p.name),
    [
      'input',
      'conv1 · Conv2d',
      'bn1 · BatchNorm2d',
      'layer1 · Sequential',
      'avgpool · AdaptiveAvgPool2d',
      'fc · Linear',
    ],
  );
  assert.ok(!Object.hasOwn(resnet.fc, 'forward'), 'the wrapped forward is taken away again');
  // A vector is drawn as a grid that leaves no cell empty where it can: 128 values as 8 rows of 16 cells.
  const flat = featureFigure(
    new Sequential(new Linear(128, 10)),
    new Tensor(new Float32Array(128), [1, 128]),
  );
  assert.match(flat.svg, /<image [^>]*width="240" height="120"/);
  throwsStrata(() => featureFigure(model, input, { labels: 1 } as never), /unknown option labels/);
  throwsStrata(
    () => featureFigure(model, new Tensor(new Float32Array(72), [2, 1, 6, 6])),
    /expected one input/,
  );
});

test('a word map fills its canvas, and its labels cover neither each other nor any point', () => {
  // 240 words in six tight clusters, as t-SNE draws them: the crowded case.
  const n = 240;
  const coords = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = i % 6;
    coords[2 * i] = 10 * Math.cos(c) + Math.sin(i * 12.9898) * 2;
    coords[2 * i + 1] = 4 * Math.sin(c) + Math.cos(i * 78.233) * 2;
  }
  const words = Array.from({ length: n }, (_, i) => `word${i}${i % 3 === 0 ? 'ing' : ''}`);
  const layout = wordMapLayout(words, coords, 'map');
  const labels = layout.labels.filter((l) => l !== null);
  assert.ok(labels.length >= 0.9 * n, `${labels.length} of ${n} labels placed`);
  assert.equal(layout.omitted, n - labels.length);
  for (const [i, a] of labels.entries()) {
    assert.ok(
      a.x >= 0 && a.y >= 30 && a.x + a.width <= layout.width && a.y + a.height <= layout.height,
      'on the canvas',
    );
    for (const b of labels.slice(i + 1))
      assert.ok(
        a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y,
        `labels overlap: ${JSON.stringify([a, b])}`,
      );
    for (const [px, py] of layout.points)
      assert.ok(
        !(px > a.x && px < a.x + a.width && py > a.y && py < a.y + a.height),
        'a label covers a point',
      );
  }
  assert.ok(
    labels.some((l) => l.leader),
    'labels moved off their point have leader lines',
  );
  // Scaled uniformly to the canvas: the map spans (nearly) its width, and the height follows its shape.
  const xs = layout.points.map((p) => p[0]);
  const ys = layout.points.map((p) => p[1]);
  const [spanX, spanY] = [Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
  assert.ok(spanX > 0.85 * layout.width, `the points span ${spanX} of ${layout.width}`);
  assert.ok(spanY > 0.8 * (layout.height - 100), `and ${spanY} of ${layout.height}`);
  const [data, x0, y0] = [coords, Math.min(...xs), Math.min(...ys)];
  const k = (xs[1]! - x0) / (data[2]! - Math.min(...Array.from({ length: n }, (_, i) => data[2 * i]!)));
  const k2 = (ys[1]! - y0) / (data[3]! - Math.min(...Array.from({ length: n }, (_, i) => data[2 * i + 1]!)));
  assert.ok(Math.abs(k - k2) < 1e-9 * k, 'one scale for both axes');

  const [svgPath, pngPath] = saveWordMap(join(freshDir(), 'words'), words, coords, 'map');
  checkXml(readFileSync(svgPath!, 'utf8'));
  const png = loadPng(pngPath!);
  assert.deepEqual([png.width, png.height], [2 * layout.width, 2 * layout.height]);
  for (const l of labels.slice(0, 20))
    assert.ok(
      inkBox(png, {
        x0: Math.floor(2 * l.x),
        y0: Math.floor(2 * l.y),
        x1: Math.ceil(2 * (l.x + l.width)),
        y1: Math.ceil(2 * (l.y + l.height)),
      }),
      'each label is drawn in its box',
    );
});

test('without the font files, drawing says which files it needs and how to get them', () => {
  const script =
    'import { renderSvg } from \'./src/viz/svg.ts\'; renderSvg(\'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>\');';
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
    env: { ...process.env, STRATA_FONT_DIR: join(freshDir(), 'no-fonts') },
  });
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /viz: figures are drawn in DejaVu Sans, but DejaVuSans\.ttf and DejaVuSans-Bold\.ttf are not in .*no-fonts/,
  );
  assert.match(r.stderr, /apt-get install fonts-dejavu-core\) or set STRATA_FONT_DIR/);
});
