/**
 * Serving `member watch`: the node's list as it stands, then each event as the node logs it, on
 * one connection until either side ends it.
 *
 * The events hear of come from inside the driver loop, which must never wait for a reader: they
 * go into a bounded queue per watcher, and a writer of its own sends them. A watcher that reads
 * too slowly for the queue is cut off (its stream ends with a last frame that says so), counted
 * and logged once: gossip and detection never wait for it, and what it holds stays bounded.
 */
import type { Logger } from "@logtape/logtape";
import { type Entry, type Status, statusNames } from "../core/types.ts";
import { watchKeepAliveMs } from "../limits.ts";
import { streamWriteTimeoutMs, writeFrame } from "../net/frames.ts";
import type { FrameMessage, WatchEnd, WatchEvent } from "../wire/codec.ts";
import type { Keyring } from "../wire/seal.ts";
import type { EventListener } from "./_driver.ts";
import type { EntryJson } from "./stats.ts";

/**
 * Events waiting for one watcher, at most. A burst of a thousand members restarting fits many
 * times over; a reader stopped for good fills it and is cut off. With `watchersMax`, it bounds
 * what watches hold to a few tens of megabytes.
 */
export const watchQueueMax = 10_000;
/**
 * Watches open at once. Each holds one of the server's connections, which probes and list
 * exchanges need too: the rest are refused.
 */
export const watchersMax = 16;
/** Events sent in one frame, at most. */
const watchBatchMax = 1000;

/** What the node offers to watch: its list, then each batch of events (`Node.watch`). */
export type WatchSource = (listener: EventListener) => {
  readonly self: EntryJson;
  readonly members: readonly EntryJson[];
  readonly stop: () => void;
};

/** One open watch, as the server closes it when the node stops. */
interface OpenWatch {
  end(reason: string, message: string): void;
  /** True while a frame is being written: a reader that does not read holds it there. */
  writing: boolean;
  readonly conn: Deno.Conn;
}

const statusByName = new Map(
  Object.entries(statusNames).map(([status, name]) => [name, Number(status) as Status]),
);

/**
 * An entry as the wire carries it. Tags go only with a member that has some, so that a watch of
 * an untagged cluster sends the bytes it did before tags; the tags version the wire puts before
 * them means nothing to a watcher, and is 0.
 */
function entryOf(entry: EntryJson): Entry {
  const tags = entry.tags ?? {};
  return {
    address: entry.address,
    version: entry.version,
    incarnation: entry.incarnation,
    heartbeat: entry.heartbeat,
    status: statusByName.get(entry.status)!,
    ...(Object.keys(tags).length === 0 ? {} : { tagsVersion: 0, tags }),
  };
}

/** Serves the node's watches: at most `watchersMax`, each with its own bounded queue. */
export class WatchServer {
  readonly #source: WatchSource;
  readonly #log: Logger;
  readonly #open = new Set<OpenWatch>();
  #cutOff = 0;
  #closed = false;

  constructor(source: WatchSource, log: Logger) {
    this.#source = source;
    this.#log = log;
  }

  /** Watches open now. */
  get open(): number {
    return this.#open.size;
  }

  /** Watches cut off for reading too slowly, since the node started. */
  get cutOff(): number {
    return this.#cutOff;
  }

  /**
   * Answers one watch request on `conn` until the watcher goes, falls behind, or the node stops;
   * frames are sealed with `keyring` when given, and `sent` is told the size of each.
   */
  async serve(
    conn: Deno.Conn,
    keyring: Keyring | undefined,
    sent: (bytes: number) => void,
  ): Promise<void> {
    const send = async (message: FrameMessage) => {
      sent(await writeFrame(conn, message, streamWriteTimeoutMs, keyring));
    };
    if (this.#closed) return;
    if (this.#open.size >= watchersMax) {
      await send({
        kind: "control-response",
        ok: false,
        message: `busy: ${watchersMax} watches are open on this node`,
      });
      return;
    }
    const queue: WatchEvent[] = [];
    let ending: WatchEnd | undefined;
    let wake: (() => void) | undefined;
    let stop = () => {};
    const open: OpenWatch = {
      writing: false,
      conn,
      end: (reason, message) => {
        if (ending !== undefined) return;
        ending = { kind: "watch-end", reason, message };
        // What was not sent is not sent: the stream ends, so nothing after it is missed unseen.
        queue.length = 0;
        stop();
        wake?.();
      },
    };
    // Called inside the driver loop: it queues, or gives up on the watcher, and returns.
    const listener: EventListener = (records) => {
      if (ending !== undefined) return;
      if (queue.length + records.length > watchQueueMax) {
        this.#cutOff++;
        this.#log.warn(
          "a watch from {peer} fell behind ({count} events waited for it) and was ended",
          { peer: (conn.remoteAddr as Deno.NetAddr).hostname, count: queue.length },
        );
        open.end(
          "behind",
          `the watch fell behind: more than ${watchQueueMax} events waited to be read`,
        );
        return;
      }
      for (const record of records) queue.push(record);
      wake?.();
    };
    // The list and the subscription are taken in one step: no event falls between them.
    const watched = this.#source(listener);
    stop = watched.stop;
    this.#open.add(open);
    try {
      const write = async (message: FrameMessage) => {
        open.writing = true;
        try {
          await send(message);
        } finally {
          open.writing = false;
        }
      };
      await write({ kind: "watch-list", entries: [watched.self, ...watched.members].map(entryOf) });
      for (;;) {
        if (queue.length === 0 && ending === undefined) {
          // Quiet, an empty frame now and then: the watcher knows the node is there, and the
          // node finds out that a watcher has gone.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, watchKeepAliveMs);
            function done() {
              clearTimeout(timer);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
        }
        if (ending !== undefined) {
          await write(ending);
          return;
        }
        await write({ kind: "watch-events", events: queue.splice(0, watchBatchMax) });
      }
    } finally {
      stop();
      this.#open.delete(open);
    }
  }

  /**
   * Ends every watch, as the node stops: a watcher waiting for events is told; one whose reader
   * holds a frame half-written is closed, so that stopping does not wait for it.
   */
  close(): void {
    this.#closed = true;
    for (const open of this.#open) {
      open.end("closing", "the node is stopping");
      if (open.writing) {
        try {
          open.conn.close();
        } catch { /* closed */ }
      }
    }
  }
}
