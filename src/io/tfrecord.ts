/**
 * TFRecord framing, the container of TensorBoard's event files (and of TensorFlow's record files):
 *
 *     [u64 little-endian: n] [u32 LE: masked CRC-32C of those 8 bytes] [n bytes: data] [u32 LE: masked CRC-32C of the data]
 *
 * The checksum of the length lets a reader tell a corrupt length from a short file before it trusts it.
 */

/** CRC-32C (Castagnoli) in its reflected form: the polynomial 0x1EDC6F41 with its bits reversed. */
const CASTAGNOLI = 0x82f63b78;

/** One table entry per byte value: the CRC register after shifting that byte through it eight times. */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * The CRC-32C of `bytes` (iSCSI's and TFRecord's checksum), a byte at a time through a 256-entry table.
 *
 *     crc32c(new TextEncoder().encode('123456789')) // → 0xe3069283
 */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The checksum as TFRecord stores it: rotated right by 15 bits and offset by a constant, so that a CRC
 * computed over data that itself holds CRCs does not come out trivially (TensorFlow's `crc32c::Mask`).
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/**
 * Frames one record: its length, the length's masked CRC, the data, the data's masked CRC.
 *
 *     appendFile.write(encodeRecord(eventBytes))
 */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}
