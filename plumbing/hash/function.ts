// The function hash: a function's identity is its normalized code plus the transitive closure of
// what it reads — module-level declarations (found by scope analysis), the top-level effects that
// can change them, source imports followed into their modules (workspace packages included),
// name@version + lockfile integrity for installed packages, and the tsconfig options tsx compiles
// TypeScript with. Nothing machine-specific enters it: files are named relative to the function's
// own directory. The rule for effects is in docs/cli.md ("What invalidates a result").
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { InvalidInputError } from "../errors.js";
import { analyseFunctionSource, loadModule, withSnapshot, type Code, type ModuleInfo, type Use } from "./module.js";
import { resolveSpecifier } from "./resolve.js";
import { tsconfigOptionsFor } from "./tsconfig.js";

export type ComponentKind = "function" | "declaration" | "statement" | "package" | "tsconfig" | "unresolved";

/** One thing that went into a function hash (what `hash-fn --explain` lists). */
export interface Component {
  kind: ComponentKind;
  /**
   * Stable key: `<file>#<name>` (file as below), `<file>#statement:<rank>`, `npm:<name>@<version>`,
   * `tsconfig:<hash>` or `unresolved:<specifier>`.
   */
  key: string;
  name: string;
  /**
   * File relative to the directory of the function's own file, posix separators; the function's
   * own file is ".". Absent for packages and tsconfig options.
   */
  file?: string;
  /** Hash of the normalized code, the package version, or the hash of the tsconfig options. */
  hash: string;
  /** For a package: the integrity its lockfile records (or a git commit / tarball URL). */
  integrity?: string;
  /** For a declaration: what it declares (what `explain` calls a helper, a class or a constant). Not part of the hash. */
  declares?: "function" | "class" | "value";
}

export interface FunctionHash {
  hash: string;
  /** The exported (or top-level) name hashed, and the file that defines it. */
  name: string;
  file: string;
  components: Component[];
  /**
   * The source files of the closure, absolute and sorted: the function's own file, every file a
   * declaration or statement of the key comes from. Installed packages are not among them (they
   * count by version). What provenance checks against git; not part of the hash.
   */
  files: string[];
  /** Things that could not be followed (an unresolved import, a package without package.json). */
  warnings: string[];
  /**
   * What the function's result may depend on that the key cannot see — `process.env.X`,
   * `Date.now()`, `Math.random()`, files read by path — each with where it is read.
   */
  untracked: string[];
  /** The function's declaration as written in its source file, when it is a declaration there. */
  source?: string;
}

const FORMAT = "cashet-fn-2";

/** Hash of the function exported as `exportName` (default: the default export) from `file`. */
export function hashExportedFunction(file: string, exportName = "default"): FunctionHash {
  return withSnapshot(() => hashExported(realPath(file), file, exportName));
}

/**
 * The file's real path: the resolver answers with real paths (symlinks followed, as Node loads
 * modules), so every file of a closure is named from the same tree.
 */
function realPath(file: string): string {
  const abs = resolve(file);
  try {
    return realpathSync(abs);
  } catch {
    return abs; // missing: loadModule names it in its error
  }
}

function hashExported(abs: string, file: string, exportName: string): FunctionHash {
  const target = resolveExport(abs, exportName, new Set()).find((t): t is Declared => "name" in t);
  if (!target) throw new InvalidInputError(`${file} has no export named "${exportName}"`);
  return hashClosure(target.file, target.name);
}

/** Hash of the top-level binding `name` of `file` (exported or not). */
export function hashTopLevelFunction(file: string, name: string): FunctionHash {
  return withSnapshot(() => hashTopLevel(realPath(file), file, name));
}

