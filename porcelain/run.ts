// run: the memoized call. Fingerprint the function and its arguments; serve a completed,
// unexpired, verified commit if there is one; otherwise claim the fingerprint (one runner per
// fingerprint across threads, processes and machines), execute with retries and a timeout,
// store the result and the commit, move the ref, release. Everything the CLI, the library and
// the server do to run a task goes through here.
import { randomUUID } from "node:crypto";
import { INLINE_LIMIT, type Commit, type CommitRecord, type Json } from "../plumbing/commit.js";
import { CorruptObjectError, InvalidInputError, TaskError, TaskTimeoutError, WaitTimeoutError } from "../plumbing/errors.js";
import { hashArgs, type HashArgsOptions } from "../plumbing/hash/args.js";
import type { ArgsTree } from "../plumbing/hash/args-tree.js";
import { sha256 } from "../plumbing/ids.js";
import { observedInputs, readHit, type Hit } from "../plumbing/hits.js";
import { ObjectDb } from "../plumbing/objects.js";
import { publishRun } from "../plumbing/publish.js";
import { fingerprintRef } from "../plumbing/refs.js";
import { defaultSerializerFor, serializerByName, v8Serializer, type Serializer } from "../plumbing/serializers.js";
import type { ClaimHandle, ClaimInfo, Store } from "../plumbing/store.js";
import { countHit, countMiss } from "../plumbing/usage.js";
import { checkSeconds, checkTags, wholeNumber } from "../plumbing/validate.js";
import type { Executor, RemoteRunner, TaskEntry } from "./exec/executor.js";
import type { Explanation } from "./explain.js";
import type { Observer } from "./exec/observe.js";

export { TaskError, TaskTimeoutError, WaitTimeoutError };

/** What is being run: the function, its arguments and its identity (a function hash). */
export interface TaskSpec {
  fn: (...args: never[]) => unknown;
  args: readonly unknown[];
  func: { name: string; module: string; hash: string; source: string; deps: Json[] };
  /** The file that defines the function (absolute), for git provenance; absent for eval'd code. */
  file?: string;
  /** Every source file of the function's closure (absolute, `file` among them), for git provenance: dirty when any differs from HEAD. */
  files?: string[];
  /** The module export the function is, when it is one: how executors in other threads or machines load it. */
  entry?: TaskEntry;
  /** Hashes a function found among the arguments (normally its function hash). */
  hashFunction?: (fn: Function, path: string) => string | Promise<string>;
  /**
   * What the function receives, computed only when it runs (a miss): result refs loaded,
   * `file()` arguments as their paths. Defaults to the arguments as given.
   */
  resolveArgs?: (args: readonly unknown[]) => Promise<unknown[]>;
  /**
   * Where this task must run, whatever the options say — set by `resolveArgs` when this process
   * holds an outdated copy of the task's module (a fresh thread loads the current one).
   */
  executor?: Executor;
}

export interface RunOptions {
  /** Run even if a result is cached, and make the new result the head. */
  force?: boolean;
  /** false: always run, and record the run under a fingerprint of its own. */
  cache?: boolean;
  /** Metadata, not part of the key. */
  tags?: Record<string, string>;
  /**
   * The name the commit records (`func.name`, what `log --func` finds) instead of the function's
   * own. Metadata, not part of the key: a hit returns the commit as it was recorded, under the
   * name of the call that ran it.
   */
  name?: string;
  /** Extra attempts after a failure, with exponential backoff. */
  retries?: number;
  /**
   * Seconds (fractions allowed) an attempt may take; one that takes longer fails with
   * TaskTimeoutError (retried while retries remain). In-process timeouts are soft: the task's
   * signal aborts and the call stops waiting, but synchronous code cannot be interrupted — it is
   * failed when it returns late. A WorkerPoolExecutor stops the thread.
   */
  timeout?: number;
  /** Where attempts run (default: in this thread), or a runner of whole calls elsewhere (a queue). */
  executor?: Executor | RemoteRunner;
  /** Seconds the result stays valid. */
  ttl?: number;
  /**
   * false: record nothing the task reads (files, environment variables). A change to them is then
   * not seen — a later call is a hit on what this run returned. Default true.
   */
  track?: boolean;
  signal?: AbortSignal;
  /** Encodes the result (default: raw bytes for a Buffer/Uint8Array, v8 otherwise). */
  serializer?: Serializer;
  /** Serializers besides the built-ins that may decode stored results. */
  serializers?: Serializer[];
  /** Extra provenance (the repository commit of the task's file, …). */
  provenance?: { [key: string]: Json };
  /** First retry delay in ms (doubles each time); default 100. */
  retryDelayMs?: number;
  /**
   * Seconds (fractions allowed) this call may wait, in all, for another runner of the very same
   * call before it gives up with WaitTimeoutError; default: as long as the other runner lives.
   */
  waitTimeout?: number;
  /**
   * Called when this call starts waiting for another runner of the same call, with who holds it
   * (null when it let go before we could ask); the function it returns, if any, is called when
   * that wait ends.
   */
  onWait?: (holder: ClaimInfo | null) => void | (() => void);
  /**
   * On a miss, also say why (RunResult.explanation, as `explain` says it), worked out before the
   * run from the function's recent commits. A hit computes nothing for it.
   */
  explain?: boolean;
}

