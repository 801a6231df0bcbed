// Function identity at run time (`client.submit(fn)`): find where the function object was
// defined through an in-thread node:inspector session ([[FunctionLocation]], [[Scopes]]), then
// hash it exactly as the static path does, so the shell and the library share one cache. Values
// captured from enclosing function scopes are hashed too. Answers are remembered per function.
import { createHash } from "node:crypto";
import { Session } from "node:inspector";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hashExportedFunction, hashSourceInModule, hashTopLevelFunction, type Component, type FunctionHash } from "./function.js";
import { hashArgs } from "./args.js";
import { analyseFunctionSource, loadModule } from "./module.js";

export interface RuntimeFunctionHash extends FunctionHash {
  /** How the function was identified: as an export, a top-level declaration, its source inside its module, or its text alone. */
  via: "export" | "declaration" | "module-source" | "text";
  /** Names of captured closure variables that went into the hash. */
  closure: string[];
  /** For `via: "export"`: a name the defining module exports it under (to load it elsewhere: a worker, another machine). */
  exportName?: string;
}

export interface RuntimeHashOptions {
  /** Hashes a captured closure value (the argument hasher); throws TypeError for what it cannot hash. */
  hashValue: (value: unknown, path: string) => Promise<string>;
}

type Fn = (...args: never[]) => unknown;

/** How long to wait for the defining module's namespace (an evaluated module answers at once). */
const IMPORT_WAIT_MS = 50;

const remembered = new WeakMap<Fn, Promise<RuntimeFunctionHash>>();
const inProgress = new Set<Fn>();
const warned = new Set<string>();

/**
 * Closure values hashed as arguments are (SPEC §3); a captured function by its own function hash.
 * A function that captures itself (directly or through others) is named, not re-entered.
 */
const defaultOptions: RuntimeHashOptions = {
  hashValue: (value, path) =>
    hashArgs([value], {
      hashFunction: async (fn) => (inProgress.has(fn as Fn) ? `cycle:${fn.name}` : (await hashFunctionObject(fn as Fn)).hash),
    }).catch((err: unknown) => {
      // hashArgs names the position as args[0]; say which closure variable it was
      if (err instanceof TypeError) throw new TypeError(err.message.replace("args[0]", path));
      throw err;
    }),
};

/** The function hash of a live function object. */
export function hashFunctionObject(fn: Fn, options: RuntimeHashOptions = defaultOptions): Promise<RuntimeFunctionHash> {
  let answer = remembered.get(fn);
  if (!answer) {
    inProgress.add(fn);
    answer = compute(fn, options).finally(() => inProgress.delete(fn));
    remembered.set(fn, answer);
    answer.catch(() => remembered.delete(fn));
  }
  return answer;
}

/** Warns once per message (process warning `CASHET_FUNCTION_HASH`). */
function warnOnce(message: string, into: string[]): void {
  into.push(message);
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, { code: "CASHET_FUNCTION_HASH" });
}

