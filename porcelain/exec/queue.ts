// Distributed execution on BullMQ: a QueueExecutor enqueues a call — its module (relative to a
// declared project root), export, serialized arguments and options — instead of running it, and
// `cashet worker` processes on any machine with the same code take calls off the queue and run
// them through the normal run path on the shared RedisStore (so claims still make each call run
// once). The submitter has its result as soon as the worker's commit lands, and hears when no
// worker takes its call. A worker only ever runs module exports of the project it was started
// in: a job names code, it never carries any.
import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { isAbsolute, relative, resolve, sep } from "node:path";
import * as v8 from "node:v8";
import type { Job, Queue, QueueEvents, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { Heartbeat } from "../../plumbing/backends/redis/heartbeat.js";
import { InvalidInputError, WaitTimeoutError } from "../../plumbing/errors.js";
import { IDENTITY, type Identified } from "../../plumbing/hash/args.js";
import type { Store } from "../../plumbing/store.js";
import { checkSeconds, wholeNumber } from "../../plumbing/validate.js";
import type { TaskEntry } from "./executor.js";
import { runFile, type Answer } from "../call.js";
import { storedResult } from "../result-ref.js";
import { TaskError, type RunOptions } from "../run.js";
import { watchTaskModules } from "./load-export.js";

/** The options that travel with a queued call (the rest are the submitter's own). */
export type QueuedOptions = Pick<RunOptions, "force" | "cache" | "tags" | "name" | "retries" | "timeout" | "ttl" | "track">;

/** What a job holds. */
export interface QueuedCall {
  /** The module, relative to the project root, with `/` separators. */
  file: string;
  exportName: string;
  /** v8-serialized arguments, base64; results of earlier calls travel as references to their blobs. */
  args: string;
  options: Omit<QueuedOptions, "retries">;
}

/** What a worker answers. */
export interface QueuedResult {
  commit: string;
  /** True only when the call ran nowhere: not on this worker, nor on an earlier take of the same job. */
  cached: boolean;
}

export interface QueueOptions {
  /** Redis URL (default $CASHET_REDIS, else redis://127.0.0.1:6379). */
  redis?: string;
  /** The queue's name (default `cashet`). */
  queue?: string;
  /** Key prefix of the queue's keys (default: the store prefix, $CASHET_REDIS_PREFIX or `cashet:`, plus `queue`). */
  prefix?: string;
  /** The project root module paths are relative to (default: the working directory). */
  root?: string;
}

/** A call that waits in the queue with no worker taking it. */
export interface QueueWait {
  queue: string;
  /** The call's function name. */
  name: string;
  waitedMs: number;
}

export interface QueueExecutorOptions extends QueueOptions {
  /**
   * Seconds (fractions allowed) a call may wait in the queue for a worker to take it before it
   * gives up with WaitTimeoutError and is removed from the queue (so no worker started later runs
   * an abandoned call). Once a worker has taken it, the call waits for its result however long
   * the run takes (`timeout` limits the run); it waits again if the job goes back to the queue.
   * Default: no limit.
   */
  queueTimeout?: number;
  /** Seconds a call waits untaken before `onQueueWait` is called (default 3). */
  waitNotice?: number;
  /**
   * Called once a call has waited `waitNotice` seconds with no worker taking it (no worker runs,
   * or all are busy); the function it returns, if any, is called when the wait ends.
   */
  onQueueWait?: (wait: QueueWait) => void | (() => void);
}

/** Stands in an argument for a result of an earlier call: its output blob and its commit. */
const REF_MARK = "\u0000cashet-ref";
type RefMark = { [REF_MARK]: { hash: string; commit: string } };

function settings(options: QueueOptions): { url: string; name: string; prefix: string; root: string } {
  return {
    url: options.redis ?? process.env.CASHET_REDIS ?? "redis://127.0.0.1:6379",
    name: options.queue ?? "cashet",
    prefix: options.prefix ?? `${process.env.CASHET_REDIS_PREFIX ?? "cashet:"}queue`,
    root: resolve(options.root ?? process.cwd()),
  };
}

// bullmq and ioredis (≈ 250 ms to load together) are required only when a queue is used.
const require = createRequire(import.meta.url);
const bullmq = (): typeof import("bullmq") => require("bullmq") as typeof import("bullmq");

/** BullMQ wants a connection that retries forever. */
function connection(url: string): Redis {
  const { Redis: Client } = require("ioredis") as typeof import("ioredis");
  return new Client(url, { maxRetriesPerRequest: null });
}

/**
 * Runs calls on `cashet worker` processes instead of here. Give it to a Client whose store is the
 * RedisStore the workers use: `new Client({ store, executor: new QueueExecutor({ root }) })`.
 */
export class QueueExecutor {
  private readonly s: ReturnType<typeof settings>;
  private readonly queueTimeoutMs: number | null;
  private readonly noticeMs: number;
  private readonly onQueueWait: QueueExecutorOptions["onQueueWait"];
  private queue?: Queue;
  private events?: QueueEvents;
  private readonly connections: Redis[] = [];
  /** The calls waiting on a job, by job id: what ends their wait if the executor closes. */
  private readonly pending = new Map<string, (err: Error) => void>();

  constructor(options: QueueExecutorOptions = {}) {
    this.s = settings(options);
    checkSeconds(options.queueTimeout, "queueTimeout");
    checkSeconds(options.waitNotice, "waitNotice");
    this.queueTimeoutMs = options.queueTimeout === undefined ? null : options.queueTimeout * 1000;
    this.noticeMs = (options.waitNotice ?? 3) * 1000;
    this.onQueueWait = options.onQueueWait;
  }

  /** Enqueues the call and waits for the worker's commit. Throws TaskError (with the failed commit) when it failed. */
  async runRemote(call: { entry?: TaskEntry; args: readonly unknown[]; options: QueuedOptions; name: string }): Promise<QueuedResult> {
    if (!call.entry) throw new InvalidInputError(`a queued call must be a module export: ${call.name} is not exported by a module`);
    const file = relative(this.s.root, call.entry.file);
    if (file.startsWith("..") || isAbsolute(file)) {
      throw new InvalidInputError(`${call.entry.file} is outside the project root ${this.s.root}: workers load modules relative to it`);
    }
    const { retries = 0, ...options } = call.options;
    const data: QueuedCall = { file: file.split(sep).join("/"), exportName: call.entry.exportName, args: encodeArgs(call.args), options };
    const { queue, events } = await this.open();
    // The id is ours, so we listen for the job's events before it exists and none can be missed;
    // random, so it also names this one call in the commit a worker makes for it.
    const id = randomUUID();
    const job = this.follow(queue, events, id, call.name);
    try {
      await queue.add(call.name, data, {
        jobId: id,
        attempts: 1 + retries,
        backoff: { type: "exponential", delay: 100 },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      });
    } catch (err) {
      job.end();
      throw err;
    }
    job.added();
    try {
      return await job.done;
    } catch (err) {
      if (!(err instanceof JobFailed)) throw err;
      const failed = await bullmq().Job.fromId(queue, id);
      const commit = (failed?.progress as { failedCommit?: string } | undefined)?.failedCommit;
      const message = failed?.failedReason ?? err.message;
      if (commit) throw new TaskError(`${call.name} failed on a worker: ${message}`, commit, new Error(message));
      throw new InvalidInputError(`${call.name} could not run on a worker: ${message}`);
    }
  }

  async close(): Promise<void> {
    for (const stop of [...this.pending.values()]) stop(new Error("the queue executor was closed while a call waited on it"));
    await this.events?.close();
    await this.queue?.close();
    for (const c of this.connections) c.disconnect();
  }

  /**
   * Follows job `id` through its events: `done` settles when it completes or fails. While it is in
   * the queue untaken (from `added()`, and again whenever it goes back), the wait notice and the
   * queue timeout run; a worker taking it stops both.
   */
  private follow(queue: Queue, events: QueueEvents, id: string, name: string): { done: Promise<QueuedResult>; added: () => void; end: () => void } {
    let settle!: { resolve: (r: QueuedResult) => void; reject: (e: Error) => void };
    const done = new Promise<QueuedResult>((resolve, reject) => (settle = { resolve, reject }));
    let state: "adding" | "queued" | "taken" | "ended" = "adding";
    let timers: NodeJS.Timeout[] = [];
    let endNotice: (() => void) | void;
    const stopWaiting = (): void => {
      for (const t of timers) clearTimeout(t);
      timers = [];
      if (typeof endNotice === "function") endNotice();
      endNotice = undefined;
    };
    // Asked of Redis, not of the events, when a timer fires: an event may still be on its way.
    const untaken = async (): Promise<boolean> => ["waiting", "prioritized", "paused"].includes(await queue.getJobState(id));
    const notice = async (since: number): Promise<void> => {
      if (state === "queued" && this.onQueueWait && (await untaken())) endNotice = this.onQueueWait({ queue: this.s.name, name, waitedMs: Date.now() - since });
    };
    const giveUp = async (since: number): Promise<void> => {
      // remove() refuses a job a worker has locked, so one taken at the last moment carries on
      if (state !== "queued" || !(await untaken()) || (await queue.remove(id)) !== 1) return;
      end();
      settle.reject(
        new WaitTimeoutError(
          `gave up after ${this.queueTimeoutMs! / 1000} s: no worker took ${name} from queue "${this.s.name}" (start one with: cashet worker --queue ${this.s.name}); the call was removed from the queue`,
          null,
          Date.now() - since,
        ),
      );
    };
    const wait = (): void => {
      state = "queued";
      const since = Date.now();
      const fail = (err: unknown): void => (end(), settle.reject(err as Error));
      timers.push(setTimeout(() => notice(since).catch(fail), this.noticeMs));
      if (this.queueTimeoutMs !== null) timers.push(setTimeout(() => giveUp(since).catch(fail), this.queueTimeoutMs));
    };
    const handlers: Record<string, (args: { returnvalue?: unknown; failedReason?: string }) => void> = {
      [`active:${id}`]: () => {
        if (state === "ended") return;
        state = "taken";
        stopWaiting();
      },
      // Back in the queue (its worker died, or a retry); the event of the add itself comes while
      // "adding" or "queued" and changes nothing.
      [`waiting:${id}`]: () => (state === "taken" ? wait() : undefined),
      [`completed:${id}`]: ({ returnvalue }) => (end(), settle.resolve(returnvalue as QueuedResult)),
      [`failed:${id}`]: ({ failedReason }) => (end(), settle.reject(new JobFailed(failedReason ?? "failed"))),
    };
    // QueueEvents emits `<event>:<job id>` for each job; its typings list only the plain events.
    const emitter = events as unknown as EventEmitter;
    const end = (): void => {
      state = "ended";
      stopWaiting();
      this.pending.delete(id);
      for (const [event, h] of Object.entries(handlers)) emitter.off(event, h);
    };
    for (const [event, h] of Object.entries(handlers)) emitter.on(event, h);
    this.pending.set(id, (err) => (end(), settle.reject(err)));
    // Taken (or even finished) before add() returned: nothing to wait for in the queue.
    const added = (): void => (state === "adding" ? wait() : undefined);
    return { done, added, end };
  }

  private async open(): Promise<{ queue: Queue; events: QueueEvents }> {
    if (!this.queue || !this.events) {
      const [a, b] = [connection(this.s.url), connection(this.s.url)];
      this.connections.push(a, b);
      const { Queue, QueueEvents } = bullmq();
      this.queue = new Queue(this.s.name, { connection: a, prefix: this.s.prefix });
      this.events = new QueueEvents(this.s.name, { connection: b, prefix: this.s.prefix });
      this.events.setMaxListeners(0); // four listeners per waiting call
      await this.events.waitUntilReady();
    }
    return { queue: this.queue, events: this.events };
  }
}

/** A job that BullMQ reports failed (the reason is on the job). */
class JobFailed extends Error {}

export interface WorkerOptions extends QueueOptions {
  /** Calls run at once by this worker (default 1). */
  concurrency?: number;
  /**
   * How long a job outlives its worker (ms, default 2000): a worker that dies mid-call loses the
   * job to another this long after its last heartbeat (plus up to a quarter of it, the stalled
   * check). The heartbeat beats in a thread, so a call that keeps the worker busy never loses it.
   */
  lockMs?: number;
  /** Called after each job this worker took: what it was, whether it ran here, how long it took. */
  onJob?: (report: JobReport) => void;
}

/** One job a worker took. */
export interface JobReport {
  /** The call's function name. */
  name: string;
  args: number;
  /** ran: executed here; hit: answered from the store; failed: the call (or loading it) failed. */
  outcome: "ran" | "hit" | "failed";
  /** What the submitter is told: false when the call ran, here or on an earlier take of this job. */
  cached: boolean;
  durationMs: number;
  /** The commit answered (the failed commit for a failure), or null when the call could not be loaded. */
  commit: string | null;
  /** The error, for a failure. */
  error?: string;
  /** BullMQ delivered this job before (its earlier worker died or lost its lock). */
  again: boolean;
}

const DEFAULT_LOCK_MS = 2_000;

/** Starts a worker that runs queued calls on `store`; resolves once it is taking jobs. */
export async function startWorker(store: Store, options: WorkerOptions = {}): Promise<{ close: () => Promise<void>; worker: Worker }> {
  const s = settings(options);
  watchTaskModules(); // task files may change while the worker runs
  const concurrency = wholeNumber(options.concurrency ?? 1, "concurrency", { min: 1 });
  const lockDuration = wholeNumber(options.lockMs ?? DEFAULT_LOCK_MS, "lockMs", { min: 300 });
  const conn = connection(s.url);
  // BullMQ renews a job's lock from the main thread, which a synchronous task blocks: the job
  // then looks stalled and BullMQ hands it to another worker while it still runs here (measured:
  // 6–12 of 20 CPU-bound 1.5 s calls with a 2 s lock). The lock is renewed from a thread as well,
  // like a claim (../../plumbing/backends/redis/heartbeat.ts): it lapses only when this process dies.
  const locks = new Heartbeat(s.url, {}, lockDuration);
  const { Worker } = bullmq();
  const worker: Worker<QueuedCall, QueuedResult> = new Worker<QueuedCall, QueuedResult>(
    s.name,
    async (job, token) => {
      // The job's lock key, as BullMQ's own extendLock names it.
      const lock = `${worker.toKey(job.id!)}:lock`;
      if (token) locks.hold(lock, token, () => undefined); // lost: BullMQ finds out when the job ends
      try {
        return await runJob(store, s, job, options.onJob);
      } finally {
        if (token) locks.drop(lock, token);
      }
    },
    {
      connection: conn,
      prefix: s.prefix,
      concurrency,
      lockDuration,
      // How often a lapsed lock is looked for: a dead worker's job is re-queued at most this long
      // after its lock lapsed. One check per interval across all workers (BullMQ keeps it global).
      stalledInterval: Math.min(1000, Math.max(250, Math.floor(lockDuration / 4))),
      maxStalledCount: 5,
    },
  );
  worker.on("error", () => undefined); // connection blips: BullMQ reconnects
  await worker.waitUntilReady();
  return {
    worker,
    close: async () => {
      await worker.close();
      await locks.stop();
      conn.disconnect();
    },
  };
}

/** One job: the call run through the normal run path (cache, claims, commit) on the shared store. */
async function runJob(store: Store, s: ReturnType<typeof settings>, job: Job<QueuedCall, QueuedResult>, onJob: WorkerOptions["onJob"]): Promise<QueuedResult> {
  const { file, exportName, args, options } = job.data;
  const abs = resolve(s.root, file);
  const { UnrecoverableError } = bullmq();
  const started = performance.now();
  const report = (r: Omit<JobReport, "name" | "durationMs" | "again">): void =>
    onJob?.({ name: job.name, durationMs: performance.now() - started, again: job.stalledCounter > 0, ...r });
  let argc = 0;
  let answer: Answer;
  try {
    if (isAbsolute(file) || relative(s.root, abs).startsWith("..")) throw new UnrecoverableError(`module ${file} is outside the project root`);
    const decoded = decodeArgs(args, store);
    argc = decoded.length;
    // The commit names the job that ran it: a later take of this job that finds it is no hit.
    answer = await runFile({ file: abs, exportName, args: decoded }, { ...options, store, provenance: { queue: { name: s.name, job: job.id! } } });
  } catch (err) {
    const commit = err instanceof TaskError ? err.commit : null;
    if (commit) await job.updateProgress({ failedCommit: commit });
    report({ args: argc, outcome: "failed", cached: false, commit, error: (err as Error).message });
    // A missing module or export, or an argument that cannot be loaded, will not appear on a retry.
    if (err instanceof InvalidInputError) throw new UnrecoverableError(err.message);
    throw err;
  }
  const ranForThisJob = (answer.commit.provenance.queue as { job?: unknown } | undefined)?.job === job.id;
  const cached = answer.cached && !ranForThisJob;
  report({ args: argc, outcome: answer.cached ? "hit" : "ran", cached, commit: answer.commit.id });
  return { commit: answer.commit.id, cached };
}

/** Arguments as a job carries them: v8 serialization, results of earlier calls as references. */
function encodeArgs(args: readonly unknown[]): string {
  const swap = (v: unknown): unknown => {
    if (v !== null && typeof v === "object" && IDENTITY in v) {
      const id = (v as Identified)[IDENTITY]();
      const ref = v as { hash?: unknown; commit?: unknown };
      if (typeof id === "string" && id.startsWith("ref:") && typeof ref.commit === "string") return { [REF_MARK]: { hash: id.slice(4), commit: ref.commit } };
      throw new InvalidInputError(`an argument identified as ${String(id).split(":")[0]} (a file() argument?) cannot travel to another machine: pass its contents`);
    }
    if (Array.isArray(v)) return v.map(swap);
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
    return v;
  };
  try {
    return v8.serialize(args.map(swap)).toString("base64");
  } catch (err) {
    throw new InvalidInputError(`the arguments cannot be sent to a worker: ${(err as Error).message}`);
  }
}

function decodeArgs(b64: string, store: Store): unknown[] {
  const restore = (v: unknown): unknown => {
    if (v !== null && typeof v === "object" && REF_MARK in v) {
      const { hash, commit } = (v as RefMark)[REF_MARK];
      return storedResult(store, commit, hash);
    }
    if (Array.isArray(v)) return v.map(restore);
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, restore(x)]));
    return v;
  };
  return (v8.deserialize(Buffer.from(b64, "base64")) as unknown[]).map(restore);
}
