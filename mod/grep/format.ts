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
 * and how many lines of output the chunk held (the `--` are not output lines).
 */
export function prefixLines(
  prefix: Uint8Array,
  chunk: Uint8Array,
): { data: Uint8Array; lines: number } {
  let lines = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  const unended = chunk.length > 0 && chunk[chunk.length - 1] !== 10 ? 1 : 0;
  // The chunk is copied once, to the end of the output, and each line then moved down behind its
  // prefix: copyWithin moves bytes in place, where a subarray per line would make an object per
  // line, and a frequent pattern sends hundreds of thousands. The gap ahead of the line being
  // moved is always at least one prefix wide, so a prefix never overwrites what is still to move.
  const shift = (lines + unended) * prefix.length;
  const out = new Uint8Array(chunk.length + shift);
  out.set(chunk, shift);
  let from = shift;
  let to = 0;
  while (from < out.length) {
    let end = out.indexOf(10, from);
    end = end < 0 ? out.length : end + 1;
    if (isSeparator(out, from, end)) {
      lines--;
    } else {
      out.set(prefix, to);
      to += prefix.length;
    }
    out.copyWithin(to, from, end);
    to += end - from;
    from = end;
  }
  return { data: out.subarray(0, to), lines };
}

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
