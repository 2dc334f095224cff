import { createRequire } from 'node:module';
import { fail } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { FONT_FAMILY, fontFiles } from './font.js';
import { encodePng, type ImageBuffer, savePng } from './png.js';

type Resvg = typeof import('@resvg/resvg-js').Resvg;
let resvg: Resvg | undefined;

/**
 * resvg is a native module with one build per platform: it is loaded on the first render rather than
 * with the library, so that a platform without a build can still train and only drawing a PNG fails.
 */
function loadResvg(): Resvg {
  if (!resvg) {
    try {
      resvg = (createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js')).Resvg;
    } catch (e) {
      fail(
        'renderSvg',
        `PNG figures are rendered by @resvg/resvg-js, which did not load here (${(e as Error).message.split('\n')[0]}); the .svg files are still written, or reinstall with 'npm install'`,
      );
    }
  }
  return resvg;
}

/** Text safe inside an SVG element or a quoted attribute. */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

/** A number for an SVG attribute: two decimals at most, so files stay small and diffable. */
export const num = (v: number): string => String(Math.round(v * 100) / 100);

/** The opening `<svg>` tag of a `width` × `height` figure in the figures' font, and a white background. */
export function svgHeader(width: number, height: number): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${FONT_FAMILY}, sans-serif">`,
    `<rect width="${num(width)}" height="${num(height)}" fill="#ffffff"/>`,
  ].join('\n');
}

/**
 * An image embedded in an SVG as a PNG data URL, one pixel to one SVG unit, drawn with nearest-neighbour
 * scaling so that filters and feature maps keep their square pixels at any zoom.
 */
export function svgImage(image: ImageBuffer, x: number, y: number): string {
  const data = Buffer.from(encodePng(image)).toString('base64');
  return `<image x="${num(x)}" y="${num(y)}" width="${image.width}" height="${image.height}" image-rendering="optimizeSpeed" style="image-rendering:pixelated" href="data:image/png;base64,${data}"/>`;
}

/**
 * Renders SVG text to an RGB image `pixelRatio` times its size with resvg, a full SVG renderer: vector
 * text in DejaVu Sans (the fixed font files, never the system's, so the pixels are the same everywhere),
 * anti-aliased shapes, embedded images scaled by nearest neighbour.
 *
 *     const image = renderSvg(lineChartSvg(chart), 2);
 */
export function renderSvg(svg: string, pixelRatio = 2): ImageBuffer {
  if (!(pixelRatio > 0 && pixelRatio <= 8))
    fail('renderSvg', `pixelRatio must be a number in (0, 8], got ${pixelRatio}`);
  const Renderer = loadResvg();
  const rendered = new Renderer(svg, {
    font: {
      loadSystemFonts: false,
      fontFiles: fontFiles(),
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
    fitTo: { mode: 'zoom', value: pixelRatio },
    imageRendering: 1,
    background: '#ffffff',
    logLevel: 'off',
  }).render();
  const rgba = rendered.pixels;
  const data = new Uint8Array(rendered.width * rendered.height * 3);
  for (let p = 0, q = 0; q < data.length; p += 4) {
    data[q++] = rgba[p]!;
    data[q++] = rgba[p + 1]!;
    data[q++] = rgba[p + 2]!;
  }
  return { width: rendered.width, height: rendered.height, channels: 3, data };
}

/**
 * Writes a figure as `<base>.svg` (vector, to zoom into and read values from) and `<base>.png` (rendered at
 * `pixelRatio`), atomically. Returns the two paths.
 */
export function saveFigure(base: string, svg: string, pixelRatio = 2): { svg: string; png: string } {
  const paths = { svg: `${base}.svg`, png: `${base}.png` };
  writeFileAtomic(paths.svg, svg);
  savePng(paths.png, renderSvg(svg, pixelRatio));
  return paths;
}
