/** Raised when an invariant does not hold: a bug, never a reaction to bad input. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Checks an invariant; assertions stay on in production. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
