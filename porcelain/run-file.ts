// runFile: the CLI's memoized call of `<file>#<export>`. The function hash is computed
// statically from the source and the arguments from the shell words, so a cache hit never
// imports the script (no top-level side effects, no TypeScript loader); only a miss loads it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Json } from "../plumbing/commit.js";
import { CashetError, InvalidInputError } from "../plumbing/errors.js";
import { sha256 } from "../plumbing/ids.js";
import { IDENTITY } from "../plumbing/hash/args.js";
import { argsFromCli } from "../plumbing/hash/cli-args.js";
import { FileArg } from "../plumbing/hash/file-arg.js";
import { hashExportedFunction } from "../plumbing/hash/function.js";
import { analysisCacheDir, setAnalysisCache } from "../plumbing/hash/module.js";
import { analysisDir, objectsDir, tmpDir } from "../plumbing/store/fs/layout.js";
import type { Store } from "../plumbing/store/types.js";
import { loadExport } from "./load-export.js";
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
/** What each task export's hash, and each task module's bytes, were when this process imported them. */
const hashAtLoad = new Map<string, string>();
const moduleAtLoad = new Map<string, string>();

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
  return {
    file: identity.file,
    entry: { file: abs, exportName },
    fn: (...a: never[]) => loaded!(...a),
    args,
    func,
    // run calls this only on a miss, before the first attempt and before it records the commit:
    // the one place the script is imported.
    resolveArgs: async (given) => {
      // Node never reloads a module: a long-lived process (serve, worker) that imported this export
      // before its code changed would run the old code and record it under the new hash.
      const key = `${abs}#${exportName}`;
      const first = hashAtLoad.get(key) ?? null;
      const content = sha256(readFileSync(abs));
      const module = moduleAtLoad.get(abs) ?? null;
      if ((first !== null && first !== func.hash) || (module !== null && module !== content)) {
        throw new CashetError("ESTALE", `${file} changed since this process loaded it, and Node cannot load a module twice: restart it to run the new code`);
      }
      loaded = await loadExport(abs, exportName, file);
      if (first === null) hashAtLoad.set(key, func.hash);
      if (module === null) moduleAtLoad.set(abs, content);
      if (!func.source) func.source = Function.prototype.toString.call(loaded);
      if (exportName === "default" && loaded.name) func.name = loaded.name; // as the library names it
      const resolveArg = input.resolveArg ?? ((a: unknown) => (a instanceof FileArg ? a.path : a));
      return Promise.all(given.map(resolveArg));
    },
  };
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
