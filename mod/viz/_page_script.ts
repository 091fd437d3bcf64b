// The page's own code handles the DOM and parsed JSON, untyped here (no DOM types in this build).
// deno-lint-ignore-file no-explicit-any
/**
 * The replay page's live view: the members drawn by status on a canvas, the events of the last
 * moment, the selected member's own list, and the controls that play, pause and seek the replay.
 */
import type { PanelParts } from "./_page_panels.ts";

/**
 * The page's own code, embedded by its source. It runs in the browser only: it is not called
 * here, and it reaches the DOM through `globalThis` so that this file type-checks without it.
 */
export function pageScript(
  R: any,
  colors: readonly string[],
  panels: (parts: PanelParts) => void,
): void {
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

  panels({
    $,
    doc,
    esc,
    fmt,
    replay,
    data,
    model,
    n,
    index,
    kinds,
    statuses,
    kindColors,
    colors,
    pause,
    select,
  });

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
    failures: model.failures,
  };
}
