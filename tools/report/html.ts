// The report as one self-contained HTML page: the uPlot charting library and its CSS are inlined, the session's
// figures travel as JSON in the page, nothing is fetched when it is viewed. Every figure shown links back to the
// line of the log it came from (tooltips say "line N").

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FAILURES, failureInfo } from "tether/diag/codes";
import { PROSE } from "../../scripts/troubleshooting-causes";
import { failuresByCode, type Sample, type Session } from "./session";
import { seconds, type Verdict } from "./verdict";

const UPLOT = "node_modules/uplot/dist";

/** A colour per failure code, stable across reports: the code's place in the table, around the colour wheel. */
export function codeColour(code: string): string {
  const index = Math.max(
    0,
    FAILURES.findIndex((f) => f.code === code),
  );
  return `hsl(${Math.round((index * 360 * 7) / FAILURES.length) % 360} 70% 42%)`;
}

const html = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

interface Chart {
  id: string;
  title: string;
  unit: string;
  colour: string;
  style: "points" | "step" | "bars";
  x: number[];
  y: number[];
  /** Where such figures come from, said when the log has none. */
  missing?: string;
}

function chart(
  id: string,
  title: string,
  unit: string,
  colour: string,
  style: Chart["style"],
  samples: Sample[],
): Chart {
  return { id, title, unit, colour, style, x: samples.map((s) => s.t / 1000), y: samples.map((s) => s.value) };
}

/** Bytes per time bucket: traffic is many small samples, a bar per bucket reads better. */
function buckets(samples: Sample[], span: number): Sample[] {
  if (samples.length === 0) return [];
  const width = Math.max(1000, Math.ceil(span / 60 / 1000) * 1000);
  const sums = new Map<number, number>();
  for (const s of samples)
    sums.set(Math.floor(s.t / width) * width, (sums.get(Math.floor(s.t / width) * width) ?? 0) + s.value);
  return [...sums].map(([t, value]) => ({ t, line: 0, value }));
}

/** A setting's samples with the last value carried to the end of the session: it stays in force until changed. */
function untilEnd(samples: Sample[], span: number): Sample[] {
  const last = samples.at(-1);
  return last && last.t < span ? [...samples, { ...last, t: span }] : samples;
}

function timeline(session: Session): string {
  const span = Math.max(1, session.span);
  const pct = (t: number) => `${((t / span) * 100).toFixed(3)}%`;
  const bars = session.periods.map(
    (p) =>
      `<div class="up" style="left:${pct(p.t)};width:${pct(Math.max(p.end - p.t, span / 1000))}" title="line ${p.line}: connected at ${seconds(p.t)} for ${seconds(p.end - p.t)}, ended by ${html(p.endedBy)}"></div>`,
  );
  const marks = session.failures.map(
    (f) =>
      `<div class="fail" style="left:${pct(f.t)};background:${codeColour(f.code)}" title="line ${f.line}: ${html(f.code)}${f.repeats > 1 ? ` (${f.repeats} similar suppressed)` : ""} at ${seconds(f.t)}"></div>`,
  );
  const codes = [...new Set(session.failures.map((f) => f.code))];
  const legend = codes.map((code) => `<span><i style="background:${codeColour(code)}"></i>${html(code)}</span>`);
  return `<div class="timeline">${bars.join("")}${marks.join("")}</div>
<div class="axis"><span>0 s</span><span>${seconds(span)}</span></div>
<div class="legend"><span><i class="upkey"></i>connected</span>${legend.join("")}</div>`;
}

