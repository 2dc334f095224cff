import { createHash } from 'node:crypto';
import { describe, fail } from '../errors.js';
import { BYTES, type TypedArray } from '../tensor/dtype.js';
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
 * truncated copy is caught when the file is read; the header itself must be byte for byte what Strata
 * writes, so that no byte escapes the checks. Files from elsewhere (PyTorch, the Hugging Face hub)
 * do not have it: the plain reader loads them checked for structure only and says so (`verified: false`),
 * while the readers of Strata's own files (checkpoints, weights) refuse a file without it.
 *
 * Besides Strata's dtypes, the reader takes what PyTorch and the hub commonly store: I64 (PyTorch's
 * integer default, e.g. `num_batches_tracked`) becomes int32 when every value fits, F16 and BF16 become
 * float32 (exactly: float32 holds every half and bfloat16 value).
 */

/** How each stored type appears in a file: its code and element width (toTypedArray says what it loads as). */
const STORAGE: Record<string, { code: string; bytes: number }> = {
  float32: { code: 'F32', bytes: 4 },
  float64: { code: 'F64', bytes: 8 },
  int32: { code: 'I32', bytes: 4 },
  int64: { code: 'I64', bytes: 8 },
  float16: { code: 'F16', bytes: 2 },
  bfloat16: { code: 'BF16', bytes: 2 },
};
/** The storage name of each file code (the checksum names storage this way, as it did for F32/F64/I32). */
const STORED: Record<string, string> = Object.fromEntries(
  Object.entries(STORAGE).map(([name, s]) => [s.code, name]),
);
const CHECKSUM_KEY = 'strata.sha256';
/** Every metadata key Strata writes starts so; a file with one but no checksum is a damaged Strata file. */
const STRATA_PREFIX = 'strata.';
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
    .map((e) => [e.name, e.stored, e.shape, e.begin, e.end]);
  return createHash('sha256')
    .update(JSON.stringify([meta, layout]))
    .update(data)
    .digest('hex');
}

export interface Safetensors {
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings, without Strata's own checksum entry. */
  metadata: Record<string, string>;
  /**
   * Whether the file carried Strata's checksum and matched it. False for files from elsewhere, which
   * can be checked for structure only: a flipped bit in their data would go unnoticed.
   */
  verified: boolean;
}

/** How encodeSafetensors stores particular tensors. */
export interface EncodeOptions {
  /**
   * int32 tensors to store as I64, PyTorch's integer type (`num_batches_tracked`), so that PyTorch loads
   * them with no cast. They load back as int32.
   */
  int64?: (name: string) => boolean;
}

/** An int32 tensor's values as little-endian int64 bytes. */
function int64Bytes(values: Int32Array): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return out;
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
  options: EncodeOptions = {},
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
    const stored = t.dtype === 'int32' && options.int64?.(name) ? 'int64' : t.dtype;
    let bytes: Uint8Array;
    if (stored === 'int64') bytes = int64Bytes(values as Int32Array);
    else {
      bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      if (!LITTLE_ENDIAN) swapBytes(bytes, BYTES[t.dtype]);
    }
    header.push([
      name,
      { dtype: STORAGE[stored]!.code, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] },
    ]);
    entries.push({ name, stored, shape: [...t.shape], begin: offset, end: offset + bytes.length });
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
  /** The storage name (a key of STORAGE): `float32`, `int64`, `bfloat16`... */
  stored: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Options of decodeSafetensors. */
export interface DecodeOptions {
  /**
   * Refuse a file without Strata's checksum. The readers of files that Strata writes (checkpoints,
   * weights) set it, so that a damaged checksum entry cannot switch verification off.
   */
  requireChecksum?: boolean;
}

/** Whether `key` is one character away from the checksum's key: what a flipped bit makes of it. */
function nearChecksumKey(key: string): boolean {
  if (key.length !== CHECKSUM_KEY.length) return false;
  let differ = 0;
  for (let i = 0; i < key.length; i++) if (key[i] !== CHECKSUM_KEY[i]) differ++;
  return differ === 1;
}

