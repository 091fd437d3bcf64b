/** Byte arrays joined end to end. */

/** The parts, one after another, in a new array (or the only non-empty part as it is). */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const filled = parts.filter((part) => part.length > 0);
  if (filled.length === 1) return filled[0];
  const out = new Uint8Array(filled.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of filled) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * How many times `byte` occurs in `data`. Four bytes at a time: output lines are counted as
 * they pass, megabytes a second, and a loop over single bytes cost twice as much.
 */
export function countByte(data: Uint8Array, byte: number): number {
  const length = data.length;
  const words = new DataView(data.buffer, data.byteOffset, length);
  const spread = Math.imul(byte & 255, 0x01010101);
  let count = 0;
  let at = 0;
  for (; at + 4 <= length; at += 4) {
    // A byte of x is zero exactly where the word holds `byte`; zeros gets the top bit of those.
    const x = words.getInt32(at) ^ spread;
    const zeros = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x) & 0x80808080;
    // The four flags, moved to the bottom of each byte, summed into the top byte.
    count += Math.imul(zeros >>> 7, 0x01010101) >>> 24;
  }
  for (; at < length; at++) if (data[at] === byte) count++;
  return count;
}
