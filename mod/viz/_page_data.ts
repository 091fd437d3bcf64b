/**
 * The model as the page carries it: JSON inside the page, with the event columns packed as base64
 * typed arrays, and nothing in it that could end the script element that holds it.
 */
import type { VizModel } from "./model.ts";

function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** The model as JSON for the page, the event columns packed as base64 typed arrays. */
export function modelJson(model: VizModel): string {
  const { data } = model;
  const bytes = (
    a: ArrayLike<number>,
    Kind: typeof Int32Array | typeof Uint16Array | typeof Uint8Array,
  ) => base64(new Uint8Array(Kind.from(a).buffer));
  const json = JSON.stringify({
    startMs: model.startMs,
    members: data.members,
    t: bytes(data.t, Int32Array),
    kind: bytes(data.kind, Uint8Array),
    member: bytes(data.member, Uint16Array),
    node: bytes(data.node, Uint16Array),
    failures: model.failures,
    corrections: model.corrections,
    problems: model.problems.slice(0, 200),
    problemsTotal: model.problems.length,
    input: model.input,
    counts: model.counts,
  });
  // No "<" at all: nothing in the data can end or re-open the script element that holds it.
  return json.replaceAll("<", "\\u003c");
}
