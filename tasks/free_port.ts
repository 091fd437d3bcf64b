/**
 * Picking ports for local clusters (the demo, the tests): a member listens on TCP and UDP at once,
 * on its own loopback address, so a port is free only if both are free on every address used.
 */

/** Ports drawn before giving up. */
const drawsMax = 200;
/**
 * The ports drawn from: below 32768, where Linux's ephemeral ports start (its default
 * `ip_local_port_range`), so that no outgoing connection of another member, a client or the
 * test itself can take a port between the check here and the member's bind.
 */
const lowest = 20_000;
const highest = 32_767;

/**
 * A port from 20000 to 32767 such that it and the `count - 1` after it are free for TCP and UDP
 * on every host given. Another process may still take one before it is used. Throws when an
 * address cannot be bound at all (127.0.0.2 is not local on every system) or none is found.
 */
export function freePort(hosts: readonly string[] = ["127.0.0.1"], count = 1): number {
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
