/**
 * Separate hosts on one machine, as an operator's network has them: a network namespace per host,
 * each with its own address on one bridge, and the bundle running in each on the default port and
 * the default `--host`. The addresses (10.213.0.0/24) exist only inside the namespaces built here,
 * so no test traffic reaches any other network. Everything built is removed in `dispose`, and
 * leftovers of an earlier run that died are removed by the next one.
 */
import { binaryFlags } from "../tasks/flags.ts";
import { type EventRecord, parseEventLine } from "../mod/log/event_line.ts";
import type { NodeStats } from "../mod/node/stats.ts";
import { bundle, spawnLogged } from "./_cluster.ts";

/** The subnet the hosts live on; host i (from 1) has `subnet.i`. */
export const subnet = "10.213.0";
/** The member port: the default, as an operator leaves it. */
export const port = 3000;
/** The host's side of its link, inside its namespace. */
export const device = "eth0";

/**
 * Every name this test gives a namespace starts with `mbt<pid>-`, so that runs side by side never
 * touch each other's, and a run can tell an earlier run's leftovers (its process is gone) apart.
 */
const namePattern = /^mbt(\d+)-/;
/** Any single command run here (ip, iptables, a client) ends within this. */
const commandTimeoutMs = 20_000;

const decoder = new TextDecoder();

