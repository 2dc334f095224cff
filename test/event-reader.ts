/**
 * A reader of TFRecord files and TensorBoard events written independently of src/io: the CRC-32C is
 * computed bit by bit (the implementation uses a table), and the protobuf wire format is decoded by
 * hand from the field numbers of TensorBoard's .proto files (the implementation uses protobufjs and a
 * schema). Used by the tests only, to check what the writers wrote.
 */

/** CRC-32C, one bit at a time, straight from the definition (reflected Castagnoli polynomial). */
export function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function mask(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + 0xa282ead8) % 0x100000000;
}

export interface RecordRead {
  /** Offset of the record's first byte in the file. */
  offset: number;
  data: Uint8Array;
}

/**
 * Splits a TFRecord file into its records, checking both masked CRCs of every record; throws, naming
 * the offset, on a bad checksum or on a last record that is cut short (a truncated file).
 */
export function readRecords(file: Uint8Array): RecordRead[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records: RecordRead[] = [];
  let at = 0;
  while (at < file.length) {
    if (file.length - at < 12)
      throw new Error(`truncated record at ${at}: ${file.length - at} bytes of header`);
    const length = Number(view.getBigUint64(at, true));
    if (mask(crc32cBitwise(file.subarray(at, at + 8))) !== view.getUint32(at + 8, true))
      throw new Error(`bad length CRC at ${at}`);
    if (file.length - at < 12 + length + 4)
      throw new Error(`truncated record at ${at}: needs ${16 + length} bytes, ${file.length - at} left`);
    const data = file.subarray(at + 12, at + 12 + length);
    if (mask(crc32cBitwise(data)) !== view.getUint32(at + 12 + length, true))
      throw new Error(`bad data CRC at ${at}`);
    records.push({ offset: at, data });
    at += 16 + length;
  }
  return records;
}

/** One field of a protobuf message as it is on the wire. */
type Field =
  | { wire: 0; value: bigint }
  | { wire: 1; value: Uint8Array }
  | { wire: 2; value: Uint8Array }
  | { wire: 5; value: Uint8Array };

/** The fields of a message, by field number, in the order they came. */
type Fields = Map<number, Field[]>;

function varint(bytes: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= bytes.length) throw new Error('varint runs past the end');
    const b = bytes[at++]!;
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if (!(b & 0x80)) return [value, at];
  }
}

function parse(bytes: Uint8Array): Fields {
  const fields: Fields = new Map();
  let at = 0;
  while (at < bytes.length) {
    const [key, next] = varint(bytes, at);
    at = next;
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    let field: Field;
    if (wire === 0) {
      const [value, after] = varint(bytes, at);
      at = after;
      field = { wire, value };
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      field = { wire, value: bytes.subarray(at, at + size) };
      at += size;
    } else if (wire === 2) {
      const [length, after] = varint(bytes, at);
      field = { wire, value: bytes.subarray(after, after + Number(length)) };
      at = after + Number(length);
    } else throw new Error(`unexpected wire type ${wire}`);
    if (at > bytes.length) throw new Error(`field ${number} runs past the end`);
    const list = fields.get(number) ?? [];
    list.push(field);
    fields.set(number, list);
  }
  return fields;
}

function last(fields: Fields, n: number): Field | undefined {
  const list = fields.get(n);
  return list?.[list.length - 1];
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function double(fields: Fields, n: number): number {
  const f = last(fields, n);
  if (!f) return 0;
  if (f.wire !== 1) throw new Error(`field ${n}: expected a double (wire type 1), got wire type ${f.wire}`);
  return dv(f.value).getFloat64(0, true);
}

function float(fields: Fields, n: number): number {
  const f = last(fields, n);
  if (!f) return 0;
  if (f.wire !== 5) throw new Error(`field ${n}: expected a float (wire type 5), got wire type ${f.wire}`);
  return dv(f.value).getFloat32(0, true);
}

function int(fields: Fields, n: number): bigint {
  const f = last(fields, n);
  if (!f) return 0n;
  if (f.wire !== 0) throw new Error(`field ${n}: expected a varint, got wire type ${f.wire}`);
  return BigInt.asIntN(64, f.value);
}

function bytes(fields: Fields, n: number): Uint8Array | undefined {
  const f = last(fields, n);
  if (f && f.wire !== 2)
    throw new Error(`field ${n}: expected a length-delimited field, got wire type ${f.wire}`);
  return f?.value;
}

/** Every occurrence of a repeated length-delimited field (strings, bytes, messages). */
function all(fields: Fields, n: number): Uint8Array[] {
  return (fields.get(n) ?? []).map((f) => {
    if (f.wire !== 2)
      throw new Error(`field ${n}: expected a length-delimited field, got wire type ${f.wire}`);
    return f.value;
  });
}

function text(fields: Fields, n: number): string | undefined {
  const b = bytes(fields, n);
  return b && new TextDecoder('utf-8', { fatal: true }).decode(b);
}

function message(fields: Fields, n: number): Fields | undefined {
  const b = bytes(fields, n);
  return b && parse(b);
}

/** A repeated double field, packed (one length-delimited run) or not (one fixed64 per element). */
function doubles(fields: Fields, n: number): number[] {
  const out: number[] = [];
  for (const f of fields.get(n) ?? []) {
    if (f.wire === 1) out.push(dv(f.value).getFloat64(0, true));
    else if (f.wire === 2)
      for (let i = 0; i < f.value.length; i += 8) out.push(dv(f.value).getFloat64(i, true));
    else throw new Error(`field ${n}: expected doubles, got wire type ${f.wire}`);
  }
  return out;
}

export interface ReadHistogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}

