// Function identity at run time (`client.submit(fn)`): find where the function object was
// defined through an in-thread node:inspector session ([[FunctionLocation]], [[Scopes]]), then
// hash it exactly as the static path does, so the shell and the library share one cache. Values
// the function captures from enclosing function scopes are hashed too — except what packages and
// Node itself define, which counts by name and version. Answers are remembered per function.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { Session } from "node:inspector";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { types } from "node:util";
import { hashExportedFunction, hashSourceInModule, hashTopLevelFunction, type Component, type FunctionHash } from "./function.js";
import { hashArgs, IDENTITY, type Identified } from "./args.js";
import { analyseFunctionSource, loadModule } from "./module.js";
import { packageAt, packageOf as installedPackageOf, packageVersion } from "./resolve.js";

export interface RuntimeFunctionHash extends FunctionHash {
  /**
   * How the function was identified: as an export, a top-level declaration, its source inside its
   * module, or its text alone; or, for code that is not the user's, as a function of an installed
   * package (`npm:<name>@<version>`, cashet's own code included) or of Node itself (`builtin`).
   */
  via: "export" | "declaration" | "module-source" | "text" | "package" | "builtin";
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

/**
 * Closure values hashed as arguments are (SPEC §3); a captured function by its own function hash,
 * a built-in one (no source: `Object.defineProperty`) by its name. A function that captures itself
 * (directly or through others) is named, not re-entered.
 */
const defaultOptions: RuntimeHashOptions = {
  hashValue: (value, path) =>
    hashArgs([value], {
      hashFunction: async (fn) => {
        if (inProgress.has(fn as Fn)) return `cycle:${fn.name}`;
        if (isNative(fn) && !fn.name.startsWith("bound ")) return `native:${fn.name}`;
        return (await hashFunctionObject(fn as Fn)).hash;
      },
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

const warned = new Set<unknown>();
const warnedObjects = new WeakSet<object>(); // keys that are values themselves, held weakly

/**
 * Records `message` in `into` and warns once per process per `key` (process warning
 * `CASHET_FUNCTION_HASH`): the thing warned about — an object itself, or a name — not the text,
 * which varies with the path it was reached by.
 */
function warnOnce(key: unknown, message: string, into: string[]): void {
  into.push(message);
  if ((typeof key === "object" && key !== null) || typeof key === "function") {
    if (warnedObjects.has(key)) return;
    warnedObjects.add(key);
  } else {
    if (warned.has(key)) return;
    warned.add(key);
  }
  process.emitWarning(message, { code: "CASHET_FUNCTION_HASH" });
}

function isNative(fn: Function): boolean {
  return /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));
}

async function compute(fn: Fn, options: RuntimeHashOptions): Promise<RuntimeFunctionHash> {
  const name = fn.name || "<anonymous>";
  const source = Function.prototype.toString.call(fn);
  if (isNative(fn)) {
    throw new TypeError(`cannot hash function ${name}: it is native or bound (no source)`);
  }
  const foreign = foreignFunction(fn);
  if (foreign) return foreignHash(foreign, name);
  const probe = inspect(fn, { scopes: true });
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
    } else if ((exported = await exportNameOf(fn, probe.url!, file, probe.modules))) {
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
    const { hash } = analyseFunctionSource(source);
    warnOnce(`text\0${name}`, `function ${name} has no source file (eval, REPL or new Function): it is hashed from its text, and what it references is not tracked`, warnings);
    base = { hash, name, file: "", components: [{ kind: "function", key: `text#${name}`, name, hash }], files: [], warnings: [], untracked: [] };
    via = "text";
  }

  // Values captured from enclosing function scopes are part of what the function computes. A
  // top-level declaration has none in its source: the function scopes around it are module
  // wrappers (CommonJS, a loader's), whose variables the static hash of the module covers.
  const closure: Array<{ name: string; hash: string }> = [];
  const captured = via === "export" || via === "declaration" ? {} : mentioned(probe.captured, source, file);
  for (const [varName, raw] of Object.entries(captured).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const value = withStandIns(raw, (cls, className) => {
      if (cls.own) return; // cashet's own objects (a Client, a store) are handles by design
      warnOnce(`instance\0${cls.id}`, `closure variable "${varName}" of function ${name} holds a ${className || "object"} of ${cls.origin}: it counts as that class, not by its state (pass what matters as an argument)`, warnings);
    });
    try {
      closure.push({ name: varName, hash: await options.hashValue(value, `${name}.<closure ${varName}>`) });
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      const key = (typeof raw === "object" && raw !== null) || typeof raw === "function" ? raw : `closure\0${name}\0${varName}`;
      warnOnce(key, `closure variable "${varName}" of function ${name} cannot be hashed by value (${err.message}); changes to it are not tracked`, warnings);
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

/**
 * The captured variables the function's text names. V8 shows a closure every variable of its
 * enclosing scopes that any closure there captured — a sibling's counter, the client a test
 * holds — and those cannot change what this function computes. A direct `eval` can read them
 * all, so then all of them count; so they do when the text cannot be parsed.
 */
function mentioned(captured: Record<string, unknown>, source: string, file: string | null): Record<string, unknown> {
  let code: ReturnType<typeof analyseFunctionSource>;
  try {
    code = analyseFunctionSource(source, file ?? undefined);
  } catch {
    return captured;
  }
  if (code.evals) return captured;
  return Object.fromEntries(Object.entries(captured).filter(([k]) => k in code.uses));
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

interface Location {
  scriptId: string;
  lineNumber: number;
  columnNumber: number;
}

interface Probe {
  url: string | null;
  location: Location | null;
  /** Variables captured from enclosing function (and block) scopes, by name. */
  captured: Record<string, unknown>;
  /** The `module` objects of CommonJS wrappers around the function (their exports name it). */
  modules: object[];
}

interface RemoteProperty {
  name: string;
  value?: { objectId?: string; value?: unknown; description?: string };
}

const SKIPPED_SCOPES = new Set(["global", "script", "module", "wasm-expression-stack"]);

/** [[FunctionLocation]]'s script URL and, with `scopes`, what `fn` captures. */
function inspect(fn: Function, options: { scopes: boolean }): Probe {
  connect();
  const slot = "__cashetProbe";
  const g = globalThis as Record<string, unknown>;
  g[slot] = fn;
  const group = "cashet-probe";
  try {
    const { result } = post<{ result: { objectId: string } }>("Runtime.evaluate", { expression: `globalThis.${slot}`, objectGroup: group });
    const props = post<{ internalProperties?: RemoteProperty[] }>("Runtime.getProperties", { objectId: result.objectId, ownProperties: true });
    const internal = props.internalProperties ?? [];
    const location = (internal.find((p) => p.name === "[[FunctionLocation]]")?.value?.value as Location | undefined) ?? null;
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
    const modules: object[] = [];
    const scopesId = options.scopes ? internal.find((p) => p.name === "[[Scopes]]")?.value?.objectId : undefined;
    if (scopesId) {
      const scopes = post<{ result: RemoteProperty[] }>("Runtime.getProperties", { objectId: scopesId, ownProperties: true });
      const closures: Array<Record<string, unknown>> = []; // innermost first
      for (const s of scopes.result) {
        if (!s.value?.objectId) continue;
        post("Runtime.callFunctionOn", { objectId: s.value.objectId, functionDeclaration: `function () { globalThis.${slot} = this; }` });
        const scope = g[slot] as { type?: string; object?: Record<string, unknown> } | undefined;
        const type = (scope?.type ?? s.value.description?.split(" ")[0] ?? "").toLowerCase();
        if (scope?.object && !SKIPPED_SCOPES.has(type)) closures.push(scope.object);
      }
      // A CommonJS wrapper can only be the outermost function scope.
      const outermost = closures.at(-1);
      if (outermost && isCommonJsWrapper(outermost)) {
        closures.pop();
        const m = outermost.module;
        if (typeof m === "object" && m !== null) modules.push(m);
      }
      for (const vars of closures) for (const [k, v] of Object.entries(vars)) if (!(k in captured)) captured[k] = v;
    }
    return { url, location, captured, modules };
  } finally {
    delete g[slot];
    post("Runtime.releaseObjectGroup", { objectGroup: group });
  }
}

/**
 * A CommonJS module's wrapper scope is the module scope in disguise: the static hash covers it
 * (and `__filename` is an absolute path, which must not enter a hash). V8 shows only the wrapper's
 * variables some closure captured, so any one of its tell-tale values gives it away: a `module`
 * with `exports`, a real `require`, or `__filename` with `__dirname`.
 */
function isCommonJsWrapper(vars: Record<string, unknown>): boolean {
  const m = vars.module as { exports?: unknown } | undefined;
  const r = vars.require as ((id: string) => unknown) & { resolve?: unknown; cache?: unknown };
  return (
    (typeof m === "object" && m !== null && "exports" in m) ||
    (typeof r === "function" && typeof r.resolve === "function" && typeof r.cache === "object") ||
    (typeof vars.__filename === "string" && typeof vars.__dirname === "string")
  );
}

function urlToFile(url: string): string | null {
  if (url.startsWith("file:")) return fileURLToPath(url.replace(/[?#].*$/, ""));
  // cashet's own loader keeps file URLs, but under `--import tsx` an ES module that imports names
  // from a CommonJS-kind TypeScript module gets it evaluated from a data: URL that names its
  // source: `data:text/javascript,…?filePath=/abs/x.ts?namespace=…`.
  const named = url.startsWith("data:") ? /\?filePath=([^?#]*)/.exec(url) : null;
  if (named) return decodeURIComponent(named[1]!).replace(/\?.*$/, "");
  // CommonJS scripts report plain paths, through tsx's require with a `?namespace=` query
  if (url.startsWith("/")) return existsSync(url) ? url : url.replace(/\?.*$/, "");
  return null; // node:internal, evalmachine, REPL, data: …
}

/**
 * The name under which the defining module exports `fn`, if it does. A CommonJS module's exports
 * are at hand: in Node's require cache, or as the `module` of its wrapper (tsx's data: URL modules
 * are in no cache). Otherwise the module is imported — the loader's cached instance; never a
 * data: URL, which would evaluate the module again. A module still evaluating (its top-level code
 * is what called us) cannot answer without waiting for us; after a short wait it is "unknown".
 */
async function exportNameOf(fn: Fn, url: string, file: string, modules: object[]): Promise<string | null> {
  for (const exports of [...requireCacheExports(file), ...modules.map((m) => (m as { exports?: unknown }).exports)]) {
    const name = nameIn(exports, fn);
    if (name) return name;
  }
  if (url.startsWith("data:")) return null;
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
  // A CommonJS module's exports arrive as the namespace's default object.
  return nameIn(ns, fn) ?? (typeof ns.default === "object" ? nameIn(ns.default, fn) : null);
}

/** The exports objects Node's require cache holds for `file` (tsx may add a query to its key). */
function requireCacheExports(file: string): unknown[] {
  const cache = createRequire(import.meta.url).cache;
  return Object.entries(cache)
    .filter(([key]) => key === file || key.startsWith(`${file}?`))
    .map(([, mod]) => mod?.exports);
}

/** The key under which `exports` holds `fn`: its own name first, then `default`, then the first in order. */
function nameIn(exports: unknown, fn: Fn): string | null {
  if ((typeof exports !== "object" && typeof exports !== "function") || exports === null) return null;
  const names = Object.keys(exports).filter((k) => {
    try {
      return (exports as Record<string, unknown>)[k] === fn;
    } catch {
      return false; // a throwing getter exports nothing we could call
    }
  });
  if (!names.length) return null;
  if (names.includes(fn.name)) return fn.name;
  return names.includes("default") ? "default" : names.sort()[0]!;
}

// ---------------------------------------------------------------- code that is not the user's

/** Where a function or class of an installed package or of Node itself comes from. */
interface Foreign {
  /** Stable across machines and checkouts: `npm:<name>@<version>/<path>:<line>:<col>#<name>`, `node:<module>#<name>`. */
  id: string;
  /** What a warning calls it: `ioredis@5.4.1`, `node:net`. */
  origin: string;
  package: ForeignPackage | null;
  /** cashet's own code (its Client, stores, executors): handles by design, never warned about. */
  own: boolean;
}

const foreignOf = new WeakMap<Function, Foreign | null>();

/**
 * The foreign origin of `fn` — a package (its file under a node_modules directory, or cashet's own
 * shipped code) or Node's internals (`node:` scripts) — or null for the user's own code. Such code
 * is versioned by its package (or Node), so it counts by name and version, as a package import
 * does in the static hash; walking into it would wander through code the user does not own.
 */
function foreignFunction(fn: Function): Foreign | null {
  if (foreignOf.has(fn)) return foreignOf.get(fn)!;
  let answer: Foreign | null = null;
  if (!isNative(fn)) {
    const { url, location } = inspect(fn, { scopes: false });
    const name = fn.name || "anonymous";
    if (url?.startsWith("node:")) {
      answer = { id: `${url}#${name}`, origin: url, package: null, own: false };
    } else {
      const file = url ? urlToFile(url) : null;
      const pkg = file ? packageOf(file) : null;
      if (pkg && file && location) {
        const where = `${relative(pkg.root, file).split(sep).join("/")}:${location.lineNumber + 1}:${location.columnNumber + 1}`;
        // the lockfile's integrity too: a re-published tarball at the same version is other code
        const id = `npm:${pkg.name}@${pkg.version}${pkg.integrity ? ` ${pkg.integrity}` : ""}/${where}#${name}`;
        answer = { id, origin: `${pkg.name}@${pkg.version}`, package: pkg, own: pkg.own };
      }
    }
  }
  foreignOf.set(fn, answer);
  return answer;
}

/** The hash of a package's or Node's function: its identity, with the package as a component. */
function foreignHash(foreign: Foreign, name: string): RuntimeFunctionHash {
  const hash = createHash("sha256").update("cashet-foreign-fn-1\0").update(foreign.id).digest("hex");
  const pkg = foreign.package;
  return {
    hash,
    name,
    file: "",
    components: pkg ? [{ kind: "package", key: `npm:${pkg.name}@${pkg.version}`, name: pkg.name, hash: pkg.version, ...(pkg.integrity ? { integrity: pkg.integrity } : {}) }] : [],
    files: [],
    warnings: [],
    untracked: [],
    via: pkg ? "package" : "builtin",
    closure: [],
  };
}

// This file's tree: plumbing/hash/runtime.{ts,js} under the package root (or its dist/).
const OWN_BASE = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const OWN_DIRS = ["cmd", "lib", "plumbing", "porcelain"].map((d) => join(OWN_BASE, d) + sep);

type ForeignPackage = { root: string; name: string; version: string; integrity: string | null; own: boolean };

/**
 * The installed package `file` belongs to (name, version and lockfile integrity, as the static
 * hash counts a package import: resolve.ts), or cashet itself when it is cashet's own code; else null.
 */
function packageOf(file: string): ForeignPackage | null {
  const installed = installedPackageOf(file);
  if (installed) {
    const p = packageAt(installed.root, installed.name);
    return { root: installed.root, name: p.name, version: p.version ?? "0.0.0", integrity: p.integrity, own: p.name === "cashet" };
  }
  if (OWN_DIRS.some((d) => file.startsWith(d))) {
    // Run from its own checkout: the package root holds the package.json (above dist/ when built).
    const root = existsSync(join(OWN_BASE, "package.json")) ? OWN_BASE : dirname(OWN_BASE);
    return { root, name: "cashet", version: packageVersion(root) ?? "0.0.0", integrity: null, own: true };
  }
  return null;
}

/** The class an object was made by, when a package or Node defines it. */
function foreignClass(o: object): { foreign: Foreign; className: string } | null {
  let proto: unknown;
  try {
    proto = Object.getPrototypeOf(o);
  } catch {
    return null; // a revoked proxy: the argument hasher says what it is
  }
  if (proto === null || proto === Object.prototype || proto === Array.prototype) return null;
  // The nearest own `constructor` on the prototype chain (a class's instances inherit it).
  for (let p = proto as object | null; p; p = Object.getPrototypeOf(p) as object | null) {
    const ctor = Object.getOwnPropertyDescriptor(p, "constructor")?.value as unknown;
    if (typeof ctor !== "function") continue;
    const foreign = foreignFunction(ctor);
    return foreign ? { foreign, className: ctor.name } : null;
  }
  return null;
}

/**
 * `value` with every object made by a package's or Node's class (a Client, a store, a Redis
 * connection) replaced by a stand-in carrying that class's identity: a handle's state is not what
 * a function computes from, it changes as the handle is used, and walking it wanders through the
 * package's internals. Buffers and typed arrays stay bytes. `value` itself when it holds none.
 */
function withStandIns(value: unknown, onForeign: (cls: Foreign, className: string) => void): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (!holdsForeign(value, new Set())) return value;
  return copyWithStandIns(value, new Map(), onForeign);
}

/** Containers the argument hasher walks into; everything else it hashes whole (or refuses). */
function childrenOf(o: object): unknown[] | null {
  if (typeof (o as Partial<Identified>)[IDENTITY] === "function") return null;
  if (types.isAnyArrayBuffer(o) || ArrayBuffer.isView(o)) return null;
  if (types.isMap(o)) return [...(o as Map<unknown, unknown>)].flat();
  if (types.isSet(o)) return [...(o as Set<unknown>)];
  return Object.keys(o).map((k) => (o as Record<string, unknown>)[k]);
}

function holdsForeign(o: object, seen: Set<object>): boolean {
  if (seen.has(o)) return false;
  seen.add(o);
  if (typeof (o as Partial<Identified>)[IDENTITY] !== "function" && !types.isAnyArrayBuffer(o) && !ArrayBuffer.isView(o) && foreignClass(o)) return true;
  for (const v of childrenOf(o) ?? []) if (typeof v === "object" && v !== null && holdsForeign(v, seen)) return true;
  return false;
}

function copyWithStandIns(v: unknown, copies: Map<object, unknown>, onForeign: (cls: Foreign, className: string) => void): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (copies.has(v)) return copies.get(v);
  const children = childrenOf(v);
  if (children === null) return v;
  const cls = foreignClass(v);
  if (cls) {
    onForeign(cls.foreign, cls.className);
    const id = `instance:${cls.foreign.id}`;
    const standIn: Identified = { [IDENTITY]: () => id };
    copies.set(v, standIn);
    return standIn;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  const inner = (x: unknown): unknown => copyWithStandIns(x, copies, onForeign);
  // The copy keeps its original's prototype, so the argument hasher names the same class.
  if (types.isMap(v)) {
    const out = Object.setPrototypeOf(new Map(), proto) as Map<unknown, unknown>;
    copies.set(v, out);
    for (const [k, x] of v as Map<unknown, unknown>) out.set(inner(k), inner(x));
    return out;
  }
  if (types.isSet(v)) {
    const out = Object.setPrototypeOf(new Set(), proto) as Set<unknown>;
    copies.set(v, out);
    for (const x of v as Set<unknown>) out.add(inner(x));
    return out;
  }
  const out: Record<string, unknown> = Array.isArray(v)
    ? (Object.setPrototypeOf(new Array(v.length), proto) as Record<string, unknown>)
    : types.isNativeError(v)
      ? (Object.setPrototypeOf(new Error((v as Error).message), proto) as Record<string, unknown>)
      : (Object.create(proto) as Record<string, unknown>);
  copies.set(v, out);
  for (const k of Object.keys(v)) out[k] = inner((v as Record<string, unknown>)[k]);
  return out;
}

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
