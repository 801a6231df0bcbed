// One module, analysed for function identity: its top-level bindings (each declaration's
// normalized AST, hash, and the outside names it uses, by scope analysis), its imports and
// exports, and its top-level effects — statements (and declarations) that run code when the module
// is evaluated. Parsed with oxc-parser, once per file content per process.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { parseSync as ParseSync } from "oxc-parser";
import { InvalidInputError } from "../errors.js";
import { writeFileAtomic } from "../backends/fs/files.js";
import { isTypeOnly, normalize, type Normalized } from "./normalize.js";
import { clearResolutionCache, setLockfileCache } from "./resolve.js";
import type * as ScopeLib from "./scope.js";
import type { ScopeInfo } from "./scope.js";
import { forgetTsconfig, setTsconfigCache } from "./tsconfig.js";

/** How code uses one outside name (see scope.ts); plain JSON, as the analysis cache stores it. */
export interface Use {
  /** Read as a value of its own, not only through static members. */
  whole?: true;
  /** Static members read (`ns.a`): for a namespace import, the exports needed. */
  members?: string[];
  /** Assigned, updated or mutated through a property. */
  writes?: true;
}

/** What a declaration or a statement reads and does, as far as its code shows. */
export interface Code {
  hash: string;
  /** Outside names it uses (module bindings, imports or globals), by name. */
  uses: Record<string, Use>;
  /** Literal `require("…")` / `import("…")` specifiers. */
  requires: string[];
  /** Contains a direct `eval`: may read any binding of the module. */
  evals?: true;
  /**
   * Writes global state when it runs: a name no module declares, or a property of a global object
   * (`globalThis.x = …`, `process.env.X = …`, `Array.prototype.f = …`).
   */
  globalWrite?: true;
  /**
   * What its result may depend on that the key cannot see: `process.env.X`, `Date.now()`,
   * `Math.random()`, `fs.readFileSync` … (hash-fn --explain names them).
   */
  notes?: string[];
}

export type Binding =
  | (Code & {
      kind: "local";
      name: string;
      /**
       * Whether the value reads its own name (recursion, `f.memo`). A function that does not
       * cannot be changed by top-level statements that merely mention it (`submit(f, 1)`).
       */
      readsItself: boolean;
      /** For a function or class: the hash its `toString()` text normalizes to (see runtime.ts). */
      exprHash?: string;
      /** For a function or class: its declaration as written in the source (types and comments included). */
      text?: string;
    })
  | { kind: "import"; name: string; source: string; imported: string; via?: "require" };

/** What `export name` means: a local binding, or a name re-exported from another module. */
export type ExportTarget = { local: string } | { source: string; imported: string };

/**
 * A top-level statement that runs code (a call, an assignment, a loop, top-level await), or a
 * declaration whose initializer does: it may change what a function reads.
 */
export interface Effect extends Code {
  /**
   * `module.exports = …` / `exports.x = …` calling nothing: what a CommonJS module exports, read
   * with the module as a whole (`require`), never a change of state for others.
   */
  cjsExport?: true;
  /** For a declaration whose initializer runs code: the names it declares (its code is theirs). */
  declares?: string[];
}

export interface ModuleInfo {
  file: string;
  bindings: Map<string, Binding>;
  exports: Map<string, ExportTarget>;
  /** `export * from "…"` sources. */
  starExports: string[];
  /** Every module this one loads when evaluated (imports, side-effect imports, re-exports), in order. */
  imports: Array<{ source: string; via?: "require"; bare?: true }>;
  effects: Effect[];
  /**
   * How many functions and classes anywhere in the module (nested ones too) carry each name, as
   * declared or as inferred from a binding or key: a running function whose transpiled text
   * cannot be compared with its source is matched by name only when its name is unique.
   */
  functionNames: Record<string, number>;
}

const cache = new Map<string, { digest: string; info: ModuleInfo }>();
/** Modules already checked during the current (synchronous) hash: each file is read once per hash. */
let snapshot: Map<string, ModuleInfo> | null = null;

/** Runs `fn` with each module read and checked at most once. */
export function withSnapshot<T>(fn: () => T): T {
  if (snapshot) return fn();
  // Each hash sees files, package.json files, lockfiles and tsconfig as they are now: a process
  // that lives on (a server) must not answer from what it read before an edit or an upgrade.
  clearResolutionCache();
  forgetTsconfig();
  snapshot = new Map();
  try {
    return fn();
  } finally {
    snapshot = null;
  }
}

