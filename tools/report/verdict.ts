// The report's short verdict: the most likely cause and the lines that show it. Codes that name a pattern
// (session_taken_over, flapping, nat_idle_timeout_suspected) are conclusions the device drew from the failures
// around them, so they outrank those failures; then the code that ended the most connections; then the code seen
// most often (a device that never connected).

import type { Code } from "tether/diag/codes";
import { failureInfo } from "tether/diag/failures";
import { PROSE } from "../../scripts/troubleshooting-causes";
import { type Failure, failuresByCode, type Session } from "./session";

/** Pattern codes, the most telling first: the device names them only after several connections died alike. */
const PATTERNS: Code[] = ["nat_idle_timeout_suspected", "session_taken_over", "flapping"];

export interface Verdict {
  /** The most likely cause's code; undefined when the log shows no failure. */
  code?: Code;
  /** One sentence. */
  headline: string;
  /** The lines behind it. */
  evidence: Failure[];
  /** What to do first (the code's most likely cause and its fix). */
  advice?: string;
  /** What the broker's log says about the same moments, when it was given. */
  broker?: string;
}

export function verdict(session: Session): Verdict {
  const connected = session.periods.reduce((sum, p) => sum + (p.end - p.t), 0);
  const share = session.span > 0 ? Math.round((connected / session.span) * 100) : 0;
  const uptime = `${session.periods.length} connection${session.periods.length === 1 ? "" : "s"}, connected ${share}% of ${seconds(session.span)}`;
  const byCode = failuresByCode(session);
  if (byCode.length === 0) return { headline: `No failure in this log: ${uptime}.`, evidence: [] };
  // The latest pattern conclusion is the device's most refined one.
  const patterns = session.failures.filter((f) => PATTERNS.includes(f.code as Code));
  // Else what ended connections: failures while reconnecting (a refused port during a restart) are its aftermath.
  const enders = byCode.filter((e) => session.periods.some((p) => p.endedBy === e.code));
  const ended = (code: string) => session.periods.filter((p) => p.endedBy === code).length;
  enders.sort((a, b) => ended(b.code) - ended(a.code));
  const chosen = patterns.length ? byCode.find((e) => e.code === patterns.at(-1)!.code)! : (enders[0] ?? byCode[0]!);
  const info = failureInfo(chosen.code);
  const [cause] = PROSE[chosen.code].causes;
  return {
    code: chosen.code,
    headline: `Most likely: ${chosen.code} (${info.layer} layer), ${chosen.count} time${chosen.count === 1 ? "" : "s"}; ${uptime}. ${PROSE[chosen.code].summary}`,
    evidence: session.failures.filter((f) => f.code === chosen.code && !f.summary).slice(0, 3),
    advice: cause ? `${cause.cause} ${cause.fix}` : info.hint,
  };
}

export function seconds(ms: number): string {
  return ms < 10000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms < 120000
      ? `${Math.round(ms / 1000)} s`
      : `${(ms / 60000).toFixed(1)} min`;
}
