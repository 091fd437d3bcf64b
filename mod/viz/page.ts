// The page's own code handles the DOM and parsed JSON, untyped here (no DOM types in this build).
// deno-lint-ignore-file no-explicit-any
/**
 * The replay page: one self-contained HTML file (no request when opened) with the run's events,
 * the replay engine and the drawing code inline.
 */
import { modelJson, type VizModel } from "./model.ts";
import { Replay } from "./replay.ts";

/**
 * Status colours, by status index (see Replay.statuses). A member not yet joined (status 0) is
 * drawn as an outline in the first colour, not filled, so that it cannot pass for a removed one.
 */
export const statusColors = ["#9aa1ab", "#2e9d5b", "#f0a020", "#d93a3a", "#7a7f87", "#b8bcc4"];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The whole page for a model. */
export function replayPage(model: VizModel, title = "member replay"): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  :root { font: 14px/1.4 system-ui, sans-serif; color: #1d2127; background: #f6f7f9; }
  body { margin: 0; }
  header { padding: 10px 16px; background: #1d2127; color: #fff; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0; }
  header span { color: #b8bcc4; }
  main { display: grid; grid-template-columns: minmax(420px, 1fr) 380px; gap: 12px; padding: 12px 16px; }
  section { background: #fff; border: 1px solid #dde0e5; border-radius: 6px; padding: 10px 12px; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #5b616b; margin: 0 0 8px; }
  #stage { position: relative; }
  canvas#view { width: min(100%, calc(100vh - 200px)); min-width: 320px; margin: 0 auto; aspect-ratio: 1; display: block; cursor: pointer; }
  #controls { display: flex; gap: 8px; align-items: center; margin-top: 8px; flex-wrap: wrap; }
  #timeline { flex: 1; min-width: 200px; }
  #scrub { width: 100%; margin: 0; display: block; }
  #clock { font-variant-numeric: tabular-nums; min-width: 230px; }
  button { font: inherit; padding: 3px 12px; }
  canvas#marks { width: 100%; height: 14px; display: block; margin-top: 2px; padding: 0 8px; box-sizing: border-box; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  td, th { text-align: left; padding: 2px 4px; border-bottom: 1px solid #eef0f3; white-space: nowrap; }
  tr.fp td { background: #fde8e8; }
  #clocks td:last-child { white-space: normal; }
  tbody tr.seek { cursor: pointer; }
  tbody tr.seek:hover td { background: #eef4ff; }
  .legend { display: flex; gap: 12px; flex-wrap: wrap; font-size: 12px; margin-top: 6px; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px; box-sizing: border-box; }
  #list, #events { max-height: 260px; overflow: auto; }
  #events div { font: 12px ui-monospace, monospace; white-space: nowrap; }
  .side { display: flex; flex-direction: column; gap: 12px; }
  .wide { grid-column: 1 / -1; }
  .note { color: #5b616b; font-size: 12px; }
</style>
</head>
<body>
<header><h1>member replay</h1><span id="summary"></span></header>
<main>
  <section id="stage">
    <canvas id="view" width="900" height="900" aria-label="members, coloured by status"></canvas>
    <div class="legend" id="legend"></div>
    <div id="controls">
      <button id="play">Play</button>
      <label>speed <select id="speed">
        <option>0.1</option><option>0.25</option><option>0.5</option><option selected>1</option>
        <option>2</option><option>4</option><option>10</option><option>30</option>
      </select></label>
      <div id="timeline">
        <input id="scrub" type="range" min="0" value="0" step="1" aria-label="time">
        <canvas id="marks" width="900" height="14" title="red: failures, orange: suspicions, blue: refutations, black: false positives"></canvas>
      </div>
      <span id="clock"></span>
    </div>
  </section>
  <div class="side">
    <section><h2>Selected member</h2><div id="selected" class="note">Click a member to see its own membership list at this moment.</div><div id="list"></div></section>
    <section><h2>Events as they happen</h2><div id="events"></div></section>
  </div>
  <section class="wide"><h2>Failures</h2><div id="failures"></div></section>
  <section class="wide"><h2>Time and clocks</h2><div id="clocks" class="note"></div></section>
  <section class="wide"><h2>Input</h2><div id="input" class="note"></div></section>
</main>
<script id="model" type="application/json">${modelJson(model)}</script>
<script>
"use strict";
const Replay = (${Replay.toString()});
const statusColors = ${JSON.stringify(statusColors)};
(${pageScript.toString()})(Replay, statusColors);
</script>
</body>
</html>
`;
}

/**
 * The page's own code, embedded by its source. It runs in the browser only: it is not called
 * here, and it reaches the DOM through `globalThis` so that this file type-checks without it.
 */
function pageScript(R: any, colors: readonly string[]): void {
  const g = globalThis as any;
  const doc = g.document;
  const $ = (id: string) => doc.getElementById(id);
  const model = JSON.parse($("model").textContent);
  // Every string from the input goes into markup through this: escaped for HTML, and control
  // characters shown as JSON writes them.
  const esc = (value: unknown) =>
    String(value)
      .replace(
        // deno-lint-ignore no-control-regex
        /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
        (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
      )
      .replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const unpack = (text: string, Kind: any) => {
    const raw = g.atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new Kind(bytes.buffer);
  };
  const data = {
    members: model.members,
    t: unpack(model.t, Int32Array),
    kind: unpack(model.kind, Uint8Array),
    member: unpack(model.member, Uint16Array),
    node: unpack(model.node, Uint16Array),
  };
  const replay = new R(data);
  const n = replay.size;
  const index = new Map(data.members.map((id: string, i: number) => [id, i]));
  const statuses: string[] = R.statuses;
  const kinds: string[] = R.kinds;
  const kindColors: Record<string, string> = {
    JOIN: "#2e9d5b",
    LEAVE: "#7a7f87",
    SUSPECT: "#f0a020",
    REFUTE: "#3a78d9",
    FAIL: "#d93a3a",
    REMOVE: "#b8bcc4",
    SETTINGS: "#8a4fd0",
  };
  const fmt = (ms: number) => (ms / 1000).toFixed(3) + " s";
  const wall = (ms: number) => new Date(model.startMs + ms).toISOString();
  const address = (id: string) => id.replace(/#\d+$/, "");
  // An address's versions look alike by address: each after the first carries its rank (a
  // restart is "10.0.0.4:3000 (2)"). The full ids are in the tooltips.
  const labels: string[] = data.members.map(address);
  const ranks = new Map<string, number>();
  const byVersion = labels.map((_, m) => m).sort((a, b) =>
    Number(data.members[a].slice(data.members[a].lastIndexOf("#") + 1)) -
    Number(data.members[b].slice(data.members[b].lastIndexOf("#") + 1))
  );
  for (const m of byVersion) {
    const rank = (ranks.get(labels[m]) ?? 0) + 1;
    ranks.set(labels[m], rank);
    if (rank > 1) labels[m] = `${labels[m]} (${rank})`;
  }

  // Layout: a circle when few, a filled disc (sunflower) when many, both in id order.
  const view = $("view");
  const ctx = view.getContext("2d");
  const W = view.width;
  const center = W / 2;
  const positions: [number, number][] = [];
  const radius = n <= 60 ? 10 : n <= 300 ? 6 : 4;
  // The circle leaves room outside it for the longest label, so that none is cut at the edge.
  ctx.font = n <= 12 ? "13px system-ui" : "15px system-ui";
  const labelWidth = Math.max(0, ...labels.map((label) => ctx.measureText(label).width));
  const ring = Math.max(W * 0.2, Math.min(W * 0.33, center - 24 - labelWidth));
  for (let i = 0; i < n; i++) {
    if (n <= 60) {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n);
      positions.push([center + ring * Math.cos(a), center + ring * Math.sin(a)]);
    } else {
      const r = (W * 0.46) * Math.sqrt((i + 0.5) / n);
      const a = i * Math.PI * (3 - Math.sqrt(5));
      positions.push([center + r * Math.cos(a), center + r * Math.sin(a)]);
    }
  }

  let selected = -1;
  let playing = false;
  let lastFrame = 0;
  // The selected member's list is a table of up to every member: rebuilt when an event has been
  // applied since, and while playing at most every listIntervalMs, not every frame.
  const listIntervalMs = 250;
  const listRowsMax = 200;
  let listKey = "";
  let eventsKey = "";
  let listBuiltAt = 0;
  const drawnStatus = new Uint8Array(n);
  const scrub = $("scrub");
  scrub.max = String(replay.durationMs);

  // In a crowd, what matters (suspected, failed) is drawn last, larger and outlined, so that
  // neither the lines nor its neighbours hide it.
  const crowdStandsOut = (s: number) => n > 60 && (s === 2 || s === 3);

  function draw(): void {
    ctx.clearRect(0, 0, W, W);
    // Events of the last moment as lines from who saw it to whom it is about.
    const speed = Number($("speed").value);
    const recent = replay.recent(Math.max(250, 600 * speed));
    const lines = recent.slice(-400);
    ctx.lineWidth = n <= 60 ? 2 : 1;
    for (const i of lines) {
      const kind = kinds[data.kind[i]];
      if (kind === "SETTINGS") continue;
      const from = positions[data.node[i]];
      const to = positions[data.member[i]];
      if (data.node[i] === data.member[i]) continue;
      ctx.strokeStyle = kindColors[kind];
      ctx.globalAlpha = kind === "JOIN" ? 0.25 : 0.8;
      ctx.beginPath();
      ctx.moveTo(from[0], from[1]);
      ctx.lineTo(to[0], to[1]);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    for (let m = 0; m < n; m++) {
      drawnStatus[m] = replay.statusOf(m);
      if (!crowdStandsOut(drawnStatus[m])) drawMember(m, drawnStatus[m]);
    }
    for (let m = 0; m < n; m++) if (crowdStandsOut(drawnStatus[m])) drawMember(m, drawnStatus[m]);
    const now = replay.nowMs;
    $("clock").textContent = `${fmt(Math.max(0, now))}  ${wall(Math.max(0, now))}`;
    scrub.value = String(Math.max(0, now));
    drawEvents(recent);
    drawSelected();
  }

  function drawMember(m: number, s: number): void {
    const [x, y] = positions[m];
    const big = crowdStandsOut(s);
    ctx.beginPath();
    ctx.arc(x, y, big ? radius * 1.8 : radius, 0, 2 * Math.PI);
    if (s === 0) {
      // Not yet joined: an outline, unlike every status it may have later.
      ctx.strokeStyle = colors[0];
      ctx.lineWidth = 1;
      ctx.stroke();
    } else {
      ctx.fillStyle = colors[s];
      ctx.fill();
      if (big) {
        ctx.strokeStyle = "#1d2127";
        ctx.lineWidth = 1;
        ctx.stroke();
      }
    }
    if (s === 3 && replay.countByOthers(m, 1) + replay.countByOthers(m, 2) > 0) {
      // Failed by some, still listed by others: a ring says detection is under way.
      ctx.strokeStyle = "#2e9d5b";
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    if (m === selected) {
      ctx.strokeStyle = "#1d2127";
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(x, y, radius + 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (n <= 60) drawLabel(m, x, y);
  }

  // A few labels sit level beside their dots; more would collide near the top and bottom of the
  // circle, so they point outward along their radius, as on a clock face.
  function drawLabel(m: number, x: number, y: number): void {
    const label = labels[m];
    ctx.fillStyle = "#1d2127";
    ctx.font = n <= 12 ? "13px system-ui" : "15px system-ui";
    if (n <= 12) {
      ctx.textAlign = x < center - 5 ? "right" : x > center + 5 ? "left" : "center";
      const dx = x < center - 5 ? -16 : x > center + 5 ? 16 : 0;
      const dy = y < center ? -16 : 24;
      ctx.fillText(label, x + dx, y + (dx === 0 ? dy : 4));
      return;
    }
    const angle = Math.atan2(y - center, x - center);
    const left = x < center - 0.5;
    ctx.save();
    ctx.translate(x, y);
    ctx.rotate(left ? angle + Math.PI : angle);
    ctx.textAlign = left ? "right" : "left";
    ctx.textBaseline = "middle";
    ctx.fillText(label, left ? -16 : 16, 0);
    ctx.restore();
  }

  function drawEvents(recent: number[]): void {
    // The panel is rebuilt only when its rows change, not at every frame.
    const shown = recent.slice(-60);
    const key = `${shown.length} ${shown[0]} ${shown[shown.length - 1]}`;
    if (key === eventsKey) return;
    eventsKey = key;
    // Addresses keep the lines short enough to read whole; the full ids are in each tooltip.
    const rows = shown.reverse().map((i) => {
      const kind = kinds[data.kind[i]];
      const about = data.members[data.member[i]];
      const by = data.members[data.node[i]];
      return `<div style="color:${kindColors[kind]}" title="${esc(about)} by ${esc(by)}">${
        fmt(data.t[i])
      } ${kind} ${esc(labels[data.member[i]])} <span style="color:#5b616b">by ${
        esc(labels[data.node[i]])
      }</span></div>`;
    });
    $("events").innerHTML = rows.join("") || '<div class="note">nothing in the last moment</div>';
  }

  function drawSelected(): void {
    if (selected < 0) return;
    const key = `${selected} ${replay.applied}`;
    const now = g.performance.now();
    if (key === listKey || (playing && now - listBuiltAt < listIntervalMs)) return;
    listKey = key;
    listBuiltAt = now;
    const s = replay.statusOf(selected);
    // Its own line about itself (its JOIN) is not another's view of it.
    const by = [1, 2, 3, 4, 5].map((k) => `${statuses[k]} ${replay.countByOthers(selected, k)}`)
      .join(", ");
    const stopped = replay.hasEnded(selected)
      ? '<br><span class="note">it has stopped: below is its list as it last was</span>'
      : "";
    $("selected").innerHTML = `<b>${esc(data.members[selected])}</b>: ${statuses[s]}<br>` +
      `<span class="note">listed by others as: ${by}</span>${stopped}`;
    // What is not alive first (suspected, failed, left), and at most listRowsMax rows: a list
    // of 1,000 built at every step would stall playing.
    const rank = [9, 3, 0, 1, 2, 9];
    const list = replay.listOf(selected).sort((a: [number, number], b: [number, number]) =>
      rank[a[1]] - rank[b[1]] || a[0] - b[0]
    );
    const rest = [0, 0, 0, 0, 0, 0];
    for (const [, k] of list.slice(listRowsMax)) rest[k]++;
    const more = [1, 2, 3, 4].filter((k) => rest[k] > 0).map((k) => `${rest[k]} ${statuses[k]}`);
    $("list").innerHTML = list.length === 0
      ? '<div class="note">its list is empty at this moment (or its log is not among the inputs)</div>'
      : `<table><thead><tr><th>member</th><th>status in its list</th></tr></thead><tbody>${
        list.slice(0, listRowsMax).map(([m, k]: [number, number]) =>
          `<tr><td><span class="dot" style="background:${colors[k]}"></span>${
            esc(data.members[m])
          }</td><td>${statuses[k]}</td></tr>`
        ).join("")
      }</tbody></table>${
        more.length > 0 ? `<div class="note">and more not shown: ${more.join(", ")}</div>` : ""
      }`;
  }

  function seek(ms: number): void {
    replay.seek(Math.max(0, Math.min(ms, replay.durationMs)));
    draw();
  }

  function frame(time: number): void {
    if (!playing) return;
    const elapsed = lastFrame === 0 ? 0 : time - lastFrame;
    lastFrame = time;
    const next = replay.nowMs + elapsed * Number($("speed").value);
    seek(next);
    if (next >= replay.durationMs) pause();
    else g.requestAnimationFrame(frame);
  }

  function play(): void {
    if (replay.nowMs >= replay.durationMs) seek(0);
    playing = true;
    lastFrame = 0;
    $("play").textContent = "Pause";
    g.requestAnimationFrame(frame);
  }

  function pause(): void {
    playing = false;
    $("play").textContent = "Play";
    // The list may have been left behind by the limit on rebuilds while playing.
    drawSelected();
  }

  function select(m: number): void {
    selected = m;
    listKey = "";
    if (selected < 0) {
      $("selected").innerHTML = "Click a member to see its own membership list at this moment.";
      $("list").innerHTML = "";
    }
    draw();
  }

  $("play").addEventListener("click", () => (playing ? pause() : play()));
  scrub.addEventListener("input", () => seek(Number(scrub.value)));
  // Holding the thumb holds the replay; playing goes on when it is let go.
  let resumeOnRelease = false;
  scrub.addEventListener("pointerdown", () => {
    if (!playing) return;
    resumeOnRelease = true;
    pause();
  });
  doc.addEventListener("pointerup", () => {
    if (!resumeOnRelease) return;
    resumeOnRelease = false;
    play();
  });
  doc.addEventListener("keydown", (e: any) => {
    // The slider and the canvas take no Space of their own; buttons and menus do.
    if (e.key === " " && (e.target === doc.body || e.target === scrub || e.target === view)) {
      e.preventDefault();
      playing ? pause() : play();
    }
  });
  /** The member drawn under a pointer event, or -1. */
  function memberAt(e: any): number {
    const box = view.getBoundingClientRect();
    const x = (e.clientX - box.left) * (W / box.width);
    const y = (e.clientY - box.top) * (W / box.height);
    let best = -1;
    let bestDistance = Infinity;
    positions.forEach(([px, py], i) => {
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d < bestDistance) [best, bestDistance] = [i, d];
    });
    return bestDistance <= (radius + 8) ** 2 ? best : -1;
  }
  view.addEventListener("click", (e: any) => select(memberAt(e)));
  // Unlabelled in a crowd, a member is named where the pointer rests on it.
  view.addEventListener("mousemove", (e: any) => {
    const m = memberAt(e);
    view.title = m < 0 ? "" : `${data.members[m]}: ${statuses[replay.statusOf(m)]}`;
  });

  // The legend, the marks under the timeline, the failures, the clocks and the input.
  $("legend").innerHTML =
    `<span><span class="dot" style="border:1px solid ${colors[0]}"></span>not yet joined</span>` +
    [1, 2, 3, 4, 5].map((k) =>
      `<span><span class="dot" style="background:${colors[k]}"></span>${statuses[k]}</span>`
    ).join("") + '<span class="note">lines: who logged an event about whom, just now</span>';
  const marks = $("marks").getContext("2d");
  const markWidth = $("marks").width;
  const span = Math.max(1, replay.durationMs);
  const markAt = (ms: number) => Math.round((ms / span) * (markWidth - 2));
  for (let i = 0; i < replay.events; i++) {
    const kind = kinds[data.kind[i]];
    if (kind !== "FAIL" && kind !== "SUSPECT" && kind !== "REFUTE") continue;
    marks.fillStyle = kindColors[kind];
    marks.fillRect(markAt(data.t[i]), 0, 2, 14);
  }
  // A false positive's first detection, over its marks: the one thing on the timeline that
  // should not have happened.
  marks.fillStyle = "#1d2127";
  for (const f of model.failures) if (f.falsePositive) marks.fillRect(markAt(f.firstMs), 0, 3, 14);
  const counts = Object.entries(model.counts).map(([k, v]) => `${v} ${k}`).join(", ");
  $("summary").textContent = `${n} members, ${replay.events} events (${counts}) over ${
    fmt(replay.durationMs)
  }`;
  const failures = model.failures;
  $("failures").innerHTML = failures.length === 0
    ? '<div class="note">No member was listed as failed.</div>'
    : `<table><thead><tr><th>member</th><th>first suspected</th><th>first detected</th><th>by</th>` +
      `<th>all detected</th><th>first to all</th><th>detected by</th><th>its own last line</th><th></th></tr></thead><tbody>${
        failures.map((f: any, i: number) =>
          `<tr class="seek${f.falsePositive ? " fp" : ""}" data-failure="${i}"><td>${
            esc(f.member)
          }</td><td>${f.suspectedMs === null ? "" : fmt(f.suspectedMs)}</td><td>${
            fmt(f.firstMs)
          }</td><td>${esc(f.firstBy)}</td><td>${fmt(f.allMs)}</td><td>${
            fmt(f.allMs - f.firstMs)
          }</td><td>${f.detectedBy} of ${f.observers} running</td><td>${
            f.lastOwnLineMs === null ? "not in the logs" : "at " + fmt(f.lastOwnLineMs)
          }</td><td>${
            f.falsePositive ? "<b>false positive</b>: it was running after it was failed" : ""
          }</td></tr>`
        ).join("")
      }</tbody></table><div class="note">Times are from the run's first event. A crash leaves no ` +
      `line: it came at some moment between the member's own last line and its first detection, ` +
      `so how long detection took from the crash is not in the logs; "first to all" is the spread ` +
      `from the first node that listed the member as failed to the last. Running nodes are those ` +
      `that had joined and had not left, failed or been removed at the first detection. A false ` +
      `positive is a member whose own log goes on after it was listed as failed, or that came ` +
      `back as a new version saying it had been failed. Click a row to select the member and go ` +
      `to its first detection.</div>`;
  for (const row of doc.querySelectorAll("#failures tr.seek")) {
    row.addEventListener("click", () => {
      const f = failures[Number(row.dataset.failure)];
      pause();
      replay.seek(Math.max(0, Math.min(f.firstMs, replay.durationMs)));
      select(index.get(f.member) as number);
      $("stage").scrollIntoView({ block: "nearest" });
    });
  }
  const corrections = model.corrections;
  $("clocks").innerHTML = `Each event is placed at the time on the clock of the machine that ` +
    `logged it; events at the same moment keep the order of their files. Clocks of different ` +
    `machines may differ, and joins show by how much: a joiner logs its own JOIN before its ` +
    `contact accepts it, and its contact accepts it before the joiner logs the answer (the ` +
    `contact's own entry in it). Where a contact's record of a join comes before the joiner's ` +
    `own JOIN, or after the joiner's record of the answer, one of the two clocks is off. The ` +
    `machine at odds with the largest share of its joins (then with the most) is taken to be ` +
    `the wrong one and all its events are moved by the least that puts its joins back in ` +
    `order, and so on while joins are out of order; the others are left as they are. Smaller differences cannot be seen in the logs and are left ` +
    `as they are (keep clocks in sync with NTP). ` +
    (corrections.length === 0
      ? "No machine's clock had to be corrected."
      : `<table><thead><tr><th>host</th><th>its events moved</th><th>because</th></tr></thead><tbody>${
        corrections.map((c: any) =>
          `<tr><td>${esc(c.host)}</td><td>${
            c.shiftMs > 0
              ? `earlier by ${c.shiftMs} ms (its clock is ahead)`
              : `later by ${-c.shiftMs} ms (its clock is behind)`
          }</td><td>${esc(c.evidence)}</td></tr>`
        ).join("")
      }</tbody></table>`);
  const input = model.input;
  const files = (list: string[]) => list.map(esc).join(", ");
  const problems = model.problems.map((p: any) =>
    `<div>${esc(p.source)}${p.line > 0 ? `:${p.line}` : ""}: ${esc(p.error)}</div>`
  ).join("");
  $("input").innerHTML = `Built from ${input.used.length} log(s): ${files(input.used)}.` +
    (input.rejected.length === 0
      ? ""
      : `<div>Not event logs, left out: ${files(input.rejected)}.</div>`) +
    (input.empty.length === 0 ? "" : `<div>Empty, left out: ${files(input.empty)}.</div>`) +
    (input.unread.length === 0
      ? ""
      : `<div>Could not be read, left out: ${files(input.unread)}.</div>`) +
    (input.skippedLines === 0
      ? "<div>Every line read was an event line.</div>"
      : `<div>${input.skippedLines} line(s) skipped:</div>${problems}` +
        (model.problemsTotal > model.problems.length
          ? `<div>... and ${model.problemsTotal - model.problems.length} more reports.</div>`
          : ""));

  seek(0);
  g.__replay = {
    replay,
    seek,
    play,
    pause,
    get playing() {
      return playing;
    },
    statusOf: (id: string) => statuses[replay.statusOf(index.get(id))],
    drawnStatusOf: (id: string) => statuses[drawnStatus[index.get(id) as number]],
    positionOf: (id: string) => positions[index.get(id) as number],
    labelOf: (id: string) => labels[index.get(id) as number],
    select: (id: string) => select(index.get(id) as number),
    get selected() {
      return selected < 0 ? null : data.members[selected];
    },
    failures,
  };
}
