/**
 * The protocol settings `serve` and `sim` take, the same flags on both so that a setting tried in
 * the simulator is deployed as it is: `--profile NAME`, `--config FILE` (TOML: `profile = "wan"`
 * and any field of the core's `Config`) and `--setting FIELD=VALUE`. A flag beats the file, the
 * file beats the profile. Every value is checked here, with one line naming the field, because
 * the core only asserts: a bad value reaching it would be a crash, not an operator's error.
 */
import { Option } from "commander";
import { parse, TomlError } from "smol-toml";
import { type Config, configProblem, defaultConfig } from "../mod/core/config.ts";
import {
  defaultProfile,
  isProfileName,
  profileConfig,
  type ProfileName,
  profileNames,
} from "../mod/core/profiles.ts";
import { gossipEntriesMax } from "../mod/core/wire_size.ts";
import { describeFileError } from "../mod/errors.ts";
import { editDistance, UsageError } from "./_cli.ts";

/** The settings flags as commander hands them over. */
export interface SettingsFlags {
  profile?: string;
  config?: string;
  setting?: string[];
}

/** The settings a node or a simulation runs with. */
export interface SettingsInForce {
  /** The profile the configuration started from. */
  readonly profile: ProfileName;
  /** Every field, after the profile, the file and the flags. */
  readonly config: Config;
}

/** The widest timeout a timer of the runtime holds (`setTimeout` wraps past 2^31 - 1 ms). */
const msMax = 2 ** 31 - 1;

/** What a field takes: milliseconds, or a whole count, within bounds. */
interface FieldRule {
  readonly unit: "ms" | "count";
  readonly min: number;
  readonly max: number;
  /** For milliseconds: 0 is taken too (it turns the feature off). */
  readonly zero?: boolean;
}

const ms: FieldRule = { unit: "ms", min: 0, max: msMax };
const msOrOff: FieldRule = { ...ms, zero: true };
const count = (min: number, max: number): FieldRule => ({ unit: "count", min, max });

/**
 * Every field of `Config`, with what it takes. The bounds are the ones a node can run with; the
 * rules between fields are `configProblem`'s. A record over `keyof Config`, so that a field added
 * to the core and not here fails to compile.
 */
const fieldRules: Readonly<Record<keyof Config, FieldRule>> = {
  gossipIntervalMs: ms,
  gossipFanout: count(1, 64),
  gossipFanoutMax: count(1, 64),
  newsFanout: count(1, 64),
  quietGossipIntervalMs: ms,
  ringNeighbors: count(1, 32),
  probeAfterMs: ms,
  indirectProbes: count(0, 16),
  helperQuorum: count(0, 1),
  isolatedAfterMs: ms,
  selfDoubtMs: msOrOff,
  suspectAfterMs: ms,
  suspectTimeoutMs: ms,
  failAfterMs: ms,
  cleanupAfterMs: ms,
  tombstoneMs: ms,
  retransmitMult: count(1, 100),
  // The largest UDP payload over IPv4.
  datagramBytesMax: count(300, 65_507),
  datagramOverheadBytes: count(0, 4096),
  memberTableMax: count(2, 1_000_000),
  leaveRounds: count(1, 1000),
  reconnectIntervalMs: ms,
  endedKeptMs: ms,
  stallThresholdMs: ms,
  syncAfterMs: ms,
  syncIntervalMs: ms,
  heartbeatNewsMax: count(0, gossipEntriesMax),
  sliceEntriesMax: count(1, gossipEntriesMax),
};

/** The fields of `Config`, in the order the core declares them. */
export const configFields = Object.keys(defaultConfig) as (keyof Config)[];

function isField(name: string): name is keyof Config {
  return Object.hasOwn(fieldRules, name);
}

/** A value as the operator wrote it, for an error message. */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Date) return `a date (${value.toISOString()})`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "a table";
  return String(value);
}

/** Why `value` is not fit for `field`, naming the field; undefined when it is. */
export function fieldProblem(field: keyof Config, value: unknown): string | undefined {
  const rule = fieldRules[field];
  if (rule.unit === "ms") {
    if (rule.zero && value === 0) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      const what = rule.zero ? "0 (off) or a positive number" : "a positive number";
      return `${field} must be ${what} of milliseconds, got ${shown(value)}`;
    }
    if (value > rule.max) {
      return `${field} must be at most ${rule.max} ms (about 24 days), got ${value}`;
    }
    return undefined;
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return `${field} must be a whole number from ${rule.min} to ${rule.max}, got ${shown(value)}`;
  }
  if (value < rule.min || value > rule.max) {
    return `${field} must be from ${rule.min} to ${rule.max}, got ${value}`;
  }
  return undefined;
}

