// Runs one scenario on a fresh lab: checks what it needs, runs it within its time, and keeps what the devices wrote
// and what the lab did for the summary. `linger` keeps the bench up after the diagnosis (the user goes on typing).

import { Lab, type LabEvents, type Note, SCENARIO_TIMEOUT_MS } from "./lab";
import { type Expected, missing, type Scenario } from "./scenarios";

export interface Outcome {
  scenario: Scenario;
  /** Why the scenario did not produce its diagnosis (a missing tool, a timeout, an error); undefined when it did. */
  error?: string;
  /** Serial output of each device, by name; the first is the device the user types to. */
  output: Map<string, string>;
  notes: Note[];
  /** Every code the first device named, in order of first appearance. */
  codes: string[];
}

export interface RunOptions extends LabEvents {
  /** Settles when the user gives up (Ctrl-C): the run ends there. */
  stopped?: Promise<void>;
  /** Called once the diagnosis is in, with the lab still up; the run ends when the promise it returns settles. */
  linger?(lab: Lab): Promise<void>;
}

export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<Outcome> {
  const lab = new Lab(options);
  let error = missing(scenario);
  /** The scenario's own run, which a timeout or the user cuts short: it is waited for all the same, below. */
  let running: Promise<void> | undefined;
  if (!error) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no diagnosis within ${SCENARIO_TIMEOUT_MS / 1000} s`)),
        SCENARIO_TIMEOUT_MS,
      );
    });
    try {
      const stopped = options.stopped?.then(() => {
        throw new Error("stopped before the diagnosis");
      });
      running = scenario.run(lab);
      await Promise.race([running, timeout, ...(stopped ? [stopped] : [])]);
      const first = [...lab.devices.values()][0];
      lab.note(`the device named ${diagnosis(scenario.expect, first ? first.codes() : []).join(" and ")}`);
      await options.linger?.(lab);
    } catch (caught) {
      error = (caught as Error).message.split("\n")[0];
    } finally {
      clearTimeout(timer);
    }
  }
  await lab.close();
  // A scenario cut short is still waiting for its device (which close() stopped: the wait fails at once) or about to
  // start something (which close() stops at once, see Lab.defer): nothing of it may run after the run has ended.
  await running?.catch(() => {});
  const devices = [...lab.devices.entries()];
  const first = devices[0]?.[1];
  return {
    scenario,
    error,
    output: new Map(devices.map(([name, probe]) => [name, probe.output])),
    notes: lab.notes,
    codes: first ? first.codes() : [],
  };
}

/** The codes of `expected` in words: `broker_closed or tcp_reset`. */
export function label(expected: Expected): string {
  return typeof expected === "string" ? expected : expected.join(" or ");
}

/** For each expectation met by `codes` (in order of first appearance), the first of its codes named. */
export function diagnosis(expect: Expected[], codes: string[]): string[] {
  const found: string[] = [];
  for (const expected of expect) {
    const options: string[] = typeof expected === "string" ? [expected] : expected;
    const code = codes.find((named) => options.includes(named));
    if (code) found.push(code);
  }
  return found;
}

/** The expectations the first device met with none of their codes, in words. */
export function unnamed(outcome: Outcome): string[] {
  return outcome.scenario.expect.filter((expected) => diagnosis([expected], outcome.codes).length === 0).map(label);
}

/** Codes the first device named that neither are expected nor come with the condition: a wrong diagnosis. */
export function misnamed(outcome: Outcome): string[] {
  const fitting: string[] = [...outcome.scenario.expect.flat(), ...outcome.scenario.allowed];
  return outcome.codes.filter((code) => !fitting.includes(code));
}
