/**
 * `member stats`: who is in the group as one node sees it (its own entry and its list), and its
 * counters: traffic by message kind, datagrams dropped, detections, uptime.
 */
import { Command } from "commander";
import type { EntryJson, NodeStats } from "../mod/node/stats.ts";
import { counted, err, numberIn, out, RuntimeFailure } from "./_cli.ts";
import { ask, keyFileOption, loadKeyring, nodeOption, timeoutOption } from "./_client.ts";
import type { Keyring } from "../mod/wire/seal.ts";
import { tagsText } from "../mod/node/tags.ts";

interface StatsFlags {
  keyFile?: string;
  node: string;
  timeout: number;
  json?: boolean;
  watch?: number | true;
}

/** The `stats` subcommand. */
export function statsCommand(setExit: (code: number) => void): Command {
  return new Command("stats")
    .description(
      "Show the node's own entry, its membership list, and its counters: traffic per second by " +
        "message kind, datagrams dropped on purpose and as malformed, detections, uptime.",
    )
    .addOption(nodeOption())
    .addOption(timeoutOption(5))
    .addOption(keyFileOption())
    .option(
      "--json",
      "print one JSON object: self (this node's entry), members (every other member it " +
        "lists, tombstones left out), the counters beside them, and settings (the profile and " +
        "every protocol setting in force)",
    )
    .option("--watch [SECONDS]", "refresh in place every SECONDS (default 1)", numberIn(0.2, 3600))
    .action(async (flags: StatsFlags) => {
      const keyring = await loadKeyring(flags.keyFile);
      if (flags.watch === undefined) {
        const stats = await fetchStats(flags.node, flags.timeout, keyring);
        out(flags.json ? JSON.stringify(stats) + "\n" : render(stats));
        setExit(0);
        return;
      }
      const everySeconds = flags.watch === true ? 1 : flags.watch;
      // On a terminal the table is redrawn in place; elsewhere each refresh is appended.
      const inPlace = Deno.stdout.isTerminal() && !flags.json;
      let shown = false;
      for (;;) {
        let text: string;
        try {
          const stats = await fetchStats(flags.node, flags.timeout, keyring);
          text = flags.json ? JSON.stringify(stats) + "\n" : render(stats);
        } catch (error) {
          // A node restarting or briefly unreachable is what one watches for: keep watching.
          if (!(error instanceof RuntimeFailure)) throw error;
          const line = `error: ${error.message}; trying again every ${everySeconds} s\n`;
          if (!inPlace) err(line);
          text = inPlace ? line : "";
        }
        // The screen is cleared and drawn from the top; appended, a blank line parts one table
        // from the next.
        if (inPlace) out(`\x1b[H\x1b[2J${text}`);
        else if (text !== "") {
          out(!flags.json && shown ? `\n${text}` : text);
          shown = true;
        }
        await new Promise((resolve) => setTimeout(resolve, everySeconds * 1000));
      }
    });
}

