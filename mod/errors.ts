/** Errors from the runtime (sockets, files), described to an operator in this tool's words. */

/** A short, lower-case description of a network error. */
export function describe(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  if (error instanceof Deno.errors.AddrNotAvailable) return "address not available";
  if (error instanceof Deno.errors.NotCapable) return "not permitted";
  return bareMessage(error).replace(/^./, (c) => c.toLowerCase());
}

/**
 * What went wrong with a file. A path outside a narrowed build's file access gets the reason, not
 * the runtime's advice to pass `--allow-read`: a binary takes no such flag.
 */
export function describeFileError(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return "this build of member may not use that path: its file access was limited to the " +
      "paths given to `deno task compile` (--data-dir, --grep, --key-file)";
  }
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (error instanceof Deno.errors.NotADirectory) return "a part of the path is not a directory";
  // Creating a directory where a file of that name stands.
  if (error instanceof Deno.errors.AlreadyExists) return "it exists and is not a directory";
  return bareMessage(error);
}

/** An error's message without the system's error number and the call that failed. */
function bareMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\(os error \d+\)/, "").replace(/: [a-z]+ '[^']*'$/, "");
}
