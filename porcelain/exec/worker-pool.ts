// WorkerPoolExecutor: runs tasks in a pool of worker threads — true parallelism for CPU-bound
// module functions, and hard timeouts (a thread that runs past its time is terminated and
// replaced). A task must be a module export: the thread loads it by file and export name.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { errorFromCode, InvalidInputError, type ErrorCode } from "../../plumbing/errors.js";
import { wholeNumber } from "../../plumbing/validate.js";
import { TaskTimeoutError, type Executor, type TaskCall } from "./executor.js";
import { installed, type Reads, type Recorder } from "./observe.js";

/** What the pool sends a thread. */
export interface WorkerRequest {
  type: "run";
  id: number;
  file: string;
  exportName: string;
  args: unknown[];
  attempt: number;
  fingerprint: string;
  /** Note what the task reads (files, environment variables) and send it back with the result. */
  track: boolean;
}

/**
 * What a thread answers; a failure's `code` is there when the task threw one of cashet's errors;
 * `reads`, what the task read, when asked to track.
 */
export type WorkerReply =
  | { id: number; ok: true; value: unknown; reads?: Reads }
  | { id: number; ok: false; error: { name: string; message: string; stack: string; code?: ErrorCode } };

export interface WorkerPoolOptions {
  /** Threads at most (default: os.availableParallelism()); started as work arrives. */
  size?: number;
  /** Per-thread memory limits (node:worker_threads resourceLimits). */
  resourceLimits?: ConstructorParameters<typeof Worker>[1] extends infer O ? (O extends { resourceLimits?: infer R } ? R : never) : never;
}

interface Job {
  call: TaskCall & { entry: NonNullable<TaskCall["entry"]> };
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** The recorder of the call this attempt is for (run.ts's, found in the async context of `execute`). */
  recorder: Recorder | undefined;
  /** Clears the job's timer and signal listener once it has started. */
  cleanup?: () => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  /** Set when the pool itself ends the thread (timeout, abort, close): its exit is not a crash. */
  ending: boolean;
}

const ENTRY = new URL("./worker-thread.js", import.meta.url);

export class WorkerPoolExecutor implements Executor {
  private readonly size: number;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions = {}) {
    this.size = wholeNumber(options.size ?? availableParallelism(), "a worker pool's size", { min: 1 });
  }

  execute(call: TaskCall): Promise<unknown> {
    if (this.closed) return Promise.reject(new InvalidInputError("the worker pool is closed"));
    const entry = call.entry;
    if (!entry) {
      return Promise.reject(
        new InvalidInputError(`the worker-thread executor runs module exports only: ${call.fn.name || "this function"} is not exported by a module (a closure or a local function cannot be loaded in another thread)`),
      );
    }
    call.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.queue.push({ call: { ...call, entry }, resolve, reject, recorder: installed()?.current() });
      this.pump();
    });
  }

  /** Terminates every thread; queued and running tasks fail. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error("the worker pool was closed");
    for (const job of this.queue.splice(0)) job.reject(gone);
    await Promise.all(
      [...this.slots].map(async (slot) => {
        slot.ending = true;
        slot.job?.reject(gone);
        slot.job = null;
        await slot.worker.terminate();
      }),
    );
    this.slots.clear();
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => s.job === null && !s.ending);
      if (!slot) {
        if (this.slots.size >= this.size) return;
        slot = this.spawn();
      }
      this.start(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(ENTRY, { ...(this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {}) });
    const slot: Slot = { worker, job: null, ending: false };
    this.slots.add(slot);
    worker.unref(); // an idle pool never keeps the process alive
    worker.on("message", (reply: WorkerReply) => {
      const job = slot.job;
      if (!job) return;
      this.finish(slot);
      if (reply.ok && reply.reads) job.recorder?.add(reply.reads);
      if (reply.ok) job.resolve(reply.value);
      else job.reject(threadError(reply.error));
    });
    // An uncaught exception or a failed start ends the thread; `exit` follows and reports it.
    let crash: Error | null = null;
    worker.on("error", (err) => (crash = err));
    worker.on("exit", (code) => {
      this.slots.delete(slot);
      const job = slot.job;
      slot.job = null;
      if (job && !slot.ending) {
        const what = `${job.call.entry.exportName} (${job.call.entry.file})`;
        job.reject(crash ?? new Error(`the worker thread running ${what} exited with code ${code}`));
      }
      if (!this.closed) this.pump();
    });
    return slot;
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref(); // running work keeps the process alive, as an in-process task would
    const { call } = job;
    const stop = (err: unknown): void => {
      if (slot.job !== job) return;
      slot.job = null;
      slot.ending = true;
      cleanup();
      job.reject(err);
      void slot.worker.terminate();
    };
    const timer = call.timeout !== undefined ? setTimeout(() => stop(new TaskTimeoutError(call.timeout!, true)), call.timeout * 1000) : undefined;
    const onAbort = (): void => stop(call.signal!.reason);
    call.signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = (): void => {
      clearTimeout(timer);
      call.signal?.removeEventListener("abort", onAbort);
    };
    job.cleanup = cleanup;
    const request: WorkerRequest = {
      type: "run",
      id: this.nextId++,
      file: call.entry.file,
      exportName: call.entry.exportName,
      args: [...call.args],
      attempt: call.attempt,
      fingerprint: call.fingerprint,
      track: job.recorder !== undefined,
    };
    try {
      slot.worker.postMessage(request);
    } catch (err) {
      // Arguments that cannot cross threads (functions, live handles): the task cannot run here.
      slot.job = null;
      cleanup();
      slot.worker.unref();
      job.reject(new InvalidInputError(`the arguments of ${call.entry.exportName} cannot be sent to a worker thread: ${(err as Error).message}`));
      queueMicrotask(() => this.pump());
    }
  }

  /** A thread answered: it is free again. */
  private finish(slot: Slot): void {
    slot.job?.cleanup?.();
    slot.job = null;
    slot.worker.unref();
    queueMicrotask(() => this.pump());
  }
}

/**
 * Runs each call in a thread of its own, started for it and ended after it: the module is loaded
 * as it is on disk now, whatever this process imported before (a task file edited under a
 * long-lived server or worker).
 */
export const freshThread: Executor = {
  async execute(call) {
    const pool = new WorkerPoolExecutor({ size: 1 });
    try {
      return await pool.execute(call);
    } finally {
      await pool.close();
    }
  },
};

/** A task's error as its thread described it: cashet's errors as their classes again, any other as an Error of the same name; the thread's stack either way. */
function threadError(e: Extract<WorkerReply, { ok: false }>["error"]): Error {
  const err = e.code ? errorFromCode(e.code, e.message) : Object.assign(new Error(e.message), { name: e.name });
  err.stack = e.stack;
  return err;
}
