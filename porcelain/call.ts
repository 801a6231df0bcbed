// A call from a front door to its answer: the one porcelain call behind `cashet run`, `POST
// /submit`, a queue worker's job and `client.submit`. `call` runs a task through the cache and
// holds its result; `runFile` does that for a module export named by its file, from the
// arguments as given to the answer; `answerJson` is the answer as `run --json` and the server
// print it.
import type { Commit } from "../plumbing/commit.js";
import { InvalidInputError } from "../plumbing/errors.js";
import { keepAnalyses, openStore, redisUrl, storeDir, type OpenStoreOptions } from "../plumbing/backends/open.js";
import type { Store } from "../plumbing/store.js";
import type { QueueExecutorOptions } from "./exec/queue.js";
import { resultJson } from "./get.js";
import type { Explanation } from "./explain.js";
import { resultOf, type ResultRef } from "./result-ref.js";
import { run, type RunOptions, type TaskSpec } from "./run.js";
import { fileTask, type FileCall } from "./task.js";

/** What a call answered. */
export interface Answer<T = unknown> {
  /** The commit that holds the result: the one this call made, or the cached one it was served. */
  commit: Commit;
  /** True when nothing was executed for this call (anywhere). */
  cached: boolean;
  /** Wall time of this call, in ms. */
  durationMs: number;
  /** Run time this call did not spend, in ms: a hit's recorded duration (less what it waited for it); 0 when it ran. */
  savedMs: number;
  /** The result, decoded when loaded (the live value when the call ran here). */
  result: ResultRef<T>;
  /** Why it missed, when RunOptions.explain asked and it ran. */
  explanation?: Explanation;
}

/** Runs `task` through the cache of `store`. Throws TaskError when it failed (the failed commit is recorded). */
export async function call<T = unknown>(store: Store, task: TaskSpec, options: RunOptions = {}): Promise<Answer<T>> {
  const done = await run(store, task, options);
  return {
    commit: done.commit,
    cached: done.cached,
    durationMs: done.durationMs,
    savedMs: done.savedMs,
    result: resultOf<T>(done, options.serializers),
    ...(done.explanation ? { explanation: done.explanation } : {}),
  };
}

export interface RunFileOptions extends RunOptions {
  /** The store: an open one (kept open), or which to open (closed when the call is done). */
  store: Store | OpenStoreOptions;
  /** Run the call on a `cashet worker` through this queue (on the Redis store the workers use) instead of here. */
  queue?: QueueExecutorOptions;
}

/**
 * `cashet run file#export args…`: the task from the arguments as given — refused before any store
 * is opened or created when the file, the export or an argument is bad — then the call through
 * the cache. A hit never imports the module.
 */
export async function runFile(target: FileCall, options: RunFileOptions): Promise<Answer> {
  const { store: given, queue, ...runOptions } = options;
  if (queue) {
    const url = queue.redis ?? redisUrl(isStore(given) ? undefined : given.redis) ?? undefined;
    if (!url) throw new InvalidInputError("a queued call needs the Redis store the workers use (--redis URL or CASHET_REDIS)");
    const { QueueExecutor } = await import("./exec/queue.js"); // bullmq and ioredis: only for a queued call
    runOptions.executor = new QueueExecutor({ ...queue, redis: url });
  }
  try {
    const { task, store, done } = await fileTaskIn(target, given, true);
    try {
      return await call(store, task, runOptions);
    } finally {
      await done();
    }
  } finally {
    // its connections would keep a failed or timed-out command alive
    if (queue) await (runOptions.executor as { close(): Promise<void> }).close();
  }
}

/**
 * A file call's task and the store it is asked in (`runFile`, `explainFile`): the task first — a
 * missing file, export or argument is refused before any store is opened, so bad input changes
 * nothing — then the store, opened when it is named (created only for a writer, `create`) and
 * closed by `done`, or used as given. Module analyses are kept in a directory store named so.
 */
export async function fileTaskIn(target: FileCall, given: Store | OpenStoreOptions, create: boolean): Promise<{ task: TaskSpec; store: Store; done: () => Promise<void> }> {
  const opening = isStore(given) ? null : given;
  if (opening && !redisUrl(opening.redis)) keepAnalyses(storeDir(opening.dir)); // a later hit hashes without parsing
  const task = await fileTask(target);
  if (!opening) return { task, store: given as Store, done: async () => undefined };
  const store = await openStore({ ...opening, create });
  return { task, store, done: () => store.close() };
}

function isStore(s: Store | OpenStoreOptions): s is Store {
  return "objects" in s && "refs" in s;
}

/** An answer as `run --json` and `POST /submit` give it: the result as JSON (bytes as base64, undefined as null, BigInt as a string). */
export async function answerJson(answer: Answer): Promise<{ commit: string; output: string; cached: boolean; durationMs: number; result: unknown }> {
  return {
    commit: answer.commit.id,
    output: answer.result.hash,
    cached: answer.cached,
    durationMs: answer.durationMs,
    result: resultJson(await answer.result.load()),
  };
}
