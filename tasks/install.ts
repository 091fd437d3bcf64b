/**
 * `deno task install`: puts `member` on the PATH (`deno install --global`), running this clone's
 * `main.ts` under exactly the permission flags of the compiled binary (`tasks/flags.ts`). Nothing
 * is downloaded but what `deno task demo` already fetched: no runtime, unlike `deno compile`.
 *
 *   deno task install            # into $DENO_INSTALL_ROOT/bin, or ~/.deno/bin
 *   deno uninstall --global member
 *
 * The command runs the Deno that installed it, by its full path, so it works where `deno` is not
 * on the PATH (Deno fetched by `npx`). A Deno that lives in npx's cache is copied beside the
 * command, for that cache may be cleared; uninstalling removes the copy too.
 */
import { binaryFlags } from "./flags.ts";

const root = new URL("..", import.meta.url).pathname;
const name = "member";

if (Deno.args.length > 0) {
  console.error("error: deno task install takes no arguments\nusage: deno task install");
  Deno.exit(2);
}

const installed = await new Deno.Command(Deno.execPath(), {
  args: [
    "install",
    "--global",
    // Installing again replaces the command: the way to pick up a newer clone's lock file.
    "--force",
    "--name",
    name,
    "--config",
    `${root}deno.json`,
    ...binaryFlags(),
    `${root}main.ts`,
  ],
  cwd: root,
  stdout: "piped",
  stderr: "piped",
}).output();
if (!installed.success) {
  const text = new TextDecoder().decode(installed.stderr).trim().split("\n")[0] ?? "";
  console.error(`error: cannot install ${name}: deno install said: ${text}`);
  Deno.exit(1);
}

const home = Deno.env.get("HOME") ?? "";
const installRoot = Deno.env.get("DENO_INSTALL_ROOT") ?? `${home}/.deno`;
const bin = `${installRoot.replace(/\/$/, "")}/bin`;
const command = `${bin}/${name}`;

let runtime = Deno.execPath();
// npx keeps the Deno it fetched in its own cache, which npm may clear at any time.
const fromNpx = /[\\/]_npx[\\/]/.test(runtime);
if (fromNpx) {
  const copy = `${bin}/.${name}/deno`;
  Deno.copyFileSync(runtime, copy);
  Deno.chmodSync(copy, 0o755);
  runtime = copy;
}
const script = Deno.readTextFileSync(command);
// `deno install` writes a shell script that runs whichever `deno` the PATH holds, if any.
const pinned = script.replace(/^exec deno /m, `exec '${runtime.replaceAll("'", "'\\''")}' `);
if (pinned === script) {
  console.error(`error: cannot install ${name}: ${command} is not the script deno install writes`);
  Deno.exit(1);
}
Deno.writeTextFileSync(command, pinned);

const onPath = (Deno.env.get("PATH") ?? "").split(":").some((dir) =>
  dir.replace(/\/$/, "") === bin
);
console.log(`Installed ${command}`);
console.log(`  runs ${root}main.ts with ${binaryFlags().join(" ")}`);
if (!onPath) {
  console.log(`${bin} is not on your PATH; add it, for example in ~/.profile:`);
  console.log(`  export PATH="${bin}:$PATH"`);
}
console.log(`Try: member --help   (a local cluster to try it on: deno task demo --keep)`);
console.log(
  `To remove it: ${
    fromNpx ? `npx --yes deno@${Deno.version.deno}` : "deno"
  } uninstall --global ${name}`,
);
