/**
 * Picking ports for local clusters (the demo, the tests): a member listens on TCP and UDP at once,
 * on its own loopback address, so a port is free only if both are free on every address used.
 */

/** Ports drawn before giving up. */
const drawsMax = 200;

/**
 * The ports drawn from: outside the range the system takes outgoing connections' ports from
 * (Linux's `ip_local_port_range`, 32768 to 60999 by default), so that no outgoing connection of
 * another member, a client or the test itself can take a port between the check here and the
 * member's bind. Below it from 20000 where there is room, above it otherwise.
 */
export function portWindow(): { lowest: number; highest: number } {
  let ephemeral = [32_768, 60_999];
  try {
    const read = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim()
      .split(/\s+/).map(Number);
    if (read.length === 2 && read.every(Number.isInteger)) ephemeral = read;
  } catch {
    // Not Linux, or not readable: its default.
  }
  const [low, high] = ephemeral;
  if (low - 1 - 20_000 >= 2000) return { lowest: 20_000, highest: low - 1 };
  if (65_535 - (high + 1) >= 2000) return { lowest: high + 1, highest: 65_535 };
  return { lowest: 20_000, highest: 65_535 };
}

/**
 * A port such that it and the `count - 1` after it are free for TCP and UDP on every host given,
 * all within `portWindow()`. Another process may still take one before it is used. Throws when
 * an address cannot be bound at all (127.0.0.2 is not local on every system) or none is found.
 */
export function freePort(hosts: readonly string[] = ["127.0.0.1"], count = 1): number {
  const { lowest, highest } = portWindow();
  for (let draw = 0; draw < drawsMax; draw++) {
    const port = lowest + Math.floor(Math.random() * (highest + 2 - lowest - count));
    if (hosts.every((hostname) => isFree(hostname, port, count))) return port;
  }
  throw new Error(`no port free for TCP and UDP on ${hosts.join(", ")} in ${drawsMax} draws`);
}

/** True if `port` is free for TCP and UDP on every host given (false if one cannot be bound). */
export function portIsFree(hosts: readonly string[], port: number): boolean {
  try {
    return hosts.every((hostname) => isFree(hostname, port, 1));
  } catch {
    return false;
  }
}

function isFree(hostname: string, port: number, count: number): boolean {
  for (let p = port; p < port + count; p++) {
    try {
      Deno.listen({ hostname, port: p }).close();
      Deno.listenDatagram({ transport: "udp", hostname, port: p }).close();
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) return false;
      throw error;
    }
  }
  return true;
}
