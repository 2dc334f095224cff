import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import { BYTES, type DType, type TypedArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { readFileBytes, writeFileAtomic } from './atomic.js';

/**
 * safetensors (https://github.com/huggingface/safetensors), the format PyTorch and the Hugging Face hub
 * use for weights:
 *
 *     [u64 little-endian: n] [n bytes: UTF-8 JSON header, space-padded] [data section]
 *     header = { "__metadata__": { string: string },
 *                name: { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
 *
 * Offsets are relative to the data section; tensors are stored row-major and little-endian, back to
 * back with no gaps. Strata adds one metadata entry, `strata.sha256`, a SHA-256 over the rest of the
 * header (metadata and tensor entries) and the data section, so that a flipped bit anywhere or a
 * truncated copy is caught when the file is read. Files from elsewhere do not have it, and are then
 * checked for structure only.
 */

const CODES: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32' };
const DTYPES: Record<string, DType> = { F32: 'float32', F64: 'float64', I32: 'int32' };
const CHECKSUM_KEY = 'strata.sha256';
const METADATA_KEY = '__metadata__';
/** The reference implementation refuses larger headers, so a corrupt length cannot make us allocate 2^64. */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reverses the bytes of each `width`-byte element in place: between the file's order and a big-endian host's. */
function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** The checksum: the metadata and tensor entries in a canonical (sorted) form, then the data bytes. */
function digest(metadata: Record<string, string>, entries: Entry[], data: Uint8Array): string {
  const meta = Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : 1));
  const layout = [...entries]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((e) => [e.name, e.dtype, e.shape, e.begin, e.end]);
  return createHash('sha256')
    .update(JSON.stringify([meta, layout]))
    .update(data)
    .digest('hex');
}

export interface Safetensors {
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings, without Strata's own checksum entry. */
  metadata: Record<string, string>;
}

/**
 * Serialises tensors (any layout: strided views are written row-major) and string metadata to the bytes
 * of a safetensors file. Tensors are laid out in sorted-name order, so equal inputs give equal bytes.
 *
 *     const bytes = encodeSafetensors({ 'fc.weight': w, 'fc.bias': b }, { format: 'pt' })
 */
