// Client: the library's front door, a thin object over porcelain: a function object becomes a
// task (porcelain/task.ts; its function hash by the runtime path, so it shares the cache with
// `cashet run file#fn`), run by the one porcelain call (porcelain/call.ts) that answers a ResultRef.
import { availableParallelism } from "node:os";
import type { Commit } from "../plumbing/commit.js";
import { InvalidInputError } from "../plumbing/errors.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { keepAnalyses, remoteCache, storeDir } from "../plumbing/backends/open.js";
import { behindRemote } from "../plumbing/backends/remote.js";
import type { Store } from "../plumbing/store.js";
import type { Serializer } from "../plumbing/serializers.js";
import { checkSeconds, checkTagFilters } from "../plumbing/validate.js";
import { call, type Answer } from "../porcelain/call.js";
import type { RunOptions } from "../porcelain/run.js";
import { ResultRef } from "../porcelain/result-ref.js";
import { functionTask } from "../porcelain/task.js";
import type { Executor, RemoteRunner } from "../porcelain/exec/executor.js";
import { isLoopback, serve, type Listening } from "../porcelain/server/serve.js";
import { batchSummary, submitMany, summaryLine, type BatchSummary, type BatchTask } from "../porcelain/submit-many.js";
import { exportArchive, importArchive, type ExportFilters, type ImportOptions, type TransferCounts } from "../porcelain/transfer.js";
import { clear, type ClearOptions, type ClearResult } from "../porcelain/clear.js";
import { diff, type CommitDiff } from "../porcelain/diff.js";
import type { Explanation } from "../porcelain/explain.js";
import { gc, type GcOptions } from "../porcelain/gc.js";
import { get } from "../porcelain/get.js";
import { history } from "../porcelain/history.js";
import { invalidate } from "../porcelain/invalidate.js";
import { log, type LogOptions } from "../porcelain/log.js";
import { pin, unpin, type PinResult } from "../porcelain/pin.js";
import { rm } from "../porcelain/rm.js";
import { show } from "../porcelain/show.js";
import { stats, type StoreStats } from "../porcelain/stats.js";
import { isTaskRef } from "./task-ref.js";

export interface ClientOptions {
  /** Store directory (default: $CASHET_DIR, else ./.cashet). Ignored when `store` is given. */
  storeDir?: string;
  store?: Store;
  /** Default serializer for results. */
  serializer?: Serializer;
  /** Extra serializers that may decode stored results. */
  serializers?: Serializer[];
  /** Tasks run at once by submitMany and map (default: os.availableParallelism()). */
  maxWorkers?: number;
  /**
   * Where tasks run: in this thread (default), or e.g. `new WorkerPoolExecutor()` for true
   * parallelism and hard timeouts. The caller owns it: `close()` does not close it.
   */
  executor?: Executor | RemoteRunner;
  /**
   * A `cashet serve` server to read through and write through to: its URL, or `{ url, token }`.
   * Defaults to $CASHET_REMOTE (token $CASHET_REMOTE_TOKEN) when `store` is not given; `false`
   * turns that off.
   */
  remote?: string | { url: string; token?: string } | false;
  /**
   * Seconds a call may wait for another runner of the same call (another thread, process or
   * machine) before it gives up with WaitTimeoutError; a call's own `waitTimeout` wins. Default: no limit.
   */
  waitTimeout?: number;
  /**
   * On a terminal (stderr a TTY), `submitMany` and `map` end with one line on stderr saying what
   * the batch did (`cashet: 12 cached, 3 ran, saved 4m12s`); false: never. The same counts are
   * the results' `summary` either way.
   */
  summary?: boolean;
}

/** Per-call options (SPEC §4). Durations are seconds. */
export type CallOptions = Pick<RunOptions, "force" | "cache" | "tags" | "name" | "retries" | "timeout" | "ttl" | "track" | "waitTimeout" | "signal" | "serializer" | "executor">;

type AnyFn = (...args: never[]) => unknown;
/** Each argument may be given as a value or as a ResultRef to one. */
export type Args<P extends readonly unknown[]> = { [K in keyof P]: P[K] | ResultRef<P[K]> };