function failureTable(session: Session): string {
  const rows = failuresByCode(session).map(({ code, count, first, last }) => {
    const info = failureInfo(code);
    const causes = PROSE[code].causes.map((c) => `<li>${html(c.cause)} <em>${html(c.fix)}</em></li>`).join("");
    return `<tr><td><i style="background:${codeColour(code)}"></i><code>${code}</code></td><td>${info.layer}</td><td>${count}</td>
<td>${first.line}${last !== first ? ` … ${last.line}` : ""}</td><td><p class="hint">${html(info.hint)}</p><ul>${causes}</ul></td></tr>`;
  });
  if (rows.length === 0) return "<p>No failure lines.</p>";
  return `<table class="failures"><thead><tr><th>code</th><th>layer</th><th>lines</th><th>log lines</th><th>hint, causes and fixes</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

// Runs in the page: draws each chart with uPlot, or says the log has no such figures.
const DRAW = `
const data = JSON.parse(document.getElementById("data").textContent);
for (const c of data.charts) {
  const el = document.getElementById(c.id);
  if (c.x.length === 0) {
    const p = el.appendChild(document.createElement("p"));
    p.className = "empty";
    p.textContent = c.title + ": no such lines in this log" + (c.missing ? " (" + c.missing + ")" : "");
    continue;
  }
  const paths = c.style === "step" ? uPlot.paths.stepped({ align: 1 }) : c.style === "bars" ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined;
  new uPlot({
    title: c.title, width: Math.max(400, el.clientWidth || 900), height: 180,
    // Every chart spans the whole session, as the timeline does, so that they line up.
    scales: { x: { time: false, range: [0, Math.max(data.span, 0.001)] } }, legend: { show: true },
    axes: [{ label: "time, s" }, { label: c.unit, size: 70 }],
    series: [{ label: "time, s" }, { label: c.unit, stroke: c.colour, fill: c.style === "bars" ? c.colour : undefined, width: 2, paths, points: { show: c.style !== "bars" } }],
  }, [c.x, c.y], el);
}
document.body.dataset.charts = String(document.querySelectorAll(".uplot").length);
`;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.verdict { border-left: 6px solid #c33; background: #fdf3f3; padding: 10px 14px; }
.verdict.ok { border-color: #2a8; background: #f1fbf6; }
.timeline { position: relative; height: 34px; background: #eee; border-radius: 4px; overflow: hidden; }
.timeline .up { position: absolute; top: 8px; height: 18px; background: #8ab; }
.timeline .fail { position: absolute; top: 0; width: 3px; height: 34px; margin-left: -1px; }
.axis { display: flex; justify-content: space-between; color: #666; font-size: 12px; }
.legend span { margin-right: 14px; white-space: nowrap; } i { display: inline-block; width: 11px; height: 11px; margin-right: 5px; border-radius: 2px; }
.legend .upkey { background: #8ab; }
.charts > div { margin: 10px 0; } .empty { color: #888; }
table.failures { border-collapse: collapse; width: 100%; } table.failures td, th { border-top: 1px solid #ddd; padding: 6px; vertical-align: top; text-align: left; }
.hint { margin: 0 0 4px; } ul { margin: 0; padding-left: 18px; } code { font-size: 13px; }
pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; font-size: 12px; }
`;

export function renderReport(session: Session, result: Verdict, source: string): string {
  const uplotJs = readFileSync(resolve(UPLOT, "uPlot.iife.min.js"), "utf8");
  const uplotCss = readFileSync(resolve(UPLOT, "uPlot.min.css"), "utf8");
  const charts: Chart[] = [
    chart("retries", "Reconnect delays", "ms", "#d62", "points", session.retries),
    chart("rtts", "Round-trip times", "ms", "#27c", "points", session.rtts),
    chart("keepalive", "Keep alive", "s", "#838", "step", untilEnd(session.keepAlive, session.span)),
    {
      ...chart("traffic", "Traffic", "bytes", "#2a8", "bars", buckets(session.traffic, session.span)),
      missing: "received messages show at log level info; `trace on` shows every packet",
    },
    {
      ...chart("heap", "Heap in use", "bytes", "#a60", "points", session.heap),
      missing: "type `status` or `stats` on the console now and then to record it",
    },
  ];
  const json = JSON.stringify({ charts, span: session.span / 1000 }).replace(/</g, "\\u003c");
  const evidence = result.evidence.map((f) => `line ${f.line}: ${f.text}`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tether session report: ${html(source)}</title>
<style>${uplotCss}${STYLE}</style></head>
<body>
<h1>Tether session report</h1>
<p>${html(source)}: ${session.lines} lines, ${session.logLines} log lines, ${session.boots} boot${session.boots === 1 ? "" : "s"}, ${seconds(session.span)}.</p>
<div class="verdict${result.code ? "" : " ok"}" id="verdict"><p><strong>${html(result.headline)}</strong></p>
${result.advice ? `<p>First check: ${html(result.advice)}</p>` : ""}${evidence ? `<pre>${html(evidence)}</pre>` : ""}</div>
<h2>Timeline</h2>
${timeline(session)}
<h2>Figures</h2>
<div class="charts">${charts.map((c) => `<div id="${c.id}"></div>`).join("")}</div>
<h2>Failures by code</h2>
${failureTable(session)}
<script id="data" type="application/json">${json}</script>
<script>${uplotJs}</script>
<script>${DRAW}</script>
</body></html>
`;
}
