/**
 * `member` as a library: run a member of a cluster inside a program, and act on membership as it
 * changes. The member is the same node `member serve` runs (UDP and TCP on one port, the event
 * log in a data dir), so command-line clients (`member stats`, `member watch`, `member grep`) reach
 * it as they reach any other.
 *
 * ```ts
 * import { startMember } from "./mod/mod.ts";
 *
 * await using member = await startMember({ host: "127.0.0.2", port: 4000, join: "127.0.0.1:4000" });
 * for await (const item of member.events()) {
 *   if (item.kind === "MEMBER") console.log("listed", item.member, item.status);
 *   else console.log(item.kind, item.member); // JOIN, FAIL, LEAVE, ...
 * }
 * ```
 *
 * What an operator should know (a join that failed, UDP being lost) is logged through LogTape
 * under the category `member`: configure LogTape to see it. It needs the permissions the binary
 * has: `--unstable-net --allow-net --allow-read --allow-write`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Config } from "./core/config.ts";
import type { Address, EventKind, Tags, Via } from "./core/types.ts";
import { type EventJson, eventJson } from "./log/event_line.ts";
import { Node } from "./node/node.ts";
import { StartError } from "./node/options.ts";
import type { EntryJson } from "./node/stats.ts";
import { tagsProblem } from "./core/tags.ts";
import { version } from "./version.ts";

export type { Address, Config, EntryJson, EventJson, EventKind, Tags, Via };
export { StartError, version };

/** What a member is started with. Only `host` and `port` are needed to start a cluster. */
export interface MemberOptions {
  /** The address others reach this member at; it binds exactly this host. Default 127.0.0.1. */
  readonly host?: string;
  /** The UDP and TCP port (the same number for both). Default 3000. */
  readonly port?: number;
  /** Join through this member (`host:port`); without it, the member starts a cluster. */
  readonly join?: string;
  /** Holds the event log `member.log` and the last version. Default `member-data/HOST_PORT`. */
  readonly dataDir?: string;
  /** The suspicion switch, when this member starts the cluster. Default on. */
  readonly suspicion?: boolean;
  /** Share of incoming datagrams dropped on purpose (0 to 1), to measure false positives. */
  readonly dropRate?: number;
  /** Protocol settings other than the defaults (timeouts, fan-out, limits). */
  readonly config?: Partial<Config>;
  /** Files `member grep` may search here (paths or globs); the event log is always served. */
  readonly grepPaths?: readonly string[];
  /**
   * What this member says about itself (its role, its zone), seen by every member: at most 64
   * tags in 1,024 bytes, keys of letters, digits, `_ . - /`. Default none.
   */
  readonly tags?: Tags;
}

/** One member of the list, as `member stats --json` prints it: `id`, `address`, `status`, ... */
export type MemberInfo = EntryJson;

/** A member as the list stood when {@linkcode Member.events} began. */
export interface ListedMember {
  /** Always `MEMBER`: an entry of the list, not an event. */
  readonly kind: "MEMBER";
  /** `host:port#version`. */
  readonly member: string;
  /** `host:port`. */
  readonly address: string;
  /** Fixed when the member joined. */
  readonly version: number;
  /** `alive`, `suspect`, `failed` or `left`. */
  readonly status: string;
  /** Raised by the member each time it refutes a suspicion. */
  readonly incarnation: number;
  /** Raised by the member every gossip round. */
  readonly heartbeat: number;
  /** True for the member this program runs. */
  readonly self: boolean;
  /** What the member says about itself, as far as this member has heard; `{}` for none. */
  readonly tags: Tags;
}

/** What {@linkcode Member.events} yields: the list first, then every event as it is logged. */
export type MemberItem = ListedMember | EventJson;

/** Options of {@linkcode Member.events}. */
export interface EventsOptions {
  /** Ends the iteration when aborted. */
  readonly signal?: AbortSignal;
  /**
   * Items kept for a reader that has not taken them yet; past it the iteration ends with an
   * error, so that a reader that stopped reading costs a bounded amount of memory. Default 10,000.
   */
  readonly bufferMax?: number;
}

/** Raised by a {@linkcode Member.events} iteration whose reader fell too far behind. */
export class FellBehindError extends Error {
  /** The error's name. */
  override name = "FellBehindError";
}

