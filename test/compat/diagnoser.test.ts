// The diagnoser is a part of the build (hosts/moddable/manifest_diagnose.json on a device), not of the drop-in
// itself: without it a client still names every failure to onClose, and prints no `diag` line; with it, the same
// failure also gets its line, evidence and hint. A pure test: the Host is driven by hand (bench/xs/manual-host.ts).
import { bindClient, type DiagnoserClass } from "tether/compat/mqtt";
import { Diagnoser } from "tether/diag/diagnose";
import { ManualHost } from "../../bench/xs/manual-host";

/** A client refused by its broker (3.1.1 CONNACK 5, not authorized): what onClose and the serial port say. */
function refused(diagnoser?: DiagnoserClass): { reasons: string[]; serial: string } {
  const host = new ManualHost();
  const Client = bindClient(host, undefined, diagnoser);
  const client = new Client({ host: "broker.invalid", id: "diag-test", reconnect: false });
  const reasons: string[] = [];
  client.onClose = (reason) => reasons.push(reason);
  host.open();
  host.feed(Uint8Array.of(0x20, 2, 0, 5));
  host.advance(0);
  return { reasons, serial: host.serial };
}

test("without the diagnoser, onClose names the failure and the serial port has no diag line", () => {
  const { reasons, serial } = refused();
  expect(reasons).toEqual(["not_authorized"]);
  expect(serial).not.toMatch(/ diag /);
});

test("with the diagnoser, the same failure has its diag line with the hint, and the same name to onClose", () => {
  const { reasons, serial } = refused(Diagnoser);
  expect(reasons).toEqual(["not_authorized"]);
  expect(serial).toMatch(/ diag not_authorized .*hint=/);
});