function hashTopLevel(abs: string, file: string, name: string): FunctionHash {
  const b = loadModule(abs).bindings.get(name);
  if (!b) throw new InvalidInputError(`${file} has no top-level declaration named "${name}"`);
  if (b.kind === "import") {
    const t = followImport(abs, b.source, b.imported, b.via).find((x): x is Declared => "name" in x);
    if (t) return hashClosure(t.file, t.name);
    throw new InvalidInputError(`"${name}" in ${file} is imported from "${b.source}", which cannot be followed`);
  }
  return hashClosure(abs, name);
}

/**
 * Hash of a function known only by its source text (a nested or anonymous function found at run
 * time) as code of module `file`: its own normalized AST plus the module declarations it reads.
 */
export function hashSourceInModule(file: string, source: string, name: string): FunctionHash {
  const abs = realPath(file);
  const code = analyseFunctionSource(source, abs);
  return withSnapshot(() => hashClosure(abs, name, code));
}

/** A declaration in a source module. */
type Declared = { file: string; name: string };
/** What an imported or exported name leads to. */
type Target = Declared | { namespace: string } | { external: Component };

/** Where `exportName` of module `file` is declared, following re-exports (none: not exported). */
function resolveExport(file: string, exportName: string, seen: Set<string>): Target[] {
  const memo = `${file}#${exportName}`;
  if (seen.has(memo)) return [];
  seen.add(memo);
  const mod = loadModule(file);
  const target = mod.exports.get(exportName);
  if (target && "local" in target) {
    const b = mod.bindings.get(target.local);
    if (b?.kind === "import") return followImport(file, b.source, b.imported, b.via, seen);
    return b ? [{ file, name: target.local }] : [];
  }
  if (target) return followImport(file, target.source, target.imported, undefined, seen);
  // `export *`: the first source module that has the name; a package may have any name, so when no
  // source module has it, every package re-exported wholesale counts.
  const packages: Target[] = [];
  for (const source of mod.starExports) {
    const r = resolveSpecifier(file, source);
    if (r.kind === "file") {
      const t = resolveExport(r.file, exportName, seen);
      if (t.length) return t;
    } else if (r.kind !== "builtin") packages.push(...externalOf(r, source));
  }
  return packages;
}

function followImport(fromFile: string, source: string, imported: string, via?: "require", seen = new Set<string>()): Target[] {
  const r = resolveSpecifier(fromFile, source, via ?? "import");
  if (r.kind === "builtin") return []; // node: builtins contribute nothing
  if (r.kind !== "file") return externalOf(r, source);
  if (imported === "*") return [{ namespace: r.file }];
  const mod = loadModule(r.file);
  // A CommonJS module (no ESM exports): its default import is what its statements build.
  if (mod.exports.size === 0 && mod.starExports.length === 0) return [{ namespace: r.file }];
  return resolveExport(r.file, imported, seen);
}

function externalOf(r: ReturnType<typeof resolveSpecifier>, source: string): Target[] {
  if (r.kind === "package") {
    const version = r.version ?? "?";
    return [{ external: { kind: "package", key: `npm:${r.name}@${version}`, name: r.name, hash: version, ...(r.integrity ? { integrity: r.integrity } : {}) } }];
  }
  return [{ external: { kind: "unresolved", key: `unresolved:${source}`, name: source, hash: "?" } }];
}

const TS_FILE = /\.(m|c)?tsx?$|\.jsx$/;

/** What a declaration declares, from its text: only functions and classes have one (module.ts). */
function declares(text: string | undefined): NonNullable<Component["declares"]> {
  if (text === undefined) return "value";
  return /^(?:@[\s\S]*?\s)?(?:(?:abstract|declare)\s+)*class\b|^(?:const|let|var)\s+[\w$]+\s*=\s*class\b/.test(text) ? "class" : "function";
}

