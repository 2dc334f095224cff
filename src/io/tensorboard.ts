import { hostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, fail } from '../errors.js';
import { AppendFile } from './append.js';
import { encodeRecord } from './tfrecord.js';

/**
 * TensorBoard's event files: a sequence of TFRecords (see tfrecord.ts), each one serialised `Event`.
 * The first event of a file carries only `file_version: "brain.Event:2"`; the others carry a `Summary`
 * of tagged values. The messages below are the part of TensorBoard's event.proto, summary.proto,
 * histogram.proto, tensor.proto and tensor_shape.proto (package `tensorboard`, under
 * tensorboard/compat/proto) that Strata writes, with TensorBoard's field numbers, so that TensorBoard
 * and any other reader of those files decodes them; fields left out are never written.
 */
const SCHEMA = `
syntax = "proto3";
package tensorboard;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
  SourceMetadata source_metadata = 10;
}

message SourceMetadata {
  string writer = 1;
}

message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      Image image = 4;
      HistogramProto histo = 5;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
}

message HistogramProto {
  double min = 1;
  double max = 2;
  double num = 3;
  double sum = 4;
  double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true];
  repeated double bucket = 7 [packed = true];
}

enum DataType {
  DT_INVALID = 0;
  DT_STRING = 7;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated bytes string_val = 8;
}
`;

/**
 * The hparams plugin's data (tensorboard/plugins/hparams: plugin_data.proto, api.proto), carried as the
 * `content` of a value's plugin metadata, and the two google.protobuf struct.proto messages it uses.
 */
const HPARAMS_SCHEMA = `
syntax = "proto3";
package tensorboard.hparams;

message HParamsPluginData {
  int32 version = 1;
  oneof data {
    Experiment experiment = 2;
    SessionStartInfo session_start_info = 3;
    SessionEndInfo session_end_info = 4;
  }
}

message Experiment {
  double time_created_secs = 3;
  repeated HParamInfo hparam_infos = 4;
  repeated MetricInfo metric_infos = 5;
}

enum DataType {
  DATA_TYPE_UNSET = 0;
  DATA_TYPE_STRING = 1;
  DATA_TYPE_BOOL = 2;
  DATA_TYPE_FLOAT64 = 3;
}

message HParamInfo {
  string name = 1;
  DataType type = 4;
  oneof domain {
    google.protobuf.ListValue domain_discrete = 5;
  }
}

message MetricName {
  string group = 1;
  string tag = 2;
}

message MetricInfo {
  MetricName name = 1;
}

enum Status {
  STATUS_UNKNOWN = 0;
  STATUS_SUCCESS = 1;
  STATUS_FAILURE = 2;
  STATUS_RUNNING = 3;
}

message SessionStartInfo {
  map<string, google.protobuf.Value> hparams = 1;
  double start_time_secs = 5;
}

message SessionEndInfo {
  Status status = 1;
  double end_time_secs = 2;
}
`;

const STRUCT_SCHEMA = `
syntax = "proto3";
package google.protobuf;

message Value {
  oneof kind {
    double number_value = 2;
    string string_value = 3;
    bool bool_value = 4;
    ListValue list_value = 6;
  }
}

message ListValue {
  repeated Value values = 1;
}
`;

const root = protobuf.parse(SCHEMA).root;
protobuf.parse(HPARAMS_SCHEMA, root);
protobuf.parse(STRUCT_SCHEMA, root);
const EventMessage = root.lookupType('tensorboard.Event');
const HParamsMessage = root.lookupType('tensorboard.hparams.HParamsPluginData');

/** TensorFlow's `DataType` codes for the tensors Strata writes (strings, for the text plugin). */
export const DataType = { string: 7 } as const;

/** Metadata that tells TensorBoard which plugin shows a value (`'text'`, `'hparams'`, …). */
export interface SummaryMetadata {
  pluginData?: { pluginName: string; content?: Uint8Array };
  displayName?: string;
  summaryDescription?: string;
}

/** `HistogramProto`: bucket `i` counts the values in (bucketLimit[i-1], bucketLimit[i]]. */
export interface HistogramProto {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}

/** `Summary.Image`: an encoded (PNG) image; colorspace 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
export interface SummaryImage {
  height: number;
  width: number;
  colorspace: number;
  encodedImageString: Uint8Array;
}

/** `TensorProto`, with the value fields Strata writes. */
export interface TensorProto {
  dtype: (typeof DataType)[keyof typeof DataType];
  tensorShape?: { dim: { size: number; name?: string }[] };
  stringVal?: Uint8Array[];
}

/** One tagged value of a summary: exactly one of `simpleValue`, `image`, `histo` or `tensor`. */
export interface SummaryValue {
  tag: string;
  metadata?: SummaryMetadata;
  simpleValue?: number;
  image?: SummaryImage;
  histo?: HistogramProto;
  tensor?: TensorProto;
}

/** `Event`: a time (seconds since 1970), a step, and either the file's version or a summary. */
export interface Event {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: { value: SummaryValue[] };
  sourceMetadata?: { writer: string };
}

/** Serialises an `Event` to protobuf wire format (without the TFRecord frame). */
function encodeEvent(event: Event): Uint8Array {
  return EventMessage.encode(EventMessage.fromObject(event)).finish();
}

/** A hyperparameter's value as google.protobuf.Value holds it. */
export type HparamValue = { numberValue: number } | { stringValue: string } | { boolValue: boolean };

