// Observed inputs as a lookup checks them: is every file and environment variable a run read
// (the commit's `observed`, recorded by porcelain/exec/observe.ts) still what it was? A file's
// content hash is kept by its stat — in this process, and on disk beside the module analyses —
// so an unchanged file costs one stat. A hash is only kept for a file whose last change is older
// than the file system's clock tick: a later edit within the same tick would leave the stat as
// it was (git's "racily clean" files), and the kept hash would then describe other bytes.
import { createHash } from "node:crypto";
import fs, { type Stats } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { ObservedInputs } from "./commit.js";
import { inputHashesDir } from "./input-hashes.js";

// node:fs as loaded, before porcelain/exec/observe.ts wraps it: checking an input is not a read by
// the task that may be running (a nested call's check reaches the outer call through its commit).
const { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync } = fs;

export type { ObservedInputs };

/** One observed input that is not what the commit recorded. */
export interface InputChange {
  kind: "file" | "env";
  /** The file's path as recorded (relative to the project root, or absolute), or the variable's name. */
  name: string;
  /** The recorded hash; null: the file was missing or the variable unset; "": it changed while the run read it. */
  was: string | null;
  /** The hash now; null: missing or unset; "": it cannot be hashed (not a regular file, unreadable, changing). */
  now: string | null;
}

/** What is at a path now: its kind, its hash (null when it cannot be hashed) and its stat key (null when missing). */
export interface InputNow {
  kind: "file" | "dir" | "missing";
  hash: string | null;
  key: string | null;
}

/** A stat taken when a run read a path: its key, and the change time `settled` judges. Null: nothing there. */
export type Snapshot = { key: string; ctimeMs: number } | null;

/** Env names that are not variables: the working directory (relative to the root) and the list of names. */
export const CWD = "=cwd";
export const NAMES = "=names";

/**
 * The project root an observed path is relative to: the directory of the nearest package.json
 * above `file` (the task's module), else that file's own directory; the working directory for a
 * function without a file. The same rule in the CLI, the library and the workers.
 */
export function projectRoot(file?: string): string {
  if (!file) return process.cwd();
  const start = dirname(resolve(file));
  let root = roots.get(start);
  if (root === undefined) {
    root = start;
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, "package.json"))) {
        root = dir;
        break;
      }
      if (dirname(dir) === dir) break;
    }
    roots.set(start, root);
  }
  return root;
}
const roots = new Map<string, string>();

/** How `abs` is recorded: relative to `root` (`/`-separated) when inside it, else absolute. */
export function recordedPath(abs: string, root: string): string {
  const rel = relative(root, abs);
  if (rel === "") return ".";
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return abs;
  return sep === "/" ? rel : rel.split(sep).join("/");
}

/** The absolute path of a recorded `path`. */
export function inputPath(path: string, root: string): string {
  if (isAbsolute(path)) return path;
  if (path === ".") return root;
  return root.endsWith(sep) ? root + path : root + sep + path;
}

/** The hash an env entry records for a value: sha256 of it, or null when unset. */
export function envHash(value: string | undefined): string | null {
  return value === undefined ? null : sha256(value);
}

/** What env entry `name` is now: a variable's value hash, or the working directory's or the names'. */
export function envNow(name: string, root: string): string | null {
  if (name === CWD) return sha256(recordedPath(process.cwd(), root));
  if (name === NAMES) return sha256(Object.keys(process.env).sort().join("\n"));
  return envHash(process.env[name]);
}

/** The stat of `abs` as a snapshot (null: nothing there, or nothing this process may see). */
export function snapshot(abs: string): Snapshot {
  const st = stat(abs);
  return st ? { key: keyOf(st), ctimeMs: st.ctimeMs } : null;
}

/**
 * Whether a stat taken at `at` (ms) of a file last changed at `ctimeMs` would show any change made
 * after `at`. File times come from a coarse clock (a kernel tick, up to 10 ms; whole seconds on
 * some file systems), so a change within the same tick leaves the times as they were.
 */
export function settled(ctimeMs: number, at: number): boolean {
  return ctimeMs < at - tickOf(ctimeMs);
}

/** The time after a change until a stat tells the next change apart: 50 ms, or 3 s where times are whole seconds. */
export function tickOf(ctimeMs: number): number {
  return ctimeMs % 1000 === 0 ? 3000 : 50;
}

/** What is at `abs` now: a file's content hash, a directory's listing hash, or missing. */
export function inputNow(abs: string): InputNow {
  const now = current(abs);
  return { kind: now.kind, hash: now.hash, key: now.st ? keyOf(now.st) : null };
}

/** `inputNow` without the stat key: what a lookup needs, at the cost of one stat when the hash is kept. */
function current(abs: string): { kind: InputNow["kind"]; hash: string | null; st: Stats | null } {
  const st = stat(abs);
  if (!st) return { kind: "missing", hash: "", st: null };
  const kind = st.isDirectory() ? "dir" : "file";
  if (kind === "file" && !st.isFile()) return { kind, hash: null, st }; // a device, a pipe, a socket: reading it would consume it
  const kept = keptHash(abs, st, kind);
  if (kept !== null) return { kind, hash: kept, st };
  const started = Date.now();
  let hash: string;
  try {
    hash = kind === "dir" ? listingHash(abs) : contentHash(abs);
  } catch {
    return { kind, hash: null, st };
  }
  const after = stat(abs);
  if (!after || keyOf(after) !== keyOf(st)) return { kind, hash: null, st }; // changed while it was read
  if (settled(st.ctimeMs, started)) keepHash(abs, st, kind, hash);
  return { kind, hash, st };
}

