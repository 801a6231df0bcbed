// compare: what differs between two calls of one function, component by component — its own
// source, each declaration, top-level statement, package, tsconfig and unresolved import its hash
// covers, each argument by its path, and the files and environment variables its run read. What
// `explain` says about a miss; data in, data out.
import { posix } from "node:path";
import type { CommitRecord, Json } from "../plumbing/commit.js";

export type DifferenceKind =
  /** the function's own code (with a unified diff) */
  | "source"
  /** a declaration it reads: a function, a class, a constant (`declaration` when its commit did not record which) */
  | "helper"
  | "class"
  | "constant"
  | "declaration"
  /** a top-level statement of a module that can change what it reads */
  | "statement"
  /** a value captured from an enclosing function (the library's runtime path) */
  | "captured"
  | "package"
  | "tsconfig"
  /** an import that could not be resolved */
  | "unresolved"
  /** the function hash differs though no recorded component does (a commit from another cashet version) */
  | "function"
  /** an argument, by its path (`args[1].opts.lr`) */
  | "argument"
  /** an observed input: a file (or directory listing) read, an environment variable read */
  | "file"
  | "env"
  /** the same call's result: expired, failed, or its output gone */
  | "expired"
  | "failed"
  | "output";

/** One thing that differs, with the values to show (previews, versions, short hashes — never an argument's value). */
export interface Difference {
  kind: DifferenceKind;
  /** The function, declaration, package, argument path, file path or variable it is about. */
  name: string;
  /** The file it is in, relative to the working directory, when it has one. */
  file?: string;
  change: "changed" | "added" | "removed";
  was?: string;
  now?: string;
  /** For `source`: a unified diff of the two sources. */
  diff?: string;
}

/** A call as compared: what its commit records, or what a call about to run would record. */
export interface CallRecord {
  func: CommitRecord["func"];
  args: Pick<CommitRecord["args"], "hash" | "preview" | "tree">;
  observed?: CommitRecord["observed"];
}

/**
 * What differs from `was` to `now`: the components of the function hash (only when it differs —
 * commits written by other versions record more or less of them), the arguments (by their tree
 * when both record one, else by their previews), and the observed inputs (when both have them).
 */
export function compareCalls(was: CallRecord, now: CallRecord): Difference[] {
  return [
    ...(was.func.hash === now.func.hash ? [] : funcDifferences(was.func, now.func)),
    ...argsDifferences(was.args, now.args),
    ...observedDifferences(was.observed, now.observed),
  ];
}

// ---------------------------------------------------------------- the function

/** A dependency as commits record it (porcelain/task.ts depRecord). */
interface Dep {
  kind: string;
  key: string;
  hash: string;
  integrity?: string;
  declares?: string;
  name?: string;
}

function depsOf(deps: readonly Json[]): Dep[] {
  return deps.filter((d): d is Json & Dep => {
    if (d === null || typeof d !== "object" || Array.isArray(d)) return false;
    return typeof d.kind === "string" && typeof d.key === "string" && typeof d.hash === "string";
  });
}

function funcDifferences(was: CommitRecord["func"], now: CommitRecord["func"]): Difference[] {
  const [a, b] = [depsOf(was.deps), depsOf(now.deps)];
  const out: Difference[] = [];
  // Files in keys are relative to the function's own directory ("." its own file): shown from the working directory.
  const dir = now.module === "<no file>" ? "" : posix.dirname(now.module.split("\\").join("/"));
  const fileOf = (f: string): string => (f === "." ? now.module : posix.join(dir, f));

  const keyed = (deps: Dep[]): Map<string, Dep> => new Map(deps.filter((d) => d.kind !== "package" && d.kind !== "tsconfig").map((d) => [d.key, d]));
  const [ka, kb] = [keyed(a), keyed(b)];
  for (const key of union(kb.keys(), ka.keys())) {
    const x = ka.get(key);
    const y = kb.get(key);
    if (x && y && x.hash === y.hash) continue;
    out.push(componentDifference((y ?? x)!, x && y ? "changed" : y ? "added" : "removed", fileOf));
  }
  out.push(...packageDifferences(a, b), ...tsconfigDifferences(a, b));
  // The function hash differs, yet nothing recorded does: what differs is not recorded (an older commit).
  if (out.length === 0) out.push({ kind: "function", name: now.name, file: now.module, change: "changed", was: was.hash.slice(0, 12), now: now.hash.slice(0, 12) });
  // the function's own source first
  return out.sort((p, q) => Number(q.kind === "source") - Number(p.kind === "source"));
}

