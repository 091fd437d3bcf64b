/**
 * The replay page: one self-contained HTML file (no request when opened) with the run's events,
 * the replay engine and the drawing code inline. This file is the page's markup and style; its
 * script is in `_page_script.ts` (the live view) and `_page_panels.ts` (the panels written once),
 * and its data is packed by `_page_data.ts`.
 */
import type { VizModel } from "./model.ts";
import { modelJson } from "./_page_data.ts";
import { pagePanels } from "./_page_panels.ts";
import { pageScript } from "./_page_script.ts";
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
const pagePanels = (${pagePanels.toString()});
(${pageScript.toString()})(Replay, statusColors, pagePanels);
</script>
</body>
</html>
`;
}
