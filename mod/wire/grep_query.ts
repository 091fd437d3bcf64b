/**
 * A grep query as it travels: structured, never a command line, and checked field by field when it
 * is decoded. A node turns it into GNU grep's arguments itself (mod/grep/argv.ts), from an
 * allowlist, so no option that reads other files (-f, -r, --include, ...) can arrive from the
 * network, and the files searched are the node's own choice.
 */

/** GNU grep's regular-expression dialects: -G, -E, -F. */
export type GrepSyntax = "basic" | "extended" | "fixed";

/** What to search for and how, with GNU grep's meaning. */
export interface GrepQuery {
  /** One or more patterns (-e); a line is selected when any matches. */
  readonly patterns: readonly string[];
  readonly syntax: GrepSyntax;
  /** -i */
  readonly ignoreCase: boolean;
  /** -v */
  readonly invert: boolean;
  /** -w */
  readonly word: boolean;
  /** -x */
  readonly line: boolean;
  /** -c */
  readonly count: boolean;
  /** -n */
  readonly lineNumber: boolean;
  /** -l */
  readonly filesWithMatches: boolean;
  /** -L */
  readonly filesWithoutMatch: boolean;
  /** -o */
  readonly onlyMatching: boolean;
  /** -m NUM */
  readonly maxCount?: number;
  /** -A NUM */
  readonly after?: number;
  /** -B NUM */
  readonly before?: number;
  /** -h: lines without the file name (and, on the client, without the member). */
  readonly noFilename?: boolean;
  /** -a: a file with NUL bytes or invalid UTF-8 is searched as text, not reported as binary. */
  readonly text?: boolean;
}

/** A query with every switch off, as `grep -e PATTERN...` asks. */
export function plainQuery(patterns: string[], syntax: GrepSyntax = "basic"): GrepQuery {
  return {
    patterns,
    syntax,
    ignoreCase: false,
    invert: false,
    word: false,
    line: false,
    count: false,
    lineNumber: false,
    filesWithMatches: false,
    filesWithoutMatch: false,
    onlyMatching: false,
  };
}

/** The most patterns one query may hold. */
export const patternsMax = 256;
/** The most bytes (UTF-16 units) of all patterns together. */
export const patternCharsMax = 64 << 10;
/**
 * The most characters that repetition counts (`x{1,300}`, `\(ab\)\{5\}`) may add to the patterns
 * when written out. GNU grep expands them when it compiles, in memory and time that grow faster
 * than the count: `.{1,500}` takes 40 MB and 1.6 s to compile, `.{1,1000}` 150 MB and 13 s, and
 * `(x{1,1000}){1,1000}` gigabytes; a query from the network must not cost a node that.
 */
export const repetitionMax = 512;
/** The largest -m, -A, -B a query may ask for. */
const numberMax = 2 ** 31 - 1;

const flags = [
  "ignoreCase",
  "invert",
  "word",
  "line",
  "count",
  "lineNumber",
  "filesWithMatches",
  "filesWithoutMatch",
  "onlyMatching",
] as const;
/** Switches added later: absent means off, so that a query from an older client still reads. */
const optionalFlags = ["noFilename", "text"] as const;
const numbers = ["maxCount", "after", "before"] as const;
const keys = new Set<string>(["patterns", "syntax", ...flags, ...optionalFlags, ...numbers]);

