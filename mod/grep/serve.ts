/**
 * The serving side of `member grep`: GNU grep run on this node's own files, its output streamed
 * back. The query is structured and allowlisted (see mod/grep/argv.ts); the files are this node's
 * choice, never the client's. A few queries run at once and a few more wait their turn, so that a
 * flood of queries can neither starve gossip nor hold the connections probes and list exchanges
 * need.
 */
import type { Logger } from "@logtape/logtape";
import { grepBytesMax, grepTimeoutMaxMs } from "../limits.ts";
import { frame, grepChunkFrame, streamWriteTimeoutMs, writeAll } from "../net/frames.ts";
import type { FrameMessage, GrepRequest } from "../wire/codec.ts";
import type { Keyring } from "../wire/seal.ts";
import { expandPaths } from "./glob.ts";
import { runGrep } from "./run.ts";

/**
 * Grep queries run at once; as many more wait up to `grepQueueMs` for a turn, and the rest are
 * refused.
 */
const grepsMax = 4;
const grepQueueMax = 4;
const grepQueueMs = 5000;
/** A query silent this long sends an empty chunk, so that the client knows it is still at work. */
const grepKeepAliveMs = 1000;
/** The most output bytes gathered into one frame (a longer line goes alone, in its own). */
const grepFrameDataBytes = 1 << 20;
/** Files one query may search. */
const grepFilesMax = 10_000;
const filesCutNote = `the --grep paths name more than ${grepFilesMax} files: only the first ` +
  `${grepFilesMax} (in name order) are searched`;

/** Runs the queries that reach one node over its files, a few at a time. */
export class GrepServer {
  /** The files this node serves to `member grep`: paths or globs. */
  readonly paths: readonly string[];
  #greps = 0;
  /** Queries waiting for a turn, first come first served. */
  readonly #queue: (() => void)[] = [];

  constructor(paths: readonly string[]) {
    this.paths = paths;
  }

  /**
   * Warns of paths that match nothing, or files that are skipped: a typo in a path would otherwise
   * show only as a member that never matches anything.
   */
  async checkPaths(log: Logger): Promise<void> {
    const { unmatched, notUtf8, outside, cut } = await expandPaths(this.paths, {
      filesMax: grepFilesMax,
    });
    if (cut) log.warn("{note}", { note: filesCutNote });
    if (outside.length > 0) log.warn("{note}", { note: outsideNote(outside) });
    for (const spec of unmatched) {
      log.warn("--grep {spec} names no file yet: member grep finds nothing there", { spec });
    }
    if (notUtf8.length > 0) log.warn("{note}", { note: notUtf8Note(notUtf8) });
  }

  /**
   * Answers one query on `conn`, sealed with `keyring` when given; `sent` is told the size of
   * every frame written.
   */
  async serve(
    conn: Deno.Conn,
    request: GrepRequest,
    keyring: Keyring | undefined,
    sent: (bytes: number) => void,
  ): Promise<void> {
    // Frames go out one at a time, in order. While the query waits its turn, and while a search
    // prints nothing for long (a count over a large file), an empty chunk every second tells the
    // client the member is at work, not stalled; one that cannot be sent means the client left.
    let sending = Promise.resolve();
    let sentMs = performance.now();
    let gone = false;
    let cancel = () => {};
    // Grep's output comes as the parts it was read in, and is framed from them.
    const send = (message: FrameMessage | readonly Uint8Array[]) => {
      sentMs = performance.now();
      sending = sending.then(async () => {
        const bytes = "kind" in message
          ? await frame(message, keyring)
          : await grepChunkFrame(message, keyring);
        await writeAll(conn, bytes, streamWriteTimeoutMs);
        sent(bytes.length);
      });
      return sending;
    };
    // Checked four times as often as it is due, so that no gap is much longer than a second.
    const keepAlive = setInterval(() => {
      if (gone || performance.now() - sentMs < grepKeepAliveMs) return;
      send({ kind: "grep-chunk", data: new Uint8Array(0) }).catch(() => {
        gone = true;
        cancel();
      });
    }, grepKeepAliveMs / 4);
    try {
      const turn = await this.#turn();
      if (!turn) {
        // Refused as a whole, not answered: the client counts this member as failed.
        await send({
          kind: "control-response",
          ok: false,
          message: `busy: ${grepsMax} queries are running on this node, and ${grepQueueMax} ` +
            "more waiting",
        });
        return;
      }
      try {
        if (gone) return;
        await this.#search(request, send, (stop) => (cancel = stop));
      } finally {
        this.#done();
      }
    } finally {
      clearInterval(keepAlive);
      await sending.catch(() => {});
    }
  }