export interface ReadValue {
  tag: string;
  pluginName?: string;
  pluginContent?: Uint8Array;
  simpleValue?: number;
  image?: { height: number; width: number; colorspace: number; png: Uint8Array };
  histo?: ReadHistogram;
  tensor?: { dtype: number; shape: number[]; strings: string[] };
}

export interface ReadEvent {
  wallTime: number;
  step: bigint;
  fileVersion?: string;
  writer?: string;
  values?: ReadValue[];
}

function readValue(v: Fields): ReadValue {
  const out: ReadValue = { tag: text(v, 1) ?? '' };
  const metadata = message(v, 9);
  const plugin = metadata && message(metadata, 1);
  if (plugin) {
    out.pluginName = text(plugin, 1) ?? '';
    out.pluginContent = bytes(plugin, 2) ?? new Uint8Array(0);
  }
  if (v.has(2)) out.simpleValue = float(v, 2);
  const image = message(v, 4);
  if (image)
    out.image = {
      height: Number(int(image, 1)),
      width: Number(int(image, 2)),
      colorspace: Number(int(image, 3)),
      png: bytes(image, 4) ?? new Uint8Array(0),
    };
  const histo = message(v, 5);
  if (histo)
    out.histo = {
      min: double(histo, 1),
      max: double(histo, 2),
      num: double(histo, 3),
      sum: double(histo, 4),
      sumSquares: double(histo, 5),
      bucketLimit: doubles(histo, 6),
      bucket: doubles(histo, 7),
    };
  const tensor = message(v, 8);
  if (tensor) {
    const shape = message(tensor, 2);
    out.tensor = {
      dtype: Number(int(tensor, 1)),
      shape: (shape ? all(shape, 2) : []).map((d) => Number(int(parse(d), 1))),
      strings: all(tensor, 8).map((s) => new TextDecoder('utf-8', { fatal: true }).decode(s)),
    };
  }
  return out;
}

/** Decodes one serialised `Event` (event.proto: wall_time 1, step 2, file_version 3, summary 5, source_metadata 10). */
export function readEvent(data: Uint8Array): ReadEvent {
  const e = parse(data);
  const event: ReadEvent = { wallTime: double(e, 1), step: int(e, 2) };
  const version = text(e, 3);
  if (version !== undefined) event.fileVersion = version;
  const source = message(e, 10);
  if (source) event.writer = text(source, 1) ?? '';
  const summary = message(e, 5);
  if (summary) event.values = all(summary, 1).map((v) => readValue(parse(v)));
  return event;
}

/** Every event of an event file, each record's CRCs checked. */
export function readEventFile(file: Uint8Array): ReadEvent[] {
  return readRecords(file).map((r) => readEvent(r.data));
}

/** A google.protobuf.Value (struct.proto: number 2, string 3, bool 4). */
function protobufValue(v: Fields): number | string | boolean {
  if (v.has(2)) return double(v, 2);
  if (v.has(3)) return text(v, 3)!;
  if (v.has(4)) return int(v, 4) !== 0n;
  throw new Error('a Value with none of number, string, bool');
}

export interface ReadHparams {
  version: number;
  experiment?: {
    hparams: { name: string; type: number; domain?: (number | string | boolean)[] }[];
    metrics: string[];
  };
  sessionStart?: Record<string, number | string | boolean>;
  sessionEndStatus?: number;
}

/**
 * Decodes the hparams plugin's content (plugin_data.proto: HParamsPluginData version 1, experiment 2,
 * session_start_info 3, session_end_info 4; api.proto: Experiment hparam_infos 4, metric_infos 5).
 */
export function readHparams(content: Uint8Array): ReadHparams {
  const d = parse(content);
  const out: ReadHparams = { version: Number(int(d, 1)) };
  const experiment = message(d, 2);
  if (experiment)
    out.experiment = {
      hparams: all(experiment, 4).map((b) => {
        const info = parse(b);
        const domain = message(info, 5);
        return {
          name: text(info, 1) ?? '',
          type: Number(int(info, 4)),
          ...(domain ? { domain: all(domain, 1).map((v) => protobufValue(parse(v))) } : {}),
        };
      }),
      metrics: all(experiment, 5).map((b) => text(message(parse(b), 1)!, 2) ?? ''),
    };
  const start = message(d, 3);
  if (start)
    // A map field is a repeated entry message: key 1, value 2.
    out.sessionStart = Object.fromEntries(
      all(start, 1).map((b) => {
        const entry = parse(b);
        return [text(entry, 1) ?? '', protobufValue(message(entry, 2)!)];
      }),
    );
  const end = message(d, 4);
  if (end) out.sessionEndStatus = Number(int(end, 1));
  return out;
}
