/** Describing a failed file operation to an operator, in the words of this tool. */

/**
 * What went wrong with a file, in lower case. A path outside a narrowed build's file access gets
 * the reason, not the runtime's advice to pass `--allow-read`: a binary takes no such flag.
 */
export function describeFileError(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return "this build of member may not use that path: its file access was limited to the " +
      "paths given to `deno task compile` (--data-dir, --grep, --key-file)";
  }
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\(os error \d+\)$/, "");
}
