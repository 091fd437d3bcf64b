/**
 * The ports local clusters (tests, the demo) are given: free for TCP and UDP, and outside the range
 * the system takes outgoing connections' ports from, so that none is taken between the check and
 * the member's bind.
 */
import assert from "node:assert/strict";
import { portWindow } from "../tasks/free_port.ts";
import { freePort } from "./_cluster.ts";

Deno.test("freePort draws runs of free ports outside the system's ephemeral ports", () => {
  let ephemeral = [32_768, 60_999];
  try {
    ephemeral = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim()
      .split(/\s+/).map(Number);
  } catch {
    // Not Linux: its default.
  }
  const { lowest, highest } = portWindow();
  assert(highest < ephemeral[0] || lowest > ephemeral[1], `${lowest}-${highest} vs ${ephemeral}`);
  for (let draw = 0; draw < 100; draw++) {
    const count = 1 + (draw % 12);
    const port = freePort(["127.0.0.1"], count);
    const last = port + count - 1;
    assert(port >= lowest && last <= highest, `${port}+${count} outside ${lowest}-${highest}`);
    assert(last < ephemeral[0] || port > ephemeral[1], `${port}+${count} in ${ephemeral}`);
    for (let p = port; p <= last; p++) {
      Deno.listen({ hostname: "127.0.0.1", port: p }).close();
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: p }).close();
    }
  }
});