/** One task of a submitMany batch: `fn`, `[fn, [args…]]` or `[fn, [args…], options]`; args may hold TaskRefs. */
export type BatchEntry = AnyFn | readonly [AnyFn] | readonly [AnyFn, readonly unknown[]] | readonly [AnyFn, readonly unknown[], CallOptions];
type ResultOf<E> = E extends (...args: never[]) => infer R ? Awaited<R> : E extends readonly [(...args: never[]) => infer R, ...unknown[]] ? Awaited<R> : unknown;
/** What submitMany resolves with: a ResultRef per task, in the shape of the batch (list or record). */
export type BatchResults<T> = { -readonly [K in keyof T]: ResultRef<ResultOf<T[K]>> };
/**
 * A batch's results with what the batch did as `summary` — `{ cached, ran, savedMs }`, not
 * enumerable, so spreads, `Object.entries` and JSON see only the results. A record batch with a
 * task named "summary" keeps that task under its name, and has no summary.
 */
export type Summarized<R> = R & ("summary" extends keyof R ? unknown : { readonly summary: BatchSummary });
export interface SubmitManyOptions {
  /** Tasks run at once (default: the client's maxWorkers). */
  maxWorkers?: number;
  /** Stops starting tasks and aborts the running ones. */
  signal?: AbortSignal;
}

/** Tag filters: `{ stage: "train" }`, or `["stage=train", "owner"]` (`k` alone: any value). */
export type TagFilter = Readonly<Record<string, string>> | readonly string[];

/** `client.log` filters; commits come newest first. */
export interface ClientLogOptions extends Omit<LogOptions, "tags"> {
  tags?: TagFilter;
}

/** Marks a function made by `client.task` with what it wraps. */
const TASK = Symbol("cashet.task");

export class Client {
  readonly store: Store;
  private readonly options: ClientOptions;

  constructor(options: ClientOptions = {}) {
    checkSeconds(options.waitTimeout, "waitTimeout");
    this.options = options;
    const local = options.store ?? new FsStore(options.storeDir ?? storeDir());
    if (local instanceof FsStore) keepAnalyses(local.location);
    const given = options.remote;
    const remote =
      given === false ? null : typeof given === "string" ? { url: given } : given ?? (options.store ? null : remoteCache());
    this.store = remote ? behindRemote(local, remote) : local;
  }

  /** Runs `fn(...args)` through the cache. */
  submit<P extends unknown[], R>(fn: (...args: P) => R, ...args: Args<P>): Promise<ResultRef<Awaited<R>>> {
    return this.run(fn, { args });
  }

  /** Runs `fn` with `args` and per-call options. */
  async run<P extends unknown[], R>(fn: (...args: P) => R, options: CallOptions & { args?: Args<P> } = {}): Promise<ResultRef<Awaited<R>>> {
    // The call itself, not through `answer`: one async step less on every hit (≈ 1 µs of ≈ 30).
    const { args = [] as unknown as Args<P>, ...callOptions } = options;
    return (await call<Awaited<R>>(this.store, await functionTask(fn as AnyFn, args as readonly unknown[]), this.runOptions(callOptions))).result;
  }

  /** `run`'s whole answer (whether it was cached, the time it saved): what a batch's summary is made of. */
  private async answer<P extends unknown[], R>(fn: (...args: P) => R, options: CallOptions & { args?: Args<P> }): Promise<Answer<Awaited<R>>> {
    const { args = [] as unknown as Args<P>, ...callOptions } = options;
    return call<Awaited<R>>(this.store, await functionTask(fn as AnyFn, args as readonly unknown[]), this.runOptions(callOptions));
  }

  /** A call's options: the client's defaults under the call's own. */
  private runOptions(callOptions: CallOptions): RunOptions {
    return {
      serializer: this.options.serializer,
      serializers: this.options.serializers,
      ...(this.options.executor ? { executor: this.options.executor } : {}),
      ...(this.options.waitTimeout !== undefined ? { waitTimeout: this.options.waitTimeout } : {}),
      ...callOptions,
    };
  }

  /**
   * Whether `submit(fn, ...args)` would hit, and if not why: what differs, component by component,
   * from the closest of the function's newest runs (docs/library.md). Runs nothing.
   */
  async explain<P extends unknown[]>(fn: (...args: P) => unknown, ...args: Args<P>): Promise<Explanation> {
    const { explain } = await import("../porcelain/explain.js"); // jsdiff and the comparison: only for an explanation
    return explain(this.store, await functionTask(fn as AnyFn, args as readonly unknown[]));
  }

  /** `fn` with fixed options: `const t = client.task(fn, { tags }); await t(...args)`. */
  task<P extends unknown[], R>(fn: (...args: P) => R, options: CallOptions = {}): (...args: Args<P>) => Promise<ResultRef<Awaited<R>>> {
    const bound = (...args: Args<P>): Promise<ResultRef<Awaited<R>>> => this.run(fn, { ...options, args });
    // What `serve` needs to register it: the function itself and the options it carries.
    Object.defineProperty(bound, TASK, { value: { fn, options } });
    return bound;
  }

