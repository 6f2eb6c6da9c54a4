// The report as one self-contained HTML page: the uPlot charting library and its CSS are inlined, the session's
// figures travel as JSON in the page, nothing is fetched when it is viewed. Every figure shown links back to the
// line of the log it came from (tooltips say "line N").

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FAILURES, failureInfo, failureLevel } from "tether/diag/failures";
import { ERROR } from "tether/diag/log";
import { PROSE } from "../../scripts/troubleshooting-causes";
import { failuresByCode, type Sample, type Session } from "./session";
import { seconds, type Verdict } from "./verdict";

const UPLOT = "node_modules/uplot/dist";

/**
 * Colours per failure code, by severity: errors (auth, TLS, WebSocket: the device cannot get in until someone acts)
 * in reds and magentas, warnings in oranges, browns and olives; each code in a report a hue of its own, in the
 * order the codes first appear.
 */
const ERROR_COLOURS = ["#d62728", "#9e0142", "#e7298a", "#7a0177", "#f768a1", "#67001f"];
const WARN_COLOURS = ["#ff7f0e", "#a6761d", "#e6ab02", "#8c6d31", "#d95f02", "#bcbd22", "#7f4f24", "#fdae61"];

export function codeColours(codes: readonly string[]): Map<string, string> {
  const colours = new Map<string, string>();
  let [errors, warnings] = [0, 0];
  for (const code of codes) {
    if (colours.has(code)) continue;
    const known = FAILURES.find((f) => f.code === code);
    const error = known !== undefined && failureLevel(known) === ERROR;
    colours.set(
      code,
      error ? ERROR_COLOURS[errors++ % ERROR_COLOURS.length]! : WARN_COLOURS[warnings++ % WARN_COLOURS.length]!,
    );
  }
  return colours;
}

const html = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
/** The prose's Markdown (`code` spans) as HTML. */
const md = (text: string) => html(text).replace(/`([^`]+)`/g, "<code>$1</code>");

interface Chart {
  id: string;
  title: string;
  unit: string;
  colour: string;
  style: "points" | "step" | "bars";
  x: number[];
  /** null: no line across this point (a reboot). */
  y: (number | null)[];
  /** What the legend says of the figures: count, range, last. */
  summary: string;
  /** Where such figures come from, said when the log has none. */
  missing?: string;
}

/** n, min, median, max and the last value, for a legend that says something without a cursor on the chart. */
function summarize(values: number[], unit: string): string {
  if (values.length === 0) return "";
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `n=${values.length}, min ${sorted[0]} ${unit}, median ${median} ${unit}, max ${sorted.at(-1)} ${unit}, last ${values.at(-1)} ${unit}`;
}

function chart(
  id: string,
  title: string,
  unit: string,
  colour: string,
  style: Chart["style"],
  samples: Sample[],
  boots: number[] = [],
): Chart {
  const x: number[] = [];
  const y: (number | null)[] = [];
  let b = 0;
  for (const s of samples) {
    // A line or a step never runs across a reboot: a null point where the boot is.
    while (b < boots.length && boots[b]! < s.t) {
      if (style === "step" && x.length && boots[b]! > 0) {
        x.push(boots[b]! / 1000);
        y.push(null);
      }
      b++;
    }
    x.push(s.t / 1000);
    y.push(s.value);
  }
  return {
    id,
    title,
    unit,
    colour,
    style,
    x,
    y,
    summary: summarize(
      samples.map((s) => s.value),
      unit,
    ),
  };
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

/** A setting's samples carried to the next boot or the end of the session: it stays in force until changed. */
function untilEnd(samples: Sample[], span: number, boots: number[]): Sample[] {
  const out: Sample[] = [];
  samples.forEach((s, i) => {
    out.push(s);
    const next = samples[i + 1]?.t ?? span;
    const boot = boots.find((b) => b > s.t && b <= next);
    const until = boot ?? next;
    if (until > s.t) out.push({ ...s, t: until });
  });
  return out;
}

/** A moment on the broker's side, placed on the device's time (see broker-log.ts). */
export interface BrokerMark {
  t: number;
  line: number;
  text: string;
  /** Whether it ended a connection of the device's (a close, a timeout, a takeover). */
  ends: boolean;
}

function timeline(session: Session, colours: Map<string, string>, broker: BrokerMark[] | undefined): string {
  const span = Math.max(1, session.span);
  const pct = (t: number) => `${((Math.max(0, Math.min(t, span)) / span) * 100).toFixed(3)}%`;
  const bars = session.periods.map(
    (p) =>
      `<div class="up" style="left:${pct(p.t)};width:${pct(Math.max(p.end - p.t, span / 1000))}" title="line ${p.line}: connected at ${seconds(p.t)} for ${seconds(p.end - p.t)}, ended by ${html(p.endedBy)}"></div>`,
  );
  const marks = session.failures.map(
    (f) =>
      `<div class="fail" style="left:${pct(f.t)};background:${colours.get(f.code)}" title="line ${f.line}: ${html(f.code)}${f.repeats > 1 ? ` (${f.repeats} similar suppressed)` : ""} at ${seconds(f.t)}"></div>`,
  );
  const boots = session.bootsAt.map(
    (b, i) =>
      `<div class="boot" style="left:${pct(b.t)}" title="line ${b.line}: boot ${i + 1} at ${seconds(b.t)}"><span>boot ${i + 1}</span></div>`,
  );
  const brokerLane = broker
    ? `<div class="timeline broker" title="the broker's log">${broker
        .map(
          (m) =>
            `<div class="bev${m.ends ? " ends" : ""}" style="left:${pct(m.t)}" title="broker log line ${m.line}: ${html(m.text)}"></div>`,
        )
        .join("")}</div>`
    : "";
  const legend = [...colours].map(([code, colour]) => `<span><i style="background:${colour}"></i>${html(code)}</span>`);
  return `<div class="timeline">${bars.join("")}${marks.join("")}${boots.join("")}</div>${brokerLane}