/** The analysis of `file`, re-parsed only when its content changed. */
export function loadModule(file: string): ModuleInfo {
  const seen = snapshot?.get(file);
  if (seen) return seen;
  const info = loadFresh(file);
  snapshot?.set(file, info);
  return info;
}

/**
 * Where analyses are kept between processes (set by whoever knows the store: the CLI, a Client on
 * an FsStore), or null. A CLI cache hit then hashes its function without loading the parser at
 * all: an analysis is keyed by the module's exact bytes, its language, and the analyser's own code
 * and parser version, so any change to either is a different key — never a stale answer.
 */
let analysisCache: { dir: string; tmp: string } | null = null;

/** Keeps analyses in `dir` (temp files in `tmp`, same filesystem); null turns it off. */
export function setAnalysisCache(dir: string | null, tmp?: string): void {
  analysisCache = dir ? { dir, tmp: tmp ?? dir } : null;
  // what the tsconfig and the lockfiles said is kept beside the analyses, checked the same way
  setTsconfigCache(dir, tmp);
  setLockfileCache(dir);
}

/** The directory analyses are kept in, or null. */
export function analysisCacheDir(): string | null {
  return analysisCache?.dir ?? null;
}

let analyserDigest: string | undefined;

/** sha256 over the analyser's compiled code and the parser's version: the cache's format key. */
function analyser(): string {
  if (analyserDigest === undefined) {
    const h = createHash("sha256").update("cashet-analysis-2\0");
    for (const name of ["module.js", "normalize.js", "scope.js"]) {
      try {
        h.update(readFileSync(fileURLToPath(new URL(name, import.meta.url))));
      } catch {
        h.update(`missing ${name}`); // run from sources (tsx): the cache still keys by the parser below
      }
    }
    analyserDigest = h.update(`\0oxc-parser@${parserVersion()}`).digest("hex");
  }
  return analyserDigest;
}

const require = createRequire(import.meta.url);
let parser: typeof ParseSync | undefined;
let scopeLib: typeof ScopeLib | undefined;

/** The scope analyser, loaded with the parser's work: a hit answered from cached analyses never loads it. */
function scopes(): typeof ScopeLib {
  return (scopeLib ??= require("./scope.js") as typeof ScopeLib);
}

/** oxc-parser, loaded on first use (≈25 ms): a process whose analyses are all cached never pays. */
function parse(...args: Parameters<typeof ParseSync>): ReturnType<typeof ParseSync> {
  parser ??= (require("oxc-parser") as { parseSync: typeof ParseSync }).parseSync;
  return parser(...args);
}

function parserVersion(): string {
  return (require("oxc-parser/package.json") as { version: string }).version;
}

/** An analysis as JSON: the maps as entry lists. */
interface StoredAnalysis {
  bindings: Array<[string, Binding]>;
  exports: Array<[string, ExportTarget]>;
  starExports: string[];
  imports: ModuleInfo["imports"];
  effects: Effect[];
  functionNames: Record<string, number>;
}

function cachedAnalysis(file: string, key: string): ModuleInfo | null {
  if (!analysisCache) return null;
  let stored: StoredAnalysis;
  try {
    stored = JSON.parse(readFileSync(join(analysisCache.dir, `${key}.json`), "utf8")) as StoredAnalysis;
  } catch {
    return null; // missing or unreadable: analyse afresh (and rewrite it)
  }
  if (!Array.isArray(stored.bindings) || !Array.isArray(stored.imports)) return null;
  return { file, ...stored, bindings: new Map(stored.bindings), exports: new Map(stored.exports) };
}

function keepAnalysis(key: string, info: ModuleInfo): void {
  if (!analysisCache) return;
  const stored: StoredAnalysis = {
    bindings: [...info.bindings],
    exports: [...info.exports],
    starExports: info.starExports,
    imports: info.imports,
    effects: info.effects,
    functionNames: info.functionNames,
  };
  try {
    writeFileAtomic(join(analysisCache.dir, `${key}.json`), JSON.stringify(stored), analysisCache.tmp, analysisCache.dir);
  } catch {
    // best effort: a read-only or full store still runs, only slower next time
  }
}

