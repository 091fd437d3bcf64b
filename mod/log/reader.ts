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
}

/** Problems reported per file before the rest are summed up in one line. */
const problemsPerFileMax = 5;

/** Parses every line of every log; never throws on content. */
export function readEventLogs(logs: readonly LogSource[]): ReadResult {
  const records: EventRecord[] = [];
  const problems: ReadProblem[] = [];
  for (const log of logs) {
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
        bad.push({
          source: log.source,
          line: i + 1,
          error: truncated ? `a truncated last line (${parsed.error})` : parsed.error,
        });
      } else mine.push(parsed);
    });
    if (mine.length === 0 && bad.length > 0) {
      problems.push({
        source: log.source,
        line: 0,
        error: `not an event log: none of its ${bad.length} lines is an event line (line ${
          bad[0].line
        }: ${bad[0].error})`,
      });
      continue;
    }
    for (const record of mine) records.push(record);
    problems.push(...bad.slice(0, problemsPerFileMax));
    if (bad.length > problemsPerFileMax) {
      problems.push({
        source: log.source,
        line: 0,
        error: `${bad.length - problemsPerFileMax} more lines skipped`,
      });
    }
  }
  return { records, problems };
}