/** The hparams plugin's `HParamsPluginData`: the experiment's columns, or one session's start or end. */
export interface HparamsPluginData {
  version: number;
  experiment?: {
    timeCreatedSecs?: number;
    /** `type`: 1 string, 2 bool, 3 float64. */
    hparamInfos: { name: string; type: 1 | 2 | 3; domainDiscrete?: { values: HparamValue[] } }[];
    metricInfos: { name: { group?: string; tag: string } }[];
  };
  sessionStartInfo?: { hparams: Record<string, HparamValue>; startTimeSecs?: number };
  /** `status`: 1 success, 2 failure, 3 running. */
  sessionEndInfo?: { status: 0 | 1 | 2 | 3; endTimeSecs?: number };
}

/** Serialises the hparams plugin's data, for the `content` of a value's plugin metadata. */
export function encodeHparamsPluginData(data: HparamsPluginData): Uint8Array {
  return HParamsMessage.encode(HParamsMessage.fromObject(data)).finish();
}

/** The version string TensorBoard expects in the first event of a file. */
const FILE_VERSION = 'brain.Event:2';

export interface EventFileOptions {
  /** Seconds between writes of queued events to the disk (default 120, as PyTorch). */
  flushSecs?: number;
  /** Events queued before they are written regardless of time (default 10, as PyTorch). */
  maxQueue?: number;
  /** Appended to the file name, e.g. `'.v2'` (default none). */
  filenameSuffix?: string;
}

/** Distinguishes the files that one process opens in one directory within the same second. */
let filesOpened = 0;

/** Writers not closed yet: their queues are written when the process exits, even without close(). */
const unclosed = new Set<EventFileWriter>();

function flushAtExit(): void {
  for (const writer of unclosed) {
    try {
      writer.flush();
    } catch {
      // The process is exiting: there is no caller left to report a failed write to.
    }
  }
}

/**
 * Writes events to a new file `events.out.tfevents.<seconds>.<hostname>.<pid>.<n><suffix>` in `logDir`
 * (created if missing), the name TensorBoard looks for; the first record, written at once, is the
 * `file_version` event. Later events are queued and written together when `maxQueue` are waiting, when
 * `flushSecs` have passed since the last write (checked as events arrive), on `flush()`/`close()`, and
 * when the process exits (a script that forgets `close()` keeps its events; a killed one loses at most
 * the queue).
 *
 *     const file = new EventFileWriter('summary', 'runs/mnist')
 *     file.add({ wallTime: Date.now() / 1000, step: 1, summary: { value: [{ tag: 'loss', simpleValue: 0.5 }] } })
 *     file.close()
 */
export class EventFileWriter {
  readonly path: string;
  private readonly op: string;
  private readonly file: AppendFile;
  private readonly flushMs: number;
  private readonly maxQueue: number;
  private queue: Uint8Array[] = [];
  private lastFlush = Date.now();

  constructor(op: string, logDir: string, options: EventFileOptions = {}) {
    const { flushSecs = 120, maxQueue = 10, filenameSuffix = '' } = options;
    if (typeof flushSecs !== 'number' || !(flushSecs >= 0))
      fail(op, `flushSecs must be a number of seconds ≥ 0, got ${describe(flushSecs)}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 1)
      fail(op, `maxQueue must be a positive integer, got ${describe(maxQueue)}`);
    if (typeof filenameSuffix !== 'string' || /[/\\]/.test(filenameSuffix))
      fail(op, `filenameSuffix must be a string without path separators, got ${describe(filenameSuffix)}`);
    this.op = op;
    this.flushMs = flushSecs * 1000;
    this.maxQueue = maxQueue;
    const now = Date.now() / 1000;
    const seconds = String(Math.floor(now)).padStart(10, '0');
    const name = `events.out.tfevents.${seconds}.${hostname()}.${process.pid}.${filesOpened++}${filenameSuffix}`;
    this.path = join(logDir, name);
    this.file = new AppendFile(op, this.path, { mode: 'create' });
    if (unclosed.size === 0) process.once('exit', flushAtExit);
    unclosed.add(this);
    this.file.write(
      encodeRecord(
        encodeEvent({
          wallTime: now,
          step: 0,
          fileVersion: FILE_VERSION,
          sourceMetadata: { writer: 'strata' },
        }),
      ),
    );
  }

  /** Queues one event, and writes the queue if it is full or due. */
  add(event: Event): void {
    if (this.file.closed) fail(this.op, `'${this.path}' is already closed; create a new writer to log more`);
    this.queue.push(encodeRecord(encodeEvent(event)));
    if (this.queue.length >= this.maxQueue || Date.now() - this.lastFlush >= this.flushMs) this.flush();
  }

  /** Writes every queued event and flushes the file to the disk. */
  flush(): void {
    if (this.queue.length > 0) {
      const pending = this.queue;
      const bytes = new Uint8Array(pending.reduce((n, r) => n + r.length, 0));
      let at = 0;
      for (const record of pending) {
        bytes.set(record, at);
        at += record.length;
      }
      // A failed write keeps the queue, so that a retry after freeing space loses nothing.
      this.file.write(bytes);
      this.queue = [];
    }
    this.file.sync();
    this.lastFlush = Date.now();
  }

  /** Writes what is queued and closes the file. Closing twice is harmless. */
  close(): void {
    if (this.file.closed) return;
    this.flush();
    this.file.close();
    unclosed.delete(this);
    if (unclosed.size === 0) process.off('exit', flushAtExit);
  }
}
