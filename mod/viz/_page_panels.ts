// The page's own code handles the DOM and parsed JSON, untyped here (no DOM types in this build).
// deno-lint-ignore-file no-explicit-any
/**
 * The replay page's panels written once, from the model: the legend, the marks under the
 * timeline, the failures table (a row seeks to its first detection), the clocks corrected and the
 * input read.
 */

/** What the panels are written with: the live view's model, replay and helpers. */
export interface PanelParts {
  readonly $: (id: string) => any;
  readonly doc: any;
  readonly esc: (value: unknown) => string;
  readonly fmt: (ms: number) => string;
  readonly replay: any;
  readonly data: any;
  readonly model: any;
  /** Members on the page. */
  readonly n: number;
  /** Member id -> its index. */
  readonly index: Map<unknown, unknown>;
  readonly kinds: readonly string[];
  readonly statuses: readonly string[];
  readonly kindColors: Record<string, string>;
  readonly colors: readonly string[];
  readonly pause: () => void;
  readonly select: (m: number) => void;
}

/**
 * Writes the panels. Like the live view that calls it, it is embedded in the page by its source
 * and runs in the browser only, so it reaches nothing of this module but its argument.
 */
export function pagePanels(parts: PanelParts): void {
  const { $, doc, esc, fmt, replay, data, model, n, index, kinds, statuses, kindColors, colors } =
    parts;
  const { pause, select } = parts;
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
}
