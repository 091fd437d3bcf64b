/**
 * The structure, read from the imports: no file imports itself through others, the folders of
 * `mod/` import one another in one direction only, nothing in `mod/core` imports from outside it,
 * and the core uses none of the APIs that would make it impure (STYLE.md: no I/O, no clock, no
 * randomness of its own, no timers, no awaiting).
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** Every TypeScript file under `dir` (relative to the root), tests left out. */
function sources(dir: string): string[] {
  const found: string[] = [];
  for (const item of Deno.readDirSync(new URL(dir, root))) {
    const path = `${dir}/${item.name}`;
    if (item.isDirectory) found.push(...sources(path));
    else if (item.name.endsWith(".ts") && !item.name.endsWith("_test.ts")) found.push(path);
  }
  return found.sort();
}

/** The code of a file without its comments, so that a word in a comment is not taken for code. */
function code(path: string): string {
  return Deno.readTextFileSync(new URL(path, root))
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** The project files a file imports (or re-exports from), as root-relative paths. */
function imports(path: string): string[] {
  const found: string[] = [];
  const pattern = /(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\s+"(\.[^"]+)"/g;
  for (const match of code(path).matchAll(pattern)) {
    const target = new URL(match[1] ?? match[2], new URL(path, root)).pathname;
    found.push(target.slice(root.pathname.length));
  }
  return found;
}

const files = sources("mod");
const graph = new Map(files.map((file) => [file, imports(file)]));

/** One cycle in `edges`, as the path that closes it, or undefined. */
function findCycle(edges: Map<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/** A file's folder under `mod/` (`mod` itself for the files at its top). */
function folder(path: string): string {
  const parts = path.split("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : "mod";
}

Deno.test("layers: no file under mod/ imports itself through others", () => {
  assert.equal(findCycle(graph)?.join(" -> "), undefined);
});

Deno.test("layers: the folders of mod/ import one another in one direction only", () => {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = folder(file);
    if (!folders.has(from)) folders.set(from, new Set());
    for (const target of targets) {
      // mod/mod.ts is the public surface: it imports from every folder, and none imports it.
      if (file === "mod/mod.ts") continue;
      if (folder(target) !== from) folders.get(from)!.add(folder(target));
    }
  }
  const edges = new Map([...folders].map(([from, to]) => [from, [...to]]));
  assert.equal(findCycle(edges)?.join(" -> "), undefined);
  for (const [file, targets] of graph) {
    assert(!targets.includes("mod/mod.ts"), `${file} imports the public surface mod/mod.ts`);
  }
});

Deno.test("layers: nothing in mod/core imports from outside it", () => {
  const outside = [...graph].filter(([file]) => file.startsWith("mod/core/"))
    .flatMap(([file, targets]) =>
      targets.filter((t) => !t.startsWith("mod/core/")).map((t) => `${file} -> ${t}`)
    );
  assert.deepEqual(outside, []);
  const packages = files.filter((file) => file.startsWith("mod/core/"))
    .filter((file) => /from\s+"(?:npm|node|jsr|https?):/.test(code(file)));
  assert.deepEqual(packages, [], "the core imports no package");
});

Deno.test("layers: the core does no I/O, reads no clock, draws no randomness, sets no timer", () => {
  const forbidden = [
    /\bDeno\./,
    /\bDate\.now\b/,
    /\bnew Date\b/,
    /\bperformance\.now\b/,
    /\bMath\.random\b/,
    /\bsetTimeout\b/,
    /\bsetInterval\b/,
    /\bawait\b/,
    /\basync\b/,
    /\bconsole\./,
    /\bfetch\(/,
  ];
  const found: string[] = [];
  for (const file of files.filter((f) => f.startsWith("mod/core/"))) {
    const text = code(file);
    for (const pattern of forbidden) if (pattern.test(text)) found.push(`${file}: ${pattern}`);
  }
  assert.deepEqual(found, []);
});

Deno.test("layers: the checks above see what they check", () => {
  // A check that finds nothing because it reads nothing would pass for ever.
  assert(files.includes("mod/core/core.ts") && files.includes("mod/sim/simulation.ts"));
  assert(graph.get("mod/core/view.ts")!.includes("mod/core/merge.ts"));
  assert(graph.get("mod/sim/simulation.ts")!.includes("mod/core/core.ts"));
  assert.deepEqual(findCycle(new Map([["a", ["b"]], ["b", ["a"]]])), ["a", "b", "a"]);
  assert.match(code("mod/core/core.ts"), /nextWakeMs/);
  assert.doesNotMatch(code("mod/core/core.ts"), /The membership protocol as a pure/);
});