/** An IEEE 754 half-precision value, from its 16 bits. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** One stored tensor's little-endian bytes as the typed array of the dtype it loads as. */
function toTypedArray(raw: Uint8Array, e: Entry, refuse: (what: string) => never): TypedArray {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (e.stored) {
    case 'int64': {
      const out = new Int32Array(raw.length / 8);
      for (let i = 0; i < out.length; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v < -2147483648n || v > 2147483647n) {
          refuse(
            `tensor '${e.name}' (I64) holds ${v} at element ${i}, outside the int32 range of Strata's integer tensors`,
          );
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'float16': {
      const out = new Float32Array(raw.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(raw.length / 2);
      for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return new Float32Array(bits.buffer);
    }
    default: {
      // A fresh ArrayBuffer is aligned for any element type. (Not raw.slice(): on a Buffer that is a view.)
      const own = new Uint8Array(raw.length);
      own.set(raw);
      if (!LITTLE_ENDIAN) swapBytes(own, STORAGE[e.stored]!.bytes);
      const n = own.length / STORAGE[e.stored]!.bytes;
      if (e.stored === 'float32') return new Float32Array(own.buffer, 0, n);
      if (e.stored === 'float64') return new Float64Array(own.buffer, 0, n);
      return new Int32Array(own.buffer, 0, n);
    }
  }
}

/**
 * Parses the bytes of a safetensors file, validating every field, and copies each tensor into its own
 * aligned typed array (a Buffer from `readFileSync` may start at any byte, and views would keep the
 * whole file alive). `source` names the bytes in error messages (loadSafetensors passes the path).
 * A file with Strata's checksum is verified against it; one without is accepted (`verified: false`)
 * unless `requireChecksum`, but never one that holds Strata's other metadata without the checksum.
 *
 *     const { tensors, metadata } = decodeSafetensors(readFileSync('model.safetensors'), 'model.safetensors')
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'safetensors data',
  options: DecodeOptions = {},
): Safetensors {
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
  if (checksum === undefined) {
    const keys = Object.keys(metadata);
    const strataKey = keys.find(nearChecksumKey) ?? keys.find((k) => k.startsWith(STRATA_PREFIX));
    if (strataKey !== undefined) {
      corrupt(`its metadata has Strata's entry '${strataKey}' but no '${CHECKSUM_KEY}' checksum`);
    }
    if (options.requireChecksum) {
      fail(
        'safetensors',
        `'${source}' has no '${CHECKSUM_KEY}' checksum, so its contents cannot be verified: every file Strata ` +
          'saves carries one, so this one is damaged or was not written by Strata. Restore it from a backup; ' +
          'to read safetensors from PyTorch or Hugging Face, use loadSafetensors(path).tensors',
      );
    }
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    if (!isRecord(info)) return bad(`the entry for tensor '${name}' is not an object`);
    const code = info.dtype;
    if (code === undefined) return bad(`tensor '${name}' has no dtype`);
    // Own keys only: a dtype of 'constructor' must not find Object's.
    const stored = typeof code === 'string' && Object.hasOwn(STORED, code) ? STORED[code] : undefined;
    if (stored === undefined) {
      return fail(
        'safetensors',
        `'${source}': tensor '${name}' has dtype ${describe(code)}, which Strata cannot load; Strata reads ` +
          `${Object.keys(STORED).join(', ')} (convert the tensor before saving, e.g. tensor.float() in PyTorch)`,
      );
    }
    // describe(), never JSON.stringify: the value may be nested deep enough to overflow the stack.
    const shape = info.shape;
    if (!Array.isArray(shape)) {
      return bad(`tensor '${name}' has shape ${describe(shape)}; expected a list of non-negative integers`);
    }
    const badDim = shape.findIndex((d) => !(Number.isSafeInteger(d) && d >= 0));
    if (badDim >= 0) {
      return bad(
        `tensor '${name}' has shape element ${badDim} = ${describe(shape[badDim])}; expected a list of non-negative integers`,
      );
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      const what = Array.isArray(offsets) && offsets.length === 2 ? offsets.map(describe).join(', ') : '';
      return bad(
        `tensor '${name}' has data_offsets ${what ? `[${what}]` : describe(offsets)}; expected [begin, end]`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, d) => a * d, 1);
    const want = size * STORAGE[stored]!.bytes;
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
    entries.push({ name, stored, shape: shape as number[], begin, end });
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
    // The checksum covers the header's content; this covers its bytes (spacing, key order), so that no
    // byte of a Strata file can change unnoticed. Strata writes JSON.stringify's form padded with spaces.
    let text: string;
    try {
      text = JSON.stringify(header);
    } catch {
      // Only a field Strata never writes can be nested deep enough to overflow the stack here.
      return corrupt('its header holds a value nested too deeply to be one Strata wrote');
    }
    const canonical = new TextEncoder().encode(text);
    const padded = Math.ceil(canonical.length / 8) * 8;
    const raw = bytes.subarray(8, 8 + headerLength);
    if (
      headerLength !== padded ||
      canonical.some((b, i) => raw[i] !== b) ||
      raw.subarray(canonical.length).some((b) => b !== 0x20)
    ) {
      corrupt('its header is not byte for byte the form Strata writes (changed spacing or layout)');
    }
    const actual = digest(metadata, entries, bytes.subarray(dataStart));
    if (actual !== checksum) {
      corrupt(
        `the header or data does not match its SHA-256 checksum (recorded ${checksum.slice(0, 12)}…, computed ${actual.slice(0, 12)}…)`,
      );
    }
  }

  const tensors: [string, Tensor][] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.push([e.name, new Tensor(toTypedArray(raw, e, bad), e.shape)]);
  }
  return { tensors: Object.fromEntries(tensors), metadata, verified: checksum !== undefined };
}

/**
 * Writes tensors, and metadata strings, to a safetensors file atomically: the file is written under
 * another name and renamed, so a crash never leaves half a file.
 *
 *     saveSafetensors('mlp.safetensors', model.stateDict(), { epochs: '3' });
 *     Object.keys(loadSafetensors('mlp.safetensors').tensors) // → ['0.bias', '0.weight', '2.bias', '2.weight']
 *     // In PyTorch: safetensors.torch.load_file('mlp.safetensors')
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
  options?: EncodeOptions,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, options));
}

/**
 * Reads a safetensors file from anywhere (Strata, PyTorch, the Hugging Face hub), checking its structure,
 * and its checksum when it has Strata's: `verified` says which. Errors name the file and what is wrong.
 *
 *     saveSafetensors('tensors.safetensors', { w: tensor([[1, 2], [3, 4]]) }, { source: 'docs' });
 *     const { tensors, metadata, verified } = loadSafetensors('tensors.safetensors');
 *     tensors.w // → [[1, 2], [3, 4]]
 *     metadata // → { source: 'docs' }
 *     verified // → true
 *
 * `verified` is true for a file that Strata wrote, false for one from PyTorch or the hub.
 */
export function loadSafetensors(path: string): Safetensors {
  return decodeSafetensors(readFileBytes('loadSafetensors', path), path);
}
