import assert from "node:assert/strict";
import { expandPaths } from "./glob.ts";

Deno.test("globs: wildcards, **, hidden entries, unmatched specs and the file limit", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const path of ["a.log", "b.log", "c.txt", ".hidden.log", "x/1.log", "x/y/2.log"]) {
      Deno.mkdirSync(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      Deno.writeTextFileSync(`${dir}/${path}`, "line\n");
    }
    const got = await expandPaths(
      [`${dir}/*.log`, `${dir}/**/*.log`, `${dir}/[ab].log`, `${dir}/nope/*.log`],
      { filesMax: 100 },
    );
    assert.deepEqual(got.files, [
      `${dir}/a.log`,
      `${dir}/b.log`,
      `${dir}/x/1.log`,
      `${dir}/x/y/2.log`,
    ]);
    assert.deepEqual(got.unmatched, [`${dir}/nope/*.log`]);
    assert.deepEqual(got.notUtf8, []);
    assert.equal(got.cut, false);
    const capped = await expandPaths([`${dir}/**/*.log`], { filesMax: 2 });
    assert.equal(capped.files.length, 2);
    assert.equal(capped.cut, true, "the limit is reported");
    const exact = await expandPaths([`${dir}/**/*.log`], { filesMax: 4 });
    assert.deepEqual([exact.files.length, exact.cut], [4, false], "reaching it is not a cut");
    const second = await expandPaths([`${dir}/*.log`, `${dir}/x/*.log`], { filesMax: 2 });
    assert.deepEqual([second.cut, second.unmatched], [true, []], "a spec cut off still matched");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("globs: names that are not UTF-8 are reported, in any segment, never opened", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // Only a program outside Deno can write such names: byte 0xff in a file and a directory.
    const made = await new Deno.Command("sh", {
      args: [
        "-c",
        'bad=$(printf "\\377"); mkdir "$1/d$bad" && echo x > "$1/f$bad.log" && ' +
        'echo x > "$1/d$bad/in.log" && echo x > "$1/ok.log"',
        "sh",
        dir,
      ],
    }).output();
    assert(made.success);
    const got = await expandPaths([`${dir}/*.log`, `${dir}/*/in.log`, `${dir}/**/in.log`], {
      filesMax: 100,
    });
    assert.deepEqual(got.files, [`${dir}/ok.log`]);
    assert.deepEqual(got.notUtf8, [`${dir}/d\uFFFD`, `${dir}/f\uFFFD.log`]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("globs: a link out of the glob's directory is not served; one within it, or named, is", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/logs/old`, { recursive: true });
    Deno.mkdirSync(`${dir}/secret`);
    Deno.writeTextFileSync(`${dir}/secret/key`, "TOPSECRET\n");
    Deno.writeTextFileSync(`${dir}/logs/old/app.1`, "line\n");
    Deno.symlinkSync(`${dir}/secret/key`, `${dir}/logs/evil.log`);
    Deno.symlinkSync(`${dir}/logs/old/app.1`, `${dir}/logs/current.log`);
    const got = await expandPaths([`${dir}/logs/*.log`], { filesMax: 100 });
    assert.deepEqual(got.files, [`${dir}/logs/current.log`]);
    assert.deepEqual(got.outside, [`${dir}/logs/evil.log`]);
    // A path named whole is the operator's own choice, wherever it leads.
    const named = await expandPaths([`${dir}/logs/evil.log`], { filesMax: 100 });
    assert.deepEqual([named.files, named.outside], [[`${dir}/logs/evil.log`], []]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
