/**
 * What the client makes of grep output: text lines prefixed with the member they came from, or
 * records for `--json`, parsed from GNU grep's `-H -n -Z` output.
 */
import { type GrepQuery, namesOnly } from "./query.ts";

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
 * before grep's own `--` between context groups, which stays as it is.
 */
export function prefixLines(prefix: Uint8Array, chunk: Uint8Array): Uint8Array {
  let lines = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  if (chunk.length > 0 && chunk[chunk.length - 1] !== 10) lines++;
  const out = new Uint8Array(chunk.length + lines * prefix.length);
  let from = 0;
  let to = 0;
  while (from < chunk.length) {
    let end = chunk.indexOf(10, from);
    end = end < 0 ? chunk.length : end + 1;
    if (!isSeparator(chunk, from, end)) {
      out.set(prefix, to);
      to += prefix.length;
    }
    out.set(chunk.subarray(from, end), to);
    to += end - from;
    from = end;
  }
  return out.subarray(0, to);
}

function isSeparator(chunk: Uint8Array, from: number, end: number): boolean {
  return end - from === 3 && chunk[from] === separator[0] && chunk[from + 1] === separator[1] &&
    chunk[from + 2] === separator[2];
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