  /** Runs one query over this node's files, sending its output and its end. */
  async #search(
    request: GrepRequest,
    send: (message: FrameMessage | readonly Uint8Array[]) => Promise<void>,
    onCancel: (cancel: () => void) => void,
  ): Promise<void> {
    const { files, unmatched, notUtf8, outside, cut } = await expandPaths(this.paths, {
      filesMax: grepFilesMax,
    });
    const run = runGrep(request.query, files, request.mode, {
      bytesMax: Math.min(request.bytesMax, grepBytesMax),
      timeoutMs: Math.min(request.timeoutMs, grepTimeoutMaxMs),
    });
    onCancel(() => run.cancel());
    // While one frame is being written, what grep prints meanwhile is gathered, and goes out as
    // the next frame once that one is written: when the client or the network is slower than
    // grep, its output goes in fewer, larger frames, rather than one per read of grep's pipe,
    // each of which both ends pay for. Output still goes out as soon as nothing is being written.
    let held: Uint8Array[] = [];
    let heldBytes = 0;
    let writing: Promise<void> | undefined;
    let failure: { error: unknown } | undefined;
    const flush = async () => {
      try {
        while (held.length > 0) {
          let count = 1;
          let size = held[0].length;
          while (count < held.length && size + held[count].length <= grepFrameDataBytes) {
            size += held[count++].length;
          }
          const parts = held.splice(0, count);
          heldBytes -= size;
          await send(parts);
        }
      } catch (error) {
        failure = { error };
        run.cancel();
      } finally {
        writing = undefined;
      }
    };
    try {
      for await (const data of run.chunks) {
        if (failure !== undefined) break;
        held.push(data);
        heldBytes += data.length;
        writing ??= flush();
        // Grep waits (its pipe full) while a slow client keeps this many bytes here.
        if (heldBytes >= grepFrameDataBytes) await writing;
      }
      await writing;
      if (failure !== undefined) throw failure.error;
    } catch (error) {
      run.cancel();
      throw error;
    } finally {
      held = [];
    }
    const outcome = await run.outcome;
    const problems = [
      outcome.stderr,
      unmatched.length > 0 ? `nothing matches ${unmatched.join(", ")}` : "",
      notUtf8.length > 0 ? notUtf8Note(notUtf8) : "",
      outside.length > 0 ? outsideNote(outside) : "",
      cut ? filesCutNote : "",
    ].filter((line) => line !== "");
    await send({
      kind: "grep-done",
      exitCode: outcome.exitCode,
      error: problems.join("\n"),
      truncated: outcome.truncated,
      timedOut: outcome.timedOut,
      files: files.length,
      bytes: outcome.bytes,
      lines: outcome.lines,
      elapsedMs: Math.round(outcome.elapsedMs),
    });
  }

  /**
   * Waits for a turn to run a query: true when it has one (and holds it), false when too many
   * wait already or the wait ran out.
   */
  #turn(): Promise<boolean> {
    if (this.#greps < grepsMax) {
      this.#greps++;
      return Promise.resolve(true);
    }
    if (this.#queue.length >= grepQueueMax) return Promise.resolve(false);
    return new Promise((resolve) => {
      // A turn handed over keeps the count: the query finishing passes its place on.
      const take = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = this.#queue.indexOf(take);
        if (at >= 0) this.#queue.splice(at, 1);
        resolve(false);
      }, grepQueueMs);
      this.#queue.push(take);
    });
  }

  /** Ends a query's turn: the first one waiting takes it. */
  #done(): void {
    const next = this.#queue.shift();
    if (next === undefined) this.#greps--;
    else next();
  }
}

/** Says which matched files are not searched for their names. */
function notUtf8Note(paths: readonly string[]): string {
  return `not searched (names not UTF-8): ${paths.join(", ")}`;
}

/** Says which matched files are not searched for linking outside their glob's directory. */
function outsideNote(paths: readonly string[]): string {
  return `not searched (links out of the --grep directory): ${paths.join(", ")}`;
}
