// One module, analysed for function identity: its top-level bindings (each declaration's
// normalized AST, hash and the names it reads), its imports and exports, and the top-level
// statements that may change a binding. Parsed with oxc-parser, once per file content per process.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { parseSync as ParseSync } from "oxc-parser";
import { InvalidInputError } from "../errors.js";
import { writeFileAtomic } from "../store/fs/files.js";
import { isTypeOnly, normalize, referencedNames, type Normalized } from "./normalize.js";

export type Binding =
  | {
      kind: "local";
      name: string;
      hash: string;
      refs: Set<string>;
      requires: string[];
      /**
       * Whether the value reads its own name (recursion, `f.memo`). A function that does not
       * cannot be changed by top-level statements that merely mention it (`submit(f, 1)`).
       */
      readsItself: boolean;
      /** For a function or class: the hash its `toString()` text normalizes to (see runtime.ts). */
      exprHash?: string;
      /** For a function or class: its declaration as written in the source (types and comments included). */
      text?: string;
    }
  | { kind: "import"; name: string; source: string; imported: string };

/** What `export name` means: a local binding, or a name re-exported from another module. */
export type ExportTarget = { local: string } | { source: string; imported: string };

/** A top-level statement that is not a declaration (it may mutate what a function reads). */
export interface Effect {
  hash: string;
  refs: Set<string>;
  requires: string[];
}

export interface ModuleInfo {
  file: string;
  bindings: Map<string, Binding>;
  exports: Map<string, ExportTarget>;
  /** `export * from "…"` sources. */
  starExports: string[];
  effects: Effect[];
  /**
   * How many functions and classes anywhere in the module (nested ones too) carry each name, as
   * declared or as inferred from a binding or key: a running function whose transpiled text
   * cannot be compared with its source is matched by name only when its name is unique.
   */
  functionNames: Record<string, number>;
}

export type Resolved =
  | { kind: "file"; file: string }
  | { kind: "package"; name: string; version: string | null }
  | { kind: "builtin"; name: string }
  | { kind: "unresolved"; specifier: string };

const cache = new Map<string, { digest: string; info: ModuleInfo }>();
/** Modules already checked during the current (synchronous) hash: each file is read once per hash. */
let snapshot: Map<string, ModuleInfo> | null = null;

/** Runs `fn` with each module read and checked at most once. */
export function withSnapshot<T>(fn: () => T): T {
  if (snapshot) return fn();
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
}

/** The directory analyses are kept in, or null. */
export function analysisCacheDir(): string | null {
  return analysisCache?.dir ?? null;
}

let analyserDigest: string | undefined;