/** The field an unknown name most likely meant, when one is close enough to say so. */
function nearestField(name: string): string | undefined {
  const candidates = ["profile", ...configFields];
  // A name missing its unit (`suspectAfter`) or differing in case is what is usually meant.
  const byPrefix = candidates.find((c) =>
    c.toLowerCase().startsWith(name.toLowerCase()) && name.length >= 4
  );
  if (byPrefix !== undefined) return byPrefix;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function unknownField(name: string): string {
  const near = nearestField(name);
  return `unknown field '${name}'${
    near === undefined
      ? `; the fields are profile and those of docs/settings.md`
      : `: did you mean ${near}?`
  }`;
}

function profileProblem(value: unknown): string | undefined {
  if (typeof value === "string" && isProfileName(value)) return undefined;
  return `profile must be one of ${profileNames.join(", ")}, got ${shown(value)}`;
}

/** A config file's contents, checked: its profile, if it names one, and its fields. */
export interface ConfigFile {
  readonly profile?: ProfileName;
  readonly fields: Partial<Config>;
}

/** Parses a config file's text; a problem is one line naming the field (or the line) at fault. */
export function parseConfigText(text: string): ConfigFile | { error: string } {
  let table: Record<string, unknown>;
  try {
    table = parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // smol-toml's message is the reason, then the line quoted: the reason and where suffice.
    const reason = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    return { error: `line ${error.line}, column ${error.column}: ${reason}` };
  }
  let profile: ProfileName | undefined;
  const fields: Partial<Record<keyof Config, number>> = {};
  for (const [name, value] of Object.entries(table)) {
    if (name === "profile") {
      const problem = profileProblem(value);
      if (problem !== undefined) return { error: problem };
      profile = value as ProfileName;
      continue;
    }
    if (!isField(name)) return { error: unknownField(name) };
    const problem = fieldProblem(name, value);
    if (problem !== undefined) return { error: problem };
    fields[name] = value as number;
  }
  return { profile, fields };
}

/** Parses one `--setting FIELD=VALUE`. */
export function parseSetting(text: string): { field: keyof Config; value: number } | {
  error: string;
} {
  const equals = text.indexOf("=");
  if (equals <= 0) return { error: "give FIELD=VALUE, such as suspectAfterMs=1500" };
  const name = text.slice(0, equals).trim();
  const raw = text.slice(equals + 1).trim();
  if (name === "profile") return { error: "give the profile as --profile NAME" };
  if (!isField(name)) return { error: unknownField(name) };
  // Decimal only, as TOML writes numbers (underscores too): anything else stays a string.
  const value = /^[+-]?(\d[\d_]*\.?[\d_]*|\.\d+)(e[+-]?\d+)?$/i.test(raw)
    ? Number(raw.replaceAll("_", ""))
    : raw;
  const problem = fieldProblem(name, value);
  if (problem !== undefined) return { error: problem };
  return { field: name, value: value as number };
}

/** Reads and checks `--config FILE`; a problem is a usage error. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new UsageError(`--config ${path}: cannot read it: ${describeFileError(error)}`);
  }
  const parsed = parseConfigText(text);
  if ("error" in parsed) throw new UsageError(`--config ${path}: ${parsed.error}`);
  return parsed;
}

/**
 * The settings in force: the profile (the flag's, else the file's, else `lan`), then the file's
 * fields, then each `--setting`. Each problem is a usage error of one line.
 */
export function resolveSettings(flags: SettingsFlags): SettingsInForce {
  if (flags.profile !== undefined && !isProfileName(flags.profile)) {
    throw new UsageError(
      `--profile ${flags.profile}: no such profile; choose ${profileNames.join(", ")}`,
    );
  }
  const file = flags.config === undefined ? undefined : readConfigFile(flags.config);
  const profile = (flags.profile as ProfileName | undefined) ?? file?.profile ?? defaultProfile;
  const fromFlags: Partial<Record<keyof Config, number>> = {};
  for (const text of flags.setting ?? []) {
    const parsed = parseSetting(text);
    if ("error" in parsed) throw new UsageError(`--setting ${text}: ${parsed.error}`);
    fromFlags[parsed.field] = parsed.value;
  }
  const config: Config = { ...profileConfig(profile), ...file?.fields, ...fromFlags };
  const problem = configProblem(config);
  if (problem !== undefined) {
    // The rules between fields: the source named is the last layer that set any field.
    const source = (flags.setting ?? []).length > 0
      ? "--setting"
      : flags.config !== undefined
      ? `--config ${flags.config}`
      : `--profile ${profile}`;
    throw new UsageError(`${source}: ${problem}`);
  }
  return { profile, config };
}

/** `--profile NAME`, on `serve` and `sim` alike. */
export function profileOption(): Option {
  // No default here: a profile named in the config file applies when the flag is not given.
  return new Option(
    "--profile <NAME>",
    `protocol settings to start from: ${profileNames.join(", ")} (lan: the defaults; wan: ` +
      "round trips up to 300 ms; lean: fewest bytes) (default: lan)",
  );
}

/** `--config FILE`, on `serve` and `sim` alike. */
export function configOption(): Option {
  return new Option(
    "--config <FILE>",
    'protocol settings from a TOML file: profile = "NAME" and any field of docs/settings.md; ' +
      "it beats the profile",
  );
}

/** `--setting FIELD=VALUE`, repeatable, on `serve` and `sim` alike. */
export function settingOption(): Option {
  return new Option(
    "--setting <FIELD=VALUE>",
    "one protocol setting, such as suspectAfterMs=1500; repeatable; it beats --config",
  ).argParser((value: string, previous: string[] = []) => [...previous, value]);
}

/** The settings as one flat object: the profile's name, then every field. */
export function settingsJson(settings: SettingsInForce): Record<string, string | number> {
  return { profile: settings.profile, ...settings.config };
}