export function encodeSafetensors(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const op = 'encodeSafetensors';
  const names = Object.keys(tensors).sort();
  const header: [string, unknown][] = [];
  const entries: Entry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (name === '' || name === METADATA_KEY) fail(op, `'${name}' cannot be used as a tensor name`);
    if (!(t instanceof Tensor)) fail(op, `'${name}' is not a Tensor`);
    const values = t.toTypedArray();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    if (!LITTLE_ENDIAN) swapBytes(bytes, BYTES[t.dtype]);
    header.push([
      name,
      { dtype: CODES[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] },
    ]);
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], begin: offset, end: offset + bytes.length });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const data = new Uint8Array(offset);
  offset = 0;
  for (const c of chunks) {
    data.set(c, offset);
    offset += c.length;
  }
  const meta: [string, string][] = [];
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      fail(op, `metadata '${k}' must be a string, got ${typeof v}; JSON.stringify it first`);
    if (k !== CHECKSUM_KEY) meta.push([k, v]);
  }
  meta.push([CHECKSUM_KEY, digest(Object.fromEntries(meta), entries, data)]);
  // fromEntries defines own properties, so even a name like '__proto__' is stored as a plain key.
  const json = new TextEncoder().encode(
    JSON.stringify(Object.fromEntries([[METADATA_KEY, Object.fromEntries(meta)], ...header])),
  );
  // Pad with spaces (valid JSON whitespace) so the data section starts 8-byte aligned, as the reference does.
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  out.set(data, 8 + headerLength);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses the bytes of a safetensors file, validating every field, and copies each tensor into its own
 * aligned typed array (a Buffer from `readFileSync` may start at any byte, and views would keep the
 * whole file alive). `source` names the bytes in error messages (loadSafetensors passes the path).
 *
 *     const { tensors, metadata } = decodeSafetensors(readFileSync('model.safetensors'), 'model.safetensors')
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): Safetensors {
  const bad = (what: string): never =>
    fail('safetensors', `'${source}' is not a valid safetensors file: ${what}`);
  const corrupt = (what: string): never =>
    fail(
      'safetensors',
      `'${source}' is corrupt or truncated: ${what}. Restore it from a backup or save it again`,
    );

  if (bytes.length < 8) {
    corrupt(`it has ${bytes.length} bytes, fewer than the 8 that hold the header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    corrupt(`the header length field says ${declared} bytes but only ${bytes.length - 8} follow it`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER)
    bad(`the header is ${headerLength} bytes, more than the ${MAX_HEADER} allowed`);

  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (e) {
    bad(`the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isRecord(header)) return bad('the header is not a JSON object');

  const rawMeta = header[METADATA_KEY] ?? {};
  if (!isRecord(rawMeta)) return bad(`"${METADATA_KEY}" is not an object`);
  for (const [k, v] of Object.entries(rawMeta)) {
    if (typeof v !== 'string') bad(`metadata '${k}' is not a string`);
  }
  const { [CHECKSUM_KEY]: checksum, ...metadata } = rawMeta as Record<string, string>;

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    if (!isRecord(info)) return bad(`the entry for tensor '${name}' is not an object`);
    const code = info.dtype;
    if (typeof code !== 'string') return bad(`tensor '${name}' has no dtype`);
    const dtype = DTYPES[code];
    if (dtype === undefined) {
      return fail(
        'safetensors',
        `'${source}': tensor '${name}' has dtype ${code}, which Strata cannot load; Strata supports F32, F64 and I32 ` +
          '(convert the tensor before saving, e.g. tensor.float() in PyTorch)',
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return bad(
        `tensor '${name}' has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`,
      );
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      return bad(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, d) => a * d, 1);
    const want = size * BYTES[dtype];
    if (!Number.isSafeInteger(want) || end - begin !== want) {
      bad(
        `tensor '${name}' (${code}, shape [${shape.join(', ')}]) needs ${want} bytes ` +
          `but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataLength) {
      corrupt(
        `tensor '${name}' occupies bytes [${begin}, ${end}) of a data section that has only ${dataLength}`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The reference requires tensors to tile the data section exactly: no overlaps, gaps or trailing bytes.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin < expected) bad(`tensor '${e.name}' at [${e.begin}, ${e.end}) overlaps another tensor`);
    if (e.begin > expected)
      bad(`there is a gap of unused bytes [${expected}, ${e.begin}) before tensor '${e.name}'`);
    expected = e.end;
  }
  if (expected !== dataLength) {
    corrupt(
      `${dataLength - expected} bytes follow the last tensor (data section of ${dataLength} bytes, tensors use ${expected})`,
    );
  }

  if (checksum !== undefined) {
    const actual = digest(metadata, entries, bytes.subarray(dataStart));
    if (actual !== checksum) {
      corrupt(
        `the header or data does not match its SHA-256 checksum (recorded ${checksum.slice(0, 12)}…, computed ${actual.slice(0, 12)}…)`,
      );
    }
  }

  const tensors: [string, Tensor][] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    // A fresh ArrayBuffer is aligned for any element type. (Not bytes.slice(): on a Buffer that is a view.)
    const raw = new Uint8Array(e.end - e.begin);
    raw.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    if (!LITTLE_ENDIAN) swapBytes(raw, BYTES[e.dtype]);
    const n = raw.length / BYTES[e.dtype];
    const data: TypedArray =
      e.dtype === 'float32'
        ? new Float32Array(raw.buffer, 0, n)
        : e.dtype === 'float64'
          ? new Float64Array(raw.buffer, 0, n)
          : new Int32Array(raw.buffer, 0, n);
    tensors.push([e.name, new Tensor(data, e.shape)]);
  }
  return { tensors: Object.fromEntries(tensors), metadata };
}

/** Writes tensors to a safetensors file atomically (see writeFileAtomic): a crash never leaves half a file. */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and verifies a safetensors file; errors name the file and what is wrong with it. */
export function loadSafetensors(path: string): Safetensors {
  return decodeSafetensors(readFileBytes('loadSafetensors', path), path);
}