function componentDifference(d: Dep, change: Difference["change"], fileOf: (f: string) => string): Difference {
  if (d.kind === "unresolved") return { kind: "unresolved", name: d.key.replace(/^unresolved:/, ""), change };
  const cut = d.key.lastIndexOf("#");
  const [file, name] = cut < 0 ? ["", d.key] : [d.key.slice(0, cut), d.key.slice(cut + 1)];
  // the runtime path's keys: `text#f` (no source file), `closure#x` (a captured value)
  if (file === "closure") return { kind: "captured", name, change };
  const where = file === "" || file === "text" ? {} : { file: fileOf(file) };
  if (d.kind === "function") return { kind: "source", name, ...where, change };
  if (d.kind === "statement") return { kind: "statement", name: "top-level statement", ...where, change };
  const kind = d.declares === "function" ? "helper" : d.declares === "class" ? "class" : d.declares === "value" ? "constant" : "declaration";
  return { kind, name, ...where, change };
}

/** Packages by name: a version (or, at the same version, an integrity) that differs; one added or removed. */
function packageDifferences(a: Dep[], b: Dep[]): Difference[] {
  const byName = (deps: Dep[]): Map<string, Dep[]> => {
    const m = new Map<string, Dep[]>();
    for (const d of deps) {
      if (d.kind !== "package") continue;
      const spec = d.key.replace(/^npm:/, "");
      const name = spec.slice(0, spec.lastIndexOf("@") > 0 ? spec.lastIndexOf("@") : spec.length);
      m.set(name, [...(m.get(name) ?? []), d]);
    }
    return m;
  };
  const [pa, pb] = [byName(a), byName(b)];
  const versions = (ds: Dep[]): string => ds.map((d) => d.hash).sort().join(", ");
  const out: Difference[] = [];
  for (const name of union(pb.keys(), pa.keys())) {
    const x = pa.get(name);
    const y = pb.get(name);
    if (!x || !y) {
      out.push({ kind: "package", name, change: y ? "added" : "removed", ...(y ? { now: versions(y) } : { was: versions(x!) }) });
    } else if (versions(x) !== versions(y)) {
      out.push({ kind: "package", name, change: "changed", was: versions(x), now: versions(y) });
    } else {
      // Same versions: an integrity both record and that differs (a commit that did not record one cannot tell).
      const integrity = (ds: Dep[]): string | null => (ds.every((d) => d.integrity) ? ds.map((d) => `${d.hash} ${d.integrity}`).sort().join(", ") : null);
      const [ix, iy] = [integrity(x), integrity(y)];
      if (ix !== null && iy !== null && ix !== iy) out.push({ kind: "package", name, change: "changed", was: ix, now: iy });
    }
  }
  return out;
}

/** The tsconfig options the closure compiles with, as one component: by their names when recorded. */
function tsconfigDifferences(a: Dep[], b: Dep[]): Difference[] {
  const of = (deps: Dep[]): Dep[] => deps.filter((d) => d.kind === "tsconfig").sort((p, q) => (p.key < q.key ? -1 : 1));
  const [ta, tb] = [of(a), of(b)];
  const keys = (ds: Dep[]): string => ds.map((d) => d.key).join(" ");
  if (keys(ta) === keys(tb)) return [];
  const names = (ds: Dep[]): string => ds.map((d) => d.name ?? d.key).join(" | ");
  const change = ta.length && tb.length ? "changed" : tb.length ? "added" : "removed";
  return [{ kind: "tsconfig", name: "tsconfig options", change, ...(ta.length ? { was: names(ta) } : {}), ...(tb.length ? { now: names(tb) } : {}) }];
}

// ---------------------------------------------------------------- the arguments

