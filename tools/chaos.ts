// `npm run chaos`: the randomized whole-device test (tools/chaos/). Seeded plans of console and remote operations,
// broker capabilities and link faults run against the firmware in the simulator and mosquitto; the invariants of
// tools/chaos/invariants.ts are checked on each run. A failing seed prints its operations and the command that
// runs it again, and its plan is saved as JSON (replay, or trim it by hand, with --plan).

import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { check, DEFAULT_LIMITS } from "./chaos/invariants";
import { HAZARDS, type Hazard, makePlan, type Plan } from "./chaos/plan";
import { report, saveRun } from "./chaos/report";
import { ChaosRun } from "./chaos/run";

const USAGE = `usage: npm run chaos -- [--minutes N] [--seed S] [--seeds N] [--ops N] [--plan FILE] [--out DIR] [--per-minute K] [--verbose]
  --minutes N     run seeds one after another for N minutes (default 2; a run under way is finished)
  --seed S        the first seed (default: random); alone, runs that one seed
  --seeds N       run N seeds (from --seed)
  --ops N         operations per plan (default 30)
  --plan FILE     run a saved plan (as a failing seed saves it)
  --out DIR       where failing plans are saved (default ${join(tmpdir(), "tether-chaos")})
  --per-minute K  connection attempts a minute per cause allowed (default ${DEFAULT_LIMITS.perMinute})
  --without LIST  hazards left out of the plans, comma-separated: ${HAZARDS.join(",")}
  --verbose       print each operation as it runs
`;

interface Options {
  minutes?: number;
  seed?: number;
  seeds?: number;
  ops: number;
  plan?: string;
  out: string;
  perMinute: number;
  verbose: boolean;
  without: Hazard[];
}

class UsageError extends Error {}

function parse(argv: string[]): Options | undefined {
  const options: Options = {
    ops: 30,
    out: join(tmpdir(), "tether-chaos"),
    perMinute: DEFAULT_LIMITS.perMinute,
    verbose: false,
    without: [],
  };
  const number = (i: number) => {
    const value = Number(argv[i + 1]);
    if (argv[i + 1] === undefined || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`${argv[i]} needs a number`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case "--help":
      case "-h":
        return undefined;
      case "--minutes":
        options.minutes = number(i++);
        break;
      case "--seed":
        options.seed = Math.floor(number(i++));
        break;
      case "--seeds":
        options.seeds = Math.floor(number(i++));
        break;
      case "--ops":
        options.ops = Math.floor(number(i++));
        break;
      case "--per-minute":
        options.perMinute = number(i++);
        break;
      case "--plan":
        options.plan = argv[++i];
        if (!options.plan) throw new UsageError("--plan needs a file");
        break;
      case "--out":
        options.out = argv[++i] ?? options.out;
        break;
      case "--without":
        options.without = (argv[++i] ?? "").split(",").map((name) => {
          if (!(HAZARDS as readonly string[]).includes(name))
            throw new UsageError(`no hazard "${name}" (${HAZARDS.join(", ")})`);
          return name as Hazard;
        });
        break;
      case "--verbose":
        options.verbose = true;
        break;
      default:
        throw new UsageError(`unknown option ${argv[i]}`);
    }
  }
  return options;
}

async function main(argv: string[]): Promise<number> {
  const options = parse(argv);
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const single =
    options.plan !== undefined ||
    (options.seed !== undefined && options.minutes === undefined && options.seeds === undefined);
  const deadline =
    Date.now() + (options.minutes ?? (options.seeds !== undefined ? Number.POSITIVE_INFINITY : 2)) * 60000;
  const first = options.seed ?? Math.floor(Math.random() * 1e6);
  let stop = false;
  process.on("SIGINT", () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write("chaos: stopping after this run (Ctrl-C again to leave now)\n");
  });
  mkdirSync(options.out, { recursive: true });
  const totals = { seeds: 0, ops: 0, attempts: 0, accepted: 0, delivered: 0, named: 0, excused: 0, violations: 0 };
  const failing: number[] = [];
  /** Violations by invariant, for the summary. */
  const byInvariant = new Map<string, number>();
  const started = Date.now();
  for (let seed = first; !stop; seed++) {
    if (options.seeds !== undefined && totals.seeds >= options.seeds) break;
    if (!single && totals.seeds > 0 && Date.now() >= deadline) break;
    const plan: Plan = options.plan
      ? (JSON.parse(readFileSync(options.plan, "utf8")) as Plan)
      : makePlan(seed, { ops: options.ops, hazards: HAZARDS.filter((h) => !options.without.includes(h)) });
    const note = options.verbose
      ? (text: string) => process.stderr.write(`chaos: seed ${plan.seed} ${text}\n`)
      : undefined;
    const at = Date.now();
    const record = await new ChaosRun(plan, { note }).run();
    const verdict = check(record, { perMinute: options.perMinute });
    const d = verdict.delivery;
    totals.seeds++;
    totals.ops += record.opsRun;
    totals.attempts += verdict.attempts;
    totals.accepted += d.accepted;
    totals.delivered += d.delivered;
    totals.named += d.named;
    totals.excused += d.excused;
    totals.violations += verdict.violations.length;
    for (const v of verdict.violations) byInvariant.set(v.invariant, (byInvariant.get(v.invariant) ?? 0) + 1);
    process.stdout.write(
      `seed ${plan.seed}: ${record.opsRun} ops, ${record.boots.length} boot(s), ${verdict.attempts} attempts, QoS 1/2 accepted ${d.accepted} delivered ${d.delivered} named ${d.named} excused ${d.excused}, ${record.probes.length} subscription(s) probed, ${verdict.violations.length} violation(s), ${Math.round((Date.now() - at) / 1000)} s\n`,
    );
    if (verdict.violations.length) {
      failing.push(plan.seed);
      const saved = saveRun(record, options.out);
      process.stdout.write(`${report(plan, verdict, options.without, saved.plan)}\n  serial output: ${saved.log}\n`);
    }
    if (single) break;
  }
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  process.stdout.write(
    `chaos summary: ${totals.seeds} seed(s) from ${first} in ${minutes} min, ${totals.ops} operations, ${totals.attempts} connection attempts, QoS 1/2 accepted ${totals.accepted} delivered ${totals.delivered} named ${totals.named} excused ${totals.excused}; ${totals.violations} violation(s)${byInvariant.size ? ` (${[...byInvariant].map(([name, n]) => `${name} ${n}`).join(", ")})` : ""}${failing.length ? ` in seeds ${failing.join(", ")}` : ""}\n`,
  );
  return totals.violations ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      error instanceof UsageError ? `chaos: ${error.message}\n${USAGE}` : `chaos: ${(error as Error).stack}\n`,
    );
    process.exit(2);
  },
);
