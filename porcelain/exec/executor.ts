// Executors: where one attempt of a task runs. run.ts owns everything around an attempt (the
// cache, claims, retries, the commit); an executor only runs the function and says what came of
// it. In-process is the default; a worker-thread pool (worker-pool.ts) gives true parallelism and
// hard timeouts; a queue executor (BullMQ) will run the same call on another machine — which is
// why a call names its function by module file and export, not only by the function object.
import { TaskTimeoutError } from "../../plumbing/errors.js";
import { runWithContext } from "./context.js";

export { TaskTimeoutError };

/** Where a task's function can be loaded from by someone who does not hold the function object. */
export interface TaskEntry {
  /** The module that exports it (absolute path). */
  file: string;
  exportName: string;
}

/** One attempt of one task. */
export interface TaskCall {
  /** The function itself (executors that run in this thread call it directly). */
  fn: (...args: never[]) => unknown;
  /** The arguments as the function receives them (refs loaded, files as paths). */
  args: readonly unknown[];
  /** Absent for closures and functions that are not module exports. */
  entry?: TaskEntry;
  attempt: number;
  fingerprint: string;
  /** Seconds (fractions allowed). */
  timeout?: number;
  /** The caller's cancellation. */
  signal?: AbortSignal;
}

export interface Executor {
  /** Runs one attempt; resolves with the function's result, rejects with its error. */
  execute(call: TaskCall): Promise<unknown>;
  /** Stops what the executor owns (threads, connections). */
  close?(): Promise<void>;
}

/**
 * Runs whole calls elsewhere (a queue of workers on other machines sharing the store): the
 * remote side does the lookup, claim, execution and commit itself; the caller gets the commit.
 */
export interface RemoteRunner {
  runRemote(call: {
    entry?: TaskEntry;
    /** The arguments as given (results of earlier calls still as references). */
    args: readonly unknown[];
    options: { force?: boolean; cache?: boolean; tags?: Record<string, string>; name?: string; retries?: number; timeout?: number; ttl?: number; track?: boolean };
    name: string;
  }): Promise<{ commit: string; cached: boolean }>;
  close?(): Promise<void>;
}

/**
 * Runs tasks in this thread. A timeout is soft: the task's signal aborts and the call stops
 * waiting, but JavaScript cannot stop a function that does not look at its signal — and code that
 * never yields (a busy loop) holds the thread, so the timer cannot even fire. Such an attempt is
 * failed when it ends after its deadline: whatever it returned, it did not finish in time.
 */
export class InProcessExecutor implements Executor {
  async execute(call: TaskCall): Promise<unknown> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(call.signal!.reason);
    if (call.signal?.aborted) controller.abort(call.signal.reason);
    call.signal?.addEventListener("abort", onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const late = (): TaskTimeoutError | null => {
      const took = performance.now() - started;
      if (call.timeout === undefined || took <= call.timeout * 1000 || call.signal?.aborted) return null;
      const err = new TaskTimeoutError(call.timeout, false, took);
      controller.abort(err); // what it left running (timers, requests) is told to stop
      return err;
    };
    try {
      const running = Promise.resolve().then(() =>
        runWithContext({ signal: controller.signal, attempt: call.attempt, fingerprint: call.fingerprint }, () =>
          (call.fn as (...a: unknown[]) => unknown)(...call.args),
        ),
      );
      const racers: Array<Promise<unknown>> = [running];
      if (call.timeout !== undefined) {
        racers.push(
          new Promise((_, reject) => {
            timer = setTimeout(() => {
              const err = new TaskTimeoutError(call.timeout!);
              controller.abort(err);
              reject(err);
            }, call.timeout! * 1000);
          }),
        );
      }
      if (call.signal) {
        racers.push(new Promise((_, reject) => controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true })));
      }
      let value: unknown;
      try {
        value = await Promise.race(racers);
      } catch (err) {
        if (err instanceof TaskTimeoutError) throw err;
        throw late() ?? err;
      }
      const overran = late();
      if (overran) throw overran;
      return value;
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** The default executor. */
export const inProcess: Executor = new InProcessExecutor();