  /**
   * Serves this client's store over HTTP (SPEC §7) with `tasks` registered by name — functions, or
   * `client.task(fn, options)` whose options apply unless a request overrides them. Listens on
   * `host` (default 127.0.0.1) and `port` (default 8000; 0 for any free one); `token` /
   * `readToken` require bearer tokens. Resolves once listening; `close()` stops it gracefully.
   */
  async serve(options: { tasks?: Record<string, AnyFn>; host?: string; port?: number; token?: string; readToken?: string; bodyLimit?: number } = {}): Promise<Listening> {
    const { tasks = {}, ...rest } = options;
    const registered = new Map(
      Object.entries(tasks).map(([name, f]) => {
        const meta = (f as { [TASK]?: { fn: AnyFn; options: CallOptions } })[TASK];
        return [name, meta ?? { fn: f, options: {} }] as const;
      }),
    );
    const host = rest.host ?? "127.0.0.1";
    if (!rest.token && !isLoopback(host)) throw new InvalidInputError(`refusing to serve on ${host} without a token`);
    return serve({
      store: this.store,
      ...rest,
      host,
      tasks: async (name, args) => {
        const entry = registered.get(name);
        return entry && Object.hasOwn(tasks, name) ? functionTask(entry.fn, args) : null;
      },
      taskOptions: (name) => ({ serializer: this.options.serializer, serializers: this.options.serializers, ...(registered.get(name)?.options ?? {}) }),
    });
  }

  /**
   * Runs a batch in dependency order: `TaskRef(i)` (list) or `TaskRef("key")` (record) in a task's
   * arguments stands for that task's ResultRef. Independent tasks run in parallel.
   */
  submitMany<const T extends readonly BatchEntry[]>(tasks: T, options?: SubmitManyOptions): Promise<Summarized<BatchResults<T>>>;
  submitMany<const T extends { readonly [key: string]: BatchEntry }>(tasks: T, options?: SubmitManyOptions): Promise<Summarized<BatchResults<T>>>;
  async submitMany(
    tasks: readonly BatchEntry[] | { readonly [key: string]: BatchEntry },
    options: SubmitManyOptions = {},
  ): Promise<ResultRef[] | Record<string, ResultRef>> {
    const list = Array.isArray(tasks);
    const entries: Array<[string | number, unknown]> = list ? tasks.map((t, i) => [i, t]) : Object.entries(tasks);
    const parsed = entries.map(([key, entry]) => parseEntry(key, entry));
    const answers: Answer[] = [];
    const refs = await submitMany(
      parsed.map(({ key, fn, args }): BatchTask => ({ key, label: `task ${JSON.stringify(key)} (${fn.name || "anonymous"})`, args })),
      async (i, args) =>
        (answers[i] = await this.answer(parsed[i]!.fn as (...a: unknown[]) => unknown, {
          ...(options.signal ? { signal: options.signal } : {}),
          ...parsed[i]!.options,
          args,
        })).result,
      { maxWorkers: options.maxWorkers ?? this.maxWorkers(), dependencyOf: (v) => (isTaskRef(v) ? v.target : undefined), ...(options.signal ? { signal: options.signal } : {}) },
    );
    return withSummary(list ? refs : Object.fromEntries(parsed.map((p, i) => [p.key, refs[i]!])), answers, this.options.summary);
  }

  /** `fn(item, ...extraArgs)` for each item, each cached on its own, run like submitMany; `summary` says what ran. */
  async map<I, E extends unknown[], R>(
    fn: (item: I, ...extraArgs: E) => R,
    items: Iterable<I | ResultRef<I>>,
    ...extraArgs: Args<E>
  ): Promise<Summarized<Array<ResultRef<Awaited<R>>>>> {
    const tasks = Array.from(items, (item, i): BatchTask => ({ key: i, label: `item ${i}`, args: [item, ...extraArgs] }));
    const answers: Array<Answer<Awaited<R>>> = [];
    const refs = await submitMany(tasks, async (i, args) => (answers[i] = await this.answer(fn as (...a: unknown[]) => R, { args })).result, { maxWorkers: this.maxWorkers() });
    return withSummary(refs, answers, this.options.summary) as Summarized<Array<ResultRef<Awaited<R>>>>; // an array has no task named "summary"
  }

  /** Commits matching every filter, newest first (default limit 20; `Infinity` for all). */
  async log(options: ClientLogOptions = {}): Promise<Commit[]> {
    const { tags, ...rest } = options;
    return log(this.store, { ...rest, ...(tags ? { tags: checkTagFilters(tags, "tags") } : {}) });
  }

