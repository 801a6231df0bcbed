// What a lockfile records for an installed package (SPEC §3): its integrity, or for a git or
// tarball dependency its commit / URL, so a re-published tarball or a moved git ref at the same
// `name@version` is a different function hash.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type * as JsYaml from "js-yaml";

/** Which kind of lockfile answered. */
export type LockfileKind = "npm-hidden" | "npm-shrinkwrap" | "npm" | "pnpm-hidden" | "pnpm" | "yarn-v1" | "yarn-berry";

/** A lockfile found on the way up that could not be read or parsed. */
export interface UnreadableLockfile {
  /** Absolute path, for the caller's warning only — never put it in a hash. */
  path: string;
  kind: LockfileKind;
  reason: string;
}

/** The answer of {@link lockfileLookup}. */
export interface LockfileAnswer {
  /**
   * The lockfile's integrity for the package (`sha512-…`, yarn berry's `10c0/…` checksum), else
   * its git commit, else its resolved URL; null when no readable lockfile records it. Never an
   * absolute path: a dependency known only by a local path gives null.
   */
  integrity: string | null;
  /** The kind of lockfile that answered, or null. */
  lockfile: LockfileKind | null;
  /** Lockfiles passed on the way that could not be read; warn about them (once per path). */
  unreadable: UnreadableLockfile[];
}

/**
 * The integrity (or resolved identity) a lockfile records for the installed package at `pkgDir`
 * (its real, absolute directory, which holds its package.json), or null when no lockfile says.
 */
export function lockedIntegrity(pkgDir: string, name: string, version: string): string | null {
  return lockfileLookup(pkgDir, name, version).integrity;
}

/**
 * {@link lockedIntegrity} with where the answer came from and which lockfiles were unreadable.
 * Walks up from `pkgDir`, nearest lockfile first; a lockfile that does not record the package, or
 * cannot be parsed, does not stop the walk. Never throws.
 *
 * npm lockfiles are keyed by the package's path in the tree (so a nested copy finds its own
 * entry); pnpm and yarn lockfiles by `name@version`, where `name` is `name` or the directory the
 * package is installed under (an alias installs a package under another name). When several
 * entries match with different answers (a yarn berry patch beside its original), all of them are
 * returned, sorted and joined by a space: a change to any is a new hash, never a stale hit.
 */
export function lockfileLookup(pkgDir: string, name: string, version: string): LockfileAnswer {
  pkgDir = resolve(pkgDir); // no trailing separator, so the walk starts at its parent
  const unreadable: UnreadableLockfile[] = [];
  const names = [...new Set([name, installedName(pkgDir)])];
  const parts = pkgDir.split(sep);
  // Above the outermost node_modules is the project; below it only installed packages, whose own
  // package-lock.json / yarn.lock (yarn.lock is published) describe their development, not this
  // install. npm-shrinkwrap.json is the one lockfile npm honours inside a package.
  const outermost = parts.indexOf("node_modules");
  for (let depth = parts.length - 1; depth >= 1; depth--) {
    const dir = depth === 1 ? parts[0]! + sep : parts.slice(0, depth).join(sep); // "/" or "C:\\"
    const inTree = outermost >= 0 && depth > outermost;
    for (const [file, kind] of candidates(parts[depth - 1]!, inTree)) {
      const path = join(dir, file);
      const index = lockfileIndex(path, kind);
      if (index === null) continue;
      if ("error" in index) {
        unreadable.push({ path, kind: index.kind, reason: index.error });
        continue;
      }
      const found = find(index.entries, kind, dir, pkgDir, names, version);
      if (found !== null) return { integrity: found, lockfile: index.kind, unreadable };
    }
  }
  return { integrity: null, lockfile: null, unreadable };
}

/**
 * Keeps each lockfile's index in `dir` between processes (keyed by the lockfile's sha256), or
 * stops when null. A 480 KB pnpm-lock.yaml costs ≈5 ms to load js-yaml and 60–90 ms to parse
 * (more on a busy machine); its kept index costs a read, a sha256 and a JSON.parse (≈4 ms).
 */
export function setLockfileCache(dir: string | null): void {
  diskCache = dir;
}

// ---------------------------------------------------------------------------------------------

/** lookup key → identity. Keys: npm `relative/path\nversion`; pnpm and yarn `name@version`. */
type Entries = Record<string, string>;
/** A read lockfile: its kind as told by its content (a yarn.lock is v1 or berry) and its entries. */
interface Parsed {
  kind: LockfileKind;
  entries: Entries;
}
type Index = Parsed | { kind: LockfileKind; error: string };

