// What a failing chaos run prints: the violations, the plan, and the command that runs it again.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunRecord, Verdict } from "./invariants";
import { describeOp, type Hazard, type Plan } from "./plan";

/** What a failing run prints: the violations, then what reproduces them. */
export function report(plan: Plan, verdict: Verdict, without: readonly Hazard[], saved?: string): string {
  const lines = [`seed ${plan.seed}: ${verdict.violations.length} violation(s)`];
  for (const v of verdict.violations) lines.push(`  [${v.invariant}] ${v.detail}`);
  lines.push(`  broker: ${JSON.stringify(plan.broker)}`);
  lines.push(`  device: ${JSON.stringify(plan.device)}`);
  lines.push("  operations:");
  for (const [i, op] of plan.ops.entries()) lines.push(`    ${String(i + 1).padStart(3)}. ${describeOp(op)}`);
  const hazards = without.length ? ` --without ${without.join(",")}` : "";
  lines.push(
    `  reproduce: npm run chaos -- --seed ${plan.seed} --ops ${plan.ops.length}${hazards}${saved ? `   (or --plan ${saved})` : ""}`,
  );
  return lines.join("\n");
}

/**
 * Saves a run for a look later: its plan as JSON (for --plan) and every boot's serial output followed by mosquitto's
 * log. Returns the plan's path and the log's.
 */
export function saveRun(record: RunRecord, folder: string): { plan: string; log: string } {
  mkdirSync(folder, { recursive: true });
  const seed = record.plan.seed;
  const plan = join(folder, `chaos-seed-${seed}.json`);
  const log = join(folder, `chaos-seed-${seed}.log`);
  writeFileSync(plan, `${JSON.stringify(record.plan, null, 1)}\n`);
  const boots = record.boots.map((boot, i) => `=== boot ${i} (${boot.ended})\n${boot.output}`);
  writeFileSync(log, [...boots, `=== mosquitto\n${record.brokerLog ?? ""}`].join("\n"));
  return { plan, log };
}
