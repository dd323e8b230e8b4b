#include "metrics/status_page.hpp"

namespace pinwheel {

namespace {

constexpr std::string_view kPage = R"PAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pinwheel status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 20px; margin: 0 0 .2em; }
  #summary { color: #555; margin-bottom: 1em; }
  #error { color: #b00020; font-weight: bold; }
  table { border-collapse: collapse; background: #fff; min-width: 60em; }
  th, td { padding: .35em .8em; border-bottom: 1px solid #ddd; text-align: right; }
  th { background: #eee; }
  td.name, th.name, td.state, td.admin { text-align: left; }
  .swatch { display: inline-block; width: .8em; height: .8em; margin-right: .4em; border-radius: 2px; }
  .up { color: #1b7f3b; } .down, .given_up { color: #b00020; }
  .starting, .draining { color: #b36b00; } .disabled { color: #777; }
  #chart { background: #fff; border: 1px solid #ddd; margin-top: 1em; }
  #chart text { font-size: 11px; fill: #555; }
</style>
</head>
<body>
<h1>Pinwheel</h1>
<div id="summary">loading…</div>
<div id="error"></div>
<table id="backends">
  <thead><tr><th class="name">backend</th><th>address</th><th class="state">state</th>
  <th class="admin">admin</th><th>pid</th><th>core</th><th>connections</th><th>total</th>
  <th>conn/s</th><th>CPU</th><th>memory</th><th>restarts</th></tr></thead>
  <tbody></tbody>
</table>
<svg id="chart" width="900" height="240" role="img" aria-label="open connections per backend">
</svg>
<script>
"use strict";
const kWindowSeconds = 300;
const kColours = ["#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                  "#a6761d", "#666666", "#1f78b4", "#b2df8a"];
let previous = null;
const history = new Map();  // backend name -> [[time, open connections], ...]

function colour(i) { return kColours[i % kColours.length]; }
function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function bytes(n) {
  if (n === null) return "–";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return n.toFixed(i ? 1 : 0) + " " + units[i];
}

function render(s) {
  document.getElementById("error").textContent = "";
  const dt = previous ? s.time - previous.time : 0;
  const before = new Map(previous ? previous.backends.map(b => [b.name, b]) : []);
  document.getElementById("summary").textContent =
      "version " + s.version + " · strategy " + s.strategy + " · " + s.active_connections +
      " open of " + s.max_connections + " · " + s.accepted + " accepted" +
      (s.balancer ? " · balancer CPU " + s.balancer.cpu_seconds.toFixed(2) + " s, " +
                    bytes(s.balancer.resident_bytes) : "");
  const body = document.querySelector("#backends tbody");
  body.replaceChildren();
  s.backends.forEach((b, i) => {
    const row = body.insertRow();
    row.dataset.backend = b.name;
    const name = cell(row, b.name, "name");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour(i);
    name.prepend(swatch);
    cell(row, b.address);
    cell(row, b.state, "state " + b.state);
    cell(row, b.admin, "admin");
    cell(row, b.pid || "–");
    cell(row, b.cpu >= 0 ? b.cpu : "–");
    cell(row, b.active_connections);
    cell(row, b.total_connections);
    const old = before.get(b.name);
    cell(row, old && dt > 0 ? ((b.total_connections - old.total_connections) / dt).toFixed(1) : "–");
    cell(row, old && dt > 0 && b.cpu_seconds !== null && old.cpu_seconds !== null
                  ? (100 * (b.cpu_seconds - old.cpu_seconds) / dt).toFixed(0) + " %" : "–");
    cell(row, bytes(b.resident_bytes));
    cell(row, b.restarts);
    if (!history.has(b.name)) history.set(b.name, []);
    const points = history.get(b.name);
    points.push([s.time, b.active_connections]);
    while (points.length && points[0][0] < s.time - kWindowSeconds) points.shift();
  });
  for (const name of [...history.keys()]) {
    if (!s.backends.some(b => b.name === name)) history.delete(name);
  }
  draw(s);
  previous = s;
}

function draw(s) {
  const svg = document.getElementById("chart");
  const ns = "http://www.w3.org/2000/svg";
  const width = 900, height = 240, left = 40, bottom = 20, top = 10;
  let max = 1, first = s.time;
  for (const points of history.values()) {
    for (const p of points) { max = Math.max(max, p[1]); first = Math.min(first, p[0]); }
  }
  // A page opened a moment ago spreads what it has over the width, up to five minutes.
  const span = Math.min(kWindowSeconds, Math.max(10, s.time - first));
  const x = t => left + (width - left - 10) * (1 - (s.time - t) / span);
  const y = v => height - bottom - (height - bottom - top) * v / max;
  svg.replaceChildren();
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
  };
  add("line", {x1: left, y1: y(0), x2: width - 10, y2: y(0), stroke: "#999"});
  add("text", {x: 4, y: y(max) + 4}, String(max));
  add("text", {x: 4, y: y(0) + 4}, "0");
  add("text", {x: left, y: height - 4},
      span >= 60 ? "-" + (span / 60).toFixed(1) + " min" : "-" + span.toFixed(0) + " s");
  add("text", {x: width - 40, y: height - 4}, "now");
  add("text", {x: left + 10, y: top + 12}, "open connections per backend");
  s.backends.forEach((b, i) => {
    const points = history.get(b.name) || [];
    add("polyline", {fill: "none", stroke: colour(i), "stroke-width": 2,
                     points: points.map(p => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ")});
  });
}

async function poll() {
  try {
    const reply = await fetch("/status.json", {cache: "no-store"});
    if (!reply.ok) throw new Error("/status.json answered " + reply.status);
    render(await reply.json());
  } catch (e) {
    document.getElementById("error").textContent = "status unavailable: " + e.message;
  }
}
poll();
setInterval(poll, 1000);
</script>
</body>
</html>
)PAGE";

}  // namespace

std::string_view status_page_html() { return kPage; }

}  // namespace pinwheel
