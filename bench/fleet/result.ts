// What a fleet run measured, the same for a real run and a simulated one: attempts per second (every dial, and
// those that reached a listening broker), totals, and how long the fleet took to be connected again; then the
// JSON result, a text summary and a self-contained SVG chart.

export type Scenario = "broker-restart" | "auth-outage" | "power-on";
export const SCENARIOS: readonly Scenario[] = Object.freeze(["broker-restart", "auth-outage", "power-on"]);

/** The moment the times are measured from, per scenario. */
export const ORIGIN: Record<Scenario, string> = Object.freeze({
  "broker-restart": "broker back",
  "auth-outage": "auth fixed",
  "power-on": "power-on",
});

/** What a run records, times in ms on one clock. */
export interface Recording {
  /** Every dial a client made. */
  attempts: number[];
  /** Dials that reached a listening broker (counted at the broker when it can be, else by the clients). */
  atBroker: number[] | undefined;
  /** Per device, the first time it was connected after the disruption began (NaN: never). */
  connectedAt: Float64Array;
  /** Attempts the clients saw reach a listening broker (not refused), when they tell. */
  reached?: number;
  /** Attempts the clients saw answered by a broker (a CONNACK either way), when they tell. */
  answered?: number;
  /** When the disruption began (the broker stopped, the power came on). */
  disruption: number;
  /** The origin of the reported times (see ORIGIN). */
  origin: number;
  /** Other moments worth a mark on the chart, ms on the same clock. */
  marks: { name: string; at: number }[];
}

export interface FleetResult {
  mode: "real" | "simulated";
  client: string;
  scenario: Scenario;
  devices: number;
  broker: string;
  settings: Record<string, string>;
  origin: string;
  /** Seconds from the origin of the first one-second bin. */
  start: number;
  attemptsPerSecond: number[];
  atBrokerPerSecond: number[] | null;
  /** Fraction of the fleet reconnected (since the disruption) by the end of each bin. */
  connectedFraction: number[];
  marks: { name: string; at: number }[];
  /**
   * Since the disruption. `reachedByClients`: attempts the clients saw reach a listening broker; `answeredByClients`:
   * those it answered. A broker accepts (and logs) at least the ones it answered, and at most the ones that reached it:
   * one that stops leaves the connections the kernel took for it unaccepted.
   */
  totals: {
    attempts: number;
    atBroker: number | null;
    reachedByClients: number | null;
    answeredByClients: number | null;
  };
  peakPerSecond: { attempts: number; atBroker: number | null };
  /** ms after the origin by which 50, 99 and 100% of the devices were connected; null when they never were. */
  reconnected: { p50: number | null; p99: number | null; p100: number | null; missing: number };
  notes: string[];
}

export interface Described {
  mode: FleetResult["mode"];
  client: string;
  scenario: Scenario;
  broker: string;
  settings: Record<string, string>;
  notes: string[];
}

/** The largest number of a list that may be longer than a call's arguments can be (a day of seconds). */
function most(list: readonly number[]): number {
  let m = 0;
  for (const v of list) if (v > m) m = v;
  return m;
}

/** Bins the recording by second from the disruption (or 5 s before the origin, whichever is first) to the end. */
export function summarize(d: Described, r: Recording, end: number): FleetResult {
  const n = r.connectedAt.length;
  const from = Math.min(r.disruption, r.origin - 5000);
  const start = Math.floor((from - r.origin) / 1000);
  const bins = Math.max(1, Math.ceil((end - r.origin) / 1000) - start);
  const bin = (list: number[]) => {
    const out = new Array<number>(bins).fill(0);
    for (const t of list) {
      const i = Math.floor((t - r.origin) / 1000) - start;
      if (i >= 0 && i < bins) out[i]!++;
    }
    return out;
  };
  const times = Array.from(r.connectedAt)
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b);
  const reconnectedBy = bin(times);
  let sum = 0;
  const connectedFraction = reconnectedBy.map((k) => {
    sum += k;
    return sum / n;
  });
  const rank = (q: number) => {
    const i = Math.ceil(q * n) - 1;
    return i < times.length ? Math.max(0, Math.round(times[i]! - r.origin)) : null;
  };
  const attemptsPerSecond = bin(r.attempts);
  const atBrokerPerSecond = r.atBroker ? bin(r.atBroker) : null;
  return {
    ...d,
    devices: n,
    origin: ORIGIN[d.scenario],
    start,
    attemptsPerSecond,
    atBrokerPerSecond,
    connectedFraction,
    marks: r.marks.map((m) => ({ name: m.name, at: Math.round(m.at - r.origin) })),
    totals: {
      attempts: r.attempts.length,
      atBroker: r.atBroker ? r.atBroker.length : null,
      reachedByClients: r.reached ?? null,
      answeredByClients: r.answered ?? null,
    },
    peakPerSecond: {
      attempts: most(attemptsPerSecond),
      atBroker: atBrokerPerSecond ? most(atBrokerPerSecond) : null,
    },
    reconnected: { p50: rank(0.5), p99: rank(0.99), p100: rank(1), missing: n - times.length },
  };
}

const seconds = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);

