/**
 * The limits a node holds its clients to, and its defaults, in one place: the CLI names them in
 * its flags and help texts, and the node enforces them whatever a client asks.
 */
import { defaultConfig } from "./core/config.ts";

/** The most output one grep query may send from one node, whatever the client asks. */
export const grepBytesMax = 256 << 20;
/** The longest one grep query may run on one node, whatever the client asks. */
export const grepTimeoutMaxMs = 10 * 60_000;
/** The most of its event log a node sends to `member viz`. */
export const eventsBytesMax = 256 << 20;
/**
 * How often a node sends a quiet watch an empty frame: the watcher knows the node is still there,
 * and the node finds out when a watcher has gone.
 */
export const watchKeepAliveMs = 2000;
/** The defaults, for `--help` texts. */
export const nodeDefaults = { config: defaultConfig, port: 3000 };
