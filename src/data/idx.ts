import { constants as bufferConstants } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { fail } from '../errors.js';

/** An IDX file's contents: its magic number, its dimensions and its payload of unsigned bytes. */
export interface IdxFile {
  /** The 32-bit big-endian magic number: 0x0000, the element-type code (0x08), the number of dimensions. */
  magic: number;
  dims: number[];
  /** The elements in row-major order, a view onto the file's bytes (no copy). */
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
/**
 * How much of a gzip file is inflated first to read the IDX header: deflate expands at most 1032-fold,
 * so this bounds the peek at about 4 MB even for a crafted file, and real headers sit in the first bytes.
 */
const PEEK = 4096;
const PEEK_OUTPUT = 8 << 20;

function gunzip(path: string, bytes: Uint8Array, options: { maxOutputLength: number; partial?: boolean }) {
  try {
    return gunzipSync(bytes, {
      maxOutputLength: options.maxOutputLength,
      ...(options.partial ? { finishFlush: zlibConstants.Z_SYNC_FLUSH } : {}),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return null;
    return fail('readIdx', `${path} is not a valid gzip file (${(e as Error).message}); download it again`);
  }
}

/**
 * A gzipped IDX file's bytes, inflated no further than the size its header announces: a small `.gz`
 * crafted to expand to gigabytes is refused once it passes that size, before the rest is inflated.
 */
function inflateIdx(path: string, bytes: Uint8Array): Uint8Array {
  const tooLarge = (limit: number): never =>
    fail(
      'readIdx',
      `${path} has trailing bytes: it expands beyond the ${limit} bytes its IDX header announces; download it again`,
    );
  const head = gunzip(path, bytes.subarray(0, PEEK), { maxOutputLength: PEEK_OUTPUT, partial: true });
  const rank = head && head.length >= 4 ? head[3]! : null;
  if (head === null || rank === null || head.length < 4 + 4 * rank) {
    // A whole file this small cannot expand far: inflate it and let the usual checks say what is short.
    if (bytes.length <= PEEK) {
      return gunzip(path, bytes, { maxOutputLength: PEEK_OUTPUT }) ?? tooLarge(PEEK_OUTPUT);
    }
    return fail(
      'readIdx',
      `${path}: the IDX header is not within the first ${PEEK} bytes of the gzip stream; download the file again`,
    );
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let elements = 1;
  for (let i = 0; i < rank; i++) elements *= view.getUint32(4 + 4 * i);
  const expected = 4 + 4 * rank + elements;
  if (expected > bufferConstants.MAX_LENGTH) {
    fail(
      'readIdx',
      `${path}: its IDX header announces ${expected} bytes, more than one buffer can hold; is it an IDX file?`,
    );
  }
  return gunzip(path, bytes, { maxOutputLength: expected }) ?? tooLarge(expected);
}

/**
 * Reads an IDX file (the format of MNIST and Fashion-MNIST), gzipped or not: a `.gz` name or gzip's magic
 * bytes mean gzip. Only unsigned-byte payloads (type code 0x08) are supported, which covers both data
 * sets. Throws a StrataError naming the file for a missing, truncated, oversized or malformed file, or
 * one whose magic number is not `expectedMagic` (checked first, as a wrong magic means a wrong file).
 *
 *     import { writeFileSync } from 'node:fs';
 *     // Magic 0x00000803 (unsigned bytes, 3 dimensions), the dimensions as 32-bit big-endian, the bytes.
 *     writeFileSync('tiny-idx3-ubyte', Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 7, 8, 9, 10));
 *     const { dims, data: bytes } = data.readIdx('tiny-idx3-ubyte', 0x0803);
 *     dims // → [2, 1, 2]
 *     bytes // → [7, 8, 9, 10]
 */
export function readIdx(path: string, expectedMagic?: number): IdxFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail('readIdx', `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : String(e)}`);
  }
  return decodeIdx(bytes, path, expectedMagic);
}

/**
 * Parses the bytes of an IDX file with every check of readIdx (which reads the file and calls this);
 * `path` names the bytes in messages, and a name ending in `.gz` or gzip's magic bytes mean gzip.
 *
 *     const labels = data.decodeIdx(Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4), 'three labels', 0x0801);
 *     labels.dims // → [3]
 *     labels.data // → [5, 0, 4]
 */
export function decodeIdx(bytes: Uint8Array, path: string, expectedMagic?: number): IdxFile {
  const gzipped = path.endsWith('.gz') || (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b);
  if (gzipped) bytes = inflateIdx(path, bytes);
  const after = gzipped ? ' after decompression' : '';
  if (bytes.length < 4)
    fail('readIdx', `${path} is truncated: expected at least 4 bytes${after}, found ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    fail(
      'readIdx',
      `${path}: expected magic number ${expectedMagic} (${hex(expectedMagic)}), found ${magic} (${hex(magic)})`,
    );
  }
  const type = bytes[2]!;
  const rank = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(
      'readIdx',
      `${path} is not an IDX file: expected a magic number starting with two zero bytes, found ${hex(magic)}`,
    );
  }
  if (type !== UNSIGNED_BYTE) {
    fail(
      'readIdx',
      `${path}: only unsigned-byte IDX files (type 0x08) are supported, found type ${hex(type, 2)}`,
    );
  }
  const header = 4 + 4 * rank;
  if (bytes.length < header) {
    fail(
      'readIdx',
      `${path} is truncated: expected a ${header}-byte header${after}, found ${bytes.length} bytes`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const expected = header + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'is truncated' : 'has trailing bytes';
    fail(
      'readIdx',
      `${path} ${what}: expected ${expected} bytes${after}, found ${bytes.length} (the header gives dimensions [${dims.join(', ')}])`,
    );
  }
  return { magic, dims, data: bytes.subarray(header) };
}

function hex(n: number, digits = 8): string {
  return `0x${n.toString(16).padStart(digits, '0')}`;
}
