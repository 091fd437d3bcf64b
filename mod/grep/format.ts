/**
 * What the client makes of grep output: text lines prefixed with the member they came from, or
 * records for `--json`, parsed from GNU grep's `-H -n -Z` output.
 */
import { concat } from "../bytes.ts";
import type { GrepQuery } from "../wire/grep_query.ts";
import { namesOnly } from "./argv.ts";

/** One unit of `--json` output (the member is added by the client). */
export type GrepRecord =
  | { readonly type: "match"; readonly file: string; readonly line: number; readonly text: string }
  | {
    readonly type: "context";
    readonly file: string;
    readonly line: number;
    readonly text: string;
  }
  | { readonly type: "count"; readonly file: string; readonly count: number }
  | { readonly type: "file"; readonly file: string };

const separator = [45, 45, 10]; // "--\n", between groups of context lines

/**
 * Puts `prefix` before every line of `chunk` (whole lines), as `grep -H` puts a file name, except
 * before grep's own `--` between context groups, which stays as it is. Returns the prefixed bytes
 * and how many lines of output the chunk held (the `--` are not output lines, nor is a last line
 * without its newline).
 */
export function prefixLines(
  prefix: Uint8Array,
  chunk: Uint8Array,
): { data: Uint8Array; lines: number } {
  // A frequent pattern sends hundreds of thousands of lines a second, so this is the client's
  // hottest loop. It makes one pass, with no call and no object per line: each line is copied
  // four bytes at a time until a word holds its newline, the rest byte by byte, into a buffer
  // kept from call to call and grown when a chunk might not fit; the result is then copied out
  // once. A pass to count lines first, to size the output exactly, cost as much as the copy.
  const length = chunk.length;
  const from = new DataView(chunk.buffer, chunk.byteOffset, length);
  let out = scratch;
  let to32 = scratchWords;
  let to = 0;
  let at = 0;
  let lines = 0;
  while (at < length) {
    // Room for this line's prefix and, at most, all that is left.
    if (to + prefix.length + length - at > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, to + prefix.length + length - at));
      grown.set(out.subarray(0, to));
      out = grown;
      to32 = new DataView(out.buffer);
    }
    if (
      chunk[at] === 45 && at + 2 < length && chunk[at + 1] === 45 && chunk[at + 2] === 10
    ) {
      out[to] = 45;
      out[to + 1] = 45;
      out[to + 2] = 10;
      to += 3;
      at += 3;
      continue;
    }
    out.set(prefix, to);
    to += prefix.length;
    for (; at + 4 <= length; at += 4, to += 4) {
      const word = from.getInt32(at);
      // Whether a byte of the word is a newline: x has a zero byte exactly where word has 10.
      const x = word ^ 0x0a0a0a0a;
      if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
      to32.setInt32(to, word);
    }
    let byte = 0;
    do {
      byte = chunk[at++];
      out[to++] = byte;
    } while (byte !== 10 && at < length);
    if (byte === 10) lines++;
  }
  const data = out.slice(0, to);
  // What a long line made it grow to is not kept.
  if (out.length <= scratchBytesKept) {
    scratch = out;
    scratchWords = to32;
  }
  return { data, lines };
}

/** What prefixLines writes into, kept for its next call. */
let scratch = new Uint8Array(1 << 16);
let scratchWords = new DataView(scratch.buffer);
const scratchBytesKept = 4 << 20;

function isSeparator(chunk: Uint8Array, from: number, end: number): boolean {
  return end - from === 3 && chunk[from] === separator[0] && chunk[from + 1] === separator[1] &&
    chunk[from + 2] === separator[2];
}

/**
 * Where the text output of one member follows another's, grep's `--` between context groups:
 * lines of two members are never one group. Returns the separator to write before `data`, if
 * one is needed; nothing when the query shows no context.
 */
export class GroupSeparators {
  readonly #enabled: boolean;
  #member: string | undefined;
  #endsWithSeparator = true;

  constructor(query: GrepQuery) {
    this.#enabled = drawsGroups(query);
  }

