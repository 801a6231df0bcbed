// What a running task can ask about itself: its AbortSignal (timeouts, cancellation), attempt
// number and fingerprint. Carried by AsyncLocalStorage, so a task function keeps its own
// signature: `import { context } from "cashet"; context().signal`.
import { AsyncLocalStorage } from "node:async_hooks";

export interface TaskContext {
  /** Aborted when the task's timeout passes or its caller cancels. */
  signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  fingerprint: string;
}

const storage = new AsyncLocalStorage<TaskContext>();

/** The context of the task running now; throws outside a task. */
export function context(): TaskContext {
  const ctx = storage.getStore();
  if (!ctx) throw new Error("context() is only available inside a task run by cashet");
  return ctx;
}

/** Runs `fn` as a task with `ctx`. */
export function runWithContext<T>(ctx: TaskContext, fn: () => T): T {
  return storage.run(ctx, fn);
}