/** Runs a program to completion within a deadline and returns its exit code and output. */
export async function run(
  program: string,
  args: string[],
  timeoutMs = commandTimeoutMs,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs `ip ARGS` and throws with its stderr when it fails. */
async function ip(...args: string[]): Promise<string> {
  const result = await run("ip", args);
  if (result.code !== 0) {
    throw new Error(`ip ${args.join(" ")}: exit ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** The names `ip netns list` shows. */
async function namespaces(): Promise<string[]> {
  return (await ip("netns", "list")).split("\n").map((line) => line.split(" ")[0]).filter((n) =>
    n !== ""
  );
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why this machine cannot build the hosts (not root, no `ip`, no `iptables`, namespaces refused),
 * or undefined when it can: probed by adding and deleting a namespace.
 */
export async function whyNoHosts(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, not ${Deno.build.os}`;
  try {
    if (Deno.uid() !== 0) return `the test process is not root (uid ${Deno.uid()})`;
  } catch (error) {
    return `cannot tell the user id: ${error}`;
  }
  for (const program of ["ip", "iptables"]) {
    try {
      await run(program, ["-V"]);
    } catch (error) {
      return `${program} cannot be run (apt-get install -y iproute2 iptables): ${error}`;
    }
  }
  const probe = `mbt${Deno.pid}-probe`;
  const added = await run("ip", ["netns", "add", probe]);
  if (added.code !== 0) return `ip netns add fails: ${added.stderr.trim()}`;
  const used = await run("ip", ["netns", "exec", probe, "iptables", "-S"]);
  await run("ip", ["netns", "delete", probe]);
  if (used.code !== 0) return `iptables inside a namespace fails: ${used.stderr.trim()}`;
  return undefined;
}

/**
 * Removes the namespaces an earlier run left behind (its process gone, say killed mid-run): the
 * members still running in them are ended by their process ids first, or the namespaces, their
 * links and their bridge would live on with them.
 */
export async function removeLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await namespaces()) {
    const match = namePattern.exec(name);
    if (match === null || processAlive(Number(match[1]))) continue;
    const pids = (await run("ip", ["netns", "pids", name])).stdout.split("\n").filter((p) =>
      p !== ""
    );
    for (const pid of pids) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await run("ip", ["netns", "delete", name]);
    removed.push(name);
  }
  return removed;
}

/** Hosts on a bridge: host i (from 1) is namespace `name(i)` at `address(i)`. */
export class Hosts {
  readonly count: number;
  readonly prefix = `mbt${Deno.pid}-`;
  /** The bridge has a namespace of its own, so nothing is added to the machine's own network. */
  readonly bridge = `${this.prefix}br`;
  readonly dir: string;
  readonly #built: string[] = [];
  readonly #members = new Map<number, HostMember>();

  private constructor(count: number) {
    this.count = count;
    this.dir = Deno.makeTempDirSync({ prefix: "member-hosts-" });
  }

  /**
   * Builds `count` hosts. On a failure half way, what was built is removed before the error is
   * thrown.
   */
  static async build(count: number): Promise<Hosts> {
    const hosts = new Hosts(count);
    try {
      await hosts.#namespace(hosts.bridge);
      await ip("-n", hosts.bridge, "link", "add", "br0", "type", "bridge");
      await ip("-n", hosts.bridge, "link", "set", "br0", "up");
      for (let i = 1; i <= count; i++) {
        const name = hosts.name(i);
        await hosts.#namespace(name);
        // Both ends are created inside the namespaces: the veth never appears in the machine's
        // own namespace, and deleting either namespace deletes the pair.
        await ip(
          "-n",
          name,
          "link",
          "add",
          device,
          "type",
          "veth",
          "peer",
          "name",
          `p${i}`,
          "netns",
          hosts.bridge,
        );
        await ip("-n", hosts.bridge, "link", "set", `p${i}`, "master", "br0", "up");
        await ip("-n", name, "addr", "add", `${hosts.ip(i)}/24`, "dev", device);
        await ip("-n", name, "link", "set", device, "up");
      }
    } catch (error) {
      await hosts.dispose();
      throw error;
    }
    return hosts;
  }

  async #namespace(name: string): Promise<void> {
    await ip("netns", "add", name);
    this.#built.push(name);
    await ip("-n", name, "link", "set", "lo", "up");
  }

  /** The namespace of host i. */
  name(i: number): string {
    return `${this.prefix}h${i}`;
  }

  /** The IPv4 address of host i. */
  ip(i: number): string {
    return `${subnet}.${i}`;
  }

  /** `host:port` of the member on host i. */
  address(i: number): string {
    return `${this.ip(i)}:${port}`;
  }

  /** Host i's link down (false) or up (true), as a cable pulled inside the host. */
  async link(i: number, up: boolean): Promise<void> {
    await ip("-n", this.name(i), "link", "set", device, up ? "up" : "down");
  }

  /** Host i's port on the bridge down (false) or up (true): the carrier lost at the switch. */
  async carrier(i: number, up: boolean): Promise<void> {
    await ip("-n", this.bridge, "link", "set", `p${i}`, up ? "up" : "down");
  }

  /** Runs iptables inside host i (`-A ...` to add a rule, `-D ...` to delete it). */
  async iptables(i: number, args: string[]): Promise<void> {
    const result = await run("ip", ["netns", "exec", this.name(i), "iptables", ...args]);
    if (result.code !== 0) {
      throw new Error(`iptables ${args.join(" ")} on host ${i}: ${result.stderr.trim()}`);
    }
  }

  /** Packets the DROP rules of `chain` on host i have dropped: proof a fault was in force. */
  async dropped(i: number, chain: string): Promise<number> {
    const result = await run("ip", [
      "netns",
      "exec",
      this.name(i),
      "iptables",
      "-L",
      chain,
      "-v",
      "-x",
      "-n",
    ]);
    if (result.code !== 0) throw new Error(`iptables -L ${chain} on host ${i}: ${result.stderr}`);
    return result.stdout.split("\n").map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[2] === "DROP").reduce((sum, fields) => sum + Number(fields[0]), 0);
  }

  /** Starts `member serve ARGS` on host i; a member already there must have exited. */
  start(i: number, args: string[]): HostMember {
    const previous = this.#members.get(i);
    if (previous !== undefined && !previous.exited) throw new Error(`host ${i} runs a member`);
    const member = new HostMember(this.name(i), `${this.dir}/h${i}`, args);
    this.#members.set(i, member);
    return member;
  }

  /** The member last started on host i. */
  member(i: number): HostMember {
    const member = this.#members.get(i);
    if (member === undefined) throw new Error(`no member on host ${i}`);
    return member;
  }

  /** Runs a client (`member stats ...`) inside host i, under the binary's flags. */
  client(i: number, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return run("ip", [
      "netns",
      "exec",
      this.name(i),
      Deno.execPath(),
      "run",
      ...binaryFlags(),
      bundle,
      ...args,
    ]);
  }

  /** `member stats --json --node NODE` run inside host i (NODE: its own address by default). */
  async stats(i: number, node = this.address(i)): Promise<NodeStats> {
    const result = await this.client(i, ["stats", "--json", "--node", node]);
    if (result.code !== 0) throw new Error(`stats of ${node} from host ${i}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  /**
   * Stops every member (SIGTERM, SIGKILL after 5 s), then deletes every namespace built, which
   * takes the links, the bridge and any iptables rule with it. Never throws: a cleanup that fails
   * is said on stderr and left for the next run's `removeLeftovers`.
   */
  async dispose(): Promise<void> {
    await Promise.all([...this.#members.values()].map((m) => m.stop()));
    for (const name of this.#built.reverse()) {
      const result = await run("ip", ["netns", "delete", name]).catch((e) => ({
        code: -1,
        stderr: `${e}`,
      }));
      if (result.code !== 0) console.error(`cannot delete namespace ${name}: ${result.stderr}`);
    }
    this.#built.length = 0;
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // Left for inspection.
    }
  }
}

/** One `member serve` in a host's namespace, started as `ip netns exec HOST deno run ...`. */
export class HostMember {
  readonly dataDir: string;
  readonly #child: Deno.ChildProcess;
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(namespace: string, dataDir: string, args: string[]) {
    this.dataDir = dataDir;
    Deno.mkdirSync(dataDir, { recursive: true });
    // `ip netns exec` execs the program in place, so the child's id is the member's own and a
    // SIGKILL reaches it as a crash would. No --host and no --port: the defaults are under test.
    const { child, status } = spawnLogged(
      new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          namespace,
          Deno.execPath(),
          "run",
          ...binaryFlags({ dataDirs: [dataDir] }),
          bundle,
          "serve",
          "--data-dir",
          dataDir,
          ...args,
        ],
        stdin: "null",
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

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Sends a signal (SIGKILL for a crash). */
  signal(signal: Deno.Signal): void {
    if (!this.#exited) this.#child.kill(signal);
  }

  /** The event log so far, parsed (its lines carry wall-clock times of the one shared clock). */
  events(): EventRecord[] {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${this.dataDir}/member.log`);
    } catch {
      return [];
    }
    return text.split("\n").flatMap((line) => {
      if (line === "") return [];
      const parsed = parseEventLine(line);
      return "error" in parsed ? [] : [parsed];
    });
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

/** The `host:port` of a member id `host:port#version`. */
export function addressOf(id: string): string {
  return id.slice(0, id.lastIndexOf("#"));
}

/** An event line as the log has it, for messages. */
export function lineOf(e: EventRecord): string {
  return `${new Date(e.timeMs).toISOString()} ${e.kind} member=${e.member} node=${e.node} ` +
    `via=${e.via}${e.from === undefined ? "" : ` from=${e.from}`}`;
}