let diskCache: string | null = null;
/** Bump when the index's layout or the identity rules change: kept indexes are then ignored. */
const INDEX_FORMAT = "cashet-lockfile-index-1";

/** The lockfiles to look for in a directory whose name is `dirName`, nearest-kind first. */
function candidates(dirName: string, inTree: boolean): Array<[string, LockfileKind]> {
  if (dirName === "node_modules") {
    // Hidden lockfiles: what the package manager actually installed into this node_modules.
    return [
      [".package-lock.json", "npm-hidden"],
      [join(".pnpm", "lock.yaml"), "pnpm-hidden"],
    ];
  }
  if (inTree) return [["npm-shrinkwrap.json", "npm-shrinkwrap"]];
  return [
    ["npm-shrinkwrap.json", "npm-shrinkwrap"],
    ["package-lock.json", "npm"],
    ["pnpm-lock.yaml", "pnpm"],
    ["yarn.lock", "yarn-v1"], // or berry: told apart by its content
  ];
}

function find(entries: Entries, kind: LockfileKind, dir: string, pkgDir: string, names: string[], version: string): string | null {
  if (kind.startsWith("npm")) {
    // The hidden lockfile sits in node_modules; its keys are relative to the project above.
    const root = kind === "npm-hidden" ? dirname(dir) : dir;
    const key = relative(root, pkgDir).split(sep).join("/");
    return entries[`${key}\n${version}`] ?? entries[`${key}\n*`] ?? null;
  }
  for (const n of names) {
    const hit = entries[`${n}@${version}`];
    if (hit !== undefined) return hit;
  }
  return null;
}

/** The name a package is installed under: the last one or two (`@scope/name`) parts of its path. */
function installedName(pkgDir: string): string {
  const base = basename(pkgDir);
  const parent = basename(dirname(pkgDir));
  return parent.startsWith("@") ? `${parent}/${base}` : base;
}

// ---------------------------------------------------------------------------------------------
// Reading a lockfile, once per process per (path, mtime, size).

const parsed = new Map<string, { mtimeMs: number; size: number; index: Index }>();

/** The lockfile's index, `{ error }` when it cannot be read, or null when there is no such file. */
function lockfileIndex(path: string, byName: LockfileKind): Index | null {
  let info;
  try {
    info = statSync(path, { throwIfNoEntry: false });
  } catch {
    return null; // ENOTDIR (a file named .pnpm), EACCES: no lockfile we could use
  }
  if (!info?.isFile()) return null;
  const seen = parsed.get(path);
  if (seen && seen.mtimeMs === info.mtimeMs && seen.size === info.size) return seen.index;
  let kind = byName;
  let index: Index;
  try {
    const bytes = readFileSync(path);
    const text = bytes.toString("utf8");
    // Both yarns call it yarn.lock; berry's is YAML with a __metadata block, v1's says so.
    if (kind === "yarn-v1" && !V1_HEADER.test(text) && /^__metadata:/m.test(text)) kind = "yarn-berry";
    index = readIndex(bytes, text, kind);
  } catch (err) {
    // js-yaml's messages carry a multi-line excerpt of the file: the first line says enough
    index = { kind, error: (err instanceof Error ? err.message : String(err)).split("\n")[0]! };
  }
  parsed.set(path, { mtimeMs: info.mtimeMs, size: info.size, index });
  return index;
}

