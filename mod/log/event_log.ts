/**
 * The event log, `member.log` in the data dir: one line per event (see `event_line.ts`), written
 * as events happen, so that a crash loses nothing the operating system already had. A log that is
 * deleted or rotated away while the node runs is noticed and opened afresh.
 */
import type { Logger } from "@logtape/logtape";
import type { MemberEvent } from "../core/types.ts";
import { formatEventLine } from "./event_line.ts";

/** The event log's file name inside the data dir. */
export const eventLogName = "member.log";

const encoder = new TextEncoder();
/** How often the path is checked for deletion or rotation. */
const recheckMs = 1000;

/** An append-only event log file. */
export class EventLog {
  readonly path: string;
  #file: Deno.FsFile;
  #inode: number | null;
  #checkedMs = 0;
  #failed = false;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
    this.#inode = file.statSync().ino;
  }

  /** Opens (creating if needed) the event log in `dataDir`, creating the directory too. */
  static open(dataDir: string): EventLog {
    Deno.mkdirSync(dataDir, { recursive: true });
    const path = `${dataDir}/${eventLogName}`;
    return new EventLog(path, EventLog.#openFile(path));
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
      if (!this.#failed) {
        logger?.error("cannot write the event log {path}: {error}", {
          path: this.path,
          error: (error as Error).message,
        });
      }
      this.#failed = true;
    }
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
      const file = EventLog.#openFile(this.path);
      try {
        this.#file.close();
      } catch { /* already closed */ }
      this.#file = file;
      this.#inode = file.statSync().ino;
      logger?.warn("the event log {path} was moved or deleted; writing a new one", {
        path: this.path,
      });
    } catch (error) {
      logger?.error("cannot reopen the event log {path}: {error}", {
        path: this.path,
        error: (error as Error).message,
      });
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
