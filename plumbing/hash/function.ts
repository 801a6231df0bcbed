// The function hash: a function's identity is its normalized code plus the transitive closure of
// what it reads — module-level declarations, the statements that may change them, relative
// imports followed into their modules, and package@version for packages. Nothing
// machine-specific enters it: files are named relative to the function's own directory.
import { createHash } from "node:crypto";
import { dirname, relative, resolve, sep } from "node:path";
import { InvalidInputError } from "../errors.js";
import { analyseFunctionSource, loadModule, resolveSpecifier, withSnapshot, type ModuleInfo } from "./module.js";

export type ComponentKind = "function" | "declaration" | "statement" | "package" | "unresolved";

/** One thing that went into a function hash (what `hash-fn --explain` lists). */
export interface Component {
  kind: ComponentKind;
  /** Stable key: `<file>#<name>` (file as below), `npm:<name>`, or `unresolved:<specifier>`. */
  key: string;
  name: string;
  /**
   * File relative to the directory of the function's own file, posix separators; the function's
   * own file is ".". Absent for packages.
   */
  file?: string;
  /** Hash of the normalized declaration, or the package version. */
  hash: string;
}

export interface FunctionHash {
  hash: string;
  /** The exported (or top-level) name hashed, and the file that defines it. */
  name: string;
  file: string;
  components: Component[];
  /** Things that could not be followed (an unresolved import, a package without package.json). */
  warnings: string[];
  /** The function's declaration as written in its source file, when it is a declaration there. */
  source?: string;
}

const FORMAT = "cashet-fn-1";

/** Hash of the function exported as `exportName` (default: the default export) from `file`. */
export function hashExportedFunction(file: string, exportName = "default"): FunctionHash {
  return withSnapshot(() => hashExported(resolve(file), file, exportName));
}

function hashExported(abs: string, file: string, exportName: string): FunctionHash {
  const target = resolveExport(abs, exportName, new Set());
  if (!target) throw new InvalidInputError(`${file} has no export named "${exportName}"`);
  return hashClosure(target.file, target.name);
}

/** Hash of the top-level binding `name` of `file` (exported or not). */
export function hashTopLevelFunction(file: string, name: string): FunctionHash {
  return withSnapshot(() => hashTopLevel(resolve(file), file, name));
}

function hashTopLevel(abs: string, file: string, name: string): FunctionHash {
  const b = loadModule(abs).bindings.get(name);
  if (!b) throw new InvalidInputError(`${file} has no top-level declaration named "${name}"`);
  if (b.kind === "import") {
    const t = followImport(abs, b.source, b.imported);
    if (t && "file" in t) return hashClosure(t.file, t.name);
    throw new InvalidInputError(`"${name}" in ${file} is imported from "${b.source}", which cannot be followed`);
  }
  return hashClosure(abs, name);
}

/**
 * Hash of a function known only by its source text (a nested or anonymous function found at run
 * time) as code of module `file`: its own normalized AST plus the module declarations it reads.
 */
export function hashSourceInModule(file: string, source: string, name: string): FunctionHash {
  const abs = resolve(file);
  const { hash, refs, requires } = analyseFunctionSource(source, abs);
  return withSnapshot(() => hashClosure(abs, name, { hash, refs, requires }));
}

/** Where `exportName` of module `file` is declared, following re-exports. */
function resolveExport(file: string, exportName: string, seen: Set<string>): { file: string; name: string } | null {
  const memo = `${file}#${exportName}`;
  if (seen.has(memo)) return null;
  seen.add(memo);
  const mod = loadModule(file);
  const target = mod.exports.get(exportName);
  if (target && "local" in target) {
    const b = mod.bindings.get(target.local);
    if (b?.kind === "import") {
      const t = followImport(file, b.source, b.imported, seen);
      return t && "file" in t ? t : null;
    }
    return b ? { file, name: target.local } : null;
  }
  if (target) {
    const t = followImport(file, target.source, target.imported, seen);
    return t && "file" in t ? t : null;
  }
  for (const source of mod.starExports) {
    const r = resolveSpecifier(file, source);
    if (r.kind !== "file") continue;
    const t = resolveExport(r.file, exportName, seen);
    if (t) return t;
  }
  return null;
}

type Followed = { file: string; name: string } | { namespace: string } | { external: Component } | null;

function followImport(fromFile: string, source: string, imported: string, seen = new Set<string>()): Followed {
  const r = resolveSpecifier(fromFile, source);
  if (r.kind === "builtin") return null; // node: builtins contribute nothing
  if (r.kind === "package") {
    return { external: { kind: "package", key: `npm:${r.name}`, name: r.name, hash: r.version ?? "?" } };
  }
  if (r.kind === "unresolved") {
    return { external: { kind: "unresolved", key: `unresolved:${source}`, name: source, hash: "?" } };
  }
  if (imported === "*") return { namespace: r.file };
  return resolveExport(r.file, imported, seen);
}

/**
 * Walks everything `name` in `file` reads, transitively, and hashes the set. Files are named
 * relative to the defining file, so every route to the same declaration (a re-export, the runtime
 * path) gives the same hash, and so does another checkout.
 */