function loadFresh(file: string): ModuleInfo {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidInputError(`cannot read module ${file}: ${code === "ENOENT" ? "no such file" : code}`);
  }
  const digest = createHash("sha256").update(text).digest("hex");
  const hit = cache.get(file);
  if (hit && hit.digest === digest) return hit.info;
  const key = analysisCache ? createHash("sha256").update(`${analyser()}\0${languageOf(file)}\0${digest}`).digest("hex") : "";
  let info = key ? cachedAnalysis(file, key) : null;
  if (!info) {
    info = analyse(file, text.toString("utf8"));
    if (key) keepAnalysis(key, info);
  }
  cache.set(file, { digest, info });
  return info;
}

/** How a file is parsed: its analysis depends on this and its bytes only. */
function languageOf(file: string): string {
  if (file.endsWith(".json")) return "json";
  return /\.(m|c)?tsx?$/.test(file) ? (file.endsWith("x") ? "tsx" : "ts") : file.endsWith("x") ? "jsx" : "js";
}

/** The JSON form of a scope analysis. */
function codeOf(tree: Normalized, scope: ScopeInfo): Code {
  const uses: Record<string, Use> = {};
  for (const [name, u] of scope.uses) {
    const use: Use = {};
    if (u.whole) use.whole = true;
    if (u.members.size && !u.whole) use.members = [...u.members].sort();
    if (u.writes) use.writes = true;
    uses[name] = use;
  }
  return { hash: hashTree(tree), uses, requires: scope.requires, ...(scope.evals ? { evals: true as const } : {}) };
}

/** Merges a second declaration of one name (TypeScript declaration merging, a repeated `var`): both count. */
function merged(a: Code, b: Code): Code {
  const uses: Record<string, Use> = { ...a.uses };
  for (const [name, u] of Object.entries(b.uses)) {
    const prev = uses[name];
    if (!prev) uses[name] = u;
    else {
      const whole = prev.whole || u.whole;
      const members = whole ? [] : [...new Set([...(prev.members ?? []), ...(u.members ?? [])])].sort();
      uses[name] = { ...(whole ? { whole: true as const } : {}), ...(members.length ? { members } : {}), ...(prev.writes || u.writes ? { writes: true as const } : {}) };
    }
  }
  return {
    hash: createHash("sha256").update(`${a.hash}\0${b.hash}`).digest("hex"),
    uses,
    requires: [...a.requires, ...b.requires],
    ...(a.evals || b.evals ? { evals: true as const } : {}),
  };
}

/** `module.exports = …` and `exports.x = …` in CommonJS: exporting, not a change of state. */
function isCommonJsExport(stmt: Node): boolean {
  if (stmt.type !== "ExpressionStatement") return false;
  const e = stmt.expression as Node;
  if (e.type !== "AssignmentExpression") return false;
  let root = e.left as Node;
  while (root.type === "MemberExpression") root = root.object as Node;
  if (root.type !== "Identifier" || (root.name !== "module" && root.name !== "exports")) return false;
  // only the assignment itself runs: its value calls nothing
  return !scopes().analyseScope(normalize(e.right)).runs;
}

function analyse(file: string, source: string): ModuleInfo {
  const lang = languageOf(file);
  if (lang === "json") return analyseJson(file, source);
  const parsed = parse(file, source, { lang, sourceType: "unambiguous", preserveParens: false } as Parameters<typeof ParseSync>[2]);
  if (parsed.errors.length) {
    const e = parsed.errors[0] as { message: string };
    throw new InvalidInputError(`cannot parse ${file}: ${e.message}`);
  }
  const info: ModuleInfo = { file, bindings: new Map(), exports: new Map(), starExports: [], imports: [], effects: [], functionNames: countFunctionNames(parsed.program) };
  /** Every analysed piece with its scope, for the notes that need all bindings known. */
  const analysed: Array<{ code: Code; scope: ScopeInfo }> = [];
  const effect = (scope: ScopeInfo, code: Effect): void => {
    const e: Effect = { ...code };
    info.effects.push(e);
    analysed.push({ code: e, scope });
  };
  /** Declares `names` as bound by `node`; an initializer that runs code is an effect too. */
  const local = (names: string[], node: Node): void => {
    const tree = normalize(node);
    const scope = scopes().analyseScope(tree);
    const code = codeOf(tree, scope);
    const expr = asExpression(node);
    for (const name of names) {
      const prev = info.bindings.get(name);
      let b: Binding = {
        kind: "local",
        name,
        ...code,
        readsItself: name in code.uses,
        ...(expr ? { exprHash: hashTree(normalize(expr)), text: textOf(node) } : {}),
      };
      if (prev?.kind === "local") {
        // TypeScript declaration merging (`function f` + `namespace f`), a repeated `var`: both count
        const shape = prev.exprHash !== undefined ? { exprHash: prev.exprHash, text: prev.text } : expr ? { exprHash: b.exprHash, text: b.text } : {};
        b = { kind: "local", name, ...merged(prev, code), readsItself: prev.readsItself || b.readsItself, ...shape } as Binding;
        for (const a of analysed) if (a.code === prev) a.code = b as Code; // its notes land on the merged binding
      }
      info.bindings.set(name, b);
      analysed.push({ code: b as Code, scope });
    }
    if (scope.runs) effect(scope, { ...code, declares: names });
  };
  const textOf = (node: Node): string => source.slice(node.start as number, node.end as number);
  const declare = (decl: Node): string[] => {
    if (isTypeOnly(decl)) return [];
    switch (decl.type) {
      case "FunctionDeclaration":
      case "ClassDeclaration":
      case "TSEnumDeclaration":
      case "TSModuleDeclaration": {
        const id = decl.id as Node | null;
        const name = id?.type === "Identifier" ? (id.name as string) : undefined;
        if (name) local([name], decl);
        else if (decl.type === "TSModuleDeclaration") {
          // `declare global {}` / `namespace A.B {}`: code that runs, bound to no simple name
          const tree = normalize(decl);
          const scope = scopes().analyseScope(tree);
          if (scope.runs) effect(scope, codeOf(tree, scope));
        }
        return name ? [name] : [];
      }
      case "VariableDeclaration": {
        const names: string[] = [];
        for (const d of decl.declarations as Node[]) {
          const bound = [...scopes().patternNames(normalize(d.id), new Set())];
          // each name bound by a declarator depends on the whole declarator (and its kind)
          local(bound, { type: "VariableDeclarator", kind: decl.kind, id: d.id, init: d.init, start: decl.start, end: decl.end });
          names.push(...bound);
        }
        return names;
      }
      case "TSImportEqualsDeclaration": {
        const name = (decl.id as Node).name as string;
        const ref = decl.moduleReference as Node;
        if (ref.type === "TSExternalModuleReference") {
          const source = (ref.expression as Node).value as string;
          info.bindings.set(name, { kind: "import", name, source, imported: "*", via: "require" });
          info.imports.push({ source, via: "require" });
        } else local([name], decl);
        return [name];
      }
      default:
        return [];
    }
  };

  for (const stmt of parsed.program.body as unknown as Node[]) {
    if (isTypeOnly(stmt)) continue;
    switch (stmt.type) {
      case "ImportDeclaration": {
        const source = (stmt.source as Node).value as string;
        const specifiers = ((stmt.specifiers as Node[]) ?? []).filter((s) => s.importKind !== "type");
        if (specifiers.length === 0 && ((stmt.specifiers as Node[]) ?? []).length > 0) break; // only types: erased
        info.imports.push(specifiers.length ? { source } : { source, bare: true }); // `import "./setup.js"`
        for (const s of specifiers) {
          const name = (s.local as Node).name as string;
          const imported = s.type === "ImportDefaultSpecifier" ? "default" : s.type === "ImportNamespaceSpecifier" ? "*" : nameOf(s.imported);
          info.bindings.set(name, { kind: "import", name, source, imported });
        }
        break;
      }
      case "ExportNamedDeclaration": {
        const source = (stmt.source as Node | null)?.value as string | undefined;
        if (source) info.imports.push({ source });
        if (stmt.declaration) for (const name of declare(stmt.declaration as Node)) info.exports.set(name, { local: name });
        for (const s of (stmt.specifiers as Node[]) ?? []) {
          if (s.exportKind === "type") continue;
          const exported = nameOf(s.exported);
          const localName = nameOf(s.local);
          info.exports.set(exported, source ? { source, imported: localName } : { local: localName });
        }
        break;
      }
      case "ExportDefaultDeclaration": {
        const decl = stmt.declaration as Node;
        const named = (decl.type === "FunctionDeclaration" || decl.type === "ClassDeclaration") && (decl.id as Node | null)?.name;
        if (named) {
          declare(decl);
          info.exports.set("default", { local: named as string });
        } else if (decl.type === "Identifier") {
          info.exports.set("default", { local: decl.name as string });
        } else {
          local(["default"], decl);
          info.exports.set("default", { local: "default" });
        }
        break;
      }
      case "TSExportAssignment": {
        // `export = value`: what a CommonJS-style TypeScript module exports
        const e = stmt.expression as Node;
        if (e.type === "Identifier") info.exports.set("default", { local: e.name as string });
        else {
          local(["default"], e);
          info.exports.set("default", { local: "default" });
        }
        break;
      }
      case "ExportAllDeclaration": {
        const source = (stmt.source as Node).value as string;
        info.imports.push({ source });
        if (stmt.exported) info.exports.set(nameOf(stmt.exported), { source, imported: "*" });
        else info.starExports.push(source);
        break;
      }
      default: {
        if (stmt.type === "ExpressionStatement" && typeof stmt.directive === "string") break; // "use strict"
        if (declare(stmt).length > 0 || stmt.type?.endsWith("Declaration")) break;
        const tree = normalize(stmt);
        const scope = scopes().analyseScope(tree);
        const code = codeOf(tree, scope);
        effect(scope, isCommonJsExport(stmt) ? { ...code, cjsExport: true as const } : code);
        // `if (…) { var x = … }` declares x for the whole module: its value is this statement's doing
        for (const name of scopes().declaredVars(tree)) {
          if (info.bindings.has(name)) continue;
          const b: Binding = { kind: "local", name, ...code, readsItself: true };
          info.bindings.set(name, b);
          analysed.push({ code: b, scope });
        }
      }
    }
  }
  // What only the whole module can tell: which written names are global, and what a piece reads
  // that no key sees.
  for (const { code, scope } of analysed) {
    const notes = notesOf(scope, info.bindings);
    if (notes.length) code.notes = [...new Set([...(code.notes ?? []), ...notes])].sort();
  }
  for (const { code } of analysed) {
    for (const [name, u] of Object.entries(code.uses)) {
      if (!u.writes) continue;
      const global = !info.bindings.has(name) && name !== "module" && name !== "exports";
      if (global || scopes().GLOBAL_OBJECTS.has(name)) code.globalWrite = true;
    }
  }
  return info;
}