/** A running member of a cluster. */
export interface Member extends AsyncDisposable {
  /** This member's id, `host:port#version` (a new version after `leave()` and `join()`). */
  readonly id: string;
  /** The list as this member holds it now, itself first. */
  members(): MemberInfo[];
  /**
   * The list as it stands (one `MEMBER` item each, itself included), then every event as it is
   * logged (`JOIN`, `SUSPECT`, `REFUTE`, `FAIL`, `LEAVE`, `REMOVE`, `SETTINGS`, `UPDATE` with
   * the member's new `tags`), with no gap and no duplicate between the two, until the iteration
   * is ended (a `break`, or the signal).
   */
  events(options?: EventsOptions): AsyncIterableIterator<MemberItem>;
  /**
   * Replaces what this member says about itself: the change reaches every member, which logs it
   * as `UPDATE`, and a `join()` after a `leave()` keeps it. Throws a `RangeError` naming the
   * bound when the tags break one (more than 1,024 bytes, a bad key), and an `Error` when this
   * member is not in the cluster (it left).
   */
  setTags(tags: Tags): void;
  /** Leaves the cluster voluntarily (the others log LEAVE, not FAIL); the process stays up. */
  leave(): Promise<void>;
  /** Joins again after a leave, as a new version. */
  join(): Promise<void>;
  /** Leaves the cluster if still a member, then stops the sockets and timers. */
  close(): Promise<void>;
}

/** The buffer a reader of `events()` may leave untaken by default. */
const eventsBufferMax = 10_000;

/**
 * Starts a member: binds UDP and TCP on `port`, opens the event log, and joins through `join`
 * (retrying with backoff) or starts a cluster. Resolves once it is a member; rejects with a
 * {@linkcode StartError} when it cannot (port in use, contact unreachable, data dir unusable),
 * and with a `RangeError` naming the bound when `tags` break one.
 */
export async function startMember(options: MemberOptions = {}): Promise<Member> {
  const tagsRefused = options.tags === undefined ? undefined : tagsProblem(options.tags);
  if (tagsRefused !== undefined) throw new RangeError(tagsRefused);
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 3000;
  const dataDir = options.dataDir ?? `member-data/${host.replaceAll(":", "_")}_${port}`;
  const node = await Node.start({
    host,
    port,
    dataDir,
    ...(options.join === undefined ? {} : { join: options.join }),
    dropRate: options.dropRate ?? 0,
    ...(options.suspicion === undefined ? {} : { suspicion: options.suspicion }),
    ...(options.config === undefined ? {} : { config: options.config }),
    logger: getLogger(["member"]),
    ...(options.grepPaths === undefined ? {} : {
      grepPaths: [...options.grepPaths, `${dataDir}/*.log`],
    }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  return new RunningMember(node);
}

class RunningMember implements Member {
  readonly #node: Node;
  #closed = false;

  constructor(node: Node) {
    this.#node = node;
  }

  get id(): string {
    return this.#node.id;
  }

  members(): MemberInfo[] {
    const { self, members } = this.#node.stats();
    return [self, ...members];
  }

  events(options: EventsOptions = {}): AsyncIterableIterator<MemberItem> {
    const bufferMax = options.bufferMax ?? eventsBufferMax;
    const buffer: MemberItem[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    let done = false;
    const { self, members, stop } = this.#node.watch((records) => {
      if (done) return;
      for (const record of records) buffer.push(eventJson(record));
      if (buffer.length > bufferMax) {
        failure = new FellBehindError(`the reader fell behind by more than ${bufferMax} items`);
        finish();
      }
      wake?.();
    });
    const finish = () => {
      if (done) return;
      done = true;
      stop();
      options.signal?.removeEventListener("abort", finish);
      wake?.();
    };
    options.signal?.addEventListener("abort", finish);
    if (options.signal?.aborted) finish();
    buffer.push(listed(self, true), ...members.map((m) => listed(m, false)));
    const iterator: AsyncIterableIterator<MemberItem> = {
      next: async (): Promise<IteratorResult<MemberItem>> => {
        while (buffer.length === 0 && !done) {
          await new Promise<void>((resolve) => wake = resolve);
          wake = undefined;
        }
        if (failure !== undefined) {
          buffer.length = 0;
          const error = failure;
          failure = undefined;
          throw error;
        }
        if (buffer.length > 0) return { value: buffer.shift()!, done: false };
        return { value: undefined, done: true };
      },
      return: (): Promise<IteratorResult<MemberItem>> => {
        finish();
        buffer.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  setTags(tags: Tags): void {
    const problem = tagsProblem(tags);
    if (problem !== undefined) throw new RangeError(problem);
    const refused = this.#node.setTags(tags);
    if (refused !== undefined) throw new Error(`cannot set tags: ${refused}`);
  }

  async leave(): Promise<void> {
    await this.#node.leave();
  }

  async join(): Promise<void> {
    await this.#node.rejoin();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#node.state === "member") await this.#node.leave();
    await this.#node.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function listed(entry: EntryJson, self: boolean): ListedMember {
  return {
    kind: "MEMBER",
    member: entry.id,
    address: entry.address,
    version: entry.version,
    status: entry.status,
    incarnation: entry.incarnation,
    heartbeat: entry.heartbeat,
    self,
    tags: entry.tags,
  };
}
