/**
 * What a node keeps in its data dir besides its event log: the last version used (`version`),
 * members to find its cluster by after a restart (`members`), and the lock that keeps one member
 * process per data dir (`lock`). Each file is replaced whole, never edited in place.
 */
import type { Logger } from "@logtape/logtape";
import { isAddress } from "../core/address.ts";
import type { Core } from "../core/core.ts";
import type { Random } from "../core/random.ts";
import { type Address, Status } from "../core/types.ts";
import { versionMax } from "../core/wire_size.ts";
import { describeFileError } from "../errors.ts";
import { StartError } from "./options.ts";

/**
 * Members a node remembers in its data dir (`members`), looked over every second and rewritten
 * when one of them is gone, so that a restart finds its cluster again: an introducer brought back
 * after a leave or a long absence, whom nobody else would seek out, or a member whose contact is
 * down.
 */
const membersFileMax = 16;

/**
 * The version of a new join: the time in ms, made strictly larger than any version this data dir
 * has used, and remembered there.
 */
export function nextVersion(dataDir: string): number {
  const path = `${dataDir}/version`;
  let last = 0;
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync(path).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== undefined) {
    // A damaged file is not taken for 0: the versions it guards could then repeat.
    last = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(last + 1)) {
      throw new Error(
        `${path} holds '${text.slice(0, 40)}', not a version (milliseconds): fix or remove it`,
      );
    }
  }
  const version = Math.max(Date.now(), last + 1);
  if (version > versionMax) {
    // Only forged gossip (a keyless cluster) pushes a member this far; said, not sent unreadable.
    throw new Error(
      `${path} holds ${last}, the widest version the wire carries: no newer one exists. ` +
        "Remove the file; the others take this address back once they forget that version",
    );
  }
  rememberVersion(dataDir, version);
  return version;
}

/** Records in the data dir the last version used, replacing the file whole. */
export function rememberVersion(dataDir: string, version: number): void {
  const path = `${dataDir}/version`;
  Deno.writeTextFileSync(`${path}.tmp`, `${version}\n`);
  Deno.renameSync(`${path}.tmp`, path);
}

/** The members a data dir's `members` file names; none when it is missing or unreadable. */
export function readMembers(dataDir: string): Address[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dataDir}/members`);
  } catch {
    return [];
  }
  return text.split("\n").map((line) => line.trim()).filter(isAddress).slice(0, membersFileMax);
}

/** The `members` file as this process keeps it: rewritten only when its choice changes. */
export class MembersFile {
  readonly #dataDir: string;
  /** The members last written. */
  #written: Address[] = [];

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
  }

  /**
   * Writes down up to `membersFileMax` live members of `core` other than `self`, each kept while
   * it lives and the rest drawn at random, for a later start to find its cluster by.
   */
  update(core: Core, self: Address, random: Random, log: Logger): void {
    // Most seconds nothing changes: a full file of members all still alive is left as it is,
    // without going over the whole list.
    const stillAlive = (a: Address) => core.lookup(a)?.status === Status.Alive;
    if (this.#written.length === membersFileMax && this.#written.every(stillAlive)) return;
    const alive = core.members()
      .filter((m) => m.status === Status.Alive && m.address !== self)
      .map((m) => m.address);
    const live = new Set(alive);
    const kept = this.#written.filter((a) => live.has(a));
    const others = alive.filter((a) => !kept.includes(a));
    while (kept.length < membersFileMax && others.length > 0) {
      const i = random.below(others.length);
      kept.push(others[i]);
      others[i] = others[others.length - 1];
      others.pop();
    }
    kept.sort();
    if (kept.join() === this.#written.join()) return;
    try {
      writeMembers(this.#dataDir, kept);
      this.#written = kept;
    } catch (error) {
      log.debug("cannot write {dataDir}/members: {error}", {
        dataDir: this.#dataDir,
        error: describeFileError(error),
      });
    }
  }
}

/** Records the members a later start may join through, replacing the file whole. */
function writeMembers(dataDir: string, addresses: readonly Address[]): void {
  const path = `${dataDir}/members`;
  Deno.writeTextFileSync(`${path}.tmp`, addresses.map((a) => `${a}\n`).join(""));
  Deno.renameSync(`${path}.tmp`, path);
}

/**
 * Takes the data dir for this process: two member processes on one data dir would interleave
 * their event logs and reuse each other's versions. The lock goes with the process, however it
 * ends, so a crash leaves nothing to clean up.
 */
export function lockDataDir(dataDir: string): Deno.FsFile {
  let file: Deno.FsFile;
  try {
    Deno.mkdirSync(dataDir, { recursive: true });
    file = Deno.openSync(`${dataDir}/lock`, { create: true, write: true });
  } catch (error) {
    throw new StartError(`cannot use data dir ${dataDir}: ${describeFileError(error)}`);
  }
  if (!file.tryLockSync(true)) {
    file.close();
    throw new StartError(`cannot use data dir ${dataDir}: another member process is using it`);
  }
  return file;
}
