/**
 * What `member serve --on KINDS=PROGRAM` names, read and checked before a node starts: the kinds
 * and the program, and whether this build may run that program. Running them is handlers.ts.
 */
import type { EventKind } from "../core/types.ts";
import { describeFileError } from "../errors.ts";
import { eventKinds } from "../log/event_line.ts";

/** One `--on KINDS=PROGRAM`: which event kinds run which program. */
export interface HandlerSpec {
  /** The kinds it runs for; `"*"` for every kind. */
  readonly kinds: readonly EventKind[] | "*";
  /** The program's absolute path: it is run as is, with no shell and no arguments. */
  readonly program: string;
}

/**
 * Parses `KINDS=PROGRAM` (KINDS a comma list of event kinds, or `*`); returns the reason when it
 * is not one.
 */
export function parseHandlerSpec(text: string): HandlerSpec | { error: string } {
  const eq = text.indexOf("=");
  if (eq < 0) {
    return { error: `'${text}' is not KINDS=PROGRAM (for example FAIL=/usr/local/bin/x)` };
  }
  const kindsText = text.slice(0, eq).trim();
  const program = text.slice(eq + 1);
  if (program === "") return { error: `'${text}' names no program after '='` };
  if (!program.startsWith("/")) {
    return {
      error: `${program} is not an absolute path: give the program's full path, as the build's ` +
        "--allow-run names it",
    };
  }
  if (kindsText === "*") return { kinds: "*", program };
  const kinds: EventKind[] = [];
  for (const word of kindsText.split(",")) {
    const kind = word.trim().toUpperCase();
    if (!(eventKinds as readonly string[]).includes(kind)) {
      return {
        error: `unknown event kind '${word}' in '${text}': give ${eventKinds.join(", ")} or *`,
      };
    }
    if (!kinds.includes(kind as EventKind)) kinds.push(kind as EventKind);
  }
  return { kinds, program };
}

/**
 * Why `program` cannot be run as a handler here, or undefined when it can: missing, not an
 * executable file, or outside what this build of member may run.
 */
export function programProblem(program: string): string | undefined {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(program);
  } catch (error) {
    // A build whose file access is narrowed may not look at it: the run permission below and the
    // run itself still tell.
    if (!(error instanceof Deno.errors.NotCapable)) {
      return `cannot use ${program} as a handler: ${describeFileError(error)}`;
    }
  }
  if (info !== undefined && !info.isFile) return `${program} is not a file`;
  if (info?.mode != null && (info.mode & 0o111) === 0) {
    return `${program} is not executable: chmod +x it`;
  }
  let state: Deno.PermissionState = "denied";
  try {
    state = Deno.permissions.querySync({ name: "run", command: program }).state;
  } catch {
    // An unknown answer is taken as a no.
  }
  if (state !== "granted") {
    return `this build of member may not run ${program}: rebuild it with ` +
      `\`deno task compile --handler ${program}\` (the bundle: deno run --allow-run=grep,${program} ...)`;
  }
  return undefined;
}