<div class="axis"><span>0 s</span><span>${seconds(span)}</span></div>
<div class="legend"><span><i class="upkey"></i>connected</span><span><i class="bootkey"></i>boot (time off not in the log)</span>${
    broker ? '<span><i class="brokerkey"></i>broker: a connection of this device ended</span>' : ""
  }${legend.join("")}</div>`;
}

function failureTable(session: Session, colours: Map<string, string>): string {
  const device = session.deviceCounts;
  const rows = failuresByCode(session).map(({ code, count, first, last }) => {
    const info = failureInfo(code);
    const causes = PROSE[code].causes.map((c) => `<li>${md(c.cause)} <em>${md(c.fix)}</em></li>`).join("");
    const counted = device ? (device.counts[code] ?? 0) : undefined;
    const differs = counted !== undefined && counted !== count;
    const deviceCell =
      counted === undefined
        ? ""
        : `<td${differs ? ' class="differs" title="repeats held back by the rate limit when the log ends, or failures before the log began"' : ""}>${counted}</td>`;
    return `<tr><td><i style="background:${colours.get(code)}"></i><code>${code}</code></td><td>${info.layer}</td><td>${count}</td>${deviceCell}
<td>${first.line}${last !== first ? ` … ${last.line}` : ""}</td><td><p class="hint">${html(info.hint)}</p><ul>${causes}</ul></td></tr>`;
  });
  if (rows.length === 0) return "<p>No failure lines.</p>";
  const deviceHead = device ? `<th title="from the stats reply on line ${device.line}">the device counted</th>` : "";
  return `<table class="failures"><thead><tr><th>code</th><th>layer</th><th>lines</th>${deviceHead}<th>log lines</th><th>hint, causes and fixes</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The events in order, one row each, runs of one failure coalesced; the broker's events merged in when given. */