function readIndex(bytes: Buffer, text: string, kind: LockfileKind): Parsed {
  if (diskCache === null) return { kind, entries: parseLockfile(text, kind) };
  const kept = join(diskCache, `${createHash("sha256").update(INDEX_FORMAT).update(kind).update(bytes).digest("hex")}.json`);
  try {
    const index = JSON.parse(readFileSync(kept, "utf8")) as unknown;
    if (isObj(index) && index.kind === kind && isObj(index.entries)) return index as unknown as Parsed;
  } catch {
    // not kept yet: parse and keep
  }
  const index: Parsed = { kind, entries: parseLockfile(text, kind) };
  const tmp = `${kept}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    mkdirSync(diskCache, { recursive: true });
    writeFileSync(tmp, JSON.stringify(index));
    renameSync(tmp, kept); // whole or absent: a reader never sees half an index
  } catch {
    // a cache that cannot be written only costs the next process a parse; a full disk keeps no half of it
    try {
      rmSync(tmp, { force: true });
    } catch {}
  }
  return index;
}

/** Parses a lockfile into its index; throws on anything it cannot read (the caller reports it). */
function parseLockfile(text: string, kind: LockfileKind): Entries {
  switch (kind) {
    case "npm-hidden":
    case "npm-shrinkwrap":
    case "npm":
      return npmEntries(JSON.parse(text) as unknown);
    case "pnpm":
    case "pnpm-hidden":
      return pnpmEntries(loadYaml(text));
    case "yarn-berry":
      return berryEntries(loadYaml(text));
    case "yarn-v1":
      if (!V1_HEADER.test(text)) throw new Error('neither a yarn v1 lockfile (no "# yarn lockfile v1" line) nor a yarn berry one (no __metadata)');
      return yarnV1Entries(text);
  }
}

const V1_HEADER = /^# yarn lockfile v1\s*$/m;

// ---------------------------------------------------------------------------------------------
// Parsers, loaded only when such a lockfile is found. Measured on Node 20 (cold `require`, then
// the first parse of a 480 KB pnpm-lock.yaml / 530 KB yarn v1 lockfile): js-yaml 5 ≈5 ms + 60–90
// ms; the `yaml` package ≈17 ms + 250–290 ms; @yarnpkg/lockfile ≈8 ms + 37 ms (≈30 ms to load
// through `import`, which runs cjs-module-lexer over its 290 KB bundle — hence `require`).

const require = createRequire(import.meta.url);
let jsYaml: typeof JsYaml | undefined;

/**
 * YAML with every scalar a string (FAILSAFE, as yarn berry reads its own lockfile), so a
 * `version: 1.10` stays "1.10" and never becomes the number 1.1; duplicate keys are an error.
 */
function loadYaml(text: string): unknown {
  jsYaml ??= require("js-yaml") as typeof JsYaml;
  return jsYaml.load(text, { schema: jsYaml.FAILSAFE_SCHEMA });
}

interface YarnV1Entry {
  version?: string;
  resolved?: string;
  integrity?: string;
}
let yarnLockfile: { parse(text: string): { type: string; object: Record<string, YarnV1Entry> } } | undefined;

// ---------------------------------------------------------------------------------------------
// Formats → index. Fields that are not strings are skipped: one odd entry does not cost the rest.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function expectObject(doc: unknown, what: string): Obj {
  if (!isObj(doc)) throw new Error(`${what} is not a mapping`);
  return doc;
}

/** Adds an answer; a second, different answer for the same key is kept beside the first. */
function add(entries: Entries, key: string, identity: string | null): void {
  if (identity === null) return;
  const had = entries[key];
  if (had === undefined) entries[key] = identity;
  else if (!had.split(" ").includes(identity)) entries[key] = [...had.split(" "), identity].sort().join(" ");
}

/** npm v2/v3 `packages` (keys are paths: `node_modules/a/node_modules/b`) and v1 `dependencies`. */
function npmEntries(doc: unknown): Entries {
  const lock = expectObject(doc, "the lockfile");
  const entries: Entries = {};
  if (isObj(lock.packages)) {
    for (const [path, e] of Object.entries(lock.packages)) {
      if (path === "" || !isObj(e) || e.link === true) continue; // the project itself; a link is source
      const version = str(e.version);
      if (version) add(entries, `${path}\n${version}`, identity(str(e.integrity), str(e.resolved)));
    }
    return entries;
  }
  if (!isObj(lock.dependencies)) throw new Error("the lockfile has neither `packages` nor `dependencies`");
  // v1 nests `dependencies` the way the packages are laid out on disk.
  const walk = (deps: Obj, prefix: string): void => {
    for (const [name, e] of Object.entries(deps)) {
      if (!isObj(e)) continue;
      const path = `${prefix}node_modules/${name}`;
      const version = str(e.version);
      // v1 writes a git dependency's resolved URL as its `version`: match it at any version.
      if (version && /[:/]/.test(version)) add(entries, `${path}\n*`, identity(str(e.integrity), version));
      else if (version) add(entries, `${path}\n${version}`, identity(str(e.integrity), str(e.resolved)));
      if (isObj(e.dependencies)) walk(e.dependencies, `${path}/`);
    }
  };
  walk(lock.dependencies, "");
  return entries;
}

/**
 * pnpm `packages:` keys — v5 `/name/1.0.0_peer@2.0.0`, v6 `/name@1.0.0(peer@2.0.0)`, v9
 * `name@1.0.0` — or, for git and tarball dependencies, any key with `name:`/`version:` fields.
 */
function pnpmEntries(doc: unknown): Entries {
  const lock = expectObject(doc, "the lockfile");
  const entries: Entries = {};
  if (lock.packages === undefined) return entries; // a project with no dependencies
  if (!isObj(lock.packages)) throw new Error("`packages` is not a mapping");
  const v5 = Number.parseFloat(String(lock.lockfileVersion)) < 6;
  for (const [key, e] of Object.entries(lock.packages)) {
    if (!isObj(e)) continue;
    const parsedKey = v5 ? pnpmV5Key(key) : pnpmKey(key);
    const name = str(e.name) ?? parsedKey?.name;
    const version = str(e.version) ?? parsedKey?.version;
    if (!name || !version) continue;
    const r = isObj(e.resolution) ? e.resolution : {};
    const commit = str(r.commit);
    add(entries, `${name}@${version}`, str(r.integrity) ?? (commit ? gitCommit(commit) : null) ?? identity(undefined, str(r.tarball)));
  }
  return entries;
}

function pnpmKey(key: string): { name: string; version: string } | null {
  const k = key.replace(/^\//, "").replace(/\(.*$/, "");
  const at = k.indexOf("@", 1);
  return at > 0 ? { name: k.slice(0, at), version: k.slice(at + 1) } : null;
}

function pnpmV5Key(key: string): { name: string; version: string } | null {
  const p = key.replace(/^\//, "").split("/");
  const [name, version] = p[0]?.startsWith("@") ? [`${p[0]}/${p[1]}`, p[2]] : [p[0], p[1]];
  // `_` never occurs in a semver version, so it starts the peer suffix.
  return name && version ? { name, version: version.replace(/_.*$/, "") } : null;
}

/** yarn classic: `"name@^1.0.0", name@~1.0.0:` blocks with `version`, `resolved`, `integrity`. */
function yarnV1Entries(text: string): Entries {
  yarnLockfile ??= require("@yarnpkg/lockfile") as NonNullable<typeof yarnLockfile>;
  const result = yarnLockfile.parse(text);
  // "merge": git conflict markers yarn could reconcile — not what was installed; say so.
  if (result.type !== "success") throw new Error(`yarn.lock has merge conflict markers (${result.type})`);
  const entries: Entries = {};
  for (const [spec, e] of Object.entries(result.object)) {
    const version = str(e.version);
    const at = spec.indexOf("@", 1);
    if (version && at > 0) add(entries, `${spec.slice(0, at)}@${version}`, identity(str(e.integrity), str(e.resolved)));
  }
  return entries;
}

/** yarn berry: YAML; keys `"name@npm:^1.0.0, name@npm:1.0.0"`, `checksum`, `resolution`. */
function berryEntries(doc: unknown): Entries {
  const lock = expectObject(doc, "the lockfile");
  const entries: Entries = {};
  for (const [descriptors, e] of Object.entries(lock)) {
    if (descriptors === "__metadata" || !isObj(e)) continue;
    const version = str(e.version);
    const resolution = str(e.resolution);
    if (!version) continue;
    const names = new Set<string>();
    for (const d of [...descriptors.split(","), resolution ?? ""]) {
      const at = d.trim().indexOf("@", 1);
      if (at > 0) names.add(d.trim().slice(0, at));
    }
    const resolved = resolution?.slice(resolution.indexOf("@", 1) + 1);
    // workspace:, link:, portal:, file: are source on this disk, followed as such by the caller.
    const local = resolved !== undefined && /^(workspace|link|portal|file):/.test(resolved);
    const id = str(e.checksum) ?? (local ? null : identity(undefined, resolved));
    for (const n of names) add(entries, `${n}@${version}`, id);
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Identities: what may enter a hash. Never a local path, never credentials.

/** The integrity when there is one, else what the resolved reference identifies. */
function identity(integrity: string | undefined, resolved: string | undefined): string | null {
  if (integrity) return integrity;
  if (!resolved) return null;
  // A git dependency is its commit, however it was cloned (ssh, https, a local mirror).
  const commit = /^(git\+|git:|github:|gitlab:|bitbucket:)|\.git(#|$)/.test(resolved)
    ? /#(?:.*commit=)?([0-9a-f]{40}|[0-9a-f]{64})\b/.exec(resolved)?.[1]
    : undefined;
  if (commit) return gitCommit(commit);
  if (/^(file:|\/|\\|[A-Za-z]:[\\/])/.test(resolved)) return null; // a path on this machine
  return resolved.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1"); // drop user:token@
}

function gitCommit(commit: string): string | null {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit) ? `git:${commit}` : null;
}
