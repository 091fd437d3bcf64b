import assert from "node:assert/strict";
import { GroupedOutput, GroupSeparators, prefixLines } from "./format.ts";
import { type GrepQuery, plainQuery } from "../wire/grep_query.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function prefixed(prefix: string, text: string): { text: string; lines: number } {
  const { data, lines } = prefixLines(encoder.encode(prefix), encoder.encode(text));
  return { text: decoder.decode(data), lines };
}

Deno.test("prefixLines puts the prefix before every line, the line unchanged after it", () => {
  assert.deepEqual(prefixed("m:", "a\nbb\n\nccc\n"), { text: "m:a\nm:bb\nm:\nm:ccc\n", lines: 4 });
});

Deno.test("prefixLines leaves grep's -- between context groups as it is, and does not count it", () => {
  assert.deepEqual(prefixed("m:", "f-1-a\n--\nf:9:b\n"), {
    text: "m:f-1-a\n--\nm:f:9:b\n",
    lines: 2,
  });
  // A line that merely starts with -- is a line of the file, and gets its prefix.
  assert.deepEqual(prefixed("m:", "--x\n--\n"), { text: "m:--x\n--\n", lines: 1 });
});

Deno.test("prefixLines prefixes a last line without its newline, and nothing in nothing", () => {
  assert.deepEqual(prefixed("member:", "a\nb"), { text: "member:a\nmember:b", lines: 1 });
  assert.deepEqual(prefixed("member:", ""), { text: "", lines: 0 });
});

Deno.test("prefixLines with a prefix longer than the lines moves nothing over what is left", () => {
  const text = Array.from({ length: 1000 }, (_, i) => `${i % 7 === 0 ? "--" : i}\n`).join("");
  const expected = text.split("\n").slice(0, -1).map((line) =>
    line === "--" ? "--\n" : `${"p".repeat(40)}${line}\n`
  )
    .join("");
  assert.deepEqual(prefixed("p".repeat(40), text), { text: expected, lines: 1000 - 143 });
});

Deno.test("a -- parts one member's context lines from another's, as grep parts groups", () => {
  const context: GrepQuery = { ...plainQuery(["x"]), after: 1 };
  const run = (query: GrepQuery, chunks: [string, string][]) => {
    const separators = new GroupSeparators(query);
    let text = "";
    for (const [member, chunk] of chunks) {
      const data = encoder.encode(chunk);
      const separator = separators.before(member, data);
      if (separator !== undefined) text += decoder.decode(separator);
      text += chunk;
    }
    return text;
  };
  const chunks: [string, string][] = [
    ["a", "a f:x\na f-y\n"],
    ["a", "--\na f:x\n"],
    ["b", "b f:x\n"],
    ["b", "b f-y\n--\n"],
    ["a", "a f:x\n"],
  ];
  assert.equal(
    run(context, chunks),
    "a f:x\na f-y\n--\na f:x\n--\nb f:x\nb f-y\n--\na f:x\n",
  );
  // A line that ends in `--` is not a separator: the next member's lines still get one.
  assert.equal(
    run(context, [["a", "a f:x --\n"], ["b", "b f:x\n"]]),
    "a f:x --\n--\nb f:x\n",
  );
  // Without context grep draws no groups, and neither does the merge.
  const { after: _, ...plain } = context;
  assert.equal(run(plain, chunks), chunks.map(([, chunk]) => chunk).join(""));
});

Deno.test("members' output switches only between groups: no -- inside one member's group", () => {
  const context: GrepQuery = { ...plainQuery(["x"]), after: 1 };
  let text = "";
  const output = new GroupedOutput(context, (bytes) => (text += decoder.decode(bytes)));
  // Member a's one group comes in two chunks, with b's output arriving between them.
  output.add("a", encoder.encode("a f:x\na f-x\n"));
  output.add("b", encoder.encode("b f:x\nb f-y\n--\nb f:x\n"));
  output.add("a", encoder.encode("a f:x\na f-y\n"));
  output.end("a");
  output.end("b");
  assert.equal(
    text,
    "b f:x\nb f-y\n--\na f:x\na f-x\na f:x\na f-y\n--\nb f:x\n",
  );
  // A group past the bound is written as it comes.
  let small = "";
  const bounded = new GroupedOutput(context, (bytes) => (small += decoder.decode(bytes)), 4);
  bounded.add("a", encoder.encode("a f:x\n"));
  assert.equal(small, "a f:x\n");
});
