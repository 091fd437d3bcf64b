/**
 * What the client subcommands (join, leave, set, stats) share: reaching a node with `--node`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { parseAddress } from "../mod/core/address.ts";
import type { Address } from "../mod/core/types.ts";
import { request, RequestError } from "../mod/net/client.ts";
import type { ControlRequest, ControlResponse, FrameMessage } from "../mod/wire/codec.ts";
import { out, RuntimeFailure } from "./_cli.ts";
import type { NodeStats } from "../mod/node/stats.ts";
import { nodeDefaults } from "../mod/limits.ts";
import { KeyError, Keyring } from "../mod/wire/seal.ts";

/** The node a client talks to unless told otherwise. */
export const defaultNode = "127.0.0.1:3000";

/** Parses `--node HOST:PORT` (and `--join`); a host alone means the default port, 3000. */
export function nodeAddress(text: string): Address {
  const address = /^[^:[\]]+$/.test(text) ? `${text}:${nodeDefaults.port}` : text;
  const parsed = parseAddress(address);
  if ("error" in parsed) throw new InvalidArgumentError(parsed.error);
  return address;
}

/** The `--node` option. */
export function nodeOption(): Option {
  return new Option("--node <HOST:PORT>", "the node to ask").default(defaultNode).argParser(
    nodeAddress,
  );
}

/** The `--timeout` option, in seconds. */
export function timeoutOption(
  defaultSeconds = 10,
  description = "give up after this long",
): Option {
  return new Option("--timeout <SECONDS>", description).default(defaultSeconds)
    .argParser((text: string) => {
      const value = Number(text);
      // A millisecond at least: below it no answer could come, and the error would read oddly.
      if (!(value >= 0.001 && value <= 3600)) {
        throw new InvalidArgumentError(`expected seconds from 0.001 to 3600, got '${text}'`);
      }
      return value;
    });
}

/** The `--key-file` option of clients. */
export function keyFileOption(): Option {
  return new Option(
    "--key-file <FILE>",
    "the cluster's key file, to reach nodes of a keyed cluster from another machine",
  );
}

/** Loads the key file a client was given, if any; a bad one is a runtime failure. */
export async function loadKeyring(path: string | undefined): Promise<Keyring | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Keyring.load(path);
  } catch (error) {
    if (error instanceof KeyError) throw new RuntimeFailure(error.message);
    throw error;
  }
}

/**
 * Sends one request to a node; a node that cannot be reached, refuses, or is silent once asked,
 * is a runtime failure (`notes.silence` says what silence may mean for this request).
 */
export async function ask(
  node: Address,
  message: FrameMessage,
  timeoutSeconds: number,
  keyring?: Keyring,
  notes: { silence?: string } = {},
): Promise<FrameMessage> {
  try {
    return await request(node, message, timeoutSeconds * 1000, keyring);
  } catch (error) {
    if (error instanceof RequestError) {
      if (error.refused) throw new RuntimeFailure(`${node} refused the request: ${error.reason}`);
      if (error.silent && notes.silence !== undefined) {
        throw new RuntimeFailure(
          `${node} did not answer within ${timeoutSeconds} s: ${notes.silence}`,
        );
      }
      throw new RuntimeFailure(
        error.sent
          ? `${node} did not answer: ${error.reason}${notes.silence ? `; ${notes.silence}` : ""}`
          : `cannot reach ${node}: ${error.reason}`,
      );
    }
    throw error;
  }
}

/** Sends a control request and returns the node's answer. */
async function control(
  node: Address,
  message: ControlRequest,
  timeoutSeconds: number,
  keyring: Keyring | undefined,
): Promise<ControlResponse> {
  // Control is for the node's own machine, where no key is needed; one given seals it all the same.
  const reply = await ask(node, message, timeoutSeconds, keyring, {
    silence: "it may still be at work on the request (a join tries each member it knew, for up " +
      "to 20 s), or have done it: `member stats` shows its state",
  });
  if (reply.kind !== "control-response") {
    throw new RuntimeFailure(`${node} answered with ${reply.kind}, not a control response`);
  }
  return reply;
}

/** The flags every control command (`join`, `leave`, `set`) takes. */
export interface ControlFlags {
  node: Address;
  timeout: number;
  keyFile?: string;
  json?: boolean;
}

/**
 * Adds the flags of a control command: `--node`, `--timeout`, `--key-file` (for one that passes
 * the key to every command; control needs none) and `--json`, described by `json`.
 */
export function controlOptions(command: Command, timeoutSeconds: number, json: string): Command {
  return command
    .addOption(nodeOption())
    .addOption(timeoutOption(timeoutSeconds))
    .addOption(
      new Option(
        "--key-file <FILE>",
        "the cluster's key file, to seal the request with (not needed: control comes from the " +
          "node's own machine)",
      ),
    )
    .option("--json", json);
}

/**
 * Runs a control request (`join`, `leave`, `set`) and prints the node's answer: its one line, or
 * with `json` an object with `ok` and `message` and, when it was done, where the node stands now:
 * its own entry (`self`, with its new id after a join), `dropRate` and `suspicion`. A refusal is
 * a runtime failure.
 */
export async function runControl(flags: ControlFlags, message: ControlRequest): Promise<void> {
  const { node, timeout: timeoutSeconds } = flags;
  const json = flags.json === true;
  const keyring = await loadKeyring(flags.keyFile);
  const reply = await control(node, message, timeoutSeconds, keyring);
  if (json) {
    let now = {};
    if (reply.ok) {
      // What was done is done: a node that does not answer the question after it leaves the
      // answer without these fields, not the command failed.
      try {
        const stats = await ask(
          node,
          { kind: "stats-request" },
          Math.min(timeoutSeconds, 5),
          keyring,
        );
        if (stats.kind === "stats-response") {
          const parsed = JSON.parse(stats.json) as NodeStats;
          now = {
            self: parsed.self,
            dropRate: parsed.node.dropRate,
            suspicion: parsed.node.suspicion,
          };
        }
      } catch (error) {
        if (!(error instanceof RuntimeFailure || error instanceof SyntaxError)) throw error;
      }
    }
    out(JSON.stringify({ ok: reply.ok, message: reply.message, ...now }) + "\n");
  }
  if (!reply.ok) throw new RuntimeFailure(reply.message);
  if (!json) out(reply.message + "\n");
}