async function compute(fn: Fn, options: RuntimeHashOptions): Promise<RuntimeFunctionHash> {
  const name = fn.name || "<anonymous>";
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    throw new TypeError(`cannot hash function ${name}: it is native or bound (no source)`);
  }
  const probe = inspect(fn);
  const file = probe.url ? urlToFile(probe.url) : null;
  let base: FunctionHash;
  let via: RuntimeFunctionHash["via"];
  const warnings: string[] = [];
  let exported: string | null = null;
  if (file) {
    // First by name and code, which needs no import: the defining module may still be evaluating
    // (a script calling submit at top level), and importing it then would wait for ourselves.
    if (isTopLevelDeclaration(file, fn.name, source)) {
      base = hashTopLevelFunction(file, fn.name);
      exported = exportedAs(file, fn.name);
      via = exported !== null ? "export" : "declaration";
    } else if ((exported = await exportNameOf(fn, probe.url!))) {
      base = hashExportedFunction(file, exported);
      via = "export";
    } else if (isOnlyFunctionNamed(file, fn.name)) {
      // Transpiled (TypeScript compiled to CommonJS rewrites imports), so its text cannot be
      // compared; but the module has exactly one function of this name, at top level.
      base = hashTopLevelFunction(file, fn.name);
      exported = exportedAs(file, fn.name);
      via = exported !== null ? "export" : "declaration";
    } else {
      base = hashSourceInModule(file, source, name);
      via = "module-source";
    }
  } else {
    warnOnce(`function ${name} has no source file (eval, REPL or new Function): it is hashed from its text, and what it references is not tracked`, warnings);
    const { hash } = analyseFunctionSource(source);
    base = { hash, name, file: "", components: [{ kind: "function", key: `text#${name}`, name, hash }], warnings: [], untracked: [] };
    via = "text";
  }

  // Values captured from enclosing function scopes are part of what the function computes. A
  // top-level declaration has none in its source: the function scopes around it are module
  // wrappers (CommonJS, a loader's), whose variables the static hash of the module covers.
  const closure: Array<{ name: string; hash: string }> = [];
  const captured = via === "export" || via === "declaration" ? {} : probe.captured;
  for (const [varName, value] of Object.entries(captured).sort(([a], [b]) => (a < b ? -1 : 1))) {
    try {
      closure.push({ name: varName, hash: await options.hashValue(value, `${name}.<closure ${varName}>`) });
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      warnOnce(`closure variable "${varName}" of function ${name} cannot be hashed by value (${err.message}); changes to it are not tracked`, warnings);
    }
  }
  const components: Component[] = [
    ...base.components,
    ...closure.map((c) => ({ kind: "declaration" as const, key: `closure#${c.name}`, name: c.name, hash: c.hash })),
  ];
  let hash = base.hash;
  if (closure.length) {
    const h = createHash("sha256").update("cashet-closure-1\0").update(base.hash);
    for (const c of closure) h.update("\0").update(c.name).update("\0").update(c.hash);
    hash = h.digest("hex");
  }
  return {
    ...base,
    hash,
    components,
    warnings: [...base.warnings, ...warnings],
    via,
    closure: closure.map((c) => c.name),
    ...(via === "export" && exported !== null ? { exportName: exported } : {}),
  };
}

// ---------------------------------------------------------------- the inspector probe

let session: Session | null = null;
const scriptUrls = new Map<string, string>();

function post<T>(method: string, params?: object): T {
  let out: T | undefined;
  let error: Error | null = null;
  // In-thread sessions answer synchronously: the callback has run when post returns.
  session!.post(method, params, (err, result) => {
    error = err;
    out = result as T;
  });
  if (error) throw error;
  return out as T;
}

function connect(): void {
  if (session) return;
  session = new Session();
  session.connect();
  session.on("Debugger.scriptParsed", (m: { params: { scriptId: string; url: string } }) => {
    scriptUrls.set(m.params.scriptId, m.params.url);
  });
}

interface Probe {
  url: string | null;
  /** Variables captured from enclosing function (and block) scopes, by name. */
  captured: Record<string, unknown>;
}

interface RemoteProperty {
  name: string;
  value?: { objectId?: string; value?: unknown; description?: string };
}

const SKIPPED_SCOPES = new Set(["global", "script", "module", "wasm-expression-stack"]);

/** [[FunctionLocation]]'s file and the captured variables of `fn`. */
function inspect(fn: Fn): Probe {
  connect();
  const slot = "__cashetProbe";
  const g = globalThis as Record<string, unknown>;
  g[slot] = fn;
  const group = "cashet-probe";
  try {
    const { result } = post<{ result: { objectId: string } }>("Runtime.evaluate", { expression: `globalThis.${slot}`, objectGroup: group });
    const props = post<{ internalProperties?: RemoteProperty[] }>("Runtime.getProperties", { objectId: result.objectId, ownProperties: true });
    const internal = props.internalProperties ?? [];
    const location = internal.find((p) => p.name === "[[FunctionLocation]]")?.value?.value as { scriptId: string } | undefined;
    let url: string | null = null;
    if (location) {
      if (!scriptUrls.has(location.scriptId)) {
        // Enabling the debugger replays scriptParsed for every loaded script; then turn it off.
        post("Debugger.enable");
        post("Debugger.disable");
      }
      url = scriptUrls.get(location.scriptId) || null;
    }
    const captured: Record<string, unknown> = {};
    const scopesId = internal.find((p) => p.name === "[[Scopes]]")?.value?.objectId;
    if (scopesId) {
      const scopes = post<{ result: RemoteProperty[] }>("Runtime.getProperties", { objectId: scopesId, ownProperties: true });
      for (const s of scopes.result) {
        if (!s.value?.objectId) continue;
        post("Runtime.callFunctionOn", { objectId: s.value.objectId, functionDeclaration: `function () { globalThis.${slot} = this; }` });
        const scope = g[slot] as { type?: string; object?: Record<string, unknown> } | undefined;
        const type = (scope?.type ?? s.value.description?.split(" ")[0] ?? "").toLowerCase();
        if (!scope?.object || SKIPPED_SCOPES.has(type) || isCommonJsWrapper(scope.object)) continue;
        for (const [k, v] of Object.entries(scope.object)) if (!(k in captured)) captured[k] = v;
      }
    }
    return { url, captured };
  } finally {
    delete g[slot];
    post("Runtime.releaseObjectGroup", { objectGroup: group });
  }
}

