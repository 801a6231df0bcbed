// Loading a task from its module: what a miss of `cashet run` does, and what a worker thread (or,
// later, a queue worker on another machine) does to find the function it was asked to run.
import { extname } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidInputError } from "../plumbing/errors.js";

const TS_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** Imports the module at `abs`: TypeScript through tsx (loaded only now), JavaScript as it is. */
export async function importModule(abs: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(abs).href;
  if (TS_EXTENSIONS.has(extname(abs).toLowerCase())) {
    const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>> };
    return tsImport(url, import.meta.url);
  }
  return (await import(url)) as Record<string, unknown>;
}

/**
 * Imports the module at `abs` (TypeScript through tsx, loaded only now) and takes its export
 * `exportName`, which must be a function. `file` is how errors name the module. Throws
 * InvalidInputError for a missing export or one that is not a function.
 */
export async function loadExport(abs: string, exportName: string, file = abs): Promise<(...a: unknown[]) => unknown> {
  const mod = await importModule(abs);
  let value = mod[exportName];
  // A CommonJS module imported from ESM (or through tsx) may nest its exports under `default`.
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
