/**
 * Picking ports for local clusters (the demo, the tests): a member listens on TCP and UDP at once,
 * on its own loopback address, so a port is free only if both are free on every address used.
 */

/** Ports drawn before giving up. */
const drawsMax = 200;

/**
 * A port from 20000 to 49999 such that it and the `count - 1` after it are free for TCP and UDP
 * on every host given. Another process may still take one before it is used. Throws when an
 * address cannot be bound at all (127.0.0.2 is not local on every system) or none is found.
 */
export function freePort(hosts: readonly string[] = ["127.0.0.1"], count = 1): number {
  for (let draw = 0; draw < drawsMax; draw++) {
    const port = 20_000 + Math.floor(Math.random() * (30_000 - count));
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