/** A CommonJS module's wrapper scope is the module scope in disguise: the static hash covers it. */
function isCommonJsWrapper(vars: Record<string, unknown>): boolean {
  return "module" in vars && "exports" in vars && "require" in vars && "__filename" in vars;
}

function urlToFile(url: string): string | null {
  if (url.startsWith("file:")) return fileURLToPath(url.replace(/[?#].*$/, ""));
  // tsx (tsImport, our TypeScript loader) evaluates a CommonJS-compiled module as a data: URL that
  // names its source: `data:text/javascript,…?filePath=/abs/x.ts?namespace=…`.
  const named = url.startsWith("data:") ? /\?filePath=([^?#]*)/.exec(url) : null;
  if (named) return decodeURIComponent(named[1]!).replace(/\?.*$/, "");
  if (url.startsWith("/")) return url; // CommonJS scripts report plain paths
  return null; // node:internal, evalmachine, REPL, data: …
}

/**
 * The name under which the defining module exports `fn`, if it does — found by importing the
 * module (the loader's cached instance). A module still evaluating (its top-level code is what
 * called us) cannot answer without waiting for us; after a short wait we treat it as "unknown".
 */
async function exportNameOf(fn: Fn, url: string): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), IMPORT_WAIT_MS)));
  let ns: Record<string, unknown> | null;
  try {
    ns = await Promise.race([import(url.startsWith("/") ? pathToFileURL(url).href : url) as Promise<Record<string, unknown>>, gaveUp]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
  if (!ns) return null;
  const names = Object.keys(ns).filter((k) => ns![k] === fn);
  // A CommonJS module's exports arrive as the namespace's default object.
  if (!names.length && typeof ns.default === "object" && ns.default !== null) {
    const cjs = ns.default as Record<string, unknown>;
    names.push(...Object.keys(cjs).filter((k) => cjs[k] === fn));
  }
  if (!names.length) return null;
  if (names.includes(fn.name)) return fn.name;
  return names.includes("default") ? "default" : names.sort()[0]!;
}

/** True when module `file` exports its top-level binding `name` under some name. */
/** True when `name` is a top-level function or class of `file` and no other function there has that name. */
function isOnlyFunctionNamed(file: string, name: string): boolean {
  if (!name) return false;
  const mod = loadModule(file);
  const b = mod.bindings.get(name);
  return b?.kind === "local" && b.exprHash !== undefined && mod.functionNames[name] === 1;
}

/** A name under which `file` exports its top-level binding `name`, or null. */
function exportedAs(file: string, name: string): string | null {
  for (const [exported, target] of loadModule(file).exports) if ("local" in target && target.local === name) return exported;
  return null;
}

/**
 * True when `file` declares `name` at top level as this very function: its running text must
 * normalize to the declaration's code (a transpiled TypeScript function may not, and then it is
 * hashed as source inside its module instead).
 */
function isTopLevelDeclaration(file: string, name: string, source: string): boolean {
  if (!name) return false;
  const b = loadModule(file).bindings.get(name);
  if (!b || b.kind !== "local" || !b.exprHash) return false;
  try {
    return analyseFunctionSource(source, file).hash === b.exprHash;
  } catch {
    return false;
  }
}