  before(member: string, data: Uint8Array): Uint8Array | undefined {
    if (!this.#enabled || data.length === 0) return undefined;
    const needed = member !== this.#member && !this.#endsWithSeparator &&
      !isSeparator(data, 0, 3);
    this.#member = member;
    // A whole line `--`, not a line that ends in `--` (`file:a --`).
    const last = data.length - 3;
    this.#endsWithSeparator = last >= 0 && isSeparator(data, last, data.length) &&
      (last === 0 || data[last - 1] === 10);
    return needed ? separatorBytes : undefined;
  }
}

const separatorBytes = Uint8Array.from(separator);

/** True when grep's output for the query comes in groups of context lines, parted by `--`. */
function drawsGroups(query: GrepQuery): boolean {
  return (query.after !== undefined || query.before !== undefined) && !query.count &&
    !namesOnly(query);
}

/**
 * Merges the text output of members, with context, so that one member's group of context lines
 * is not split by another member's lines: each member's output is held back from the end of its
 * last whole group (grep's `--`) until its next `--` or its end, then written with a `--` before
 * it where the member changes. A group longer than `holdMax` bytes is written as it comes.
 */
export class GroupedOutput {
  readonly #separators: GroupSeparators;
  readonly #write: (bytes: Uint8Array) => void;
  readonly #holdMax: number;
  readonly #held = new Map<string, { chunks: Uint8Array[]; bytes: number }>();
  readonly #grouped: boolean;

  constructor(query: GrepQuery, write: (bytes: Uint8Array) => void, holdMax = 1 << 20) {
    this.#separators = new GroupSeparators(query);
    this.#write = write;
    this.#holdMax = holdMax;
    this.#grouped = drawsGroups(query);
  }

  /** A member's next whole lines, prefixed. */
  add(member: string, data: Uint8Array): void {
    if (!this.#grouped) {
      this.#write(data);
      return;
    }
    let held = this.#held.get(member);
    if (held === undefined) {
      held = { chunks: [], bytes: 0 };
      this.#held.set(member, held);
    }
    const end = groupsEnd(data);
    if (end > 0) {
      held.chunks.push(data.subarray(0, end));
      this.#flush(member, held);
    }
    if (end < data.length) {
      held.chunks.push(data.subarray(end));
      held.bytes += data.length - end;
      if (held.bytes > this.#holdMax) this.#flush(member, held);
    }
  }

  /** A member's output is over: what it holds goes out. */
  end(member: string): void {
    const held = this.#held.get(member);
    if (held !== undefined) this.#flush(member, held);
    this.#held.delete(member);
  }

  #flush(member: string, held: { chunks: Uint8Array[]; bytes: number }): void {
    if (held.chunks.length === 0) return;
    const unit = concat(...held.chunks);
    held.chunks = [];
    held.bytes = 0;
    const separator = this.#separators.before(member, unit);
    if (separator !== undefined) this.#write(separator);
    this.#write(unit);
  }
}

/** Where the last whole group of `data` ends: just past its last `--` line, or 0. */
function groupsEnd(data: Uint8Array): number {
  if (data.length < 3) return 0;
  // From one '-' back to the one before: output runs to megabytes, its dashes are few.
  for (let at = data.lastIndexOf(45, data.length - 3); at >= 0;) {
    if (isSeparator(data, at, at + 3) && (at === 0 || data[at - 1] === 10)) return at + 3;
    at = at === 0 ? -1 : data.lastIndexOf(45, at - 1);
  }
  return 0;
}

const decoder = new TextDecoder();

/** The records in a chunk of whole units of `-H -n -Z` output. Units it cannot read are skipped. */
export function* parseRecords(chunk: Uint8Array, query: GrepQuery): Generator<GrepRecord> {
  if (namesOnly(query)) {
    // `-l -Z`: each name ends with a NUL, nothing else.
    let from = 0;
    for (;;) {
      const end = chunk.indexOf(0, from);
      if (end < 0) return;
      yield { type: "file", file: decoder.decode(chunk.subarray(from, end)) };
      from = end + 1;
    }
  }
  let from = 0;
  while (from < chunk.length) {
    let end = chunk.indexOf(10, from);
    if (end < 0) end = chunk.length;
    const line = chunk.subarray(from, end);
    from = end + 1;
    const nul = line.indexOf(0);
    if (nul < 0) continue; // The `--` between context groups.
    const file = decoder.decode(line.subarray(0, nul));
    const rest = decoder.decode(line.subarray(nul + 1));
    if (query.count) {
      yield { type: "count", file, count: Number(rest) };
      continue;
    }
    const match = /^(\d+)([:-])/.exec(rest);
    if (match === null) continue;
    yield {
      type: match[2] === ":" ? "match" : "context",
      file,
      line: Number(match[1]),
      text: rest.slice(match[0].length),
    };
  }
}
