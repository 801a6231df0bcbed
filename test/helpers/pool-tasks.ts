// Tasks for the worker-pool tests: module exports (a worker thread loads them by file and export
// name). Executions are counted in files, since a worker's globals are not the test's.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isMainThread, threadId } from "node:worker_threads";
import { InvalidInputError } from "../../plumbing/errors.js";
import { context } from "../../porcelain/exec/context.js";

const count = (log: string): number => {
  appendFileSync(log, "run\n");
  return readFileSync(log, "utf8").split("\n").filter(Boolean).length;
};

/** Writes its marker, then waits — synchronously, holding its thread — for the other's. */
export function meetPartner(dir: string, me: string, other: string): string {
  writeFileSync(join(dir, me), "here");
  const deadline = Date.now() + 10_000;
  while (!existsSync(join(dir, other))) {
    if (Date.now() > deadline) throw new Error(`${me} never saw ${other}: the two tasks did not run at the same time`);
  }
  return `${me} met ${other}`;
}

export function spinForever(log: string): never {
  count(log);
  for (;;) {
    // a task that never looks at its signal: only stopping its thread ends it
  }
}

export function doubleCounted(log: string, x: number): number {
  count(log);
  return x * 2;
}

export function exitThread(log: string): never {
  count(log);
  process.exit(3);
}

export function refuse(log: string, reason: string): never {
  count(log);
  throw new RangeError(`refused: ${reason}`);
}

/** Throws one of cashet's own errors, which must cross back from its thread as that class. */
export function refuseInput(log: string, reason: string): never {
  count(log);
  throw new InvalidInputError(`bad input: ${reason}`);
}

export function flaky(log: string, failures: number): string {
  const n = count(log);
  if (n <= failures) throw new Error(`attempt ${n} failed`);
  return `ok on attempt ${context().attempt}`;
}

export function structured(): { when: Date; seen: Map<string, Set<number>>; samples: Float64Array; big: bigint } {
  return { when: new Date(0), seen: new Map([["a", new Set([1, 2])]]), samples: Float64Array.of(0.5, -0, Infinity), big: 2n ** 70n };
}

export function returnsFunction(): () => number {
  return () => 1;
}

/** Where it ran. */
export function whereAmI(label: string): { label: string; isMainThread: boolean; threadId: number } {
  return { label, isMainThread, threadId };
}