const ROOT = "args";
// One path segment after a parent's path: `.name`, `[3]`, `["a key"]` (args.ts formatSegment).
const SEGMENT = /^(?:\.[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$/;

/**
 * The arguments that differ, by their paths: the deepest recorded nodes whose hashes differ, the
 * nodes one side has and the other lacks. Without a tree on both sides (commits before trees), the
 * previews.
 */
function argsDifferences(was: CallRecord["args"], now: CallRecord["args"]): Difference[] {
  if (was.hash === now.hash) return [];
  const whole: Difference = { kind: "argument", name: ROOT, change: "changed", was: was.preview, now: now.preview };
  if (!was.tree || !now.tree) return [whole];
  const [a, b] = [nodes(was.tree), nodes(now.tree)];
  const childrenOf = (m: Map<string, Node>, path: string): string[] => [...m.keys()].filter((p) => p.startsWith(path) && SEGMENT.test(p.slice(path.length)));
  const at = (path: string): Difference[] => {
    const [ca, cb] = [childrenOf(a, path), childrenOf(b, path)];
    const one = (): Difference => ({ kind: "argument", name: path, change: "changed", was: a.get(path)!.preview, now: b.get(path)!.preview });
    if (path !== ROOT && (ca.length === 0 || cb.length === 0)) return [one()]; // a leaf on either side
    const out: Difference[] = [];
    for (const child of union(cb, ca)) {
      const x = a.get(child);
      const y = b.get(child);
      if (x && y) {
        if (x.hash !== y.hash) out.push(...at(child));
      } else if (y) {
        out.push({ kind: "argument", name: child, change: "added", now: y.preview });
      } else {
        out.push({ kind: "argument", name: child, change: "removed", was: x!.preview });
      }
    }
    // nothing recorded below differs: what does lies beyond the tree's bounds
    if (out.length === 0) return [path === ROOT ? whole : one()];
    return out;
  };
  return at(ROOT);
}

interface Node {
  hash: string;
  preview: string;
}

function nodes(tree: ReadonlyArray<readonly [string, string, string]>): Map<string, Node> {
  return new Map(tree.map(([path, hash, preview]) => [path, { hash, preview }]));
}

// ---------------------------------------------------------------- observed inputs

/** Files and environment variables whose recorded hashes differ, or that only one run read. */
function observedDifferences(was: CallRecord["observed"], now: CallRecord["observed"]): Difference[] {
  if (!was || !now) return [];
  const out: Difference[] = [];
  const file = (f: { kind: string; hash: string }): string => (f.kind === "missing" ? "missing" : `${f.kind} ${f.hash.slice(0, 12)}`);
  const [fa, fb] = [new Map((was.files ?? []).map((f) => [f.path, f])), new Map((now.files ?? []).map((f) => [f.path, f]))];
  for (const path of union(fb.keys(), fa.keys())) {
    const x = fa.get(path);
    const y = fb.get(path);
    if (x && y && x.kind === y.kind && x.hash === y.hash) continue;
    out.push({ kind: "file", name: path, change: x && y ? "changed" : y ? "added" : "removed", ...(x ? { was: file(x) } : {}), ...(y ? { now: file(y) } : {}) });
  }
  const value = (hash: string | null): string => (hash === null ? "unset" : `set ${hash.slice(0, 12)}`);
  const [ea, eb] = [new Map((was.env ?? []).map((e) => [e.name, e.hash])), new Map((now.env ?? []).map((e) => [e.name, e.hash]))];
  for (const name of union(eb.keys(), ea.keys())) {
    const x = ea.get(name);
    const y = eb.get(name);
    if (x !== undefined && y !== undefined && x === y) continue;
    out.push({
      kind: "env",
      name,
      change: x !== undefined && y !== undefined ? "changed" : y !== undefined ? "added" : "removed",
      ...(x !== undefined ? { was: value(x) } : {}),
      ...(y !== undefined ? { now: value(y) } : {}),
    });
  }
  return out;
}

// ---------------------------------------------------------------- in words

const CHANGED = { changed: "changed", added: "added", removed: "removed" } as const;

/** One difference as one line: `helper scale (src/helpers.ts) changed`, `args[1].opts.lr: 0.01 → 0.02`. */
export function describeDifference(d: Difference): string {
  const where = d.file ? ` (${d.file})` : "";
  const arrow = d.was !== undefined && d.now !== undefined ? `${d.was} → ${d.now}` : d.now ?? d.was ?? "";
  switch (d.kind) {
    case "source":
      return `source of ${d.name}${where} ${CHANGED[d.change]}`;
    case "statement":
      return `a top-level statement of ${d.file ?? "its module"} ${CHANGED[d.change]}`;
    case "captured":
      return `captured variable ${d.name} ${CHANGED[d.change]}`;
    case "unresolved":
      return `unresolved import "${d.name}" ${CHANGED[d.change]}`;
    case "function":
      return `the function hash of ${d.name} changed, but no component its run recorded did (recorded by another cashet version?)`;
    case "package":
      return d.change === "changed" ? `package ${d.name} ${short(d.was!)} → ${short(d.now!)}` : `package ${d.name} ${d.change} (${arrow})`;
    case "tsconfig":
      return `tsconfig options ${d.change === "changed" ? arrow : `${d.change} (${arrow})`}`;
    case "argument":
      if (d.change === "changed") return `${d.name}: ${arrow}`;
      return `${d.name} ${d.change} (${d.change === "added" ? d.now : `was ${d.was}`})`;
    case "file":
      return `file ${d.name} ${d.change === "added" ? "read now, not before" : d.change === "removed" ? "no longer read" : `changed (${arrow})`}`;
    case "env":
      return `env ${d.name} ${d.change === "changed" ? `changed (${arrow})` : d.change === "added" ? `read now, not before (${arrow})` : "no longer read"}`;
    case "expired":
      return `its result expired${d.was ? ` ${formatAgo(Date.parse(d.was))} ago` : ""}`;
    case "failed":
      return `its last run failed${d.now ? `: ${d.now}` : ""}`;
    case "output":
      return `its stored result${d.was ? ` ${d.was}` : ""} is gone`;
    default:
      return `${d.kind} ${d.name}${where} ${CHANGED[d.change]}`;
  }
}

/** A package's `version integrity`, the integrity cut to a readable length. */
function short(s: string): string {
  return s.replace(/(\S+) (\S{16})\S+/g, "$1 ($2…)");
}

/** The keys of `first`, then those only in `second`, in their orders. */
function union<T>(first: Iterable<T>, second: Iterable<T>): T[] {
  const seen = new Set(first);
  const out = [...seen];
  for (const k of second) {
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(k);
  }
  return out;
}

/** How long ago `at` (ms) was, roughly: `12 s`, `5 min`, `2 h`, `3 days`. */
export function formatAgo(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
