// Loading a task from its module: what a miss of `cashet run` does, what a worker thread or a
// queue worker does to find the function it was asked to run — and whether the code this process
// holds is still the code on disk.
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidInputError } from "../../plumbing/errors.js";
import { install } from "./observe.js";

const TS_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".tsx"]);

let registered: Promise<void> | null = null;

/**
 * Installs tsx's ESM and CommonJS hooks in this thread, once, when its first TypeScript module is
 * imported (a cache hit of the CLI never gets here, so it never loads tsx). Process-wide hooks,
 * not `tsImport`: tsImport evaluates a module of a directory without `"type": "module"` from a
 * `data:` URL, so a failing task's stack named a multi-kilobyte URL instead of `task.ts:3:9` and a
 * relative `import("./x.js")` inside it could not resolve. With both hooks every module keeps its
 * own file URL, whichever module kind its directory gives it.
 */
function registerTypeScript(): Promise<void> {
  registered ??= (async () => {
    const [esm, cjs] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]);
    esm.register();
    cjs.register();
  })().catch((err: unknown) => {
    registered = null; // a later import may try again
    throw err;
  });
  return registered;
}

/**
 * Imports the module at `abs`: TypeScript through tsx's hooks (installed only now), JavaScript as
 * it is — after the observer's wrappers (observe.ts), so that what a task module takes from
 * node:fs when it loads (`const { readFileSync } = require("fs")`) is the observed function,
 * also in a server or worker that loads its task modules before any call.
 */
export async function importModule(abs: string): Promise<Record<string, unknown>> {
  install();
  if (TS_EXTENSIONS.has(extname(abs).toLowerCase())) await registerTypeScript();
  return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
}

/**
 * Imports the module at `abs` (TypeScript through tsx, loaded only now) and takes its export
 * `exportName`, which must be a function. `file` is how errors name the module. Throws
 * InvalidInputError for a missing export or one that is not a function.
 */
export async function loadExport(abs: string, exportName: string, file = abs): Promise<(...a: unknown[]) => unknown> {
  const mod = await importModule(abs);
  let value = mod[exportName];
  // A CommonJS module (a TypeScript one too, in a directory without `"type": "module"`) imported
  // from ESM may nest its exports under `default`.
  if (value === undefined && exportName !== "default") value = (mod.default as Record<string, unknown> | undefined)?.[exportName];
  if (exportName === "default" && typeof value === "object" && value !== null && typeof (value as { default?: unknown }).default === "function") {
    value = (value as { default: unknown }).default;
  }
  if (value === undefined) throw new InvalidInputError(`${file} has no export named "${exportName}"`);
  if (typeof value !== "function") throw new InvalidInputError(`export "${exportName}" of ${file} is a ${value === null ? "null" : typeof value}, not a function`);
  return value as (...a: unknown[]) => unknown;
}

/** The names of the functions the module at `abs` exports (importing it, TypeScript through tsx). */
export async function loadModuleExports(abs: string): Promise<string[]> {
  const mod = await importModule(abs);
  const names = Object.keys(mod).filter((k) => typeof mod[k] === "function");
  // A CommonJS module imported from ESM keeps its exports under `default`.
  const inner = mod.default as Record<string, unknown> | undefined;
  if (inner && typeof inner === "object") for (const k of Object.keys(inner)) if (typeof inner[k] === "function" && !names.includes(k)) names.push(k);
  return names.sort();
}

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
 * (`cashet serve --tasks` at start; a module's first miss once `watchTaskModules()`). Returns
 * the names of its exported functions.
 */
export async function loadTaskModule(file: string): Promise<string[]> {
  const abs = resolve(file);
  const names = await loadModuleExports(abs);
  if (!loadedModules.has(abs)) {
    loadedModules.add(abs);
    const mod = await importModule(abs); // the same instance: Node imported it once
    const inner = mod.default && typeof mod.default === "object" ? Object.keys(mod.default) : []; // CommonJS
    const { hashExportedFunction } = await import("../../plumbing/hash/function.js");
    for (const name of new Set([...Object.keys(mod), ...inner])) {
      try {
        hashAtLoad.set(`${abs}#${name}`, hashExportedFunction(abs, name).hash);
      } catch {} // not a function the hasher can name: its calls will run in a fresh thread
    }
  }
  return names;
}

/**
 * The export `exportName` of the module at `abs` as this process holds it, when that is the code
 * whose function hash is `hash`; null when this process imported the module before the function
 * (or anything it depends on) changed. Node never loads a module twice, so running what it holds
 * would record the old code under the new code's key: such a call must run in a fresh thread,
 * which loads the files as they are now. `file` is how errors name the module.
 */
export async function currentExport(abs: string, exportName: string, hash: string, file = abs): Promise<((...a: unknown[]) => unknown) | null> {
  const key = `${abs}#${exportName}`;
  if (watching && !loadedModules.has(abs)) await loadTaskModule(abs);
  const atLoad = hashAtLoad.get(key);
  if (loadedModules.has(abs) ? atLoad !== hash : atLoad !== undefined && atLoad !== hash) return null;
  const fn = await loadExport(abs, exportName, file);
  if (atLoad === undefined) hashAtLoad.set(key, hash);
  return fn;
}