/** Why `value` is not a well-formed query, or undefined when it is one. Never throws. */
export function queryProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!keys.has(key)) return `unknown field ${JSON.stringify(key.slice(0, 40))}`;
  }
  const patterns = record.patterns;
  if (!Array.isArray(patterns) || patterns.length === 0 || patterns.length > patternsMax) {
    return `patterns must be a list of 1 to ${patternsMax} strings`;
  }
  let chars = 0;
  for (const pattern of patterns) {
    if (typeof pattern !== "string") return "a pattern is not a string";
    if (pattern.includes("\0")) return "a pattern holds a NUL byte";
    chars += pattern.length;
  }
  if (chars > patternCharsMax) return `patterns longer than ${patternCharsMax} characters`;
  if (record.syntax !== "basic" && record.syntax !== "extended" && record.syntax !== "fixed") {
    return "syntax must be basic, extended or fixed";
  }
  if (record.syntax !== "fixed") {
    let added = 0;
    for (const pattern of patterns) added += repetitionAdded(pattern, record.syntax === "extended");
    if (added > repetitionMax) {
      return `repetition counts in the patterns write out to ${added} more characters, more than ${repetitionMax}: grep would need too much memory to compile them`;
    }
  }
  for (const flag of flags) {
    if (typeof record[flag] !== "boolean") return `${flag} must be true or false`;
  }
  for (const flag of optionalFlags) {
    if (record[flag] !== undefined && typeof record[flag] !== "boolean") {
      return `${flag} must be true or false`;
    }
  }
  for (const name of numbers) {
    const n = record[name];
    if (
      n !== undefined &&
      !(Number.isSafeInteger(n) && (n as number) >= 0 && n as number <= numberMax)
    ) {
      return `${name} must be a whole number up to ${numberMax}`;
    }
  }
  return undefined;
}

/**
 * How output comes back: "text" is GNU grep's own output with `-H` (one line per match, the file
 * name first); "records" adds `-Z` (a NUL after each file name) and `-n`, so `--json` can split
 * lines into fields whatever they hold.
 */
export type OutputMode = "text" | "records";

/**
 * How many characters the repetition counts of a GNU regular expression add when written out:
 * `a{3}` adds 2, `(ab){1,4}` 6, `(x{1,10}){1,10}` 9 + 10 * 9. Brackets and escapes are single
 * characters; `*`, `+` and `?` add nothing (grep does not write them out). Reads any string.
 */
export function repetitionAdded(pattern: string, extended: boolean): number {
  // Per open group: its written-out size so far, and that of its last atom.
  const groups: { size: number; last: number }[] = [{ size: 0, last: 0 }];
  let added = 0;
  const atom = (size: number) => {
    const top = groups[groups.length - 1];
    top.size += size;
    top.last = size;
  };
  const close = () => {
    if (groups.length === 1) return atom(1);
    atom(groups.pop()!.size);
  };
  const repeat = (count: number) => {
    const top = groups[groups.length - 1];
    if (count <= 1 || top.last === 0) return;
    const more = top.last * (Math.min(count, 1e6) - 1);
    added += more;
    top.size += more;
    top.last += more;
  };
  const interval = /^(\d*)(?:,(\d*))?/;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "[") {
      // A bracket expression: one character, whatever it holds ([]a], [^]a], [[:digit:]]).
      let j = i + 1;
      if (pattern[j] === "^") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") {
        if (pattern[j] === "[" && ":=.".includes(pattern[j + 1] ?? "")) {
          const end = pattern.indexOf(pattern[j + 1] + "]", j + 2);
          j = end < 0 ? pattern.length : end + 2;
        } else j++;
      }
      atom(1);
      i = j + 1;
      continue;
    }
    const escaped = c === "\\";
    const next = escaped ? pattern[i + 1] ?? "" : c;
    const step = escaped ? 2 : 1;
    // Groups and intervals are \( \) \{ \} in basic syntax, ( ) { } in extended.
    const special = escaped !== extended;
    if (special && next === "(") {
      groups.push({ size: 0, last: 0 });
    } else if (special && next === ")") {
      close();
    } else if (special && next === "|") {
      groups[groups.length - 1].last = 0;
    } else if (special && next === "{") {
      const bounds = interval.exec(pattern.slice(i + step, i + step + 24))!;
      const closing = extended ? "}" : "\\}";
      const end = i + step + bounds[0].length;
      if (bounds[0].length > 0 && pattern.startsWith(closing, end)) {
        const low = bounds[1] === "" ? 0 : Number(bounds[1]);
        const high = bounds[2] === undefined ? low : bounds[2] === "" ? low : Number(bounds[2]);
        repeat(Math.max(low, high));
        i = end + closing.length;
        continue;
      }
      atom(1);
    } else {
      atom(1);
    }
    i += step;
  }
  return added;
}