export interface RunResult {
  commit: Commit;
  /** True when nothing was executed. */
  cached: boolean;
  /** Wall time of this call. */
  durationMs: number;
  /** The result's stored bytes. */
  bytes: Buffer;
  /** The live result, when this call executed the task (no need to decode it again). */
  value?: unknown;
  /** Why it missed, when RunOptions.explain asked and it ran. */
  explanation?: Explanation;
  /** Run time this call did not spend: a hit's recorded duration, less what this call waited for it; 0 when it ran. */
  savedMs: number;
}

const FINGERPRINT_FORMAT = "cashet-fp-1";

/** The cache key of a call: its function hash and its argument hash. */
export function fingerprintOf(funcHash: string, argsHash: string, salt?: string): string {
  return sha256(`${FINGERPRINT_FORMAT}\0${funcHash}\0${argsHash}${salt ? `\0${salt}` : ""}`);
}

/** Runs `task` through the cache of `store`. */
export async function run(store: Store, task: TaskSpec, options: RunOptions = {}): Promise<RunResult> {
  validate(options);
  const started = performance.now();
  const db = new ObjectDb(store.objects);
  const hashOptions = task.hashFunction ? { hashFunction: task.hashFunction } : {};
  const argsHash = await hashArgs(task.args, hashOptions);
  const useCache = options.cache !== false;
  const fingerprint = fingerprintOf(task.func.hash, argsHash, useCache ? undefined : randomUUID());
  const ref = fingerprintRef(fingerprint);
  const elapsed = (): number => performance.now() - started;
  const calledAt = Date.now();
  const name = options.name ?? task.func.name;
  const waiting = new Waiting(store, fingerprint, name, options);
  // What the commit's observed paths are relative to: found only when a commit records any, or on a miss.
  let known: string | undefined;
  const root = (): string => (known ??= observedInputs().projectRoot(task.file));

  for (;;) {
    options.signal?.throwIfAborted();
    if (useCache && !options.force) {
      const hit = await readHit(store, ref, { root });
      if (hit) return passObserved(served(store, hit, name, task.func.module, waiting.waitedMs, elapsed()), root);
      // The run we waited for failed: that failure is our answer too, as its result would have been.
      if (waiting.since !== null) await throwFailureSince(store, db, fingerprint, waiting.since);
    }
    if (options.executor && "runRemote" in options.executor) {
      // A worker elsewhere looks up, claims, runs and commits; we read what it committed.
      const { force, cache, tags, name, retries, timeout, ttl, track } = options;
      const why = options.explain ? await whyMissed(store, task, options, { fingerprint, argsHash, tree: await treeOf(task.args, hashOptions) }) : {};
      const done = await options.executor.runRemote({
        ...(task.entry ? { entry: task.entry } : {}),
        args: task.args,
        options: { force, cache, tags, ...(name !== undefined ? { name } : {}), retries, timeout, ttl, track },
        name: options.name ?? task.func.name,
      });
      const commit = await db.getCommit(done.commit);
      const bytes = commit?.output ? await db.getBlob(commit.output.hash, commit) : null;
      if (!commit || !bytes) throw new CorruptObjectError(done.commit, "a worker reported this run, but it cannot be read from the store");
      // Counted by the worker, which answered it; not here too.
      return passObserved({ commit, bytes, cached: done.cached, durationMs: elapsed(), savedMs: done.cached ? commit.durationMs : 0, ...(done.cached ? {} : why) }, root);
    }
    const claim = await store.claims.tryAcquire(fingerprint);
    if (!claim) {
      // Someone else runs this very call: wait for them, then take their result (or failure).
      await waiting.wait(calledAt);
      continue;
    }
    try {
      if (useCache && !options.force) {
        const hit = await readHit(store, ref, { root }); // finished between our lookup and claim
        if (hit) return passObserved(served(store, hit, name, task.func.module, waiting.waitedMs, elapsed()), root);
      }
      const tree = await treeOf(task.args, hashOptions);
      const why = options.explain ? await whyMissed(store, task, options, { fingerprint, argsHash, tree }) : {};
      countMiss(store, name, task.func.module); // forced, uncached and failed runs too: every call that runs
      const result = await execute(store, db, task, options, { fingerprint, argsHash, ref, tree, root: root() }, claim);
      return passObserved({ ...result, cached: false, durationMs: elapsed(), savedMs: 0, ...why }, root);
    } finally {
      await claim.release();
    }
  }
}

