/**
 * A service registry built on the library: it joins a cluster as a member of its own and prints
 * the set of live members each time it changes, one line per change:
 *
 * ```sh
 * deno run --unstable-net --allow-net --allow-read --allow-write examples/registry.ts \
 *   --host 127.0.0.9 --port 3000 --join 127.0.0.1:3000
 * 2026-12-06T21:50:01.200Z live 3: 127.0.0.1:3000 127.0.0.2:3000 127.0.0.9:3000
 * 2026-12-06T21:50:09.713Z live 2: 127.0.0.1:3000 127.0.0.9:3000
 * ```
 *
 * SIGINT or SIGTERM leaves the cluster (the others log LEAVE) and exits.
 */
import { parseArgs } from "node:util";
import { startMember } from "../mod/mod.ts";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "3000" },
    join: { type: "string" },
    "data-dir": { type: "string" },
  },
});

const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop.abort());
}

await using member = await startMember({
  host: values.host,
  port: Number(values.port),
  ...(values.join === undefined ? {} : { join: values.join }),
  ...(values["data-dir"] === undefined ? {} : { dataDir: values["data-dir"] }),
});

/** Live members: address -> id. A member that restarts is a new id at the same address. */
const live = new Map<string, string>();
let printed = "";
let pending: ReturnType<typeof setTimeout> | undefined;

/**
 * Prints the set once the items at hand are taken: the list comes as a burst of MEMBER items, and
 * one line for the whole burst says more than one per member.
 */
function printSoon(): void {
  pending ??= setTimeout(() => {
    pending = undefined;
    const line = [...live.keys()].sort().join(" ");
    if (line === printed) return;
    printed = line;
    console.log(`${new Date().toISOString()} live ${live.size}: ${line}`);
  }, 0);
}

for await (const item of member.events({ signal: stop.signal })) {
  if (item.kind === "MEMBER") {
    if (item.status === "alive" || item.status === "suspect") live.set(item.address, item.member);
  } else if (item.kind === "JOIN") {
    live.set(item.address, item.member);
  } else if (item.kind === "FAIL" || item.kind === "LEAVE" || item.kind === "REMOVE") {
    // Only the version that ended goes: a newer one of the same address may be listed already.
    if (live.get(item.address) === item.member) live.delete(item.address);
  }
  printSoon();
}
clearTimeout(pending);
