/**
 * Tags: what a member says about itself (its role, its version, its zone), as key and value
 * strings. They reach every member: a change spreads as news, with the tags themselves riding on
 * the news, and whole lists carry every member's. Bounded so that a member's tags and its entry fit
 * one datagram with room to spare: at most `tagsBytesMax` encoded.
 */
import type { Tags } from "./types.ts";
import { tagsBytes } from "./wire_size.ts";

export { tagsBytes };

/** The most bytes a member's tags take on the wire: twice memberlist's cap on node metadata. */
export const tagsBytesMax = 1024;
/** The most tags one member has. */
export const tagsCountMax = 64;
/** What a key looks like: a name a shell, an environment and a regular expression take as is. */
export const tagKeyPattern = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$/;

const noTags: Tags = Object.freeze({});

/** No tags. */
export function emptyTags(): Tags {
  return noTags;
}

/** Why tags cannot be set, in one line naming the culprit, or undefined when they can. */
export function tagsProblem(tags: Tags): string | undefined {
  const keys = Object.keys(tags);
  if (keys.length > tagsCountMax) return `${keys.length} tags, more than ${tagsCountMax}`;
  for (const key of keys) {
    if (!tagKeyPattern.test(key)) {
      return `tag key '${key}' must be 1 to 64 letters, digits, '_', '.', '-' or '/', ` +
        "beginning with a letter or digit";
    }
    const value = tags[key];
    if (typeof value !== "string") return `tag '${key}' must have a string value`;
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      return `tag '${key}' has a control character in its value`;
    }
  }
  const bytes = tagsBytes(tags);
  if (bytes > tagsBytesMax) return `tags take ${bytes} bytes, more than ${tagsBytesMax}`;
  return undefined;
}

/** True when two sets of tags hold the same pairs. */
export function sameTags(a: Tags, b: Tags): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => b[key] === a[key]);
}
