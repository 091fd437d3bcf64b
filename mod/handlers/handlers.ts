/**
 * Event handlers: programs run for the events a node logs (`member serve --on KINDS=PROGRAM`).
 *
 * The node's driver loop only queues (`listener`); one runner drains the queue, one program at a
 * time, in event order, each with a timeout. A program never sits inside the loop that gossips: a
 * handler that hangs delays only the handlers behind it, and once the queue is full further runs
 * are dropped and counted, not waited for. Each run gets the event as one JSON line on stdin
 * (`eventJson`) and in its environment `MEMBER_EVENT`, `MEMBER_ID`, `MEMBER_ADDRESS`,
 * `MEMBER_VERSION`, `MEMBER_SELF` and `MEMBER_TAGS`; no shell is involved and no arguments are
 * passed.
 */
import type { Logger } from "@logtape/logtape";
import type { Tags } from "../core/types.ts";
import { concat } from "../bytes.ts";
import { describeFileError } from "../errors.ts";
import { eventJson, type EventRecord } from "../log/event_line.ts";
import type { EventListener } from "../node/_driver.ts";
import type { Node } from "../node/node.ts";
import type { HandlerSpec } from "./spec.ts";

/** Handler runs waiting at most; past it, new runs are dropped (and counted). */
export const handlerQueueMax = 1_000;
/** How long one run may take by default before it is killed (`--handler-timeout`). */
export const handlerTimeoutDefaultMs = 30_000;
/** How long a program has between SIGTERM and SIGKILL. */
export const handlerKillGraceMs = 2_000;
/** How much of a run's stderr is kept for the log. */
export const handlerStderrBytesMax = 4_096;
/** How long a run's stderr is awaited after it exited (a child of it may hold the pipe open). */
const stderrAfterExitMs = 500;
/** How often an overflowing queue is reported, at most. */
const droppedLogIntervalMs = 10_000;
/**
 * Members whose last known tags are kept for `MEMBER_TAGS`, at most. A member's are forgotten
 * at its REMOVE; this bounds what members that never got one (a list started afresh) leave.
 */
const tagsKnownMax = 100_000;
/** How long `close` lets queued runs finish before it kills the current one. */
export const handlerCloseGraceMs = 2_000;

/** The counters `member stats --json` shows as `handlers`, and metrics read. */
export interface HandlerStats {
  /** Runs started (programs spawned, or that failed to spawn). */
  readonly runs: number;
  /** Runs that did not exit 0: non-zero status, killed, timed out, or not started. */
  readonly failures: number;
  /** Runs killed for running past the timeout (counted in `failures` too). */
  readonly timeouts: number;
  /** Runs dropped because the queue was full, or still queued at shutdown. */
  readonly dropped: number;
  /** Runs waiting now. */
  readonly queued: number;
}

/** What a `Handlers` runs with. */
export interface HandlerOptions {
  /** Where runs are reported: warn for a failure, debug for a success. */
  readonly logger: Logger;
  /** How long one run may take before it is killed. */
  readonly timeoutMs?: number;
  /** Runs waiting at most. */
  readonly queueMax?: number;
}

interface Job {
  readonly spec: HandlerSpec;
  readonly record: EventRecord;
  /** The member's tags as last known when the event was logged: `MEMBER_TAGS`. */
  readonly tags: Tags;
}

/** The first bytes of a stream, read to its end so that the writer is never blocked. */
function streamHead(stream: ReadableStream<Uint8Array>, bytesMax: number) {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let total = 0;
  const ended = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        total += value.length;
        if (kept < bytesMax) {
          const part = value.subarray(0, bytesMax - kept);
          chunks.push(part.slice());
          kept += part.length;
        }
      }
    } catch {
      // Cancelled, or the pipe broke: what was read is what there is.
    }
  })();
  return {
    ended,
    text(): string {
      return new TextDecoder().decode(concat(...chunks)).trim() + (total > kept ? " ..." : "");
    },
    cancel(): void {
      reader.cancel().catch(() => {});
    },
  };
}

