/**
 * Reading event logs for `member viz`: many files (or fetched logs), each line parsed, bad lines
 * reported with file and line and skipped. A file that is not an event log at all is one report,
 * not one per line.
 */
import { type EventRecord, parseEventLine } from "./event_line.ts";

/** A log to read: where it came from and its text. */
export interface LogSource {
  readonly source: string;
  readonly text: string;
}

/** A line that was skipped, and why. */
export interface ReadProblem {
  readonly source: string;
  /** 1-based; 0 for the file as a whole. */
  readonly line: number;
  readonly error: string;
}

/** What the logs held. */
export interface ReadResult {
  readonly records: EventRecord[];
  readonly problems: ReadProblem[];
  /** Lines skipped in all: a problem may stand for many. */
  readonly skippedLines: number;
  /** Logs with at least one event line. */
  readonly used: string[];
  /** Logs with lines, none of them an event line. */
  readonly rejected: string[];
  /** Logs with no line at all. */
  readonly empty: string[];
}

/**
 * Text from input as it may be shown on a terminal or a page: control characters (an escape
 * sequence would drive the terminal) and invisible line and direction marks written as JSON
 * writes them, `\u001b`.
 */
export function showControls(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Problems reported per file, with their lines, before the rest are summed up in one line (a
 * truncated last line is reported whatever their number).
 */
const problemsPerFileMax = 100;

/** Parses every line of every log; never throws on content. */
export function readEventLogs(logs: readonly LogSource[]): ReadResult {
  const records: EventRecord[] = [];
  const problems: ReadProblem[] = [];
  const used: string[] = [];
  const rejected: string[] = [];
  const empty: string[] = [];
  let skippedLines = 0;
  for (const log of logs) {
    const source = showControls(log.source);
    const lines = log.text.split("\n");
    // A last line without its newline may have been cut mid-write.
    const cut = lines.length > 0 && lines[lines.length - 1] !== "";
    if (!cut) lines.pop();
    const mine: EventRecord[] = [];
    const bad: ReadProblem[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      const parsed = parseEventLine(line);
      if ("error" in parsed) {
        const truncated = cut && i === lines.length - 1;
        const error = showControls(parsed.error);
        bad.push({
          source,
          line: i + 1,
          error: truncated ? `a truncated last line (${error})` : error,
        });
      } else mine.push(parsed);
    });
    skippedLines += bad.length;
    if (mine.length === 0 && bad.length === 0) {
      empty.push(log.source);
      continue;
    }
    if (mine.length === 0) {
      rejected.push(log.source);
      problems.push({
        source,
        line: 0,
        error: `not an event log: none of its ${bad.length} lines is an event line (line ${
          bad[0].line
        }: ${bad[0].error})`,
      });
      continue;
    }
    used.push(log.source);
    for (const record of mine) records.push(record);
    problems.push(...bad.slice(0, problemsPerFileMax));
    if (bad.length > problemsPerFileMax) {
      const last = bad[bad.length - 1];
      const lastCut = cut && last.line === lines.length;
      const more = bad.length - problemsPerFileMax - (lastCut ? 1 : 0);
      if (more > 0) problems.push({ source, line: 0, error: `${more} more lines skipped` });
      if (lastCut) problems.push(last);
    }
  }
  return { records, problems, skippedLines, used, rejected, empty };
}
