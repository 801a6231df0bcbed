// Loading a task from its module: what a miss of `cashet run` does, and what a worker thread (or,
// later, a queue worker on another machine) does to find the function it was asked to run.
import { extname } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidInputError } from "../../plumbing/errors.js";

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

/** Imports the module at `abs`: TypeScript through tsx's hooks (installed only now), JavaScript as it is. */
export async function importModule(abs: string): Promise<Record<string, unknown>> {
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