function eventTable(session: Session, colours: Map<string, string>, broker: BrokerMark[] | undefined): string {
  const rows = session.events.map((e) => ({
    t: e.t,
    html: `<tr class="${e.kind}"><td>${seconds(e.t)}</td><td>device</td><td>${e.line}${e.lastLine !== e.line ? ` … ${e.lastLine}` : ""}</td><td>${
      e.code ? `<i style="background:${colours.get(e.code)}"></i>` : ""
    }${html(e.kind === "failure" ? e.code! : e.kind)}${e.count > 1 ? ` <b>×${e.count}</b> until ${seconds(e.end)}` : ""}</td><td><code>${html(clip(e.text))}</code></td></tr>`,
  }));
  for (const m of broker ?? []) {
    rows.push({
      t: m.t,
      html: `<tr class="broker${m.ends ? " ends" : ""}"><td>${seconds(m.t)}</td><td>broker</td><td>${m.line}</td><td>${m.ends ? "ended a connection" : ""}</td><td><code>${html(clip(m.text))}</code></td></tr>`,
    });
  }
  rows.sort((a, b) => a.t - b.t);
  if (rows.length === 0) return "<p>No events.</p>";
  return `<table class="events"><thead><tr><th>time</th><th>side</th><th>line</th><th>event</th><th>text</th></tr></thead><tbody>${rows
    .map((r) => r.html)
    .join("")}</tbody></table>`;
}

const clip = (text: string) => (text.length > 160 ? `${text.slice(0, 157)}...` : text);

// Runs in the page: draws each chart with uPlot, or says the log has no such figures. Boots are drawn as dashed
// vertical lines on every chart; the legend names the figures (n, range, last) rather than a cursor's value.
const DRAW = `
const data = JSON.parse(document.getElementById("data").textContent);
const bootLines = {
  hooks: {
    draw: [(u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = "#555";
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1;
      for (const b of data.boots) {
        const x = Math.round(u.valToPos(b, "x", true));
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    }],
  },
};
for (const c of data.charts) {
  const el = document.getElementById(c.id);
  if (c.x.length === 0) {
    const p = el.appendChild(document.createElement("p"));
    p.className = "empty";
    p.textContent = c.title + ": no such lines in this log" + (c.missing ? " (" + c.missing + ")" : "");
    continue;
  }
  const paths = c.style === "step" ? uPlot.paths.stepped({ align: 1 }) : c.style === "bars" ? uPlot.paths.bars({ size: [0.8, 40] }) : () => null;
  new uPlot({
    title: c.title, width: Math.max(400, el.clientWidth || 900), height: 180,
    // Every chart spans the whole session, as the timeline does, so that they line up.
    // From zero up: a figure's size reads at a glance, and no value falls off the edge.
    scales: { x: { time: false, range: [0, Math.max(data.span, 0.001)] }, y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] } },
    legend: { show: true, live: false },
    plugins: [bootLines],
    axes: [{ label: "time, s" }, { label: c.unit, size: 70 }],
    series: [{ label: "time, s" }, { label: c.summary, stroke: c.colour, fill: c.style === "bars" ? c.colour : undefined, width: 2, paths, spanGaps: false, points: { show: c.style !== "bars", size: 6 } }],
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
.timeline .boot { position: absolute; top: 0; height: 34px; border-left: 2px dashed #333; }
.timeline .boot span { position: absolute; left: 3px; top: 0; font-size: 10px; color: #333; white-space: nowrap; }
.timeline.broker { height: 16px; margin-top: 3px; background: #f4f1fa; }
.timeline .bev { position: absolute; top: 3px; width: 2px; height: 10px; background: #a9c; }
.timeline .bev.ends { top: 0; width: 3px; height: 16px; background: #526; }
.axis { display: flex; justify-content: space-between; color: #666; font-size: 12px; }
.legend span { margin-right: 14px; white-space: nowrap; } i { display: inline-block; width: 11px; height: 11px; margin-right: 5px; border-radius: 2px; }
.legend .upkey { background: #8ab; } .legend .bootkey { border-left: 2px dashed #333; width: 4px; border-radius: 0; }
.legend .brokerkey { background: #526; }
.charts > div { margin: 10px 0; } .empty { color: #888; }
table { border-collapse: collapse; width: 100%; } td, th { border-top: 1px solid #ddd; padding: 5px 6px; vertical-align: top; text-align: left; }
table.events td { font-size: 12.5px; } table.events code { font-size: 11.5px; word-break: break-all; }
tr.boot td { background: #eef; font-weight: 600; } tr.broker td { background: #f8f5fc; } tr.broker.ends td { background: #efe6f7; }
td.differs { color: #b30; font-weight: 600; }
.hint { margin: 0 0 4px; } ul { margin: 0; padding-left: 18px; } code { font-size: 13px; }
pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; font-size: 12px; }
`;