/**
 * Walks everything `name` in `file` reads, transitively, and hashes the set. Files are named
 * relative to the defining file, so every route to the same declaration (a re-export, the runtime
 * path) gives the same hash, and so does another checkout.
 *
 * Effects: every source module that evaluating the function's module evaluates (its imports,
 * side-effect imports included, transitively, and the modules of everything in the closure) is
 * searched for top-level effects. One counts when it writes global state, contains a direct eval,
 * or can reach — through what it reads and calls — anything already in the closure (a declaration,
 * a package, another counted effect); counting it adds what it reads, so this repeats until nothing
 * more counts. A call site of the function itself (`submit(train, data)`) does not make the
 * function's identity depend on it unless the function reads itself.
 */
function hashClosure(file: string, name: string, rootCode?: Code): FunctionHash {
  const base = dirname(file);
  const relNames = new Map<string, string>();
  const rel = (f: string): string => {
    let r = relNames.get(f);
    if (r === undefined) relNames.set(f, (r = f === file ? "." : relative(base, f).split(sep).join("/")));
    return r;
  };
  const components = new Map<string, Component>();
  const warnings = new Set<string>();
  const untracked = new Set<string>();
  const queue: Declared[] = [{ file, name }];
  /** Source modules evaluated with the function's module: where effects are looked for. */
  const graph = new Set<string>();
  /** Per module, the indices (source order) of the effects counted. */
  const effectsIn = new Map<ModuleInfo, Set<number>>();
  const namespaces = new Set<string>();
  const rootKey = `${rel(file)}#${name}`;
  /** Whether the function reads itself (recursion, `f.memo`): only then can a statement mentioning it change what it does. */
  let rootIsRead = false;
  let rootText: string | undefined;

  const note = (code: Code, where: string): void => {
    for (const n of code.notes ?? []) untracked.add(`${n} in ${where}`);
  };
  const addExternal = (c: Component): void => {
    if (components.has(c.key)) return;
    components.set(c.key, c);
    if (c.kind === "unresolved") warnings.add(`import "${c.name}" could not be resolved; its code is not tracked`);
    else if (c.hash === "?") warnings.add(`package "${c.name}" has no installed package.json; its version is not tracked`);
  };
  const addTargets = (targets: Target[], use?: Use): void => {
    for (const t of targets) {
      if ("external" in t) addExternal(t.external);
      else if ("namespace" in t) followNamespace(t.namespace, use);
      else queue.push(t);
    }
  };
  /** The module `f` and every source module it imports, transitively, join the graph. */
  const addModule = (f: string): void => {
    const pending = [f];
    while (pending.length) {
      const m = pending.pop()!;
      if (graph.has(m)) continue;
      graph.add(m);
      const mod = loadModule(m);
      for (const imp of mod.imports) {
        const r = resolveSpecifier(m, imp.source, imp.via ?? "import");
        if (r.kind === "file") pending.push(r.file);
        else if (r.kind === "package") {
          for (const w of r.warnings) warnings.add(w);
          // a package imported for its side effects only (`import "reflect-metadata"`) sets up
          // state that no code here shows: it counts for everything evaluated with it
          if (imp.bare) addTargets(externalOf(r, imp.source));
        }
      }
    }
  };

  /** What reading `ref` in `mod` (as `use` says) brings into the closure. */
  const follow = (mod: ModuleInfo, ref: string, use: Use): void => {
    const b = mod.bindings.get(ref);
    if (!b) return; // a global (Math, console, fetch …) or a name declared nowhere
    if (b.kind === "local") return void queue.push({ file: mod.file, name: ref });
    addTargets(followImport(mod.file, b.source, b.imported, b.via), use);
  };
  const followCode = (mod: ModuleInfo, code: Code, self?: string): void => {
    for (const [ref, use] of Object.entries(code.uses)) if (ref !== self) follow(mod, ref, use);
    // a direct eval can read any name in scope
    if (code.evals) for (const ref of mod.bindings.keys()) if (ref !== self) follow(mod, ref, { whole: true });
    for (const s of code.requires) addTargets(followImport(mod.file, s, "*", "require"));
  };
  /**
   * `import * as m`, `require()`, `import()`: the members read (`m.a`, `m["a"]`) when that is all
   * the code does with it; otherwise every export of m, including those forwarded by `export *`,
   * and its top-level statements (what a CommonJS module exports).
   */
  const followNamespace = (nsFile: string, use?: Use): void => {
    addModule(nsFile);
    if (use && !use.whole && use.members?.length) {
      for (const member of use.members) addTargets(followImportedMember(nsFile, member));
      return;
    }
    if (namespaces.has(nsFile)) return;
    namespaces.add(nsFile);
    const mod = loadModule(nsFile);
    for (const exported of mod.exports.keys()) addTargets(resolveExport(nsFile, exported, new Set()));
    for (const source of mod.starExports) {
      const r = resolveSpecifier(nsFile, source);
      if (r.kind === "file") followNamespace(r.file);
      else if (r.kind !== "builtin") addTargets(externalOf(r, source));
    }
    mod.effects.forEach((_, i) => countEffect(mod, i));
  };
  const followImportedMember = (nsFile: string, member: string): Target[] => {
    const mod = loadModule(nsFile);
    if (mod.exports.size === 0 && mod.starExports.length === 0) return [{ namespace: nsFile }]; // CommonJS
    return resolveExport(nsFile, member, new Set());
  };
  const countEffect = (mod: ModuleInfo, i: number): boolean => {
    let done = effectsIn.get(mod);
    if (done?.has(i)) return false;
    if (!done) effectsIn.set(mod, (done = new Set()));
    done.add(i);
    const e = mod.effects[i]!;
    note(e, `a top-level statement of ${rel(mod.file)}`);
    followCode(mod, e);
    return true;
  };

  /**
   * What `code` reads, transitively, without entering the function itself: the keys of the
   * declarations and packages it can reach, the files it reads whole, whether it reaches code that
   * writes global state or the function. It does not depend on the closure, so it is worked out
   * once per statement and compared with the closure as the closure grows.
   */
  type Reach = { keys: Set<string>; files: Set<string>; globalWrite: boolean; root: boolean };
  const reachMemo = new Map<Code, Reach>();
  const reachOf = (mod: ModuleInfo, code: Code): Reach => {
    let reach = reachMemo.get(code);
    if (reach) return reach;
    reach = { keys: new Set(), files: new Set(), globalWrite: false, root: false };
    const r = reach;
    const stack: Array<{ mod: ModuleInfo; code: Code }> = [{ mod, code }];
    const visit = (targets: Target[]): void => {
      for (const t of targets) {
        if ("external" in t) r.keys.add(t.external.key);
        else if ("namespace" in t) r.files.add(rel(t.namespace));
        else {
          const key = `${rel(t.file)}#${t.name}`;
          if (key === rootKey) {
            r.root = true;
            continue;
          }
          if (r.keys.has(key)) continue;
          r.keys.add(key);
          const m = loadModule(t.file);
          const b = m.bindings.get(t.name);
          if (b?.kind !== "local") continue;
          // calling code that writes global state changes what every function may read
          if (b.globalWrite) r.globalWrite = true;
          stack.push({ mod: m, code: b });
        }
      }
    };
    while (stack.length) {
      const { mod: m, code: c } = stack.pop()!;
      for (const ref of Object.keys(c.uses)) {
        const b = m.bindings.get(ref);
        if (!b) continue;
        visit(b.kind === "local" ? [{ file: m.file, name: ref }] : followImport(m.file, b.source, b.imported, b.via));
      }
      for (const s of c.requires) visit(followImport(m.file, s, "*", "require"));
    }
    reachMemo.set(code, r);
    return r;
  };
  /** Files with something in the closure: a statement that reads such a file whole reaches it. */
  const filesInKey = new Set<string>();
  const reaches = (mod: ModuleInfo, code: Code): boolean => {
    const r = reachOf(mod, code);
    if (r.globalWrite || (r.root && rootIsRead)) return true;
    for (const k of r.keys) if (components.has(k)) return true;
    for (const f of r.files) if (filesInKey.has(f)) return true;
    return false;
  };

  const drain = (): void => {
    while (queue.length) {
      const item = queue.pop()!;
      const key = `${rel(item.file)}#${item.name}`;
      const isRoot = item.file === file && item.name === name;
      if (components.has(key)) {
        if (isRoot) rootIsRead = true;
        continue;
      }
      const mod = loadModule(item.file);
      addModule(item.file);
      const b = isRoot && rootCode ? { kind: "local" as const, name, readsItself: true, ...rootCode } : mod.bindings.get(item.name);
      if (!b || b.kind !== "local") continue;
      components.set(key, isRoot
        ? { kind: "function", key, name: item.name, file: rel(item.file), hash: b.hash }
        : { kind: "declaration", key, name: item.name, file: rel(item.file), hash: b.hash, declares: declares(b.text) });
      filesInKey.add(rel(item.file));
      if (isRoot && !rootCode && "text" in b && b.text !== undefined) rootText = b.text;
      note(b, item.file === file ? item.name : `${item.name} (${rel(item.file)})`);
      // a declaration's own name in its uses is a read only when it reads itself
      followCode(mod, b, b.readsItself ? undefined : item.name);
    }
  };

  addModule(file);
  for (;;) {
    drain();
    let counted = false;
    for (const f of graph) {
      const mod = loadModule(f);
      mod.effects.forEach((e, i) => {
        if (e.cjsExport || effectsIn.get(mod)?.has(i)) return;
        // a declaration whose initializer runs code, already in the key as that declaration
        if (e.declares?.every((n) => components.has(`${rel(f)}#${n}`))) return;
        if (e.globalWrite || e.evals || reaches(mod, e)) counted = countEffect(mod, i) || counted;
      });
    }
    if (!counted && queue.length === 0) break;
  }

  // Statements are keyed by their rank in source order among the module's statements in the
  // closure: reordering two of them, or repeating one, changes the hash; an unrelated one does not.
  for (const [mod, indices] of effectsIn) {
    [...indices].sort((a, b) => a - b).forEach((i, rank) => {
      const key = `${rel(mod.file)}#statement:${rank}`;
      components.set(key, { kind: "statement", key, name: "(top-level statement)", file: rel(mod.file), hash: mod.effects[i]!.hash });
    });
  }
  // The tsconfig options each TypeScript file of the closure is compiled with.
  const sourceFiles = new Set<string>([file]);
  for (const c of components.values()) if (c.kind === "declaration") sourceFiles.add(c.file === "." ? file : resolve(base, c.file!));
  for (const mod of effectsIn.keys()) sourceFiles.add(mod.file);
  for (const f of sourceFiles) {
    if (!TS_FILE.test(f)) continue;
    const t = tsconfigOptionsFor(f);
    if (Object.keys(t.options).length === 0) continue; // no option that changes emitted code: as without a tsconfig
    const key = `tsconfig:${t.hash.slice(0, 16)}`;
    const summary = Object.entries(t.options).map(([k, v]) => `${k}=${v}`).join(" ");
    components.set(key, { kind: "tsconfig", key, name: summary || "(no tsconfig options)", hash: t.hash });
  }

  const sorted = [...components.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // one string, one update: the same bytes as feeding each field in turn, without a call per field
  let text = `${FORMAT}\0${rootKey}`;
  for (const c of sorted) text += `\0${c.kind}\0${c.key}\0${c.hash}${c.integrity ? `\0${c.integrity}` : ""}`;
  return {
    hash: createHash("sha256").update(text).digest("hex"),
    name,
    file,
    components: sorted,
    files: [...sourceFiles].sort(),
    warnings: [...warnings],
    untracked: [...untracked].sort(),
    ...(rootText !== undefined ? { source: rootText } : {}),
  };
}

