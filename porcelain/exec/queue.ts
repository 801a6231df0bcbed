// Distributed execution on BullMQ: a QueueExecutor enqueues a call — its module (relative to a
// declared project root), export, serialized arguments and options — instead of running it, and
// `cashet worker` processes on any machine with the same code take calls off the queue and run
// them through the normal run path on the shared RedisStore (so claims still make each call run
// once). The submitter has its result as soon as the worker's commit lands. A worker only ever
// runs module exports of the project it was started in: a job names code, it never carries any.
import { createRequire } from "node:module";
import { isAbsolute, relative, resolve, sep } from "node:path";
import * as v8 from "node:v8";
import type { Job, Queue, QueueEvents, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { InvalidInputError } from "../../plumbing/errors.js";
import { wholeNumber } from "../../plumbing/validate.js";
import { IDENTITY, type Identified } from "../../plumbing/hash/args.js";
import type { Store } from "../../plumbing/store.js";
import type { TaskEntry } from "./executor.js";
import { runFile } from "../call.js";
import { storedResult } from "../result-ref.js";
import { TaskError, type RunOptions } from "../run.js";
import { watchTaskModules } from "./load-export.js";

/** The options that travel with a queued call (the rest are the submitter's own). */
export type QueuedOptions = Pick<RunOptions, "force" | "cache" | "tags" | "retries" | "timeout" | "ttl" | "track">;

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
  private queue?: Queue;
  private events?: QueueEvents;
  private readonly connections: Redis[] = [];

  constructor(options: QueueOptions = {}) {
    this.s = settings(options);
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
    const job = await queue.add(call.name, data, {
      attempts: 1 + retries,
      backoff: { type: "exponential", delay: 100 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 24 * 3600 },
    });
    try {
      return (await job.waitUntilFinished(events)) as QueuedResult;
    } catch (err) {
      const failed = await bullmq().Job.fromId(queue, job.id!);
      const commit = (failed?.progress as { failedCommit?: string } | undefined)?.failedCommit;
      const message = failed?.failedReason ?? (err as Error).message;
      if (commit) throw new TaskError(`${call.name} failed on a worker: ${message}`, commit, new Error(message));
      throw new InvalidInputError(`${call.name} could not run on a worker: ${message}`);
    }
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue?.close();
    for (const c of this.connections) c.disconnect();
  }

  private async open(): Promise<{ queue: Queue; events: QueueEvents }> {
    if (!this.queue || !this.events) {
      const [a, b] = [connection(this.s.url), connection(this.s.url)];
      this.connections.push(a, b);
      const { Queue, QueueEvents } = bullmq();
      this.queue = new Queue(this.s.name, { connection: a, prefix: this.s.prefix });
      this.events = new QueueEvents(this.s.name, { connection: b, prefix: this.s.prefix });
      await this.events.waitUntilReady();
    }
    return { queue: this.queue, events: this.events };
  }
}

export interface WorkerOptions extends QueueOptions {
  /** Calls run at once by this worker (default 1). */
  concurrency?: number;
  /** How long a job may go without its worker's heartbeat before another worker takes it (ms, default 5000). */
  lockMs?: number;
}

/** Starts a worker that runs queued calls on `store`; resolves once it is taking jobs. */
export async function startWorker(store: Store, options: WorkerOptions = {}): Promise<{ close: () => Promise<void>; worker: Worker }> {
  const s = settings(options);
  watchTaskModules(); // task files may change while the worker runs
  const concurrency = wholeNumber(options.concurrency ?? 1, "concurrency", { min: 1 });
  const lockDuration = options.lockMs ?? 5000;
  const conn = connection(s.url);
  const { Worker } = bullmq();
  const worker = new Worker<QueuedCall, QueuedResult>(s.name, (job) => runJob(store, s.root, job), {
    connection: conn,
    prefix: s.prefix,
    concurrency,
    lockDuration,
    stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
    maxStalledCount: 5,
  });
  worker.on("error", () => undefined); // connection blips: BullMQ reconnects
  await worker.waitUntilReady();
  return {
    worker,
    close: async () => {
      await worker.close();
      conn.disconnect();
    },
  };
}

/** One job: the call run through the normal run path (cache, claims, commit) on the shared store. */
async function runJob(store: Store, root: string, job: Job<QueuedCall, QueuedResult>): Promise<QueuedResult> {
  const { file, exportName, args, options } = job.data;
  const abs = resolve(root, file);
  const { UnrecoverableError } = bullmq();
  if (isAbsolute(file) || relative(root, abs).startsWith("..")) throw new UnrecoverableError(`module ${file} is outside the project root`);
  try {
    const answer = await runFile({ file: abs, exportName, args: decodeArgs(args, store) }, { ...options, store });
    return { commit: answer.commit.id, cached: answer.cached };
  } catch (err) {
    if (err instanceof TaskError) await job.updateProgress({ failedCommit: err.commit });
    // A missing module or export, or an argument that cannot be loaded, will not appear on a retry.
    if (err instanceof InvalidInputError) throw new UnrecoverableError(err.message);
    throw err;
  }
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
