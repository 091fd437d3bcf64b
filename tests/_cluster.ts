/**
 * Real processes on loopback, started as users start them: the bundle (`dist/member.js`, built by
 * `deno task bundle`) under exactly the flags of the compiled binary. Conditions are awaited with
 * deadlines, never fixed sleeps; everything is torn down in `finally`.
 */
import { binaryFlags, type FilePaths } from "../tasks/flags.ts";
import { freePort } from "../tasks/free_port.ts";
import { type EventRecord, parseEventLine } from "../mod/log/event_line.ts";
import { request } from "../mod/net/client.ts";
import type { NodeStats } from "../mod/node/stats.ts";

const root = new URL("..", import.meta.url).pathname;
export { freePort };
/** The bundle the tests run. */
export const bundle = `${root}dist/member.js`;

/**
 * Starts `command` (its stderr piped) with that stderr appended to the file at `stderrPath`, each
 * piece as it comes (a file's `writable` holds writes back until it closes). `status` settles once
 * the process has exited and all it wrote to stderr is in the file.
 */
export function spawnLogged(
  command: Deno.Command,
  stderrPath: string,
): { child: Deno.ChildProcess; status: Promise<Deno.CommandStatus> } {
  const stderr = Deno.openSync(stderrPath, { append: true, create: true });
  const child = command.spawn();
  const output = child.stderr;
  const piped = (async () => {
    try {
      for await (const chunk of output) stderr.writeSync(chunk);
    } catch {
      // The process is gone.
    } finally {
      stderr.close();
    }
  })();
  return { child, status: Promise.all([child.status, piped]).then(([status]) => status) };
}

/**
 * Runs the tool to completion, as a user would at a shell (`paths`: a narrowed build; `handlers`:
 * the programs the build may run besides grep, as `deno task compile --handler` allows them).
 */
