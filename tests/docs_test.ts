/**
 * The README and the pages in docs/ as a reader follows them: every relative link leads to a file
 * that exists and, with a `#fragment`, to a heading of it; and the README stays short enough to
 * read top to bottom, the depth being in docs/.
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;
/** The README's length, in lines, past which it is no longer read top to bottom. */
const readmeLinesMax = 260;

function pages(): string[] {
  const docs = [...Deno.readDirSync(`${root}docs`)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  return ["README.md", ...docs];
}

/** The text outside fenced code blocks and inline code, where links are links. */
function prose(markdown: string): string {
  let fenced = false;
  const lines: string[] = [];
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) lines.push(line.replace(/`[^`]*`/g, "``"));
  }
  return lines.join("\n");
}

/** The link targets of a page: inline `[text](target)`, images, and reference definitions. */
function targets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
  const references = [...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]);
  return [...inline, ...references];
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as `-`. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
    if (heading === null) continue;
    const slug = heading[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

Deno.test("every relative link in the README and docs/ resolves, #anchors included", () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages()) {
    const text = Deno.readTextFileSync(`${root}${page}`);
    const dir = page.includes("/") ? page.slice(0, page.lastIndexOf("/") + 1) : "";
    for (const target of targets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
      checked++;
      const [path, fragment] = target.split("#", 2);
      const file = path === "" ? page : new URL(path, `file://${root}${dir}`).pathname.slice(
        root.length,
      );
      let content: string;
      try {
        const info = Deno.statSync(`${root}${file}`);
        content = info.isFile && file.endsWith(".md")
          ? Deno.readTextFileSync(`${root}${file}`)
          : "";
      } catch {
        broken.push(`${page}: ${target} (no file ${file})`);
        continue;
      }
      if (fragment !== undefined && !anchors(content).has(decodeURIComponent(fragment))) {
        broken.push(`${page}: ${target} (no heading #${fragment} in ${file})`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert(checked >= 20, `only ${checked} relative links found: is the parser still right?`);
});

Deno.test("every page in docs/ is linked from the README", () => {
  const readme = targets(Deno.readTextFileSync(`${root}README.md`)).map((t) => t.split("#")[0]);
  const unlinked = pages().slice(1).filter((page) => !readme.includes(page));
  assert.deepEqual(unlinked, []);
});

Deno.test(`the README is at most ${readmeLinesMax} lines`, () => {
  const lines = Deno.readTextFileSync(`${root}README.md`).trimEnd().split("\n").length;
  assert(lines <= readmeLinesMax, `README.md is ${lines} lines`);
});

Deno.test("the anchors are GitHub's", () => {
  assert.deepEqual(
    [...anchors("# A b\n## `member serve`\n### Why GNU grep?\n## A b\n```\n# not\n```\n")],
    ["a-b", "member-serve", "why-gnu-grep", "a-b-1"],
  );
});