export interface ReportExtras {
  /** The broker's log, placed on the device's time. */
  broker?: { source: string; marks: BrokerMark[]; alignment: string };
}

export function renderReport(session: Session, result: Verdict, source: string, extras: ReportExtras = {}): string {
  const uplotJs = readFileSync(resolve(UPLOT, "uPlot.iife.min.js"), "utf8");
  const uplotCss = readFileSync(resolve(UPLOT, "uPlot.min.css"), "utf8");
  const colours = codeColours(session.failures.map((f) => f.code));
  const boots = session.bootsAt.map((b) => b.t);
  const charts: Chart[] = [
    chart("retries", "Reconnect delays", "ms", "#d62", "points", session.retries),
    chart("rtts", "Round-trip times", "ms", "#27c", "points", session.rtts),
    {
      // The legend counts the settings the log gave, not the points that carry them to the next boot.
      ...chart("keepalive", "Keep alive", "s", "#838", "step", untilEnd(session.keepAlive, session.span, boots), boots),
      summary: summarize(
        session.keepAlive.map((s) => s.value),
        "s",
      ),
    },
    {
      ...chart("traffic", "Traffic", "bytes", "#2a8", "bars", buckets(session.traffic, session.span)),
      missing: "received messages show at log level info; `trace on` shows every packet",
    },
    {
      ...chart("heap", "Heap in use", "bytes", "#a60", "points", session.heap),
      missing: "type `status` or `stats` on the console now and then to record it",
    },
  ];
  const json = JSON.stringify({ charts, span: session.span / 1000, boots: boots.map((t) => t / 1000) }).replace(
    /</g,
    "\\u003c",
  );
  const evidence = result.evidence.map((f) => `line ${f.line}: ${f.text}`).join("\n");
  const broker = extras.broker;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tether session report: ${html(source)}</title>
<style>${uplotCss}${STYLE}</style></head>
<body>
<h1>Tether session report</h1>
<p>${html(source)}: ${session.lines} lines, ${session.logLines} log lines, ${session.boots} boot${session.boots === 1 ? "" : "s"}, ${seconds(session.span)}.${
    broker
      ? ` The broker's log: ${html(broker.source)}, ${broker.marks.length} lines about this device; ${html(broker.alignment)}.`
      : ""
  }</p>
<div class="verdict${result.code ? "" : " ok"}" id="verdict"><p><strong>${html(result.headline)}</strong></p>
${result.broker ? `<p>The broker's side: ${html(result.broker)}</p>` : ""}${result.advice ? `<p>First check: ${md(result.advice)}</p>` : ""}${evidence ? `<pre>${html(evidence)}</pre>` : ""}</div>
<h2>Timeline</h2>
${timeline(session, colours, broker?.marks)}
<h2>Figures</h2>
<div class="charts">${charts.map((c) => `<div id="${c.id}"></div>`).join("")}</div>
<h2>Failures by code</h2>
${failureTable(session, colours)}
<h2>Events</h2>
${eventTable(session, colours, broker?.marks)}
<script id="data" type="application/json">${json}</script>
<script>${uplotJs}</script>
<script>${DRAW}</script>
</body></html>
`;
}
