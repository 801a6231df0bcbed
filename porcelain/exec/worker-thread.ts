// The entry of a worker thread of the WorkerPoolExecutor: loads the task's module export (once
// per thread), runs it with its task context — noting what it reads, when asked — and posts back
// the result (with those reads) or the error. It runs only what the pool asks for: module exports
// named by file and export, never code sent as text.
import { parentPort } from "node:worker_threads";
import { CashetError } from "../../plumbing/errors.js";
import { runWithContext } from "./context.js";
import { loadExport } from "./load-export.js";
import { install } from "./observe.js";
import type { WorkerReply, WorkerRequest } from "./worker-pool.js";

const port = parentPort;
if (!port) throw new Error("worker-thread.js runs inside a worker thread");
// Before any task module loads: what it takes from node:fs is then the observed functions.
const observer = install();

const loaded = new Map<string, Promise<(...a: unknown[]) => unknown>>();

port.on("message", (msg: WorkerRequest) => void runOne(msg));

async function runOne(msg: WorkerRequest): Promise<void> {
  // The pool stops a thread for real (timeout, cancellation); the signal is there for tasks that
  // also run in-process and look at it.
  const controller = new AbortController();
  let reply: WorkerReply;
  try {
    const key = `${msg.file}\0${msg.exportName}`;
    if (!loaded.has(key)) loaded.set(key, loadExport(msg.file, msg.exportName));
    const fn = await loaded.get(key)!;
    const recorder = msg.track ? observer.start() : null;
    const call = (): unknown => runWithContext({ signal: controller.signal, attempt: msg.attempt, fingerprint: msg.fingerprint }, () => fn(...msg.args));
    const value = await (recorder ? observer.during(recorder, call) : call());
    reply = { id: msg.id, ok: true, value, ...(recorder ? { reads: recorder.reads() } : {}) };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: describe(err) };
  }
  try {
    port!.postMessage(reply);
  } catch (err) {
    // The result cannot cross threads (a function, a live handle …): say so as the task's failure.
    port!.postMessage({ id: msg.id, ok: false, error: describe(err, "the task's result cannot be sent back from its worker thread") } satisfies WorkerReply);
  }
}

function describe(err: unknown, context?: string): Extract<WorkerReply, { ok: false }>["error"] {
  const e = err instanceof Error ? err : new Error(String(err));
  const message = context ? `${context}: ${e.message}` : e.message;
  // A code only from cashet's own errors: a task's error may carry any `code` (Node's dns says ETIMEOUT too).
  return { name: e.name, message, stack: e.stack ?? `${e.name}: ${message}`, ...(e instanceof CashetError && !context ? { code: e.code } : {}) };
}
