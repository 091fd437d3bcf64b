/** Hosts as the sockets see them: loopback, this machine, and the bare name a socket binds. */

/**
 * A connection is from this machine when it comes from a loopback address or from the very
 * address it reached (a local client connecting to the machine's own IP).
 */
export function isLocal(conn: Deno.TcpConn): boolean {
  const remote = conn.remoteAddr.hostname;
  return isLoopback(remote) || remote === conn.localAddr.hostname;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === "::1" || /^::ffff:127\./i.test(host);
}

/** The host of an address as a socket takes it: an IPv6 address without its brackets. */
export function bareHost(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}
