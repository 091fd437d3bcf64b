/**
 * The event log, `member.log` in the data dir: one line per event (see `event_line.ts`), written
 * as events happen, so that a crash loses nothing the operating system already had. A log that is
 * deleted or rotated away while the node runs is noticed and opened afresh, its data dir made
 * again if that went too.
 */
import type { Logger } from "@logtape/logtape";
import type { MemberEvent } from "../core/types.ts";
import { describeFileError } from "../errors.ts";
import { formatEventLine } from "./event_line.ts";

/** The event log's file name inside the data dir. */
export const eventLogName = "member.log";

const encoder = new TextEncoder();
/** How often the path is checked for deletion or rotation. */
const recheckMs = 1000;

/** An append-only event log file. */
export class EventLog {
  readonly path: string;
  readonly #dataDir: string;
  #file: Deno.FsFile;
  #inode: number | null;
  #checkedMs = 0;
  #failed = false;
  #reopenFailed = false;

  private constructor(dataDir: string, path: string, file: Deno.FsFile) {
    this.#dataDir = dataDir;
    this.path = path;
    this.#file = file;
    this.#inode = file.statSync().ino;
  }

  /** Opens (creating if needed) the event log in `dataDir`, creating the directory too. */
  static open(dataDir: string): EventLog {
    Deno.mkdirSync(dataDir, { recursive: true });
    const path = `${dataDir}/${eventLogName}`;
    return new EventLog(dataDir, path, EventLog.#openFile(path));
  }

  static #openFile(path: string): Deno.FsFile {
    return Deno.openSync(path, { append: true, create: true });
  }

  /**
   * Appends one line per event, stamped with the wall-clock time it happened: its `atMs` on the
   * monotonic clock plus `wallOffsetMs` (what to add to that clock to read the wall clock). An
   * event held back a while (those of a join, until it is done) keeps its own time.
   */
  write(
    events: readonly MemberEvent[],
    node: string,
    wallOffsetMs: number,
    logger?: Logger,
  ): void {
    this.#reopenIfMoved(Date.now(), logger);
    let text = "";
    for (const event of events) {
      text += formatEventLine(event.atMs + wallOffsetMs, node, event) + "\n";
    }
    const bytes = encoder.encode(text);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += this.#file.writeSync(bytes.subarray(offset));
      this.#failed = false;
    } catch (error) {
      // Said once, not at every event; said again after it worked for a while.
      if (!this.#failed) {
        logger?.error("cannot write the event log {path}: {error}; events are lost meanwhile", {
          path: this.path,
          error: describeFileError(error),
        });
      }
      this.#failed = true;
    }
  }

  /**
   * Writes a new log if this one was moved or deleted: called every second, so that a log rotated
   * away in a quiet cluster is back at once, not at the next event.
   */
  recheck(logger?: Logger): void {
    this.#reopenIfMoved(Date.now(), logger);
  }

  #reopenIfMoved(nowMs: number, logger?: Logger): void {
    if (nowMs - this.#checkedMs < recheckMs) return;
    this.#checkedMs = nowMs;
    let inode: number | null | undefined;
    try {
      inode = Deno.statSync(this.path).ino;
    } catch {
      inode = undefined;
    }
    if (inode !== undefined && inode === this.#inode) return;
    try {
      Deno.mkdirSync(this.#dataDir, { recursive: true });
      const file = EventLog.#openFile(this.path);
      try {
        this.#file.close();
      } catch { /* already closed */ }
      this.#file = file;
      this.#inode = file.statSync().ino;
      logger?.warn("the event log {path} was moved or deleted; writing a new one", {
        path: this.path,
      });
      this.#reopenFailed = false;
    } catch (error) {
      if (!this.#reopenFailed) {
        logger?.error("cannot reopen the event log {path}: {error}; events are lost meanwhile", {
          path: this.path,
          error: describeFileError(error),
        });
      }
      this.#reopenFailed = true;
    }
  }

  /** Flushes to disk and closes. */
  close(): void {
    try {
      this.#file.syncSync();
    } catch { /* nothing to flush */ }
    try {
      this.#file.close();
    } catch { /* already closed */ }
  }
}