  /** The commit a full id or unique prefix names. Throws NotFoundError / AmbiguousIdError. */
  show(id: string): Promise<Commit> {
    return show(this.store, id);
  }

  /** The decoded result of a commit. A failed commit throws TaskError with its recorded error. */
  async get<T = unknown>(id: string): Promise<T> {
    return (await get(this.store, id, { serializers: this.options.serializers })).value as T;
  }

  /** What differs between two commits, with a unified diff of the sources when the function changed. */
  diff(a: string, b: string): Promise<CommitDiff> {
    return diff(this.store, a, b);
  }

  /** The runs of the same function and arguments as commit `id`, newest first. */
  history(id: string): Promise<Commit[]> {
    return history(this.store, id);
  }

  /** Removes one commit (and blobs only it used); its ref falls back to its parent. False when no commit matches. */
  async rm(id: string): Promise<boolean> {
    return (await rm(this.store, id)) !== null;
  }

  /** Names a commit so gc never evicts it and clear keeps it. */
  pin(id: string, name: string): Promise<PinResult> {
    return pin(this.store, id, name);
  }

  /** Removes a pin (the commit stays). */
  async unpin(name: string): Promise<void> {
    await unpin(this.store, name);
  }

  /**
   * Evicts expired commits, those not accessed within `olderThan` (default 30 days), then the least
   * recently used down to `maxSize`, then unreferenced blobs. Returns the number of commits removed
   * (with `dryRun`, that would be). Durations and sizes: `"7d"`, `"500MB"`, or ms / bytes.
   */
  async gc(options: Pick<GcOptions, "olderThan" | "maxSize" | "dryRun" | "signal"> = {}): Promise<number> {
    return (await gc(this.store, options)).commits;
  }

  /** Removes every commit and blob; pinned commits stay unless `all`. */
  clear(options: ClearOptions = {}): Promise<ClearResult> {
    return clear(this.store, options);
  }

  /** Removes every commit carrying all of `tags`; returns how many. At least one tag is required. */
  async invalidate(options: { tags: TagFilter }): Promise<number> {
    return invalidate(this.store, { tags: checkTagFilters(options?.tags ?? [], "tags") });
  }

  /**
   * Writes the chosen runs, every object they need and the refs on them to an archive (`.tar.gz`,
   * `.tar.zst`, `.zip` or `.tar`, by extension). Filters: `func`, `tags`, `since` (`"7d"` or ms
   * since the epoch), `withHistory`. Returns what it wrote.
   */
  export(path: string, filters: ExportFilters = {}): Promise<TransferCounts> {
    return exportArchive(this.store, path, filters);
  }

  /** Imports an archive written by `export`, verifying every object before it is stored. Returns what it stored. */
  import(path: string, options: ImportOptions = {}): Promise<TransferCounts> {
    return importArchive(this.store, path, options);
  }

  /** Counts of commits and blobs, where the store is, and its hits, misses and saved time, per function and in all. */
  stats(): Promise<StoreStats> {
    return stats(this.store);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private maxWorkers(): number {
    return this.options.maxWorkers ?? availableParallelism();
  }
}

/**
 * `results` with the batch's summary as a non-enumerable `summary` (unless a task of the batch is
 * named so); on a terminal (stderr a TTY, `say` not false), that summary as one line on stderr.
 */
function withSummary<R extends object>(results: R, answers: ReadonlyArray<{ cached: boolean; savedMs: number }>, say = true): R {
  const summary = batchSummary(answers);
  if (say && process.stderr.isTTY) process.stderr.write(`cashet: ${summaryLine(summary)}\n`);
  if (!Object.hasOwn(results, "summary")) Object.defineProperty(results, "summary", { value: summary, enumerable: false });
  return results;
}

/** A batch entry as function, arguments and options; says what is wrong with a malformed one. */
function parseEntry(key: string | number, entry: unknown): { key: string | number; fn: AnyFn; args: readonly unknown[]; options: CallOptions } {
  if (typeof entry === "function") return { key, fn: entry as AnyFn, args: [], options: {} };
  if (Array.isArray(entry) && typeof entry[0] === "function" && (entry[1] === undefined || Array.isArray(entry[1])) && entry.length <= 3) {
    return { key, fn: entry[0] as AnyFn, args: (entry[1] ?? []) as unknown[], options: (entry[2] ?? {}) as CallOptions };
  }
  throw new InvalidInputError(`task ${JSON.stringify(key)} must be a function, [fn, [args…]] or [fn, [args…], options]`);
}
