/**
 * The files a node serves to `member grep`, from the paths and globs its operator gave
 * (`member serve --grep`). Wildcards (`*`, `?`, `[...]`) may appear in any segment; `**` matches
 * any number of directories. Only regular files are served, each once, in a stable order, and a
 * file a wildcard matched only if it lies, links resolved, inside the directory its glob starts
 * from: a link planted in a log directory cannot serve a file from elsewhere.
 */

/** What the specs expand to. */
export interface Expansion {
  /** Regular files, sorted, each once. */
  readonly files: string[];
  /** Specs that matched no file (so the operator hears of a typo). */
  readonly unmatched: string[];
  /**
   * Entries a wildcard matched whose names are not UTF-8: a name reaches this code with its bad
   * bytes replaced, so it cannot be opened, and they are not served. Shown so, never silently.
   */
  readonly notUtf8: string[];
  /** True when more files matched than `filesMax`: those past it are left out. */
  readonly cut: boolean;
  /** Files a wildcard matched that link outside the directory their glob starts from: not served. */
  readonly outside: string[];
}

/** What a walk gathers. */
interface Gathered {
  readonly found: Set<string>;
  /** Files matched so far, each time it is matched: a spec may match what another did. */
  matched: number;
  readonly notUtf8: Set<string>;
  readonly filesMax: number;
  /** Set at the first file past `filesMax`; the walk then stops. */
  cut: boolean;
  readonly outside: Set<string>;
  /** The real path of the directory the glob being walked starts from. */
  root: string;
}

/** How far an expansion may go. */
export interface ExpandOptions {
  /** The most files served; more are left out. */
  readonly filesMax: number;
}

/** Whether a path segment holds a wildcard. */
export function isWild(segment: string): boolean {
  return /[*?[]/.test(segment);
}

/** A glob segment as a regular expression over one directory entry's name. */
export function segmentPattern(segment: string): RegExp {
  let source = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) {
        source += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      source += `[${negated ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Expands paths and globs into the regular files they name. Never throws for a missing path. */
export async function expandPaths(
  specs: readonly string[],
  options: ExpandOptions,
): Promise<Expansion> {
  const gathered: Gathered = {
    found: new Set(),
    matched: 0,
    notUtf8: new Set(),
    filesMax: options.filesMax,
    cut: false,
    outside: new Set(),
    root: "/",
  };
  const { found } = gathered;
  const unmatched: string[] = [];
  for (const spec of specs) {
    const before = gathered.matched;
    await expandOne(spec, gathered);
    if (gathered.matched === before) unmatched.push(spec);
    if (gathered.cut) break;
  }
  return {
    files: [...found].sort(),
    unmatched,
    notUtf8: [...gathered.notUtf8].sort(),
    cut: gathered.cut,
    outside: [...gathered.outside].sort(),
  };
}

async function expandOne(spec: string, gathered: Gathered): Promise<void> {
  const absolute = spec.startsWith("/");
  const segments = spec.split("/").filter((s) => s !== "" && s !== ".");
  const wild = segments.findIndex(isWild);
  if (wild < 0) {
    if (await isFile(spec)) add(gathered, spec);
    return;
  }
  const base = (absolute ? "/" : "") + segments.slice(0, wild).join("/");
  try {
    gathered.root = await Deno.realPath(base === "" ? "." : base);
  } catch {
    return; // Missing or unreadable: nothing to serve from here.
  }
  await walk(base === "" ? "." : base, segments.slice(wild), gathered);
}

/** Whether a file a wildcard matched lies, links resolved, inside its glob's directory. */
async function inside(path: string, gathered: Gathered): Promise<boolean> {
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch {
    return false; // Gone, or out of this build's reach.
  }
  const root = gathered.root.endsWith("/") ? gathered.root : gathered.root + "/";
  if (real.startsWith(root)) return true;
  if (gathered.outside.size < reportedMax) gathered.outside.add(path);
  return false;
}

async function walk(dir: string, rest: readonly string[], gathered: Gathered): Promise<void> {
  if (gathered.cut) return;
  const [segment, ...after] = rest;
  if (segment === "**") {
    // Zero directories, then one more level down with `**` still to match.
    await walk(dir, after, gathered);
    for (const entry of await entries(dir)) {
      if (!entry.isDirectory || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (!(await unnamable(path, entry.name, gathered))) await walk(path, rest, gathered);
    }
    return;
  }
  if (segment === undefined) return;
  const last = after.length === 0;
  if (!isWild(segment)) {
    const path = join(dir, segment);
    if (last) {
      if (await isFile(path) && await inside(path, gathered)) add(gathered, path);
    } else await walk(path, after, gathered);
    return;
  }
  const pattern = segmentPattern(segment);
  const names = (await entries(dir))
    .filter((e) => pattern.test(e.name) && (segment.startsWith(".") || !e.name.startsWith(".")))
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    if (gathered.cut) return;
    const path = join(dir, name);
    if (await unnamable(path, name, gathered)) continue;
    if (last) {
      if (await isFile(path) && await inside(path, gathered)) add(gathered, path);
    } else await walk(path, after, gathered);
  }
}

function add(gathered: Gathered, path: string): void {
  if (gathered.found.size >= gathered.filesMax && !gathered.found.has(path)) {
    // The spec matched, though its file is left out.
    gathered.matched++;
    gathered.cut = true;
    return;
  }
  gathered.found.add(path);
  gathered.matched++;
}

/** Paths reported as not searched (not UTF-8, or linking outside), at most, of each kind. */
const reportedMax = 100;

/**
 * Whether an entry's name came with bad bytes replaced (U+FFFD), so that it cannot be opened by
 * it; noted as such. A name that truly holds U+FFFD opens, and is not.
 */
async function unnamable(path: string, name: string, gathered: Gathered): Promise<boolean> {
  if (!name.includes("\uFFFD")) return false;
  try {
    await Deno.lstat(path);
    return false;
  } catch {
    if (gathered.notUtf8.size < reportedMax) gathered.notUtf8.add(path);
    return true;
  }
}

function join(dir: string, name: string): string {
  return dir === "." ? name : dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

async function entries(dir: string): Promise<Deno.DirEntry[]> {
  const list: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) list.push(entry);
  } catch {
    // Missing, unreadable or not a directory: nothing to serve from here.
  }
  return list;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