function sleep(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Runs the programs of `--on KINDS=PROGRAM` for a node's events, one at a time, in order. */
export class Handlers {
  readonly specs: readonly HandlerSpec[];
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #queueMax: number;
  readonly #queue: Job[] = [];
  #runs = 0;
  #failures = 0;
  #timeouts = 0;
  #dropped = 0;
  /** Dropped runs not yet reported, and when the last report was made. */
  #droppedUnsaid = 0;
  #droppedSaidMs = -Infinity;
  #droppedTimer: ReturnType<typeof setTimeout> | undefined;
  #pump: Promise<void> | undefined;
  #closed = false;
  /** Ends the current run early (at shutdown). */
  #killCurrent: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;
  /**
   * Each member's last known tags, by id: from the list a watch starts with and from the tags
   * JOIN and UPDATE events carry, so that every event (a FAIL too) hands on the member's tags.
   */
  readonly #tags = new Map<string, Tags>();

  constructor(specs: readonly HandlerSpec[], options: HandlerOptions) {
    this.specs = specs;
    this.#log = options.logger.getChild("handlers");
    this.#timeoutMs = options.timeoutMs ?? handlerTimeoutDefaultMs;
    this.#queueMax = options.queueMax ?? handlerQueueMax;
  }

  /**
   * Queues the runs a batch of events calls for, and returns at once: it is called inside the
   * node's driver loop. Hand it to `NodeOptions.onEvents` to hear the node's events from its
   * first (the JOINs of its own join included), or use `watch` on a node already started.
   */
  readonly listener: EventListener = (records) => {
    if (this.#closed) return;
    for (const record of records) {
      if (record.tags !== undefined) this.#learnTags(record.member, record.tags);
      const tags = this.#tags.get(record.member) ?? {};
      // Its REMOVE is the last event of a member: its tags go with it.
      if (record.kind === "REMOVE") this.#tags.delete(record.member);
      for (const spec of this.specs) {
        if (spec.kinds !== "*" && !spec.kinds.includes(record.kind)) continue;
        if (this.#queue.length >= this.#queueMax) {
          this.#drop(1);
          continue;
        }
        this.#queue.push({ spec, record, tags });
      }
    }
    if (this.#pump === undefined && this.#queue.length > 0) {
      this.#pump = this.#drain().finally(() => this.#pump = undefined);
    }
  };

  /**
   * Hears the events `node` logs from now on (`Node.watch`) and shows the counters in its stats
   * as `handlers`. A node started with `onEvents: handlers.listener` needs only `showStats`.
   */
  watch(node: Node): void {
    const { self, members, stop } = node.watch(this.listener);
    for (const entry of [self, ...members]) this.#learnTags(entry.id, entry.tags ?? {});
    this.#unsubscribe = stop;
    this.showStats(node);
  }

  /** Keeps a member's tags, within `tagsKnownMax` members (the longest known forgotten first). */
  #learnTags(member: string, tags: Tags): void {
    this.#tags.delete(member);
    this.#tags.set(member, tags);
    if (this.#tags.size > tagsKnownMax) this.#tags.delete(this.#tags.keys().next().value!);
  }

  /** Shows the counters in `node`'s stats (`member stats --json`) as `handlers`. */
  showStats(node: Node): void {
    const remove = node.addStats("handlers", () => ({ ...this.stats() }));
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = () => {
      unsubscribe?.();
      remove();
    };
  }

  /** The counters: runs, failures, timeouts, dropped, and the runs queued now. */
  stats(): HandlerStats {
    return {
      runs: this.#runs,
      failures: this.#failures,
      timeouts: this.#timeouts,
      dropped: this.#dropped,
      queued: this.#queue.length,
    };
  }

  /**
   * Stops taking events, lets the queued runs finish for up to `graceMs`, then kills the current
   * one and drops the rest (counted as dropped).
   */
  async close(graceMs = handlerCloseGraceMs): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    const pump = this.#pump;
    if (pump !== undefined) {
      const wait = sleep(graceMs);
      await Promise.race([pump, wait.promise]);
      wait.cancel();
      const left = this.#queue.length;
      this.#queue.length = 0;
      if (left > 0) {
        this.#dropped += left;
        this.#log.warn("shutting down: dropped {count} queued handler run(s)", { count: left });
      }
      this.#killCurrent?.();
      await pump;
    }
    clearTimeout(this.#droppedTimer);
    this.#sayDropped();
  }

  #drop(count: number): void {
    this.#dropped += count;
    this.#droppedUnsaid += count;
    const now = performance.now();
    if (now - this.#droppedSaidMs >= droppedLogIntervalMs) {
      this.#sayDropped();
    } else if (this.#droppedTimer === undefined) {
      // Said once the interval is over, so that the last drops of a burst are not left unsaid.
      this.#droppedTimer = setTimeout(() => {
        this.#droppedTimer = undefined;
        this.#sayDropped();
      }, droppedLogIntervalMs - (now - this.#droppedSaidMs));
    }
  }

  #sayDropped(): void {
    if (this.#droppedUnsaid === 0) return;
    this.#log.warn(
      "handler queue full ({max} runs waiting): dropped {count} run(s), {total} in all",
      { max: this.#queueMax, count: this.#droppedUnsaid, total: this.#dropped },
    );
    this.#droppedUnsaid = 0;
    this.#droppedSaidMs = performance.now();
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
      await this.#run(job);
    }
  }

  async #run({ spec, record, tags }: Job): Promise<void> {
    this.#runs++;
    const event = eventJson(record);
    const about = { program: spec.program, kind: event.kind, member: event.member };
    const startedMs = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(spec.program, {
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
        env: {
          MEMBER_EVENT: event.kind,
          MEMBER_ID: event.member,
          MEMBER_ADDRESS: event.address,
          MEMBER_VERSION: `${event.version}`,
          MEMBER_SELF: record.node,
          MEMBER_TAGS: JSON.stringify(tags),
        },
      }).spawn();
    } catch (error) {
      this.#failures++;
      this.#log.warn("handler {program} for {kind} {member} could not start: {error}", {
        ...about,
        error: describeFileError(error),
      });
      return;
    }
    const stderr = streamHead(child.stderr, handlerStderrBytesMax);
    const writing = (async () => {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(new TextEncoder().encode(JSON.stringify(event) + "\n"));
        await writer.close();
      } catch {
        // A program that exits without reading its input is none the worse for it.
      }
    })();
    const signal = (name: Deno.Signal) => {
      try {
        child.kill(name);
      } catch {
        // It has exited already.
      }
    };
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const terminate = () => {
      if (killTimer !== undefined) return;
      signal("SIGTERM");
      killTimer = setTimeout(() => signal("SIGKILL"), handlerKillGraceMs);
    };
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, this.#timeoutMs);
    this.#killCurrent = terminate;
    const status = await child.status;
    this.#killCurrent = undefined;
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    await writing;
    // A program's own children may keep its stderr open after it exited: not waited for long.
    const wait = sleep(stderrAfterExitMs);
    await Promise.race([stderr.ended, wait.promise]);
    wait.cancel();
    stderr.cancel();
    const tookMs = Math.round(performance.now() - startedMs);
    const text = JSON.stringify(stderr.text());
    if (timedOut) {
      this.#timeouts++;
      this.#failures++;
      this.#log.warn(
        "handler {program} for {kind} {member} ran past {seconds} s and was killed; stderr: {stderr}",
        { ...about, seconds: this.#timeoutMs / 1000, stderr: text },
      );
    } else if (!status.success) {
      this.#failures++;
      this.#log.warn(
        "handler {program} for {kind} {member} failed ({how}) after {tookMs} ms; stderr: {stderr}",
        {
          ...about,
          how: status.signal === null ? `exit status ${status.code}` : `killed by ${status.signal}`,
          tookMs,
          stderr: text,
        },
      );
    } else {
      this.#log.debug("handler {program} for {kind} {member} done in {tookMs} ms", {
        ...about,
        tookMs,
      });
    }
  }
}
