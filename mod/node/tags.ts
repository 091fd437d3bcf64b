/** Tags as the shell and its clients handle them: changed by a request, and shown as text. */
import type { Tags } from "../core/types.ts";

/** Tags after a change: `set` added or replaced, then `deleted` removed. */
export function changedTags(tags: Tags, set: Tags, deleted: readonly string[]): Tags {
  const next: Record<string, string> = { ...tags, ...set };
  for (const key of deleted) delete next[key];
  return next;
}

/** Tags as `k=v,k=v`, the way `member members` prints them (Serf's form). */
export function tagsText(tags: Tags): string {
  return Object.entries(tags).map(([key, value]) => `${key}=${value}`).join(",");
}
