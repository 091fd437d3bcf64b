import assert from "node:assert/strict";
import {
  bindCluster,
  clusterMarker,
  clusterNameProblem,
  clusterOverheadBytes,
  unbindCluster,
} from "./cluster.ts";

const message = Uint8Array.of(1, 0x93, 1, 2, 3);

Deno.test("the unnamed cluster's messages are today's bytes; a named one's carry the name", () => {
  assert.equal(bindCluster(message, ""), message);
  assert.deepEqual(unbindCluster(message), { ok: true, cluster: "", message });
  const bound = bindCluster(message, "prod-eu.1");
  assert.equal(bound.length, message.length + clusterOverheadBytes("prod-eu.1"));
  assert.equal(bound[0], clusterMarker);
  assert.deepEqual(unbindCluster(bound), { ok: true, cluster: "prod-eu.1", message });
});

Deno.test("a cluster name is short and plain", () => {
  for (const good of ["", "a", "prod-eu.1", "x".repeat(64)]) {
    assert.equal(clusterNameProblem(good), undefined, good);
  }
  for (const bad of ["x".repeat(65), "-a", "a b", "é", "a/b"]) {
    assert.notEqual(clusterNameProblem(bad), undefined, bad);
  }
});

Deno.test("a malformed envelope is refused, never thrown", () => {
  const bound = bindCluster(message, "abc");
  for (let cut = 0; cut < 5; cut++) {
    const result = unbindCluster(bound.subarray(0, cut));
    assert.equal(result.ok, cut === 0, `cut at ${cut}`);
  }
  assert.equal(unbindCluster(Uint8Array.of(clusterMarker, 2, 0x20, 0x41, 1)).ok, false);
  assert.equal(unbindCluster(Uint8Array.of(clusterMarker, 200, 0x41)).ok, false);
  for (let i = 0; i < 10_000; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 80)));
    bytes[0] = clusterMarker;
    unbindCluster(bytes);
  }
});