export async function member(
  args: string[],
  options: { cwd?: string; paths?: FilePaths; handlers?: string[] } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...binaryFlags(options.paths, options.handlers), bundle, ...args],
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Waits until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError === undefined ? "" : ` (last error: ${lastError})`),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** One `member serve` process. */
export class MemberProcess {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly args: string[];
  #child: Deno.ChildProcess;
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(host: string, port: number, dataDir: string, args: string[]) {
    this.host = host;
    this.port = port;
    this.dataDir = dataDir;
    this.args = args;
    Deno.mkdirSync(dataDir, { recursive: true });
    // Least privilege, as an operator's narrow build has it: files only in the data dir, the
    // grep paths and the key file; programs only grep and the --on handlers.
    const option = (name: string) => args.flatMap((a, i) => a === name ? [args[i + 1]] : []);
    const flags = binaryFlags({
      dataDirs: [dataDir],
      grepPaths: option("--grep"),
      keyFiles: option("--key-file"),
    }, option("--on").map((spec) => spec.slice(spec.indexOf("=") + 1)));
    const { child, status } = spawnLogged(
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...flags,
          bundle,
          "serve",
          "--host",
          host,
          "--port",
          `${port}`,
          "--data-dir",
          dataDir,
          ...args,
        ],
        stdout: "null",
        stderr: "piped",
      }),
      `${dataDir}/stderr.log`,
    );
    this.#child = child;
    // Settles once the process has exited and all it wrote to stderr is in the file.
    this.status = status.then((status) => {
      this.#exited = true;
      return status;
    });
  }

  /** The process id, for reading its CPU time and memory. */
  get pid(): number {
    return this.#child.pid;
  }

  /** `host:port`. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Sends a signal (SIGKILL for a crash, SIGSTOP/SIGCONT for a pause). */
  signal(signal: Deno.Signal): void {
    if (!this.#exited) this.#child.kill(signal);
  }

  /** The node's statistics, asked over TCP as `member stats` does. */
  async stats(timeoutMs = 2000): Promise<NodeStats> {
    let reply;
    try {
      reply = await request(this.address, { kind: "stats-request" }, timeoutMs);
    } catch (error) {
      // A member that died says why, not only that nothing listens where it did.
      if (!this.#exited) throw error;
      const said = this.stderr().trimEnd().split("\n").slice(-5).join("\n");
      throw new Error(`${this.address} has exited (${error}); its stderr ends:\n${said}`);
    }
    if (reply.kind !== "stats-response") throw new Error(`unexpected ${reply.kind}`);
    return JSON.parse(reply.json);
  }

  /** The event log so far, parsed. */
  events(): EventRecord[] {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${this.dataDir}/member.log`);
    } catch {
      return [];
    }
    const records: EventRecord[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const parsed = parseEventLine(line);
      if (!("error" in parsed)) records.push(parsed);
    }
    return records;
  }

  /** The operational log (stderr) so far. */
  stderr(): string {
    try {
      return Deno.readTextFileSync(`${this.dataDir}/stderr.log`);
    } catch {
      return "";
    }
  }

  /** Stops the process (SIGTERM, then SIGKILL if it lingers). */
  async stop(): Promise<void> {
    if (this.#exited) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), 5000);
    await this.status;
    clearTimeout(timer);
  }
}

/** How the members of a test cluster are addressed. */
export type Layout = "addresses" | "ports";

/** A local cluster of real processes. */
export class Cluster {
  readonly dir: string;
  readonly layout: Layout;
  readonly members: MemberProcess[] = [];
  readonly #port: number;
  #next = 0;

  /** `room`: how many members it may start, so many addresses or ports checked free. */
  constructor(layout: Layout, room = 12) {
    this.layout = layout;
    this.dir = Deno.makeTempDirSync({ prefix: "member-test-" });
    this.#port = layout === "addresses"
      ? freePort(Array.from({ length: room }, (_, i) => `127.0.0.${i + 1}`))
      : freePort(["127.0.0.1"], room);
  }

  /** The address of the i-th member to be started. */
  addressOf(i: number): { host: string; port: number } {
    return this.layout === "addresses"
      ? { host: `127.0.0.${i + 1}`, port: this.#port }
      : { host: "127.0.0.1", port: this.#port + i };
  }

  /** Starts the next member with extra flags (for example `--introducer`). */
  add(args: string[], index = this.#next): MemberProcess {
    const { host, port } = this.addressOf(index);
    const member = new MemberProcess(host, port, `${this.dir}/node-${index}`, args);
    this.members[index] = member;
    this.#next = Math.max(this.#next, index + 1);
    return member;
  }

  /** Starts an introducer and `count - 1` members joining through it; waits until all agree. */
  async start(count: number, extra: string[] = []): Promise<void> {
    const introducer = this.add(["--introducer", ...extra]);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    for (let i = 1; i < count; i++) this.add(["--join", introducer.address, ...extra]);
    await this.waitForAgreement(30_000);
  }

  /** Members whose process is running. */
  running(): MemberProcess[] {
    return this.members.filter((m) => m !== undefined && !m.exited);
  }

  /** Waits until every running member lists every other running member as alive. */
  async waitForAgreement(timeoutMs: number, among = () => this.running()): Promise<void> {
    await waitFor(
      "every member to list every other as alive",
      async () => {
        const members = among();
        const addresses = new Set(members.map((m) => m.address));
        for (const member of members) {
          const stats = await member.stats();
          const alive = new Set(
            stats.members.filter((e) => e.status === "alive").map((e) => e.address),
          );
          for (const address of addresses) {
            if (address !== member.address && !alive.has(address)) return false;
          }
          if (alive.size !== addresses.size - 1) return false;
        }
        return true;
      },
      timeoutMs,
      200,
    );
  }

  /** Stops every member and removes the temporary directory. */
  async stop(): Promise<void> {
    await Promise.all(this.running().map((m) => m.stop()));
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // Leave it for inspection.
    }
  }
}