/** Whether every observed input is what `observed` recorded (paths relative to `root`); stops at the first that is not. */
export function inputsMatch(observed: ObservedInputs, root: string): boolean {
  for (const f of observed.files) if (!fileMatches(f, current(inputPath(f.path, root)))) return false;
  for (const e of observed.env) if (e.hash === "" || e.hash !== envNow(e.name, root)) return false;
  return true;
}

/** The observed inputs that are not what `observed` recorded (paths relative to `root`): [] when all match. */
export async function changedInputs(observed: ObservedInputs, root: string): Promise<InputChange[]> {
  const out: InputChange[] = [];
  for (const f of observed.files) {
    const now = inputNow(inputPath(f.path, root));
    if (!fileMatches(f, now)) out.push({ kind: "file", name: f.path, was: f.kind === "missing" ? null : f.hash, now: now.kind === "missing" ? null : (now.hash ?? "") });
  }
  for (const e of observed.env) {
    const now = envNow(e.name, root);
    if (e.hash === "" || e.hash !== now) out.push({ kind: "env", name: e.name, was: e.hash, now });
  }
  return out;
}

function fileMatches(f: ObservedInputs["files"][number], now: { kind: InputNow["kind"]; hash: string | null }): boolean {
  if (f.kind === "missing") return now.kind === "missing";
  return now.kind === f.kind && now.hash !== null && f.hash !== "" && now.hash === f.hash;
}

// The kept hashes: by path, each with the stat key it was computed under.

interface Kept {
  /** The stat it was computed under: `key` as stored on disk, the numbers for a quick compare. */
  key: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  kind: "file" | "dir";
  hash: string;
}
const NO_THROW = { throwIfNoEntry: false } as const;
const kept = new Map<string, Kept>();
const KEPT_IN_MEMORY = 8192;
let keptOnDisk: { dir: string; tmp: string; made: boolean } | null = null;
let written = 0;

/** Where hashes are kept on disk (plumbing/input-hashes.ts), once a store has said. */
function onDisk(): { dir: string; tmp: string; made: boolean } | null {
  if (!keptOnDisk) {
    const where = inputHashesDir();
    if (where) keptOnDisk = { ...where, made: false };
  }
  return keptOnDisk;
}

function keptHash(abs: string, st: Stats, kind: "file" | "dir"): string | null {
  const mem = kept.get(abs);
  if (mem) {
    const same = mem.ino === st.ino && mem.mtimeMs === st.mtimeMs && mem.ctimeMs === st.ctimeMs && mem.size === st.size && mem.dev === st.dev;
    return same && mem.kind === kind ? mem.hash : null;
  }
  const disk = onDisk();
  if (!disk) return null;
  try {
    const key = keyOf(st);
    const entry = JSON.parse(readFileSync(join(disk.dir, sha256(abs)), "utf8")) as { path: string; key: string; kind: string; hash: unknown };
    if (entry.path !== abs || entry.key !== key || entry.kind !== kind || typeof entry.hash !== "string") return null;
    remember(abs, keptOf(st, kind, entry.hash));
    return entry.hash;
  } catch {
    return null;
  }
}

function keepHash(abs: string, st: Stats, kind: "file" | "dir", hash: string): void {
  const entry = keptOf(st, kind, hash);
  remember(abs, entry);
  const disk = onDisk();
  if (!disk) return;
  try {
    if (!disk.made) mkdirSync(disk.dir, { recursive: true });
    disk.made = true;
    // temp then rename: a reader sees a whole entry or none; a lost race loses only a cache entry
    const tmp = join(disk.tmp, `inputs-${process.pid}-${++written}-${Math.random().toString(36).slice(2)}`);
    writeFileSync(tmp, JSON.stringify({ path: abs, key: entry.key, kind, hash }));
    renameSync(tmp, join(disk.dir, sha256(abs)));
  } catch {} // a cache: a read-only store just keeps nothing
}

function keptOf(st: Stats, kind: "file" | "dir", hash: string): Kept {
  return { key: keyOf(st), dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, kind, hash };
}

function remember(abs: string, entry: Kept): void {
  kept.delete(abs);
  kept.set(abs, entry);
  if (kept.size > KEPT_IN_MEMORY) kept.delete(kept.keys().next().value!);
}

// Reading what is there.

function stat(abs: string): Stats | null {
  try {
    return statSync(abs, NO_THROW) ?? null;
  } catch {
    return null; // ENOTDIR, EACCES, ELOOP …: nothing this process can read is there
  }
}

function keyOf(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function listingHash(abs: string): string {
  return sha256(readdirSync(abs).sort().join("\n"));
}

const CHUNK = 1 << 20;
let buffer: Buffer | null = null;

function contentHash(abs: string): string {
  const h = createHash("sha256");
  const fd = openSync(abs, "r");
  try {
    buffer ??= Buffer.allocUnsafe(CHUNK);
    for (let n; (n = readSync(fd, buffer, 0, CHUNK, null)) > 0; ) h.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
