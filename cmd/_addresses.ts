/**
 * `member serve`'s addresses: where it binds (`--bind`), what the others are told (`--advertise`),
 * both at once (`--host`), and the contacts it joins through (`--join`, repeatable).
 */
import { InvalidArgumentError } from "commander";
import { formatAddress, isAddress, parseAddress } from "../mod/core/address.ts";
import { bareHost, isLoopback } from "../mod/net/host.ts";
import { UsageError } from "./_cli.ts";

/** The flags the addresses come from. */
export interface AddressFlags {
  readonly introducer?: boolean;
  readonly join?: string[];
  readonly host?: string;
  readonly bind?: string;
  readonly advertise?: string;
  readonly port: number;
}

/** Where a node binds, what it advertises, and whom it joins through. */
export interface Addresses {
  /** The host the others are told (the member's address is `host:advertisedPort`). */
  readonly host: string;
  /** The host the sockets bind, when not `host`. */
  readonly bindHost?: string;
  /** The port the others are told, when not `--port`. */
  readonly advertisedPort?: number;
  /** The contacts, each `HOST:PORT`; undefined for a node that starts a cluster. */
  readonly join?: string[];
}

/** A host alone, without a port: a name, an IPv4 address, or a bracketed IPv6 address. */
function hostAlone(text: string): boolean {
  return /^[^:[\]]+$/.test(text) || /^\[[0-9A-Fa-f:.]+\]$/.test(text);
}

/** `host` as an address takes it: an IPv6 address in brackets. */
function bracketed(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * Parses one `--join` and adds it to those before: `HOST:PORT`, or a host alone, whose port is
 * settled once `--port` is known (a cluster on port 4000 is joined with `--port 4000 --join vm1`,
 * not at vm1's port 3000).
 */
export function joinAddress(text: string, previous: string[] = []): string[] {
  const parsed = parseAddress(hostAlone(text) ? `${text}:1` : text);
  if ("error" in parsed) {
    throw new InvalidArgumentError(hostAlone(text) ? `bad host in '${text}'` : parsed.error);
  }
  return [...previous, text];
}

/** Parses `--bind HOST`: an address of this machine, `0.0.0.0` or `::` for all of them. */
export function bindHost(text: string): string {
  const host = bareHost(text);
  if (!isAddress(`${bracketed(host)}:1`)) throw new InvalidArgumentError(`bad host '${text}'`);
  return host;
}

/** Parses `--advertise HOST[:PORT]`. */
export function advertiseAddress(text: string): string {
  if (!isAddress(hostAlone(text) ? `${text}:1` : text)) {
    throw new InvalidArgumentError(`expected HOST or HOST:PORT, got '${text}'`);
  }
  return text;
}

/** True for the hosts that stand for every address of the machine. */
function isWildcard(host: string): boolean {
  return /^(0\.0\.0\.0|::|\[::\])$/.test(host);
}

/** Settles the addresses from the flags, or says in one line what is wrong with them. */
export function serveAddresses(flags: AddressFlags): Addresses {
  if (flags.introducer && flags.join !== undefined) {
    throw new UsageError("--introducer starts a cluster; --join joins one: give one of them");
  }
  if (!flags.introducer && flags.join === undefined) {
    throw new UsageError("give --introducer to start a cluster or --join HOST:PORT to join one");
  }
  // A contact named without a port is taken to listen where this node will: one --port for the
  // whole cluster is the common case, and port 3000 there would be a surprise.
  const join = flags.join?.map((c) => hostAlone(c) ? `${c}:${flags.port}` : c);
  let advertisedPort: number | undefined;
  let advertised = flags.host === undefined ? undefined : bareHost(flags.host);
  if (flags.advertise !== undefined) {
    if (hostAlone(flags.advertise)) {
      advertised = bareHost(flags.advertise);
    } else {
      const parsed = parseAddress(flags.advertise) as { host: string; port: number };
      advertised = bareHost(parsed.host);
      if (parsed.port !== flags.port) advertisedPort = parsed.port;
    }
  }
  const named = flags.advertise === undefined ? "--host" : "--advertise";
  // "localhost" names this machine to itself but another to every other one: loopback it is.
  const host = advertised === "localhost" ? "127.0.0.1" : advertised ?? defaultHost(join?.[0]);
  if (!isAddress(`${bracketed(host)}:${flags.port}`)) {
    throw new UsageError(`bad ${named} '${host}'`);
  }
  if (isWildcard(host)) {
    // The host is what the others are told to send to; nobody can send to "any address".
    throw new UsageError(
      `${named} ${host} is not an address others can reach: give this machine's own address ` +
        `(--bind ${host} binds every address, --advertise the one the others are told)`,
    );
  }
  const self = formatAddress(host, advertisedPort ?? flags.port);
  for (const contact of join ?? []) {
    if (contact === self) {
      throw new UsageError(
        `--join ${contact} names this node itself: give another member, or --introducer to ` +
          "start a cluster",
      );
    }
  }
  const bound = flags.bind ?? (flags.host === undefined ? undefined : bareHost(flags.host));
  return {
    host,
    ...(bound === undefined || bound === host ? {} : { bindHost: bound }),
    ...(advertisedPort === undefined ? {} : { advertisedPort }),
    ...(join === undefined ? {} : { join }),
  };
}

/**
 * The host to advertise when none is given: loopback to join a loopback contact (IPv6 for an IPv6
 * one), otherwise the machine's first non-loopback IPv4 address.
 */
function defaultHost(join: string | undefined): string {
  const contact = join === undefined ? undefined : bareHost(join.slice(0, join.lastIndexOf(":")));
  if (contact === "::1") return "::1";
  if (contact !== undefined && (isLoopback(contact) || contact === "localhost")) return "127.0.0.1";
  try {
    const found = Deno.networkInterfaces().find((i) =>
      i.family === "IPv4" && !isLoopback(i.address)
    );
    if (found !== undefined) return found.address;
  } catch {
    // Not allowed to look: fall back to loopback.
  }
  return "127.0.0.1";
}