/** The argument tree a commit records (plumbing/hash/args-tree.ts), loaded and walked by a miss only. */
async function treeOf(args: readonly unknown[], options: HashArgsOptions): Promise<ArgsTree> {
  const { argsTree } = await import("../plumbing/hash/args-tree.js");
  return (await argsTree(args, options)).tree;
}

/** Why a call missed (RunOptions.explain): worked out before it runs, while the store still shows what it missed. */
async function whyMissed(store: Store, task: TaskSpec, options: RunOptions, key: { fingerprint: string; argsHash: string; tree: ArgsTree }): Promise<{ explanation?: Explanation }> {
  const { explainMiss } = await import("./explain.js"); // only a miss asked why loads it
  const { name, force, cache } = options;
  return { explanation: await explainMiss(store, task, key, { ...(name !== undefined ? { name } : {}), force, cache }) };
}

/**
 * A call made while another call's task runs in this thread (a task that calls `client.submit`):
 * what this one's commit records as read, the outer one read through it — also when this one
 * was a hit. The observer is this thread's (exec/observe.ts `OBSERVER`), installed by its first
 * miss; a hit does not load that file, and without it no task is running here.
 */
function passObserved<R extends { commit: Commit }>(result: R, root: () => string): R {
  if (result.commit.observed) (globalThis as { [key: symbol]: Observer | undefined })[Symbol.for("cashet.observer")]?.current()?.include(result.commit.observed, root());
  return result;
}

/**
 * A hit's answer, counted for `cashet stats` (one increment in memory, batched to the store) under
 * the name the call records and its module, with the run time it saved: the commit's recorded
 * duration, less what this call waited for it. A plain function and object: this is every hit's
 * path (a closure and a spread here cost ≈ 1 µs of a ≈ 30 µs in-process hit).
 */
function served(store: Store, hit: Hit, name: string, module: string, waitedMs: number, durationMs: number): RunResult {
  const savedMs = Math.max(0, hit.commit.durationMs - waitedMs);
  countHit(store, name, module, savedMs);
  return { commit: hit.commit, bytes: hit.bytes, cached: true, durationMs, savedMs };
}

/** A call's waits for other runners of the same call: their limit, what they report, what they waited for. */
class Waiting {
  /** The earliest a failed run we waited for can date from (ms, the holder's clock), once we have waited. */
  since: number | null = null;
  /** How long this call has waited, in all (ms): a hit it then gets saved that much less. */
  waitedMs = 0;
  private deadline: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly fingerprint: string,
    private readonly name: string,
    private readonly options: RunOptions,
  ) {}

  /** Waits until the current holder lets go (released, or died); `calledAt` is when this call began. */
  async wait(calledAt: number): Promise<void> {
    const { store, fingerprint, name, options } = this;
    const { claimHolder } = await import("../plumbing/claims.js"); // only a waiting call needs it
    const holder = await claimHolder(store.claims, fingerprint);
    // Its run began when it claimed, so a failed commit of this call from then on is that run's.
    // A holder already gone let go between our claim and our question: a run that ended after this call began.
    this.since = Math.min(this.since ?? Infinity, holder?.since ?? calledAt);
    const start = Date.now();
    if (options.waitTimeout !== undefined) this.deadline ??= start + options.waitTimeout * 1000;
    // A timer of our own rather than AbortSignal.timeout's: a process with nothing else to do
    // must live to report the limit, not exit silently mid-wait.
    const limit = this.deadline === null ? null : new AbortController();
    const timer = limit && setTimeout(() => limit.abort(), Math.max(0, this.deadline! - start));
    const signal = limit && options.signal ? AbortSignal.any([options.signal, limit.signal]) : limit?.signal ?? options.signal;
    const ended = options.onWait?.(holder);
    try {
      await store.claims.waitRelease(fingerprint, signal ? { signal } : {});
    } catch (err) {
      if (!limit?.signal.aborted || options.signal?.aborted) throw err;
      const now = await claimHolder(store.claims, fingerprint).catch(() => holder);
      throw new WaitTimeoutError(waitTimeoutMessage(options.waitTimeout!, name, now ?? holder), now ?? holder, Date.now() - start);
    } finally {
      this.waitedMs += Date.now() - start;
      if (timer) clearTimeout(timer);
      if (typeof ended === "function") ended();
    }
  }
}