/** sha256 over the analyser's compiled code and the parser's version: the cache's format key. */
function analyser(): string {
  if (analyserDigest === undefined) {
    const h = createHash("sha256").update("cashet-analysis-1\0");
    for (const name of ["module.js", "normalize.js"]) {
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

/** oxc-parser, loaded on first use (≈25 ms): a process whose analyses are all cached never pays. */
function parse(...args: Parameters<typeof ParseSync>): ReturnType<typeof ParseSync> {
  parser ??= (require("oxc-parser") as { parseSync: typeof ParseSync }).parseSync;
  return parser(...args);
}

function parserVersion(): string {
  return (require("oxc-parser/package.json") as { version: string }).version;
}

/** A binding as JSON: a local binding's `refs` as a list. */
type StoredBinding = Exclude<Binding, { kind: "local" }> | (Omit<Extract<Binding, { kind: "local" }>, "refs"> & { refs: string[] });

interface StoredAnalysis {
  bindings: Array<[string, StoredBinding]>;
  exports: Array<[string, ExportTarget]>;
  starExports: string[];
  effects: Array<{ hash: string; refs: string[]; requires: string[] }>;
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
  return {
    file,
    bindings: new Map(stored.bindings.map(([name, b]) => [name, b.kind === "local" ? { ...b, refs: new Set(b.refs) } : b])),
    exports: new Map(stored.exports),
    starExports: stored.starExports,
    effects: stored.effects.map((e) => ({ ...e, refs: new Set(e.refs) })),
    functionNames: stored.functionNames,
  };
}

function keepAnalysis(key: string, info: ModuleInfo): void {
  if (!analysisCache) return;
  const stored: StoredAnalysis = {
    bindings: [...info.bindings].map(([name, b]): [string, StoredBinding] => [name, b.kind === "local" ? { ...b, refs: [...b.refs] } : b]),
    exports: [...info.exports],
    starExports: info.starExports,
    effects: info.effects.map((e) => ({ ...e, refs: [...e.refs] })),
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

function analyse(file: string, source: string): ModuleInfo {
  const lang = languageOf(file);
  if (lang === "json") return analyseJson(file, source);
  const parsed = parse(file, source, { lang, sourceType: "unambiguous", preserveParens: false } as Parameters<typeof ParseSync>[2]);
  if (parsed.errors.length) {
    const e = parsed.errors[0] as { message: string };
    throw new InvalidInputError(`cannot parse ${file}: ${e.message}`);
  }
  const info: ModuleInfo = { file, bindings: new Map(), exports: new Map(), starExports: [], effects: [], functionNames: countFunctionNames(parsed.program) };
  const local = (name: string, node: unknown): void => {
    const tree = normalize(node);
    const expr = asExpression(node as Node);
    info.bindings.set(name, {
      kind: "local",
      name,
      hash: hashTree(tree),
      refs: referencedNames(tree),
      requires: requiresOf(tree),
      readsItself: readsItself(node as Node, name),
      ...(expr ? { exprHash: hashTree(normalize(expr)), text: textOf(node as Node) } : {}),
    });
  };
  const textOf = (node: Node): string => source.slice(node.start as number, node.end as number);
  const declare = (decl: Node): string[] => {
    if (isTypeOnly(decl)) return [];
    switch (decl.type) {
      case "FunctionDeclaration":
      case "ClassDeclaration":
      case "TSEnumDeclaration":
      case "TSModuleDeclaration": {
        const name = (decl.id as Node | null)?.name as string | undefined;
        if (name) local(name, decl);
        return name ? [name] : [];
      }
      case "VariableDeclaration": {
        const names: string[] = [];
        for (const d of decl.declarations as Node[]) {
          const bound = patternNames(d.id);
          // each name bound by a declarator depends on the whole declarator (and its kind)
          for (const name of bound) local(name, { type: "VariableDeclarator", kind: decl.kind, id: d.id, init: d.init, start: decl.start, end: decl.end });
          names.push(...bound);
        }
        return names;
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
        for (const s of (stmt.specifiers as Node[]) ?? []) {
          if (s.importKind === "type") continue;
          const name = (s.local as Node).name as string;
          const imported =
            s.type === "ImportDefaultSpecifier" ? "default" : s.type === "ImportNamespaceSpecifier" ? "*" : nameOf(s.imported);
          info.bindings.set(name, { kind: "import", name, source, imported });
        }
        break;
      }
      case "ExportNamedDeclaration": {
        const source = (stmt.source as Node | null)?.value as string | undefined;
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
          local("default", decl);
          info.exports.set("default", { local: "default" });
        }
        break;
      }
      case "ExportAllDeclaration": {
        const source = (stmt.source as Node).value as string;
        if (stmt.exported) info.exports.set(nameOf(stmt.exported), { source, imported: "*" });
        else info.starExports.push(source);
        break;
      }
      default:
        if (declare(stmt).length === 0 && !stmt.type?.endsWith("Declaration")) {
          const tree = normalize(stmt);
          info.effects.push({ hash: hashTree(tree), refs: referencedNames(tree), requires: requiresOf(tree) });
        }
    }
  }
  return info;
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
  const bindings = new Map<string, Binding>([["default", { kind: "local", name: "default", hash, refs: new Set(), requires: [], readsItself: false }]]);
  return { file, bindings, exports: new Map([["default", { local: "default" }]]), starExports: [], effects: [], functionNames: {} };
}

/**
 * The normalized hash, referenced names and required modules of one function's source text
 * (`fn.toString()`), parsed as an expression. Method shorthand (`m() {}`) is parsed inside an
 * object literal. Throws InvalidInputError when it does not parse.
 */
export function analyseFunctionSource(source: string, file = "function.ts"): { hash: string; refs: Set<string>; requires: string[] } {
  const lang = /\.(m|c)?tsx?$/.test(file) ? "ts" : "js";
  for (const wrapped of [`(${source});`, `({ ${source} });`]) {
    const parsed = parse("fn.js", wrapped, { lang, preserveParens: false } as Parameters<typeof ParseSync>[2]);
    if (parsed.errors.length) continue;
    const tree = normalize((parsed.program.body[0] as unknown as Node).expression);
    return { hash: hashTree(tree), refs: referencedNames(tree), requires: requiresOf(tree) };
  }
  throw new InvalidInputError(`cannot parse the source of a function: ${source.slice(0, 60)}…`);
}

/** sha256 of a normalized tree. */
export function hashTree(tree: Normalized): string {
  return createHash("sha256").update(JSON.stringify(tree)).digest("hex");
}

/** Resolves an import specifier as seen from `fromFile`. */
export function resolveSpecifier(fromFile: string, specifier: string): Resolved {
  if (specifier.startsWith("node:") || isBuiltin(specifier)) return { kind: "builtin", name: specifier.replace(/^node:/, "") };
  if (specifier.startsWith(".") || specifier.startsWith("/")) {
    const file = resolveFile(resolve(dirname(fromFile), specifier));
    return file ? { kind: "file", file } : { kind: "unresolved", specifier };
  }
  if (specifier.startsWith("file:")) {
    const file = resolveFile(new URL(specifier).pathname);
    return file ? { kind: "file", file } : { kind: "unresolved", specifier };
  }
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  return { kind: "package", name, version: packageVersion(dirname(fromFile), name) };
}

const JS_TO_TS: Record<string, string[]> = { ".js": [".ts", ".tsx"], ".mjs": [".mts"], ".cjs": [".cts"], ".jsx": [".tsx"] };
const EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".jsx"];

/** The file a relative import names, the way TypeScript projects write them (`./x.js` → x.ts). */
function resolveFile(base: string): string | null {
  const ext = extname(base);
  const candidates: string[] = [];
  for (const ts of JS_TO_TS[ext] ?? []) candidates.push(base.slice(0, -ext.length) + ts);
  candidates.push(base);
  for (const e of EXTENSIONS) candidates.push(base + e);
  for (const e of EXTENSIONS) candidates.push(join(base, `index${e}`));
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {}
  }
  return null;
}

const versions = new Map<string, string | null>();

/** The installed version of package `name` as Node would find it from `dir`, or null. */
function packageVersion(dir: string, name: string): string | null {
  const memo = `${dir}\0${name}`;
  if (versions.has(memo)) return versions.get(memo)!;
  let version: string | null = null;
  for (let d = dir; ; d = dirname(d)) {
    const pkg = join(d, "node_modules", name, "package.json");
    if (existsSync(pkg)) {
      try {
        version = String((JSON.parse(readFileSync(pkg, "utf8")) as { version?: unknown }).version ?? "0.0.0");
      } catch {
        version = null;
      }
      break;
    }
    if (dirname(d) === d) break;
  }
  versions.set(memo, version);
  return version;
}

type Node = { type?: string; [key: string]: unknown };

/**
 * Whether declaration `node` of `name` reads `name` anywhere but in the name it declares; true
 * when that cannot be told cheaply (the safe answer: statements mentioning it are then kept).
 */
function readsItself(node: Node, name: string): boolean {
  if (node.type === "FunctionDeclaration" || node.type === "ClassDeclaration") return referencedNames(normalize({ ...node, id: null })).has(name);
  if (node.type === "VariableDeclarator") return node.init ? referencedNames(normalize(node.init)).has(name) : false;
  return true;
}

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

/** Names bound by a declaration pattern (`a`, `{ a, b: [c] }`, `...rest`). */
function patternNames(p: unknown, out: string[] = []): string[] {
  const n = p as Node | null;
  if (!n) return out;
  switch (n.type) {
    case "Identifier":
      out.push(n.name as string);
      break;
    case "ObjectPattern":
      for (const prop of n.properties as Node[]) patternNames(prop.type === "RestElement" ? prop.argument : prop.value, out);
      break;
    case "ArrayPattern":
      for (const el of n.elements as Node[]) patternNames(el, out);
      break;
    case "RestElement":
      patternNames(n.argument, out);
      break;
    case "AssignmentPattern":
      patternNames(n.left, out);
      break;
  }
  return out;
}

/** Modules loaded inside a subtree with `require("…")` or `import("…")` and a literal specifier. */
function requiresOf(tree: Normalized, out: string[] = []): string[] {
  if (Array.isArray(tree)) {
    for (const t of tree) requiresOf(t, out);
    return out;
  }
  if (tree === null || typeof tree !== "object") return out;
  const callee = tree.callee as { type?: string; name?: string } | undefined;
  const args = tree.arguments as Array<{ type?: string; value?: unknown }> | undefined;
  if (tree.type === "CallExpression" && callee?.type === "Identifier" && callee.name === "require" && typeof args?.[0]?.value === "string") {
    out.push(args[0].value as string);
  }
  const src = tree.source as { type?: string; value?: unknown } | undefined;
  if (tree.type === "ImportExpression" && src?.type === "Literal" && typeof src.value === "string") out.push(src.value);
  for (const v of Object.values(tree)) requiresOf(v, out);
  return out;
}