const FS_MODULES = new Set(["fs", "node:fs", "fs/promises", "node:fs/promises"]);
const PROCESS_MODULES = new Set(["child_process", "node:child_process"]);

/** What a piece of code reads that its key cannot see (SPEC §3: observed at run time by a later issue; named here). */
function notesOf(scope: ScopeInfo, bindings: Map<string, Binding>): string[] {
  const notes = new Set<string>();
  for (const [name, u] of scope.uses) {
    const b = bindings.get(name);
    if (!b) {
      for (const chain of u.chains) {
        const [first, second] = chain.split(".");
        if (name === "process" && first === "env") notes.add(second ? `process.env.${second}` : "process.env");
        else if (name === "process" && (first === "argv" || first === "cwd")) notes.add(first === "cwd" ? "process.cwd()" : "process.argv");
        else if ((name === "Date" && (first === "now" || first === "new")) || (name === "performance" && first === "now")) notes.add(first === "new" ? "new Date()" : `${name}.now()`);
        else if (name === "Math" && first === "random") notes.add("Math.random()");
        else if (name === "crypto" && (first === "randomUUID" || first === "getRandomValues")) notes.add(`crypto.${first}()`);
      }
      if (name === "fetch") notes.add("fetch() (the network)");
      if (name === "process" && u.whole) notes.add("process (environment, arguments)");
      continue;
    }
    if (b.kind !== "import") continue;
    const family = FS_MODULES.has(b.source) ? "fs" : PROCESS_MODULES.has(b.source) ? "child_process" : null;
    if (!family) continue;
    const what = family === "fs" ? "files read by path" : "child processes";
    if (b.imported !== "*" && b.imported !== "default") notes.add(`${family}.${b.imported} (${what})`);
    else for (const m of u.members) notes.add(`${family}.${m} (${what})`);
  }
  return [...notes].sort();
}

