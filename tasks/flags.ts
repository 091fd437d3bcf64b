/**
 * The permissions the compiled binary runs with, in one place: `deno task compile` bakes them in,
 * and the real-process tests run the bundle under exactly these flags.
 */

/** The flags of `deno compile` (and of `deno run` on the bundle) besides the output and entry. */
export const binaryFlags: readonly string[] = [
  // UDP sockets are still behind the `net` unstable flag.
  "--unstable-net",
  // Members talk to any host of the cluster.
  "--allow-net",
  // The data dir, and the files given to `viz`.
  "--allow-read",
  "--allow-write",
  // `serve` looks up this machine's address when no --host is given.
  "--allow-sys=networkInterfaces",
];