function waitTimeoutMessage(limit: number, name: string, holder: ClaimInfo | null): string {
  const who = holder ? `pid ${holder.pid} on ${holder.hostname} has been running it for ${formatWait(Date.now() - holder.since)}` : "its runner let go just now";
  return `gave up after ${limit} s waiting for another run of ${name} (${who}); it may be stuck: stop that process, or allow a longer wait`;
}

/** 4 s, 2 min 05 s, 3 h 07 min: how long a claim has been held. */
export function formatWait(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, "0")} min`;
}

/**
 * Throws the TaskError of the newest failed run of `fingerprint` created at or after `since`: the
 * run a waiter waited for. Never used by a call that did not wait — a failed run is never a hit.
 */
async function throwFailureSince(store: Store, db: ObjectDb, fingerprint: string, since: number): Promise<void> {
  const [entry] = await store.index.log({ fingerprint, status: "failed", since, limit: 1 });
  const commit = entry ? await db.getCommit(entry.id) : null;
  if (!commit || commit.status !== "failed" || commit.fingerprint !== fingerprint) return;
  throw runFailed(commit.func.name, commit.attempts, commit.id, recordedError(commit));
}

/** The TaskError of a failed run: the runner's own and every waiter's read the same. */
function runFailed(name: string, attempts: number, commit: string, err: Error): TaskError {
  return new TaskError(`${name} failed${attempts > 1 ? ` after ${attempts} attempts` : ""}: ${err.message}`, commit, err);
}

/** The error a failed commit recorded, as an Error (name, message and stack as they were). */
export function recordedError(commit: Commit): Error {
  const e = commit.error ?? { name: "Error", message: "the run recorded no output", stack: "" };
  return Object.assign(new Error(e.message), { name: e.name, stack: e.stack || `${e.name}: ${e.message}` });
}

/** Decodes a result with the serializer its commit names. */
export function decodeResult(commit: Commit, bytes: Uint8Array, serializers: Serializer[] = []): unknown {
  if (!commit.output) throw new InvalidInputError(`commit ${commit.id.slice(0, 12)} has no output (it failed)`);
  return serializerByName(commit.output.serializer, serializers).deserialize(bytes);
}

async function execute(
  store: Store,
  db: ObjectDb,
  task: TaskSpec,
  options: RunOptions,
  key: { fingerprint: string; argsHash: string; ref: string; tree: ArgsTree; root: string },
  claim: ClaimHandle,
): Promise<{ commit: Commit; bytes: Buffer; value: unknown }> {
  // What only a miss needs, loaded by the first one: a hit never pays for it.
  const [{ inProcess }, { previewArgs }, observe] = await Promise.all([import("./exec/executor.js"), import("../plumbing/hash/preview.js"), import("./exec/observe.js")]);
  // Before the task's module loads: what it takes from node:fs is then the observed functions too.
  const observer = observe.install();
  const recorder = options.track === false ? null : observer.start();
  const head = await store.refs.read(key.ref);
  const attempts = 1 + (options.retries ?? 0);
  let lastError: unknown;
  let attempt = 0;
  let value: unknown;
  let ok = false;
  const callArgs = task.resolveArgs ? await task.resolveArgs(task.args) : [...task.args];
  const runStart = performance.now(); // the task's own time: loading its module and inputs is not part of it
  while (attempt < attempts) {
    attempt++;
    try {
      const executor = task.executor ?? (options.executor && !("runRemote" in options.executor) ? options.executor : inProcess);
      const attemptOnce = (): Promise<unknown> =>
        executor.execute({
          fn: task.fn,
          args: callArgs,
          ...(task.entry ? { entry: task.entry } : {}),
          attempt,
          fingerprint: key.fingerprint,
          ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      // In the recorder's async context: an executor in this thread runs the task in it; a worker
      // pool finds it there and adds what its thread noted.
      value = await (recorder ? observer.during(recorder, attemptOnce) : attemptOnce());
      ok = true;
      break;
    } catch (err) {
      lastError = err;
      if (options.signal?.aborted) break;
      if (attempt < attempts) await sleep((options.retryDelayMs ?? 100) * 2 ** (attempt - 1), options.signal);
    }
  }
  const durationMs = performance.now() - runStart;
  if (!ok) recorder?.close();
  const inline: Record<string, string> = {};
  const keep = async (bytes: Uint8Array): Promise<string> => {
    if (bytes.length < INLINE_LIMIT) {
      const id = sha256(bytes);
      inline[id] = Buffer.from(bytes).toString("base64");
      return id;
    }
    return (await db.putBlob(bytes)).id;
  };
  const argsBlob = await storeArgs(task.args, keep);
  const now = Date.now();
  const base = {
    fingerprint: key.fingerprint,
    func: options.name !== undefined ? { ...task.func, name: options.name } : task.func,
    args: { hash: key.argsHash, preview: previewArgs(task.args), blob: argsBlob, tree: key.tree },
    parent: head,
    createdAt: new Date(now).toISOString(),
    durationMs,
    attempts: attempt,
    tags: { ...(options.tags ?? {}) },
    expiresAt: options.ttl !== undefined ? new Date(now + options.ttl * 1000).toISOString() : null,
    // git provenance: loaded by a miss only, a hit never reads it
    provenance: { ...(await (await import("./provenance.js")).provenanceOf(task.file ?? null, task.files)), ...(options.provenance ?? {}) },
  };

  if (!ok) {
    const err = lastError instanceof Error ? lastError : new Error(String(lastError));
    const record: CommitRecord = {
      ...base,
      status: "failed",
      output: null,
      error: { name: err.name, message: err.message, stack: err.stack ?? `${err.name}: ${err.message}` },
      ...(Object.keys(inline).length ? { inline } : {}),
    };
    // A failed run is recorded (log, history) but never becomes the head: the last good result stays served.
    const put = await db.putCommit(record);
    await publish(store, claim, put.id, null, null);
    throw runFailed(record.func.name, attempt, put.id, err);
  }

  // Hashed now that the task has returned: what it left running reads nothing into its commit.
  const observed = recorder?.finish({ root: key.root, closure: task.files ?? (task.file ? [task.file] : []), stores: storeDirs(store) });
  const serializer = options.serializer ?? defaultSerializerFor(value);
  const bytes = Buffer.from(serializer.serialize(value));
  const outputId = await keep(bytes);
  const record: CommitRecord = {
    ...base,
    status: "completed",
    output: { hash: outputId, size: bytes.length, serializer: serializer.name, preview: previewArgs([value], 120).slice(1, -1) },
    error: null,
    ...(Object.keys(inline).length ? { inline } : {}),
    ...(observed ? { observed } : {}),
  };
  const put = await db.putCommit(record);
  await publish(store, claim, put.id, key.ref, head);
  const commit: Commit = { id: put.id, ...record };
  return { commit, bytes, value };
}

/**
 * Makes a stored run visible in the publish order (plumbing/publish.ts): indexed, then — for a
 * completed run — the call's ref moved to it from the head seen before the run; the claim is
 * released after. In one step when the store's claim can do that (it follows the same order).
 */
async function publish(store: Store, claim: ClaimHandle, id: string, ref: string | null, head: string | null): Promise<void> {
  if (claim.complete) return claim.complete(id, ref, head);
  await publishRun(store, id, ref, head);
}

/** The directories of a store and of the stores it fronts (a remote cache's local one). */
function storeDirs(store: Store): string[] {
  const dirs: string[] = [];
  for (let s: Store | undefined = store; s; s = (s as { local?: Store }).local) if (s.kind === "fs") dirs.push(s.location);
  return dirs;
}

/** The serialized arguments (so a run can be reproduced), or null when they cannot be serialized. */
async function storeArgs(args: readonly unknown[], keep: (bytes: Uint8Array) => Promise<string>): Promise<string | null> {
  let bytes: Uint8Array;
  try {
    bytes = v8Serializer.serialize([...args]);
  } catch {
    return null; // functions, refs with live state, …: the preview and hash still say what they were
  }
  return keep(bytes);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

function validate(o: RunOptions): void {
  checkSeconds(o.timeout, "timeout");
  checkSeconds(o.ttl, "ttl");
  checkSeconds(o.waitTimeout, "waitTimeout");
  // The index keys runs by name, NUL-separated: a name may not hold one.
  if (o.name !== undefined && (typeof o.name !== "string" || o.name.trim() === "" || o.name.includes("\0"))) {
    throw new InvalidInputError(`name must be a non-empty string without NUL, not ${JSON.stringify(o.name)}`);
  }
  wholeNumber(o.retries, "retries");
  checkTags(o.tags, "tags");
}
