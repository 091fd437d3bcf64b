/**
 * A crowd: many members in one process, for the scale benchmark (bench/scale.ts). Each is the
 * node `member serve` runs (mod/node/node.ts: its own UDP and TCP sockets, its own data dir and
 * event log), bound to its own loopback address, so that they speak the wire protocol to the real
 * member over real sockets. Only the process is shared: one event loop, one clock.
 *
 * ```
 * deno run --unstable-net --allow-net --allow-read --allow-write bench/crowd.ts \
 *   --first 0 --count 500 --port 3000 --join 127.0.0.2:3000 --dir /tmp/crowd --seconds 600 \
 *   --in-memory
 * ```
 *
 * With `--in-memory`, datagrams between members of the same process are handed over in memory
 * rather than through the kernel (`CrowdSocket`); what the real member sends and receives still
 * goes through real sockets. Without it, on a 2-core machine, a crowd falls behind past a few
 * hundred members.
 *
 * Every `--report-ms` it prints one JSON object per line on stdout (`CrowdReport`), so that the
 * benchmark can tell whether the crowd keeps up: a late event loop, or failures among its own,
 * would make its members look silent to the real one. It exits by itself after `--seconds`, so
 * that it never outlives a benchmark that was killed.
 */
import { getLogger } from "@logtape/logtape";
import { Node } from "../mod/node/node.ts";

/** What the crowd prints every report interval. */
export interface CrowdReport {
  /** Members started so far, and those of them that are members (joined). */
  readonly started: number;
  readonly joined: number;
  /** Members that could not start or join, with the first such error. */
  readonly startErrors: number;
  readonly firstError?: string;
  /** Fewest and most live members any of its members lists, itself included. */
  readonly listedMin: number;
  readonly listedMax: number;
  /** SUSPECT and FAIL events its members logged since they joined (nobody is made to fail). */
  readonly suspects: number;
  readonly fails: number;
  /** How late a timer due every `lagEveryMs` fired: the worst since the last report, in ms. */
  readonly lagMaxMs: number;
  /** Such timers since the last report, and those of them more than 100 ms late. */
  readonly lagSamples: number;
  readonly lagOver100: number;
  /** Datagrams between its own members dropped at a full queue (`--in-memory`). */
  readonly queueDrops: number;
}

