// The task builder: what `run` is asked to run — a live function object (the library) or a
// module export named by its file (`cashet run file#fn`, `cashet serve --tasks`, a queue worker).
// Both reach the same function hash, so they share one cache; both record the function the same
// way and hand the task the same values for its arguments.
import { existsSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Json } from "../plumbing/commit.js";
import { InvalidInputError } from "../plumbing/errors.js";
import { IDENTITY } from "../plumbing/hash/args.js";
import { argsFromCli } from "../plumbing/hash/cli-args.js";
import { FileArg } from "../plumbing/hash/file-arg.js";
import type { Component } from "../plumbing/hash/function.js";
import { hashExportedFunction } from "../plumbing/hash/function.js";
import type { Executor } from "./exec/executor.js";
import { ResultRef } from "./result-ref.js";
import type { TaskSpec } from "./run.js";

type AnyFn = (...args: never[]) => unknown;

/** A module export called with arguments: what `cashet run`, the server's file tasks and a queue worker run. */
export interface FileCall {
  /** The module, relative to the working directory or absolute. */
  file: string;
  /** The export to call (default: the default export). */
  exportName?: string;
  /** Shell words: JSON when they parse, else strings; `@path` a file argument, `@@x` the literal `@x`. */
  words?: readonly string[];
  /** All arguments as one JSON array (instead of `words`). */
  argsJson?: string;
  /** The arguments as values (instead of words): what a request or a queued job carries. */
  args?: readonly unknown[];
}

/** The commit's record of a function: its name, module, hash, source and what the hash covers. */
function funcRecord(name: string, file: string | undefined, hash: string, source: string, components: readonly Component[]): TaskSpec["func"] {
  return {
    name,
    module: file ? relative(process.cwd(), file) || file : "<no file>",
    hash,
    source,
    deps: components.map(depRecord),
  };
}

/**
 * A component as the commit records it: what `explain` compares — a package's lockfile integrity,
 * what a declaration declares, the tsconfig options by name. Not the function hash's input, which
 * is the components themselves: recording more here never changes a key.
 */
function depRecord(c: Component): Json {
  return {
    kind: c.kind,
    key: c.key,
    hash: c.hash,
    ...(c.integrity ? { integrity: c.integrity } : {}),
    ...(c.declares ? { declares: c.declares } : {}),
    ...(c.kind === "tsconfig" ? { name: c.name } : {}),
  };
}

/**
 * The task of calling the function object `fn` with `args` (`client.submit`): its hash by the
 * runtime path (its source as the file has it, plus the values it captured), so it shares the
 * cache with `cashet run file#fn`.
 */
export async function functionTask(fn: AnyFn, args: readonly unknown[]): Promise<TaskSpec> {
  if (typeof fn !== "function") throw new TypeError(`submit needs a function, not ${typeof fn}`);
  // node:inspector and the module graph's hashing: loaded by the first call of a function, never by the CLI
  const { hashFunctionObject } = await import("../plumbing/hash/runtime.js");
  const identity = await hashFunctionObject(fn);
  return {
    fn,
    args,
    ...(identity.file ? { file: identity.file, files: identity.files } : {}),
    ...(identity.file && identity.exportName !== undefined ? { entry: { file: identity.file, exportName: identity.exportName } } : {}),
    func: funcRecord(fn.name || identity.name, identity.file, identity.hash, identity.source ?? Function.prototype.toString.call(fn), identity.components),
    hashFunction: async (f) => (await hashFunctionObject(f as AnyFn)).hash,
    resolveArgs: (given) => Promise.all(given.map((arg) => resolveArg(arg))),
  };
}

/** A thread started for one call (worker-pool.ts and worker_threads, loaded only when one is needed). */
const freshThread: Executor = {
  execute: async (call) => (await import("./exec/worker-pool.js")).freshThread.execute(call),
};

/**
 * The task `cashet run` would run, without touching a store and without importing the module (a
 * hit never imports it: no top-level side effects, no TypeScript loader; only a miss loads it).
 * Throws InvalidInputError for a missing file or export, unparseable arguments or a missing
 * `@file` — so bad input is refused before anything is created.
 */
export async function fileTask(call: FileCall): Promise<TaskSpec> {
  const { file, exportName = "default" } = call;
  const abs = resolve(file);
  if (!existsSync(abs)) throw new InvalidInputError(`${file} does not exist`);
  if (!statSync(abs).isFile()) throw new InvalidInputError(`${file} is not a file`);
  const args = call.args ? [...call.args] : argsFromCli(call.words ?? [], call.argsJson);
  for (const arg of args) if (arg instanceof FileArg) await arg[IDENTITY](); // a missing @file fails here, not mid-run
  const identity = hashExportedFunction(file, exportName);
  // The source as written in the file (a TypeScript function's loaded text is tsx's output); for an
  // export that is not a declaration (`export default () => …` re-exported, …), its text once loaded.
  const func = funcRecord(exportName === "default" ? identity.name || "default" : exportName, abs, identity.hash, identity.source ?? "", identity.components);
  let loaded: ((...a: unknown[]) => unknown) | undefined;
  const spec: TaskSpec = {
    file: identity.file,
    files: identity.files,
    entry: { file: abs, exportName },
    fn: (...a: never[]) => loaded!(...a),
    args,
    func,
    // run calls this only on a miss, before the first attempt and before it records the commit:
    // the one place the module is imported.
    resolveArgs: async (given) => {
      const { currentExport } = await import("./exec/load-export.js"); // a hit never loads modules
      const current = await currentExport(abs, exportName, func.hash, file);
      if (current === null) {
        spec.executor = freshThread; // this process holds older code than the file's
      } else {
        loaded = current;
        if (!func.source) func.source = Function.prototype.toString.call(loaded);
        if (exportName === "default" && loaded.name) func.name = loaded.name; // as the library names it
      }
      return Promise.all(given.map((arg) => resolveArg(arg)));
    },
  };
  return spec;
}

/**
 * What a task receives for an argument: a result's value, a file's path, anything else as is —
 * also inside plain arrays and objects, so `[ref1, ref2]` arrives as two values. The call is
 * keyed by the results themselves (their output hashes), never by loading them first.
 */
export async function resolveArg(arg: unknown, path: ReadonlySet<object> = new Set()): Promise<unknown> {
  if (arg instanceof ResultRef) return arg.load();
  if (arg instanceof FileArg) return arg.path;
  if (arg === null || typeof arg !== "object" || path.has(arg)) return arg; // a cycle is left as it is
  const proto = Object.getPrototypeOf(arg) as unknown;
  const inner = new Set(path).add(arg);
  if (Array.isArray(arg)) {
    const out = await Promise.all(arg.map((v: unknown) => resolveArg(v, inner)));
    return out.some((v, i) => v !== arg[i]) ? out : arg;
  }
  if (proto !== Object.prototype && proto !== null) return arg;
  const entries = await Promise.all(Object.entries(arg).map(async ([k, v]) => [k, await resolveArg(v, inner)] as const));
  if (entries.every(([k, v]) => v === (arg as Record<string, unknown>)[k])) return arg;
  return Object.assign(Object.create(proto as object | null) as object, Object.fromEntries(entries));
}
