import assert from "node:assert/strict";
import { generateKey, KeyError, Keyring, sealOverheadBytes } from "./seal.ts";

const message = new TextEncoder().encode("\x01 a gossip datagram");

Deno.test("a sealed message opens with the key, and only once", async () => {
  const key = generateKey();
  const a = await Keyring.parse(key);
  const b = await Keyring.parse(`# the cluster key\n${key}\n`);
  const sealed = await a.seal(message);
  assert.equal(sealed.length, message.length + sealOverheadBytes);
  assert.deepEqual(await b.open(sealed), { ok: true, plain: message });
  assert.deepEqual(await b.open(sealed), { ok: false, reason: "replayed" });
});

Deno.test("without the key, or tampered with, a message does not open", async () => {
  const a = await Keyring.parse(generateKey());
  const other = await Keyring.parse(generateKey());
  const sealed = await a.seal(message);
  assert.deepEqual(await other.open(sealed), { ok: false, reason: "unauthenticated" });
  for (const at of [0, 5, 20, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[at] ^= 1;
    const opened = await a.open(bad);
    assert.equal(opened.ok, false, `byte ${at} flipped`);
  }
  assert.deepEqual(await a.open(message), { ok: false, reason: "not-sealed" });
  assert.deepEqual(await a.open(new Uint8Array(0)), { ok: false, reason: "not-sealed" });
});

Deno.test("a key can be rotated: the first key seals, every key opens", async () => {
  const oldKey = generateKey();
  const newKey = generateKey();
  const before = await Keyring.parse(oldKey);
  const during = await Keyring.parse(`${oldKey}\n${newKey}`);
  const after = await Keyring.parse(`${newKey}\n${oldKey}`);
  const done = await Keyring.parse(newKey);
  assert((await during.open(await before.seal(message))).ok);
  assert((await before.open(await during.seal(message))).ok);
  assert((await during.open(await after.seal(message))).ok);
  assert((await after.open(await during.seal(message))).ok);
  assert((await done.open(await after.seal(message))).ok);
  assert.equal((await before.open(await done.seal(message))).ok, false);
});

Deno.test("messages out of order open once each; stale ones are refused", async () => {
  const key = generateKey();
  const sender = await Keyring.parse(key);
  const receiver = await Keyring.parse(key);
  const sealed = [];
  for (let i = 0; i < 50; i++) sealed.push(await sender.seal(message));
  for (const i of [3, 0, 49, 10, 2, 48, 1]) assert((await receiver.open(sealed[i])).ok, `${i}`);
  for (const i of [3, 0, 49]) {
    assert.deepEqual(await receiver.open(sealed[i]), { ok: false, reason: "replayed" });
  }
  const old = await sender.seal(message, Date.now() - 10 * 60_000);
  assert.deepEqual(await receiver.open(old), { ok: false, reason: "stale" });
});

Deno.test("bad key files are one clear error", async () => {
  await assert.rejects(() => Keyring.parse(""), KeyError);
  await assert.rejects(() => Keyring.parse("not base64!"), KeyError);
  await assert.rejects(() => Keyring.parse(btoa("short")), KeyError);
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(path, "# no key here\n");
    await assert.rejects(() => Keyring.load(path), {
      name: "KeyError",
      message: `key file ${path}: it holds no key`,
    });
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("a reloaded keyring still refuses what the old one took", async () => {
  const key = generateKey();
  const sender = await Keyring.parse(key);
  const before = await Keyring.parse(key);
  const sealed = await sender.seal(new Uint8Array([1, 2, 3]));
  assert.equal((await before.open(sealed)).ok, true);
  const reloaded = await Keyring.parse(`${generateKey()}\n${key}`);
  reloaded.continueFrom(before);
  assert.deepEqual(await reloaded.open(sealed), { ok: false, reason: "replayed" });
  assert.equal((await reloaded.open(await sender.seal(new Uint8Array([4])))).ok, true);
});