/** A few lines for the terminal. */
export function textSummary(r: FleetResult): string {
  const broker =
    r.totals.atBroker === null ? "" : `, ${r.totals.atBroker} at the broker (peak ${r.peakPerSecond.atBroker}/s)`;
  return [
    `${r.client}, ${r.mode}, ${r.scenario}, ${r.devices} devices (times from ${r.origin})`,
    `  attempts: ${r.totals.attempts} (peak ${r.peakPerSecond.attempts}/s)${broker}`,
    `  connected: 50% ${seconds(r.reconnected.p50)}, 99% ${seconds(r.reconnected.p99)}, 100% ${seconds(r.reconnected.p100)}${r.reconnected.missing ? ` (${r.reconnected.missing} never)` : ""}`,
    ...r.notes.map((note) => `  note: ${note}`),
  ].join("\n");
}

const PANEL_W = 760;
const PANEL_H = 190;
const PAD = { left: 56, right: 56, top: 30, bottom: 34 };

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A step above `max` on a 1-2-5 scale, for an axis. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/**
 * One panel per result, stacked, on a common time axis: bars for the attempts per second at the broker (or every
 * attempt when the broker's count is not known), a grey line for every attempt, a green line for the share of the
 * fleet connected again (right axis). Self-contained: no script, no external font.
 */
export function chart(results: readonly FleetResult[], title: string): string {
  const t0 = Math.min(...results.map((r) => r.start));
  const t1 = Math.max(...results.map((r) => r.start + r.attemptsPerSecond.length));
  const span = Math.max(1, t1 - t0);
  const plotW = PANEL_W - PAD.left - PAD.right;
  const plotH = PANEL_H - PAD.top - PAD.bottom;
  const x = (s: number) => PAD.left + ((s - t0) / span) * plotW;
  const parts: string[] = [];
  const height = 46 + results.length * PANEL_H;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_W}" height="${height}" viewBox="0 0 ${PANEL_W} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${PANEL_W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${xml(title)}</text>`,
  );
  results.forEach((r, k) => {
    const top = 28 + k * PANEL_H;
    const bars = r.atBrokerPerSecond ?? r.attemptsPerSecond;
    const yMax = niceMax(Math.max(most(r.attemptsPerSecond), most(bars)));
    const y = (v: number) => top + PAD.top + plotH - (v / yMax) * plotH;
    const yFrac = (f: number) => top + PAD.top + plotH - f * plotH;
    const barW = Math.max(1, plotW / span - 1);
    const label = `${r.client} (${r.mode}): peak ${r.peakPerSecond.atBroker ?? r.peakPerSecond.attempts}/s ${r.atBrokerPerSecond ? "at the broker" : "attempts"}, ${r.totals.attempts} attempts, 99% back ${seconds(r.reconnected.p99)}, all ${seconds(r.reconnected.p100)}`;
    parts.push(`<text x="${PAD.left}" y="${top + 18}" font-weight="bold">${xml(label)}</text>`);
    // Axes and grid.
    for (const f of [0, 0.5, 1]) {
      const gy = y(f * yMax);
      parts.push(
        `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${gy}" y2="${gy}" stroke="#ddd"/>`,
        `<text x="${PAD.left - 4}" y="${gy + 4}" text-anchor="end">${f * yMax}</text>`,
        `<text x="${PAD.left + plotW + 4}" y="${yFrac(f) + 4}" fill="#2a7">${f * 100}%</text>`,
      );
    }
    const step = niceMax(span / 8);
    for (let s = Math.ceil(t0 / step) * step; s <= t1; s += step) {
      parts.push(
        `<line x1="${x(s)}" x2="${x(s)}" y1="${top + PAD.top + plotH}" y2="${top + PAD.top + plotH + 4}" stroke="#444"/>`,
        `<text x="${x(s)}" y="${top + PAD.top + plotH + 16}" text-anchor="middle">${s}</text>`,
      );
    }
    parts.push(
      `<text x="${PAD.left + plotW}" y="${top + PAD.top + plotH + 30}" text-anchor="end">s from ${xml(r.origin)}</text>`,
      `<text x="12" y="${top + PAD.top + plotH / 2}" transform="rotate(-90 12 ${top + PAD.top + plotH / 2})" text-anchor="middle">per second</text>`,
    );
    // Bars: attempts at the broker per second.
    bars.forEach((v, i) => {
      if (v > 0)
        parts.push(
          `<rect x="${x(r.start + i).toFixed(1)}" y="${y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="#4a78c2"/>`,
        );
    });
    // Every attempt, where that differs from the bars.
    if (r.atBrokerPerSecond) {
      const points = r.attemptsPerSecond.map((v, i) => `${x(r.start + i + 0.5).toFixed(1)},${y(v).toFixed(1)}`);
      parts.push(`<polyline points="${points.join(" ")}" fill="none" stroke="#999" stroke-width="1"/>`);
    }
    const connected = r.connectedFraction.map((f, i) => `${x(r.start + i + 1).toFixed(1)},${yFrac(f).toFixed(1)}`);
    parts.push(`<polyline points="${connected.join(" ")}" fill="none" stroke="#2a7" stroke-width="2"/>`);
    for (const m of [{ name: r.origin, at: 0 }, ...r.marks]) {
      const mx = x(m.at / 1000);
      parts.push(
        `<line x1="${mx}" x2="${mx}" y1="${top + PAD.top}" y2="${top + PAD.top + plotH}" stroke="#c33" stroke-dasharray="3,3"/>`,
        `<text x="${mx + 3}" y="${top + PAD.top + 10}" fill="#c33">${xml(m.name)}</text>`,
      );
    }
  });
  parts.push(
    `<text x="${PAD.left}" y="${height - 4}" fill="#555">bars: attempts per second at the broker; grey: every attempt (refused ones too); green: share of the fleet connected again</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
