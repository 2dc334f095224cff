import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** IDX bytes: a big-endian header (magic, then each dimension) and the body. */
export function idx(dims: number[], body: Uint8Array | number[], magic = 0x0800 | dims.length): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  return Buffer.concat([header, Buffer.from(body)]);
}

/** Writes a training split's image and label files into dir (made if need be), optionally gzipped. */
export function writeSplit(
  dir: string,
  files: { images?: Uint8Array; labels?: Uint8Array; gz?: boolean },
): string {
  mkdirSync(dir, { recursive: true });
  const ext = files.gz ? '.gz' : '';
  const pack = (b: Uint8Array): Uint8Array => (files.gz ? gzipSync(b, { level: 1 }) : b);
  if (files.images) writeFileSync(join(dir, `train-images-idx3-ubyte${ext}`), pack(files.images));
  if (files.labels) writeFileSync(join(dir, `train-labels-idx1-ubyte${ext}`), pack(files.labels));
  return dir;
}

/** Three blank 28×28 images and their labels 1, 2, 3: a well-formed split to break in one way at a time. */
export const threeImages = idx([3, 28, 28], new Uint8Array(3 * 784));
export const threeLabels = idx([3], [1, 2, 3]);