function hashClosure(file: string, name: string, rootCode?: { hash: string; refs: Set<string>; requires: string[] }): FunctionHash {
  const base = dirname(file);
  const rel = (f: string): string => (f === file ? "." : relative(base, f).split(sep).join("/"));
  const components = new Map<string, Component>();
  const warnings: string[] = [];
  const queue: Array<{ file: string; name: string }> = [{ file, name }];
  /** Per module, the indices (source order) of the top-level statements in the closure. */
  const effectsIn = new Map<ModuleInfo, Set<number>>();

  const addExternal = (c: Component): void => {
    if (components.has(c.key)) return;
    components.set(c.key, c);
    if (c.kind === "unresolved") warnings.push(`import "${c.name}" could not be resolved; its code is not tracked`);
    else if (c.hash === "?") warnings.push(`package "${c.name}" has no installed package.json; its version is not tracked`);
  };
  const follow = (mod: ModuleInfo, ref: string): void => {
    const b = mod.bindings.get(ref);
    if (!b) return; // a global (Math, console, fetch …) or a local variable
    if (b.kind === "local") return void queue.push({ file: mod.file, name: ref });
    followEffects(mod, (e) => e.refs.has(ref)); // `import { cfg } …; cfg.x = 1` changes what is read
    const t = followImport(mod.file, b.source, b.imported);
    if (!t) return;
    if ("external" in t) addExternal(t.external);
    else if ("namespace" in t) followNamespace(t.namespace);
    else queue.push(t);
  };
  const namespaces = new Set<string>();
  const followNamespace = (nsFile: string): void => {
    // `import * as m`, `require()`, `import()`: every export of m may be read, including those
    // forwarded by `export *`; and its top-level statements are what a CommonJS module exports.
    if (namespaces.has(nsFile)) return;
    namespaces.add(nsFile);
    const mod = loadModule(nsFile);
    for (const exported of mod.exports.keys()) {
      const t = resolveExport(nsFile, exported, new Set());
      if (t) queue.push(t);
    }
    for (const source of mod.starExports) {
      const r = resolveSpecifier(nsFile, source);
      if (r.kind === "file") followNamespace(r.file);
    }
    followEffects(mod, () => true);
  };
  /** Takes the top-level statements of `mod` that `wanted` picks into the closure, following what they read. */
  const followEffects = (mod: ModuleInfo, wanted: (e: ModuleInfo["effects"][number]) => boolean): void => {
    let done = effectsIn.get(mod);
    mod.effects.forEach((e, i) => {
      if (done?.has(i) || !wanted(e)) return;
      if (!done) effectsIn.set(mod, (done = new Set()));
      done.add(i);
      for (const ref of e.refs) follow(mod, ref);
      followRequires(mod, e.requires);
    });
  };
  const followRequires = (mod: ModuleInfo, specifiers: string[]): void => {
    for (const s of specifiers) {
      const t = followImport(mod.file, s, "*");
      if (!t) continue;
      if ("external" in t) addExternal(t.external);
      else if ("namespace" in t) followNamespace(t.namespace);
    }
  };

  const rootKey = `${rel(file)}#${name}`;
  /** Whether the function reads itself (recursion, `f.memo`): only then can a statement mentioning it change what it does. */
  let rootIsRead = false;
  let rootText: string | undefined;
  while (queue.length) {
    const item = queue.pop()!;
    const key = `${rel(item.file)}#${item.name}`;
    const isRoot = item.file === file && item.name === name;
    if (components.has(key)) {
      if (isRoot && !rootIsRead) {
        rootIsRead = true;
        followEffects(loadModule(file), (e) => e.refs.has(name));
      }
      continue;
    }
    const mod = loadModule(item.file);
    const b = isRoot && rootCode ? { kind: "local" as const, name, readsItself: true, ...rootCode } : mod.bindings.get(item.name);
    if (!b || b.kind !== "local") continue;
    components.set(key, { kind: isRoot ? "function" : "declaration", key, name: item.name, file: rel(item.file), hash: b.hash });
    if (isRoot && !rootCode && "text" in b && b.text !== undefined) rootText = b.text;
    // `refs` holds the declared name itself; it is a read only when the value reads itself.
    for (const ref of b.refs) if (ref !== item.name || b.readsItself) follow(mod, ref);
    followRequires(mod, b.requires);
    // Top-level statements that mention this binding may change it (`LR = 0.02`, `cfg.x = 1`). Not
    // so for the function itself unless it reads itself: `await client.submit(train, data)` and
    // other call sites must not make the task's own identity depend on how it is called.
    if (!isRoot) followEffects(mod, (e) => e.refs.has(item.name));
  }
  // Statements are keyed by their rank in source order among the module's statements in the
  // closure: reordering two of them, or repeating one, changes the hash; an unrelated one does not.
  for (const [mod, indices] of effectsIn) {
    [...indices].sort((a, b) => a - b).forEach((i, rank) => {
      const key = `${rel(mod.file)}#statement:${rank}`;
      components.set(key, { kind: "statement", key, name: "(top-level statement)", file: rel(mod.file), hash: mod.effects[i]!.hash });
    });
  }

  const sorted = [...components.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const h = createHash("sha256").update(FORMAT).update("\0").update(rootKey);
  for (const c of sorted) h.update("\0").update(c.kind).update("\0").update(c.key).update("\0").update(c.hash);
  return { hash: h.digest("hex"), name, file, components: sorted, warnings, ...(rootText !== undefined ? { source: rootText } : {}) };
}
