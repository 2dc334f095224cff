import type { DType, TypedArray } from '../backend/backend.js';
import { fail } from '../errors.js';

// Defined with the backend contract (the lowest layer), which kernels read and write.
export type { DType, TypedArray };

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];

const ctors = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/** Zero-filled storage. */
export function allocate(dtype: DType, size: number): TypedArray {
  return new ctors[dtype](size);
}

/** Below this many bytes, clearing costs less than asking Node for raw memory. */
const RAW_MIN_BYTES = 1 << 14;

/**
 * Storage whose contents are left as they come, for results a kernel overwrites entirely: large
 * arrays skip the zero-fill (a full pass over memory per op) by taking Node's uninitialised buffers
 * where Node's Buffer exists.
 */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  const bytes = size * BYTES[dtype];
  const raw = (globalThis as { Buffer?: { allocUnsafeSlow(n: number): { buffer: ArrayBuffer } } }).Buffer;
  if (bytes < RAW_MIN_BYTES || !raw) return allocate(dtype, size);
  return new ctors[dtype](raw.allocUnsafeSlow(bytes).buffer, 0, size);
}

export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return fail('tensor', `unsupported array type ${(data as object).constructor.name}`);
}

export function isFloat(dtype: DType): boolean {
  return dtype !== 'int32';
}

export function checkDType(op: string, dtype: string): DType {
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    fail(op, `unknown dtype '${dtype}': expected one of ${DTYPES.join(', ')}`);
  }
  return dtype as DType;
}

/** The result dtype of a binary op: float64 beats float32 beats int32 (NumPy's promotion, restricted). */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  return 'float32';
}

/** Bytes per element, as safetensors and native kernels count them. */
export const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };
