// Task functions the whole-process benchmarks (bench/cli.ts) run through the CLI. bench/cli.ts
// copies this file (as .ts) and its build (as .mjs) next to a temporary store, away from the
// repository, so that the CLI sees a stable file outside any git work tree.
import { appendFileSync } from "node:fs";

export function triple(x: number): number {
  return x * 3;
}

/** Half a second of sleep; appends a line to `log` each time it actually runs. */
export function slow(log: string): string {
  appendFileSync(log, "ran\n");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  return "done";
}
