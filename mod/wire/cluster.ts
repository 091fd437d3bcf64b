/**
 * The cluster name (`serve --cluster NAME`) on every datagram and every frame between members, so
 * that two clusters sharing a network, or an address that one of them reused, never merge.
 *
 * A message of a named cluster is `clusterMarker`, one byte of name length, the name in ASCII,
 * then the message exactly as the codec encodes it (its own protocol-version byte first); with a
 * cluster key, this whole envelope is what gets sealed, so the name is authenticated and hidden.
 * A message of the unnamed cluster carries no envelope: it is byte for byte what nodes without
 * `--cluster` have always sent, so they keep working together, and an older node drops a named
 * message as being of another protocol version. The name travels whole, not as a hash, so that
 * both sides of a refused join can name the other's cluster, and no two names ever collide; at
 * most 64 bytes, which a datagram's budget accounts for (`clusterOverheadBytes`).
 */
import { protocolVersion } from "../core/wire_size.ts";

/** The first byte of a message that carries a cluster name (the protocol version, flagged). */
export const clusterMarker = 0x40 | protocolVersion;
/** The longest cluster name. */
export const clusterNameBytesMax = 64;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why `name` cannot be a cluster name, or undefined when it can (the empty name included). */
export function clusterNameProblem(name: string): string | undefined {
  if (name === "") return undefined;
  if (name.length > clusterNameBytesMax) {
    return `a cluster name has at most ${clusterNameBytesMax} characters`;
  }
  if (!namePattern.test(name)) {
    return "a cluster name is letters, digits, '.', '_' and '-', starting with a letter or digit";
  }
  return undefined;
}

/** Bytes the envelope adds to each message of the cluster `name` (none for the unnamed one). */
export function clusterOverheadBytes(name: string): number {
  return name === "" ? 0 : 2 + name.length;
}

/** Puts `message` (as the codec encoded it) in the envelope of cluster `name`. */
export function bindCluster(message: Uint8Array, name: string): Uint8Array {
  if (name === "") return message;
  const bytes = new Uint8Array(2 + name.length + message.length);
  bytes[0] = clusterMarker;
  bytes[1] = name.length;
  for (let i = 0; i < name.length; i++) bytes[2 + i] = name.charCodeAt(i);
  bytes.set(message, 2 + name.length);
  return bytes;
}

/**
 * A message taken out of its envelope, with the cluster it came from; or a malformed envelope,
 * counted as `protocol-version`: its first byte claims a format that the rest does not follow, so
 * it is not a message of any protocol this node reads (as the codec says of any other first byte).
 */
export type Unbound =
  | { ok: true; cluster: string; message: Uint8Array }
  | { ok: false; reason: "protocol-version" };

/**
 * Takes a message out of its envelope, without copying it. Bytes without the marker are a message
 * of the unnamed cluster, left for the codec to judge. Never throws.
 */
export function unbindCluster(bytes: Uint8Array): Unbound {
  if (bytes.length === 0 || bytes[0] !== clusterMarker) {
    return { ok: true, cluster: "", message: bytes };
  }
  const length = bytes.length > 1 ? bytes[1] : 0;
  if (length === 0 || length > clusterNameBytesMax || bytes.length < 2 + length) {
    return { ok: false, reason: "protocol-version" };
  }
  const name = String.fromCharCode(...bytes.subarray(2, 2 + length));
  if (!namePattern.test(name)) return { ok: false, reason: "protocol-version" };
  return { ok: true, cluster: name, message: bytes.subarray(2 + length) };
}

/**
 * Why a member of cluster `theirs` is not one to join or talk to, as this node (of `ours`) says it:
 * `it belongs to cluster "b", this node to "a"`.
 */
export function otherClusterReason(theirs: string, ours: string): string {
  const their = theirs === "" ? "no named cluster" : `cluster "${theirs}"`;
  const our = ours === "" ? "none (no --cluster)" : `"${ours}"`;
  return `it belongs to ${their}, this node to ${our}`;
}