/** A JSON module (`import data from "./x.json"`, `require("./x.json")`): its data is the default export. */
function analyseJson(file: string, source: string): ModuleInfo {
  let data: unknown;
  try {
    data = JSON.parse(source);
  } catch (err) {
    throw new InvalidInputError(`cannot parse ${file}: ${(err as Error).message}`);
  }
  const hash = createHash("sha256").update(JSON.stringify(data)).digest("hex"); // formatting does not count
  const bindings = new Map<string, Binding>([["default", { kind: "local", name: "default", hash, uses: {}, requires: [], readsItself: false }]]);
  return { file, bindings, exports: new Map([["default", { local: "default" }]]), starExports: [], imports: [], effects: [], functionNames: {} };
}

/**
 * The normalized hash and the outside names of one function's source text (`fn.toString()`),
 * parsed as an expression. Method shorthand (`m() {}`) is parsed inside an object literal. Throws
 * InvalidInputError when it does not parse.
 */
export function analyseFunctionSource(source: string, file = "function.ts"): Code {
  const lang = /\.(m|c)?tsx?$/.test(file) ? "ts" : "js";
  for (const wrapped of [`(${source});`, `({ ${source} });`]) {
    const parsed = parse("fn.js", wrapped, { lang, preserveParens: false } as Parameters<typeof ParseSync>[2]);
    if (parsed.errors.length) continue;
    const tree = normalize((parsed.program.body[0] as unknown as Node).expression);
    const scope = scopes().analyseScope(tree);
    const code = codeOf(tree, scope);
    const notes = notesOf(scope, new Map());
    return notes.length ? { ...code, notes } : code;
  }
  throw new InvalidInputError(`cannot parse the source of a function: ${source.slice(0, 60)}…`);
}

/** sha256 of a normalized tree. */
export function hashTree(tree: Normalized): string {
  return createHash("sha256").update(JSON.stringify(tree)).digest("hex");
}

type Node = { type?: string; [key: string]: unknown };

const FUNCTION_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression", "ClassDeclaration", "ClassExpression"]);

/** Names of every function and class in `program`, counted (see ModuleInfo.functionNames). */
function countFunctionNames(program: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (name: unknown): void => {
    if (typeof name === "string") counts[name] = (counts[name] ?? 0) + 1;
  };
  const isFunction = (n: unknown): boolean => FUNCTION_TYPES.has((n as Node | null)?.type ?? "");
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n === null || typeof n !== "object") return;
    const node = n as Node;
    switch (node.type) {
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ClassDeclaration":
      case "ClassExpression":
        add((node.id as Node | null)?.name);
        break;
      case "VariableDeclarator":
      case "AssignmentPattern":
        if (isFunction(node.init ?? node.right)) add(((node.id ?? node.left) as Node).name);
        break;
      case "AssignmentExpression":
        if (isFunction(node.right)) add((node.left as Node).type === "MemberExpression" ? ((node.left as Node).property as Node).name : (node.left as Node).name);
        break;
      case "Property":
      case "MethodDefinition":
      case "PropertyDefinition":
        if (isFunction(node.value)) add(nameOf(node.key));
        break;
      case "ExportDefaultDeclaration":
        if (isFunction(node.declaration) && !(node.declaration as Node).id) add("default");
        break;
    }
    for (const v of Object.values(node)) if (v !== null && typeof v === "object") walk(v);
  };
  walk(program);
  return counts;
}

/** A function or class declaration as the expression its runtime text parses to. */
function asExpression(node: Node): Node | null {
  if (node.type === "FunctionDeclaration") return { ...node, type: "FunctionExpression" };
  if (node.type === "ClassDeclaration") return { ...node, type: "ClassExpression" };
  const init = node.type === "VariableDeclarator" ? (node.init as Node | null) : null;
  if (init && /^(ArrowFunctionExpression|FunctionExpression|ClassExpression)$/.test(init.type ?? "")) return init;
  return null;
}

function nameOf(n: unknown): string {
  const node = n as Node;
  return (node.type === "Literal" ? node.value : node.name) as string;
}

