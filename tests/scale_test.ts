/**
 * The scale benchmark's crowd, small: one real `member serve` among 19 members hosted by one crowd
 * process (bench/crowd.ts). The real member lists them all, and nobody is failed, so that what the
 * benchmark measures at 1,000 is a member among members that speak its protocol.
 */
import assert from "node:assert/strict";
import { measureScale } from "../bench/scale.ts";

Deno.test("scale crowd: a real member among 19 crowd members lists them all, fails none", async () => {
  const result = await measureScale(20, {
    windowS: 3,
    crowds: 1,
    convergeSPerThousand: 20,
    convergeSMax: 20,
  });
  assert.notEqual(
    result.convergedS,
    undefined,
    `not all listed: ${result.joined} joined, the real member lists ${result.listedByReal}`,
  );
  assert.equal(result.realFails, 0);
  assert.equal(result.crowdFails, 0);
  assert.ok(result.sentPerSecond > 0);
});
