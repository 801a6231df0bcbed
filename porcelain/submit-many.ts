// submitMany: runs a batch of tasks in dependency order. A task's arguments may hold placeholders
// for other tasks' outputs; each task starts once its dependencies are done, with the
// placeholders replaced by their results, at most `maxWorkers` at a time. What "running a task"
// means is the caller's (`runOne`), so the same scheduler serves the Client and anything else.
import { InvalidInputError } from "../plumbing/errors.js";
import { wholeNumber } from "../plumbing/validate.js";

/** What a batch did: tasks answered from the cache, tasks that ran, and the run time the cached ones did not spend (ms). */
export interface BatchSummary {
  cached: number;
  ran: number;
  savedMs: number;
}

/** A batch's summary as one line for people: `12 cached, 3 ran, saved 4m12s`. */
export function summaryLine(summary: BatchSummary): string {
  return `${summary.cached} cached, ${summary.ran} ran, saved ${savedForPeople(summary.savedMs)}`;
}

/** 850ms, 4.2s, 4m12s, 3h07m: the time a batch saved. */
function savedForPeople(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** The summary of a batch's answers (each cached or not, with the time it saved). */
export function batchSummary(answers: ReadonlyArray<{ cached: boolean; savedMs: number }>): BatchSummary {
  const summary: BatchSummary = { cached: 0, ran: 0, savedMs: 0 };
  for (const a of answers) {
    if (a.cached) {
      summary.cached++;
      summary.savedMs += a.savedMs;
    } else {
      summary.ran++;
    }
  }
  return summary;
}

/** Which task of the batch a placeholder names: its index (list form) or its key (record form). */
export type BatchKey = number | string;

export interface BatchTask {
  key: BatchKey;
  /** How errors name the task, e.g. `task 1 (train)`. */
  label: string;
  args: readonly unknown[];
}

export interface ScheduleOptions {
  /** Tasks running at once (≥ 1). */
  maxWorkers: number;
  /** The task a value stands for, if it is a placeholder. Without it no argument is a placeholder. */
  dependencyOf?: (value: unknown) => BatchKey | undefined;
  /** Stops starting tasks; the batch rejects with the signal's reason once running ones settle. */
  signal?: AbortSignal;
}

/**
 * Validates the batch (missing, self and circular dependencies are rejected before anything
 * runs), then runs it. Resolves with each task's result, in batch order. The first failure stops
 * new tasks from starting (its dependents never run); the batch rejects with it once the tasks
 * already running have settled.
 */
export async function submitMany<R>(
  tasks: readonly BatchTask[],
  runOne: (index: number, args: unknown[]) => Promise<R>,
  options: ScheduleOptions,
): Promise<R[]> {
  const { maxWorkers, dependencyOf = () => undefined, signal } = options;
  wholeNumber(maxWorkers, "maxWorkers", { min: 1 });
  const deps = dependencies(tasks, dependencyOf);
  assertAcyclic(tasks, deps);
  signal?.throwIfAborted();

  const n = tasks.length;
  const indexOf = new Map(tasks.map((t, i) => [t.key, i]));
  const results = new Array<R>(n);
  const waiting = deps.map((d) => d.length);
  const dependents: number[][] = tasks.map(() => []);
  deps.forEach((d, i) => d.forEach((j) => dependents[j]!.push(i)));
  const ready = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  let running = 0;
  let done = 0;
  let failure: { error: unknown } | undefined;

  return new Promise<R[]>((resolve, reject) => {
    const pump = (): void => {
      if (!failure && signal?.aborted) failure = { error: signal.reason };
      if (failure) {
        if (running === 0) reject(failure.error);
        return;
      }
      if (done === n) return resolve(results);
      while (running < maxWorkers && ready.length > 0) start(ready.shift()!);
    };
    const start = (i: number): void => {
      running++;
      Promise.resolve()
        .then(() => runOne(i, substitute(tasks[i]!.args, dependencyOf, (key) => results[indexOf.get(key)!]) as unknown[]))
        .then(
          (result) => {
            results[i] = result;
            done++;
            for (const d of dependents[i]!) if (--waiting[d]! === 0) ready.push(d);
          },
          (error: unknown) => {
            failure ??= { error };
          },
        )
        .finally(() => {
          running--;
          pump();
        });
    };
    pump();
  });
}

/** For each task, the indices of the tasks it waits for. Throws on a missing or self reference. */
function dependencies(tasks: readonly BatchTask[], dependencyOf: (value: unknown) => BatchKey | undefined): number[][] {
  const indexOf = new Map<BatchKey, number>();
  tasks.forEach((t, i) => {
    if (indexOf.has(t.key)) throw new InvalidInputError(`two tasks have the key ${JSON.stringify(t.key)}; keys must be unique`);
    indexOf.set(t.key, i);
  });
  return tasks.map((task, i) => {
    const found = new Set<number>();
    visit(task.args, dependencyOf, (key) => {
      const j = indexOf.get(key);
      if (j === undefined) {
        const keys = tasks.map((t) => JSON.stringify(t.key));
        throw new InvalidInputError(
          `${task.label} uses TaskRef(${JSON.stringify(key)}), but task ${JSON.stringify(key)} was not found in the batch ` +
            `(its tasks are ${keys.length > 8 ? `${keys.slice(0, 8).join(", ")}, …` : keys.join(", ") || "none"})`,
        );
      }
      if (j === i) throw new InvalidInputError(`${task.label} cannot depend on itself (TaskRef(${JSON.stringify(key)}) is among its arguments)`);
      found.add(j);
    });
    return [...found].sort((a, b) => a - b);
  });
}

/** Throws naming the tasks of the first dependency cycle found. */
function assertAcyclic(tasks: readonly BatchTask[], deps: number[][]): void {
  const state = new Uint8Array(tasks.length); // 0 unvisited, 1 on the current path, 2 done
  const path: number[] = [];
  const walk = (i: number): void => {
    state[i] = 1;
    path.push(i);
    for (const j of deps[i]!) {
      if (state[j] === 1) {
        const cycle = [...path.slice(path.indexOf(j)), j].map((k) => tasks[k]!.label);
        throw new InvalidInputError(`circular dependency between tasks: ${cycle.join(" → ")} (a TaskRef may only point at a task that does not depend on it)`);
      }
      if (state[j] === 0) walk(j);
    }
    path.pop();
    state[i] = 2;
  };
  for (let i = 0; i < tasks.length; i++) if (state[i] === 0) walk(i);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Calls `found` for every placeholder in `value`, looking inside plain arrays and objects. */
function visit(value: unknown, dependencyOf: (value: unknown) => BatchKey | undefined, found: (key: BatchKey) => void, seen = new Set<object>()): void {
  const key = dependencyOf(value);
  if (key !== undefined) return found(key);
  if (!Array.isArray(value) && !isPlainObject(value)) return;
  if (seen.has(value)) return;
  seen.add(value);
  for (const v of Array.isArray(value) ? value : Object.values(value)) visit(v, dependencyOf, found, seen);
}

/** `value` with its placeholders replaced; containers without placeholders are kept as they are. */
function substitute(value: unknown, dependencyOf: (value: unknown) => BatchKey | undefined, resultOf: (key: BatchKey) => unknown, path = new Set<object>()): unknown {
  const key = dependencyOf(value);
  if (key !== undefined) return resultOf(key);
  if ((!Array.isArray(value) && !isPlainObject(value)) || path.has(value)) return value;
  path.add(value);
  try {
    if (Array.isArray(value)) {
      const out = value.map((v: unknown) => substitute(v, dependencyOf, resultOf, path));
      return out.some((v, i) => v !== value[i]) ? out : value;
    }
    let changed = false;
    const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) {
      out[k] = substitute(v, dependencyOf, resultOf, path);
      if (out[k] !== v) changed = true;
    }
    return changed ? out : value;
  } finally {
    path.delete(value);
  }
}
