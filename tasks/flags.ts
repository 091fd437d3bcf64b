/**
 * The permissions the binary runs with, in one place: `deno task compile` bakes them in, and the
 * real-process tests run the bundle under exactly these flags.
 *
 * Without paths, file access is open (an operator picks the data dir and the grep paths when
 * deploying). Given the paths, file access is limited to them: reading the data dir, the grep
 * paths and the key file, and writing only the data dir.
 */

/** Where a node keeps its files and which files it serves to `member grep`. */
export interface FilePaths {
  /** Data dirs (read and written). */
  readonly dataDirs: readonly string[];
  /** Grep paths or globs; a glob is allowed through its directory. */
  readonly grepPaths?: readonly string[];
  /** Key files (read). */
  readonly keyFiles?: readonly string[];
}

/** The directory part of a path or glob, up to the first segment holding a wildcard. */
export function fixedPart(pathOrGlob: string): string {
  const segments = pathOrGlob.split("/");
  const wild = segments.findIndex((s) => /[*?[]/.test(s));
  if (wild < 0) return pathOrGlob;
  const fixed = segments.slice(0, wild).join("/");
  return fixed === "" ? "/" : fixed;
}

/**
 * The flags of `deno compile` (and of `deno run` on the bundle) besides the output and entry.
 * `handlers`: the absolute paths of the programs `serve --on` may run, besides grep.
 */
export function binaryFlags(paths?: FilePaths, handlers: readonly string[] = []): string[] {
  const read = paths === undefined ? "--allow-read" : `--allow-read=${
    [
      ...paths.dataDirs,
      ...(paths.grepPaths ?? []).map(fixedPart),
      ...(paths.keyFiles ?? []),
      // So that serve can say at start that a handler is missing or not executable.
      ...handlers,
    ].join(",")
  }`;
  const write = paths === undefined ? "--allow-write" : `--allow-write=${paths.dataDirs.join(",")}`;
  return [
    // UDP sockets are still behind the `net` unstable flag.
    "--unstable-net",
    // Members talk to any host of the cluster.
    "--allow-net",
    read,
    write,
    // `member grep` runs GNU grep; `serve --on` runs exactly the handlers named at build time.
    `--allow-run=${["grep", ...new Set(handlers)].join(",")}`,
    // `serve` looks up this machine's address when no --host is given.
    "--allow-sys=networkInterfaces",
  ];
}