/** The loopback address of the i-th member of the crowd: 127.1.x.y, y from 1 to 250. */
export function crowdHost(i: number): string {
  return `127.1.${Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** How often the event loop's lateness is sampled. */
const lagEveryMs = 50;
/** Members starting at once: each join is a TCP exchange with the contact, and a whole list. */
const startingMax = 4;

/** Datagrams a member's in-memory queue holds before more are dropped, as a full socket would. */
const queuedDatagramsMax = 4096;

/**
 * A member's UDP socket, with a short cut: a datagram to a member of the same crowd process is
 * handed to it in memory (the same encoded bytes, decoded by it as from a socket) rather than
 * through the kernel. Everything else, the real member's datagrams among them, goes through the
 * real socket bound to the member's own address. The kernel's share of the work is what a
 * thousand members in one process cannot afford on a small machine; the real member's traffic
 * does not change by it.
 */
class CrowdSocket implements Deno.DatagramConn {
  readonly #socket: Deno.DatagramConn;
  readonly #queue: [Uint8Array<ArrayBuffer>, Deno.Addr][] = [];
  #waiting: ((datagram: [Uint8Array<ArrayBuffer>, Deno.Addr]) => void) | undefined;
  #closed = false;
  /** Datagrams dropped at a full queue. */
  static dropped = 0;

  constructor(socket: Deno.DatagramConn) {
    this.#socket = socket;
    void this.#readSocket();
  }

  get addr(): Deno.Addr {
    return this.#socket.addr;
  }

  async #readSocket(): Promise<void> {
    while (!this.#closed) {
      try {
        this.hand(await this.#socket.receive());
      } catch {
        if (this.#closed) return;
      }
    }
  }

  /** A datagram for this member, from the socket or from a member of the same process. */
  hand(datagram: [Uint8Array<ArrayBuffer>, Deno.Addr]): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting(datagram);
    } else if (this.#queue.length < queuedDatagramsMax) this.#queue.push(datagram);
    else CrowdSocket.dropped++;
  }

  receive(): Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  send(bytes: Uint8Array<ArrayBuffer>, to: Deno.Addr): Promise<number> {
    const local = to.transport === "udp"
      ? crowdSockets.get(`${to.hostname}:${to.port}`)
      : undefined;
    if (local === undefined) return this.#socket.send(bytes, to);
    local.hand([bytes, this.addr]);
    return Promise.resolve(bytes.length);
  }

  close(): void {
    this.#closed = true;
    this.#socket.close();
  }

  joinMulticastV4(): Promise<Deno.MulticastV4Membership> {
    throw new Error("not in a crowd");
  }

  joinMulticastV6(): Promise<Deno.MulticastV6Membership> {
    throw new Error("not in a crowd");
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    while (!this.#closed) yield await this.receive();
  }
}

/** This process's members' sockets, by `host:port`. */
const crowdSockets = new Map<string, CrowdSocket>();

/**
 * Has every UDP socket this process opens from now on hand datagrams for its own members over in
 * memory (`CrowdSocket`). The nodes open theirs with `Deno.listenDatagram` as the daemon does.
 */
function handOverInMemory(): void {
  const listen = Deno.listenDatagram;
  Deno.listenDatagram = ((options: Deno.UdpListenOptions & { transport: "udp" }) => {
    const socket = new CrowdSocket(listen(options));
    crowdSockets.set(`${options.hostname}:${options.port}`, socket);
    return socket;
  }) as unknown as typeof Deno.listenDatagram;
}

interface CrowdOptions {
  readonly first: number;
  readonly count: number;
  readonly port: number;
  readonly join: string;
  readonly dir: string;
  readonly seconds: number;
  readonly reportMs: number;
  readonly inMemory: boolean;
  readonly joinsPerSecond: number;
}

function parse(args: string[]): CrowdOptions {
  const value = (name: string, fallback?: string): string => {
    const i = args.indexOf(name);
    const found = i >= 0 ? args[i + 1] : fallback;
    if (found === undefined) throw new Error(`missing ${name}`);
    return found;
  };
  return {
    first: Number(value("--first", "0")),
    count: Number(value("--count")),
    port: Number(value("--port", "3000")),
    join: value("--join"),
    dir: value("--dir"),
    seconds: Number(value("--seconds", "600")),
    reportMs: Number(value("--report-ms", "2000")),
    inMemory: args.includes("--in-memory"),
    joinsPerSecond: Number(value("--joins-per-second", "20")),
  };
}

async function main(options: CrowdOptions): Promise<void> {
  if (options.inMemory) handOverInMemory();
  // What each member lists, counted from its events (its stats would build its whole list).
  const nodes: { node: Node; listed: { count: number } }[] = [];
  let started = 0;
  let startErrors = 0;
  let firstError: string | undefined;
  let suspects = 0;
  let fails = 0;

  let lagMaxMs = 0;
  let lagSamples = 0;
  let lagOver100 = 0;
  let expectedMs = performance.now() + lagEveryMs;
  const lagTimer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - expectedMs);
    lagMaxMs = Math.max(lagMaxMs, late);
    lagSamples++;
    if (late > 100) lagOver100++;
    expectedMs = now + lagEveryMs;
  }, lagEveryMs);

  const report = (): void => {
    let listedMin = Infinity;
    let listedMax = 0;
    let joined = 0;
    for (const { node, listed } of nodes) {
      if (node.state !== "member") continue;
      joined++;
      listedMin = Math.min(listedMin, listed.count);
      listedMax = Math.max(listedMax, listed.count);
    }
    const line: CrowdReport = {
      started,
      joined,
      startErrors,
      ...(firstError === undefined ? {} : { firstError }),
      listedMin: listedMin === Infinity ? 0 : listedMin,
      listedMax,
      suspects,
      fails,
      lagMaxMs: Math.round(lagMaxMs),
      lagSamples,
      lagOver100,
      queueDrops: CrowdSocket.dropped,
    };
    console.log(JSON.stringify(line));
    lagMaxMs = 0;
    lagSamples = 0;
    lagOver100 = 0;
  };
  const reportTimer = setInterval(report, options.reportMs);
  const deadline = setTimeout(() => Deno.exit(0), options.seconds * 1000);

  const logger = getLogger(["member", "crowd"]);
  let next = 0;
  let paceAtMs = performance.now();
  const startOne = async (): Promise<void> => {
    while (next < options.count) {
      // Joins are paced: a burst of them is a burst of news every member logs and passes on,
      // which a crowd sharing a core or two takes seconds to get through, seconds in which its
      // members look silent to each other.
      const wait = paceAtMs - performance.now();
      paceAtMs = Math.max(paceAtMs, performance.now()) + 1000 / options.joinsPerSecond;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (next >= options.count) break;
      const i = options.first + next++;
      const host = crowdHost(i);
      const listed = { count: 0 };
      try {
        const node = await Node.start({
          host,
          port: options.port,
          dataDir: `${options.dir}/${host}`,
          join: options.join,
          dropRate: 0,
          logger,
          onEvents: (records) => {
            for (const record of records) {
              if (record.kind === "JOIN") listed.count++;
              if (record.kind === "FAIL" || record.kind === "LEAVE") listed.count--;
              if (record.kind === "SUSPECT") suspects++;
              if (record.kind === "FAIL") fails++;
            }
          },
        });
        nodes.push({ node, listed });
      } catch (error) {
        startErrors++;
        firstError ??= `${host}: ${error instanceof Error ? error.message : error}`;
      }
      started++;
    }
  };
  await Promise.all(Array.from({ length: startingMax }, startOne));
  report();
  // Runs until killed or past its deadline; the timers keep the process alive.
  void lagTimer;
  void reportTimer;
  void deadline;
}

if (import.meta.main) await main(parse(Deno.args));
