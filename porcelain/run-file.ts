// runFile: the CLI's memoized call of `<file>#<export>`. The function hash is computed
// statically from the source and the arguments from the shell words, so a cache hit never
// imports the script (no top-level side effects, no TypeScript loader); only a miss loads it.
import { existsSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Json } from "../plumbing/commit.js";
import { InvalidInputError } from "../plumbing/errors.js";
import { IDENTITY } from "../plumbing/hash/args.js";
import { argsFromCli } from "../plumbing/hash/cli-args.js";
import { FileArg } from "../plumbing/hash/file-arg.js";
import { hashExportedFunction } from "../plumbing/hash/function.js";
import { analysisCacheDir, setAnalysisCache } from "../plumbing/hash/module.js";
import { analysisDir, objectsDir, tmpDir } from "../plumbing/backends/fs/layout.js";
import type { Store } from "../plumbing/store.js";
import { importModule, loadExport, loadModuleExports } from "./exec/load-export.js";
import type { Executor } from "./exec/executor.js";
import { run, type RunOptions, type RunResult, type TaskSpec } from "./run.js";

export interface RunFileInput {
  /** The script, relative to the working directory or absolute. */
  file: string;
  /** The export to call (default: the default export). */
  exportName?: string;
  /** Shell words: JSON when they parse, else strings; `@path` a file argument, `@@x` the literal `@x`. */
  words?: readonly string[];
  /** All arguments as one JSON array (instead of `words`). */
  argsJson?: string;
  /** The arguments as values (instead of words): what a queue worker received. */
  args?: readonly unknown[];
  /** What an argument becomes when the task runs (default: a file argument becomes its path). */
  resolveArg?: (arg: unknown) => unknown;
  options?: RunOptions;
}

/**
 * The task `cashet run` would run, without touching a store and without importing the script:
 * throws InvalidInputError for a missing file or export, unparseable arguments or a missing
 * `@file` — so bad input is refused before anything is created.
 */
/** A thread started for one call (worker-pool.ts and worker_threads, loaded only when one is needed). */
const freshThread: Executor = {
  execute: async (call) => (await import("./exec/worker-pool.js")).freshThread.execute(call),
};

/** What each task export's hash was when this process imported its module (`file#export`). */
const hashAtLoad = new Map<string, string>();
/** Task modules this process imported with every export's hash recorded (`loadTaskModule`). */
const loadedModules = new Set<string>();
let watching = false;

/**
 * For processes that live on while task files change (serve, queue workers): from now on, the
 * first import of a task module records every export's hash (`loadTaskModule`), so that any
 * export edited after that import — even one not called yet — runs as it is on disk. Without it
 * only the exports already called are checked: enough for a one-shot `cashet run`, which then
 * never pays for hashing exports it does not call (≈ 10–400 ms, by what they import).
 */
export function watchTaskModules(): void {
  watching = true;
}

/**
 * Imports the task module at `file` and records what every one of its exports is right now, so
 * that a later call of any of them knows whether this process still holds its current code
 * (`cashet serve --tasks` at start; `fileTask` on a module's first miss once `watchTaskModules()`).
 */
export async function loadTaskModule(file: string): Promise<string[]> {
  const abs = resolve(file);
  const names = await loadModuleExports(abs);
  if (!loadedModules.has(abs)) {
    loadedModules.add(abs);
    const mod = await importModule(abs); // the same instance: Node imported it once
    const inner = mod.default && typeof mod.default === "object" ? Object.keys(mod.default) : []; // CommonJS
    for (const name of new Set([...Object.keys(mod), ...inner])) {
      try {
        hashAtLoad.set(`${abs}#${name}`, hashExportedFunction(abs, name).hash);
      } catch {} // not a function the hasher can name: its calls will run in a fresh thread
    }
  }
  return names;
}

export async function fileTask(input: Omit<RunFileInput, "options">): Promise<TaskSpec> {
  const { file, exportName = "default" } = input;
  const abs = resolve(file);
  if (!existsSync(abs)) throw new InvalidInputError(`${file} does not exist`);
  if (!statSync(abs).isFile()) throw new InvalidInputError(`${file} is not a file`);
  const args = input.args ? [...input.args] : argsFromCli(input.words ?? [], input.argsJson);
  for (const arg of args) if (arg instanceof FileArg) await arg[IDENTITY](); // a missing @file fails here, not mid-run
  const identity = hashExportedFunction(file, exportName);
  const func: TaskSpec["func"] = {
    name: exportName === "default" ? identity.name || "default" : exportName,
    module: relative(process.cwd(), abs) || abs,
    hash: identity.hash,
    // As written in the file (a TypeScript function's loaded text is tsx's output); for an
    // export that is not a declaration (`export default () => …` re-exported, …), its text once loaded.
    source: identity.source ?? "",
    deps: identity.components.map((c): Json => ({ kind: c.kind, key: c.key, hash: c.hash })),
  };
  let loaded: ((...a: unknown[]) => unknown) | undefined;
  const spec: TaskSpec = {
    file: identity.file,
    files: identity.files,
    entry: { file: abs, exportName },
    fn: (...a: never[]) => loaded!(...a),
    args,
    func,
    // run calls this only on a miss, before the first attempt and before it records the commit:
    // the one place the script is imported.
    resolveArgs: async (given) => {
      // Node never loads a module twice: a process that imported this module before the function
      // (or anything it depends on) changed holds the old code, and running it would record the
      // old code under the new code's key. Such a call runs in a fresh thread, which loads the
      // files as they are now.
      const key = `${abs}#${exportName}`;
      if (watching && !loadedModules.has(abs)) await loadTaskModule(abs);
      const atLoad = hashAtLoad.get(key);
      if (loadedModules.has(abs) ? atLoad !== func.hash : atLoad !== undefined && atLoad !== func.hash) {
        spec.executor = freshThread;
      } else {
        loaded = await loadExport(abs, exportName, file);
        if (atLoad === undefined) hashAtLoad.set(key, func.hash);
        if (!func.source) func.source = Function.prototype.toString.call(loaded);
        if (exportName === "default" && loaded.name) func.name = loaded.name; // as the library names it
      }
      const resolveArg = input.resolveArg ?? ((a: unknown) => (a instanceof FileArg ? a.path : a));
      return Promise.all(given.map(resolveArg));
    },
  };
  return spec;
}

/**
 * Keeps module analyses in the store at `dir` when it exists (never creating one: a refused
 * command changes nothing), so a later cache hit hashes its function without parsing anything.
 * The first store a process names wins.
 */
export function keepAnalysesIn(dir: string): void {
  const abs = resolve(dir);
  if (analysisCacheDir() === null && existsSync(objectsDir(abs))) setAnalysisCache(analysisDir(abs), tmpDir(abs));
}

/** Runs `file#exportName` with CLI arguments through the cache of `store`. */
export async function runFile(store: Store, input: RunFileInput): Promise<RunResult> {
  return run(store, await fileTask(input), input.options);
}
