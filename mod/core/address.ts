/**
 * Addresses are `host:port`, where host is a name, an IPv4 address or a bracketed IPv6 address.
 * They are plain ASCII, at most 255 characters, so that their encoded size is their length.
 */
import type { Address } from "./types.ts";

/** The longest address accepted. */
export const addressLengthMax = 255;

const hostPattern = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/** Splits an address into host and port, or returns a reason it is not one. */
export function parseAddress(
  text: string,
): { host: string; port: number } | { error: string } {
  if (text.length === 0) return { error: "empty address" };
  if (text.length > addressLengthMax) return { error: "address too long" };
  const colon = text.lastIndexOf(":");
  if (colon <= 0) return { error: `expected HOST:PORT, got '${text}'` };
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText)) return { error: `bad port in '${text}'` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { error: `port out of range in '${text}'` };
  if (!hostPattern.test(host)) return { error: `bad host in '${text}'` };
  return { host, port };
}

/** True when `text` is a well-formed address. */
export function isAddress(text: string): text is Address {
  return !("error" in parseAddress(text));
}

/** Joins a host and a port, bracketing IPv6 hosts. */
export function formatAddress(host: string, port: number): Address {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}
