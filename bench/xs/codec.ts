// XS entry of the codec benchmark (loaded with test/helpers/xs.ts): one measurement per call, timed inside XS.
import { codecCases, tetherDecodeRate, tetherEncodeRate } from "../codec-cases";

const cases = codecCases();
const now = () => Date.now();

export default function (input: { index: number; op: "encode" | "decode"; ms: number }): number {
  const c = cases[input.index];
  return input.op === "encode" ? tetherEncodeRate(c, input.ms, now) : tetherDecodeRate(c, input.ms, now);
}