/** Asks a node for its statistics. */
export async function fetchStats(
  node: string,
  timeoutSeconds: number,
  keyring?: Keyring,
): Promise<NodeStats> {
  const reply = await ask(node, { kind: "stats-request" }, timeoutSeconds, keyring);
  if (reply.kind !== "stats-response") {
    throw new RuntimeFailure(`${node} answered with ${reply.kind}, not statistics`);
  }
  try {
    return JSON.parse(reply.json) as NodeStats;
  } catch {
    throw new RuntimeFailure(`${node} answered with statistics that are not JSON`);
  }
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function rate(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB/s`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB/s`;
  return `${bytes.toFixed(0)} B/s`;
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** The human-readable table. */
export function render(stats: NodeStats): string {
  const node = stats.node as Record<string, unknown>;
  const lines: string[] = [];
  const self = stats.self;
  lines.push(
    `self  ${self.id}  ${self.status}  heartbeat ${self.heartbeat}  incarnation ${self.incarnation}`,
    `      ${node.state}, up ${duration(Number(node.uptimeSeconds))}, ${
      counted(Number(node.liveMembers), "live member")
    } (${
      self.status === "alive" || self.status === "suspect" ? "itself included" : "not itself"
    }), suspicion ${node.suspicion ? "on" : "off"}, drop rate ${node.dropRate}`,
  );
  // A node of a build before tags answers without them.
  const selfTags = tagsText(self.tags ?? {});
  if (selfTags !== "") lines.push(`      tags ${selfTags}`);
  lines.push("");
  if (node.state === "left" || node.state === "leaving") {
    // A node out of the group hears nothing more: its list stopped when it left.
    lines.push(
      "This node has left the group: the list below is as it was then. " +
        "`member join` brings it back as a new member.",
      "",
    );
  }
  const members = [...stats.members].sort((a, b) => a.address.localeCompare(b.address));
  const width = Math.max(6, ...members.map((m) => m.id.length));
  // The tags column only when a member has tags: an untagged cluster's table stays as it was.
  const tagged = members.some((m) => tagsText(m.tags ?? {}) !== "");
  lines.push(
    `${pad("MEMBER", width)}  ${pad("STATUS", 8)}${pad("HEARTBEAT", 10, true)}${
      pad("INC", 5, true)
    }  ${pad("HEARD", 9, true)}  ${pad("FOR", 8, true)}${tagged ? "  TAGS" : ""}`,
  );
  const row = (m: EntryJson) =>
    `${pad(m.id, width)}  ${pad(m.status, 8)}${pad(String(m.heartbeat), 10, true)}${
      pad(String(m.incarnation), 5, true)
    }  ${pad(`${m.heardSecondsAgo}s ago`, 9, true)}  ${pad(duration(m.statusForSeconds), 8, true)}${
      tagged ? `  ${tagsText(m.tags ?? {})}` : ""
    }`.trimEnd();
  for (const member of members) lines.push(row(member));
  if (members.length === 0) lines.push("(no other members)");
  lines.push("");
  const traffic = stats.traffic as {
    perSecond: Record<string, Record<string, number>>;
  };
  lines.push("traffic per second (last 10 s):");
  for (const [kind, r] of Object.entries(traffic.perSecond)) {
    lines.push(
      `  ${pad(kind, 8)} in ${pad(rate(r.bytesInPerSecond), 11, true)} ${
        pad(r.messagesInPerSecond.toFixed(1), 7, true)
      } msg/s   out ${pad(rate(r.bytesOutPerSecond), 11, true)} ${
        pad(r.messagesOutPerSecond.toFixed(1), 7, true)
      } msg/s`,
    );
  }
  const dropped = stats.dropped as { onPurpose: number; malformed: Record<string, number> };
  const malformed = Object.entries(dropped.malformed);
  lines.push(
    `dropped: ${dropped.onPurpose} on purpose, ${
      malformed.reduce((sum, [, n]) => sum + n, 0)
    } malformed${
      malformed.length > 0 ? ` (${malformed.map(([r, n]) => `${r} ${n}`).join(", ")})` : ""
    }`,
    `detections: ${stats.detections.failuresDetected} failures detected, ${stats.detections.suspicionsRaised} suspicions raised, ${stats.detections.refutations} refuted, ${stats.detections.rejoins} rejoins, ${
      stats.detections.stalls ?? 0
    } stalls of this process (over a second without running), ${
      stats.detections.selfDoubts ?? 0
    } doubts of itself (most neighbours silent at once), ${
      stats.detections.failuresRefusedStale ?? 0
    } failures refused as decided on older word, ${
      stats.detections.accusationsRefused ?? 0
    } claims that this node failed refused (from a smaller side)`,
    `probes: ${stats.detections.probesSent ?? 0} silent neighbours probed over TCP, ${
      stats.detections.probesAnswered ?? 0
    } answered (an answer means their datagrams are being lost), ${
      stats.detections.witnessProbesSent ?? 0
    } of their far-side watchers asked, ${stats.detections.witnessProbesAnswered ?? 0} answered, ${
      stats.detections.indirectProbesSent ?? 0
    } indirect probes asked of other members, ${
      stats.detections.indirectProbesAnswered ?? 0
    } answered, ${stats.detections.indirectProbesRelayed ?? 0} made for others${
      stats.detections.probesSkipped
        ? `, ${stats.detections.probesSkipped} skipped (too many at once)`
        : ""
    }${
      stats.detections.secondProbesSkipped
        ? `, ${stats.detections.secondProbesSkipped} questions to other members skipped`
        : ""
    }`,
  );
  lines.push(...settingsLines(stats.settings));
  return lines.join("\n") + "\n";
}

/** The settings in force: the profile, then every field, wrapped as the table is wide. */
function settingsLines(settings: Record<string, string | number> | undefined): string[] {
  // A node of an older build answers without them.
  if (settings === undefined) return [];
  const { profile, ...fields } = settings;
  const lines = [`settings: profile ${profile}`];
  let line = " ";
  for (const [name, value] of Object.entries(fields)) {
    const item = ` ${name} ${value}`;
    if (line.length + item.length > 100) {
      lines.push(line);
      line = " ";
    }
    line += item;
  }
  if (line.trim() !== "") lines.push(line);
  return lines;
}
