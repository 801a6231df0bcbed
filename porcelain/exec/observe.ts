// Observing what a running task reads: node:fs (sync, callback and promise APIs, read streams,
// directory listings, stats and existence checks), process.env (a read by name, `in`, listing
// the names) and the variables os.tmpdir() and os.homedir() read natively. The patches are
// installed once per thread by the first miss — a hit never loads this file — and record only
// inside a call's own async context (AsyncLocalStorage), so calls running at once in one process
// each see only their own reads; reads outside any call (module loading before the task starts,
// cashet's own) pass straight through. A read is noted with a stat taken before it; the commit's
// hashes are computed once the call has returned, and an input whose stat moved in between (it
// changed while the task ran) is recorded with a hash that matches nothing.
import { AsyncLocalStorage, AsyncResource } from "node:async_hooks";
import fs, { constants } from "node:fs";
import fsPromises from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";
import { isAbsolute, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ObservedInputs } from "../../plumbing/commit.js";
import { CWD, envHash, inputNow, inputPath, NAMES, recordedPath, settled, snapshot, tickOf, type Snapshot } from "../../plumbing/observed.js";

/** How a call's recorder turns its reads into the commit's `observed`. */
export interface FinishOptions {
  /** The project root paths are recorded relative to (plumbing/observed.ts `projectRoot`). */
  root: string;
  /** Files already in the function's hash (its closure's sources): not recorded again. */
  closure?: readonly string[];
  /** Store directories: what cashet reads there for a nested call is its own business. */
  stores?: readonly string[];
}

type Kind = "file" | "dir" | "missing";

interface SeenFile {
  /** The stat before the first direct read (null: nothing there), and when it was taken. */
  snap?: Snapshot;
  at: number;
  /** What a nested call's commit recorded for it. */
  known?: { kind: Kind; hash: string };
  /** Two reads saw different things: it changed while the call ran. */
  conflict: boolean;
}

interface SeenEnv {
  /** The value a direct read saw (null: unset). */
  value?: string | null;
  /** What a nested call's commit recorded. */
  known?: string | null;
  conflict: boolean;
}

/** What a recorder noted, as it crosses from a worker thread to the recorder of the call there. */
export interface Reads {
  files: Array<[string, SeenFile]>;
  env: Array<[string, SeenEnv]>;
  unobserved: boolean;
}

/** The reads of one call (every attempt), in the thread that runs it or gathered from its worker thread. */
export class Recorder {
  private readonly files = new Map<string, SeenFile>();
  private readonly env = new Map<string, SeenEnv>();
  /** Files and directories the call made before reading them (written whole, a mkdtemp): its own output, not inputs. */
  private readonly madeFiles = new Set<string>();
  private readonly madeDirs: string[] = [];
  private unobserved = false;
  private closed = false;

  /** A read of the file or directory at `abs` (its stat taken now, before the read). */
  sawPath(abs: string): void {
    if (this.closed || this.files.get(abs)?.snap !== undefined || this.isMade(abs)) return;
    let at = Date.now();
    let snap = snapshot(abs);
    // A file changed within a clock tick of this read: wait the tick out (a few ms; never on a
    // file system of whole-second times), or a change made right after would not show in its stat.
    for (let tries = 0; snap && !settled(snap.ctimeMs, at) && tickOf(snap.ctimeMs) <= 50 && tries < 3; tries++) {
      Atomics.wait(SLEEPER, 0, 0, Math.min(snap.ctimeMs + tickOf(snap.ctimeMs) - at + 1, 51)); // a time ahead of the clock: give up soon
      at = Date.now();
      snap = snapshot(abs);
    }
    this.addFile(abs, { snap, at, conflict: false });
  }

  /**
   * The call wrote the file at `abs` whole (or made the directory `abs` and so everything in it):
   * what it reads there later is what it wrote. A path it read before stays an input.
   */
  made(abs: string, dir = false): void {
    if (this.closed || this.files.has(abs)) return;
    if (dir) this.madeDirs.push(abs.endsWith(sep) ? abs : abs + sep);
    else this.madeFiles.add(abs);
  }

  /** Whether `abs` is something the call made itself. */
  isMade(abs: string): boolean {
    return this.madeFiles.has(abs) || this.madeDirs.some((d) => abs.startsWith(d) || abs + sep === d);
  }

  /** A read of variable `name` (or of CWD, NAMES) that saw `value`. */
  sawEnv(name: string, value: string | undefined): void {
    if (!this.closed) this.addEnv(name, { value: value ?? null, conflict: false });
  }

  /** Something was read that could not be noted: the commit will match nothing. */
  failed(): void {
    this.unobserved = true;
  }

  /** What a nested call's commit recorded (its paths relative to `root`): this call read it too, through that one. */
  include(observed: ObservedInputs, root: string): void {
    if (this.closed) return;
    for (const f of observed.files) this.addFile(inputPath(f.path, root), { at: Infinity, known: { kind: f.kind, hash: f.hash }, conflict: false });
    for (const e of observed.env) {
      if (e.name === CWD) this.sawEnv(CWD, process.cwd()); // relative to that call's root: noted again for this one's
      else this.addEnv(e.name, { known: e.hash, conflict: false });
    }
  }

  /** Stops recording: what the call left running reads nothing into its commit. */
  close(): void {
    this.closed = true;
  }

  /** Everything noted, to send from a worker thread. Closes the recorder. */
  reads(): Reads {
    this.close();
    return { files: [...this.files], env: [...this.env], unobserved: this.unobserved };
  }

  /** Adds what a worker thread's recorder noted. */
  add(reads: Reads): void {
    if (this.closed) return;
    for (const [abs, seen] of reads.files) this.addFile(abs, seen);
    for (const [name, seen] of reads.env) this.addEnv(name, seen);
    if (reads.unobserved) this.unobserved = true;
  }

  /**
   * The commit's `observed`: each input with its hash now, when that is what the call read; a
   * hash that matches nothing ("") for one that changed while it ran. Closes the recorder.
   */
  finish(options: FinishOptions): ObservedInputs {
    this.close();
    const { root } = options;
    const closure = new Set(options.closure ?? []);
    const stores = [...(options.stores ?? []), ...loaderDirs()].map((dir) => (dir.endsWith(sep) ? dir : dir + sep));
    const skipped = (abs: string): boolean =>
      closure.has(abs) || `${abs}${sep}`.includes(`${sep}node_modules${sep}`) || stores.some((s) => `${abs}${sep}`.startsWith(s));
    const files: ObservedInputs["files"] = [];
    for (const [abs, seen] of this.files) if (!skipped(abs)) files.push({ path: recordedPath(abs, root), ...judgeFile(abs, seen) });
    const env: ObservedInputs["env"] = [];
    for (const [name, seen] of this.env) {
      if (LOADER_ENV.has(name)) continue;
      const views: Array<string | null> = [];
      if (seen.value !== undefined) views.push(envHash(name === CWD ? recordedPath(seen.value!, root) : (seen.value ?? undefined)));
      if (seen.known !== undefined) views.push(seen.known);
      env.push({ name, hash: seen.conflict || views.some((v) => v !== views[0]) ? "" : views[0]! });
    }
    if (this.unobserved) env.push({ name: UNOBSERVED, hash: "" });
    return { files: files.sort((a, b) => order(a.path, b.path)), env: env.sort((a, b) => order(a.name, b.name)) };
  }

  private addFile(abs: string, seen: SeenFile): void {
    const had = this.files.get(abs);
    if (!had) return void this.files.set(abs, { ...seen });
    if (seen.snap !== undefined) {
      if (had.snap === undefined) had.snap = seen.snap;
      else if (had.snap?.key !== seen.snap?.key) had.conflict = true;
      had.at = Math.min(had.at, seen.at);
    }
    if (seen.known) {
      if (!had.known) had.known = seen.known;
      else if (had.known.kind !== seen.known.kind || had.known.hash !== seen.known.hash) had.conflict = true;
    }
    if (seen.conflict) had.conflict = true;
  }

  private addEnv(name: string, seen: SeenEnv): void {
    const had = this.env.get(name);
    if (!had) return void this.env.set(name, { ...seen });
    if (seen.value !== undefined) {
      if (had.value === undefined) had.value = seen.value;
      else if (had.value !== seen.value) had.conflict = true;
    }
    if (seen.known !== undefined) {
      if (had.known === undefined) had.known = seen.known;
      else if (had.known !== seen.known) had.conflict = true;
    }
    if (seen.conflict) had.conflict = true;
  }
}

/**
 * What the machinery that loads modules reads while a task imports one: tsx's cache of compiled
 * modules (named by what they were compiled from, which is read too), and variables that steer
 * only Node's coverage and watch-mode reports. Not the task's inputs.
 */
const LOADER_ENV = new Set(["NODE_V8_COVERAGE", "WATCH_REPORT_DEPENDENCIES"]);
let loaderDirsNow: string[] | undefined;
function loaderDirs(): string[] {
  loaderDirsNow ??= typeof process.getuid === "function" ? [join(realTmpdir(), `tsx-${process.getuid()}`)] : [];
  return loaderDirsNow;
}
const realTmpdir = os.tmpdir; // as loaded, before any patch

/** The env entry of a call whose reads could not all be noted: it matches nothing. */
const UNOBSERVED = "=unobserved";
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * What the commit records for one path: what the call read (the stat it took before reading still
 * the stat now, so the bytes hashed now are the bytes it read) and what nested calls recorded — or,
 * when these disagree, a hash that matches nothing.
 */
function judgeFile(abs: string, seen: SeenFile): { kind: Kind; hash: string } {
  const views: Array<{ kind: Kind; hash: string }> = [];
  if (seen.snap === null) views.push({ kind: "missing", hash: "" });
  else if (seen.snap !== undefined) {
    const now = inputNow(abs);
    const same = now.key === seen.snap.key && now.hash !== null && settled(seen.snap.ctimeMs, seen.at);
    views.push(same ? { kind: now.kind, hash: now.hash! } : { kind: now.kind === "missing" ? "file" : now.kind, hash: "" });
  }
  if (seen.known) views.push(seen.known);
  const first = views[0]!;
  if (!seen.conflict && views.every((v) => v.kind === first.kind && v.hash === first.hash)) return first;
  return { kind: views.find((v) => v.kind !== "missing")?.kind ?? "file", hash: "" };
}

// ---------------------------------------------------------------------------------------------
// The patches, once per thread.

/** What run.ts and the executors use: one per thread, shared by every copy of cashet loaded in it. */
export interface Observer {
  /** A new recorder for one call. */
  start(): Recorder;
  /** Runs `fn` with `recorder` noting what it (and everything it starts) reads. */
  during<T>(recorder: Recorder, fn: () => T): T;
  /** The recorder of the call running in this async context, if any. */
  current(): Recorder | undefined;
}

/** Where a thread's observer lives (run.ts reads it on a hit without loading this file). */
export const OBSERVER = Symbol.for("cashet.observer");

/** This thread's observer, installing the patches first if this is the first call. */
export function install(): Observer {
  const g = globalThis as { [OBSERVER]?: Observer };
  return (g[OBSERVER] ??= patchThread());
}

/** This thread's observer if installed. */
export function installed(): Observer | undefined {
  return (globalThis as { [OBSERVER]?: Observer })[OBSERVER];
}

type Note = (recorder: Recorder, args: unknown[]) => void;

function patchThread(): Observer {
  const storage = new AsyncLocalStorage<Recorder>();
  // cashet's own reads while noting one (a stat, a walk of a tree) are not the task's, nor what
  // Node's fs.rm and fs.cp do with the public functions to carry out the call (`quiet`)
  let noting = false;
  let quiet = 0;
  const active = (): Recorder | undefined => (noting || quiet > 0 ? undefined : storage.getStore());
  const original = { statSync: fs.statSync, readdirSync: fs.readdirSync };
  const realEnv = process.env;

  const note = (recorder: Recorder, body: () => void): void => {
    noting = true;
    try {
      body();
    } catch {
      recorder.failed();
    } finally {
      noting = false;
    }
  };
  const sawPath = (recorder: Recorder, p: unknown): void => {
    const abs = pathOf(p);
    if (abs === null) return;
    if (!isAbsolute(abs)) recorder.sawEnv(CWD, process.cwd()); // a relative path reads where the process runs
    recorder.sawPath(resolve(abs));
  };
  // A recursive listing (or copy) reads every directory (and file) under it: each one's stat now.
  const sawTree = (recorder: Recorder, p: unknown, withFiles: boolean): void => {
    const abs = pathOf(p);
    if (abs === null) return;
    sawPath(recorder, abs);
    const walk = (dir: string): void => {
      let entries: fs.Dirent[];
      try {
        if (!original.statSync(dir).isDirectory()) return;
        entries = original.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const child = join(dir, e.name);
        if (e.isDirectory()) {
          recorder.sawPath(child);
          walk(child);
        } else if (withFiles) recorder.sawPath(child);
      }
    };
    walk(resolve(abs));
  };

  const read: Note = (r, args) => sawPath(r, args[0]);
  const open: Note = (r, args) => {
    if (opensForReading(args[1])) sawPath(r, args[0]);
  };
  const list: Note = (r, args) => {
    const o = args[1];
    if (o && typeof o === "object" && (o as { recursive?: unknown }).recursive) sawTree(r, args[0], false);
    else sawPath(r, args[0]);
  };
  const copy: Note = (r, args) => {
    const o = args[2];
    if (o && typeof o === "object" && (o as { recursive?: unknown }).recursive) sawTree(r, args[0], true);
    else sawPath(r, args[0]);
  };
  const stream: Note = (r, args) => {
    const o = args[1];
    if (!(o && typeof o === "object" && (o as { fd?: unknown }).fd !== undefined)) sawPath(r, args[0]);
  };

  // What a write makes the call's own (only until it is read: see Recorder.made).
  const madeFile = (r: Recorder, p: unknown, flags: unknown): void => {
    const abs = pathOf(p);
    if (abs !== null && writesWhole(flags)) r.made(resolve(abs));
  };
  const written: Note = (r, args) => {
    const o = args[2];
    madeFile(r, args[0], o && typeof o === "object" ? (o as { flag?: unknown }).flag : undefined);
  };
  const writeStream: Note = (r, args) => {
    const o = args[1];
    madeFile(r, args[0], o && typeof o === "object" ? (o as { flags?: unknown }).flags : undefined);
  };
  const opened: Note = (r, args) => {
    const flags = args[1];
    if (flags === undefined || flags === null || !writesWhole(flags)) return open(r, args);
    // truncated: what it reads back is what it writes; exclusive (`wx`): whether it existed is read
    if (typeof flags === "string" ? flags.includes("x") : typeof flags === "number" && (flags & constants.O_EXCL) !== 0) sawPath(r, args[0]);
    madeFile(r, args[0], flags);
  };
  const copied: Note = (r, args) => {
    copy(r, args);
    const dest = pathOf(args[1]);
    if (dest !== null) r.made(resolve(dest), true); // a file, or a tree: everything under it is the copy
  };
  const renamed: Note = (r, args) => {
    const [from, to] = [pathOf(args[0]), pathOf(args[1])];
    if (from === null || to === null) return;
    // moving its own file makes the new one its own; moving anything else reads it (it is gone after)
    if (r.isMade(resolve(from))) r.made(resolve(to));
    else sawPath(r, from);
  };

  type Style = "sync" | "callback" | "promise";
  interface How {
    note?: Note;
    /** Node carries it out with the public fs functions: those reads are not the task's. */
    quiet?: boolean;
    /** The path it returns (mkdtemp): made by the call. */
    makesDir?: boolean;
  }
  const patch = (target: object, name: string, style: Style, how: How): void => {
    const t = target as Record<string, unknown>;
    const fn = t[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof fn !== "function") return;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const recorder = active();
      if (!recorder) return Reflect.apply(fn, this, args);
      if (how.note) note(recorder, () => how.note!(recorder, args));
      const made = (dir: unknown): void => {
        if (typeof dir === "string") recorder.made(resolve(dir), true);
      };
      if (style === "sync") {
        if (how.quiet) quiet++;
        try {
          const out = Reflect.apply(fn, this, args);
          if (how.makesDir) made(out);
          return out;
        } finally {
          if (how.quiet) quiet--;
        }
      }
      if (style === "callback") {
        const last = args.length - 1;
        const cb = args[last];
        if (typeof cb === "function") {
          // the task's callback runs in the task's context, whatever context Node ran the work in
          const bound = AsyncResource.bind(cb as (...a: unknown[]) => unknown);
          args[last] = how.makesDir ? (err: unknown, dir: unknown) => (err || made(dir), bound(err, dir)) : bound;
        }
      }
      const run = (): unknown => Reflect.apply(fn, this, args);
      const out = how.quiet ? storage.exit(run) : run();
      if (style === "promise" && how.makesDir) void (out as Promise<unknown>).then(made, () => undefined);
      return out;
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(fn)); // name, length, util.promisify.custom, realpathSync.native
    t[name] = wrapped;
  };
  const everywhere = (name: string, how: How): void => {
    patch(fs, name, "callback", how);
    patch(fs, `${name}Sync`, "sync", how);
    patch(fsPromises, name, "promise", how);
  };

  everywhere("readFile", { note: read });
  everywhere("readdir", { note: list });
  everywhere("opendir", { note: list });
  everywhere("exists", { note: read });
  everywhere("stat", { note: read });
  everywhere("lstat", { note: read });
  everywhere("access", { note: read });
  everywhere("readlink", { note: read });
  everywhere("realpath", { note: read });
  everywhere("open", { note: opened });
  everywhere("copyFile", { note: copied });
  everywhere("cp", { note: copied, quiet: true });
  everywhere("rename", { note: renamed });
  everywhere("writeFile", { note: written });
  everywhere("rm", { quiet: true });
  everywhere("rmdir", { quiet: true });
  everywhere("mkdtemp", { makesDir: true });
  patch(fs, "createReadStream", "sync", { note: stream });
  patch(fs, "createWriteStream", "sync", { note: writeStream });
  // fs.glob (Node 22) walks directories with functions it holds itself: what it listed is unknown,
  // so a run that globs matches nothing later (a needless run, never a stale result)
  const unknowable: Note = (r) => r.failed();
  patch(fs, "glob", "callback", { note: unknowable });
  patch(fs, "globSync", "sync", { note: unknowable });
  patch(fsPromises, "glob", "promise", { note: unknowable });
  const envOf = (names: string[]): How => ({
    note: (r) => {
      for (const n of names) r.sawEnv(n, realEnv[n]);
    },
  });
  patch(os, "tmpdir", "sync", envOf(["TMPDIR", "TMP", "TEMP"])); // read natively: the env proxy does not see them
  patch(os, "homedir", "sync", envOf(["HOME"]));

  // A read by name, `in`, a property descriptor: that variable; listing the names: NAMES (and
  // each variable, as the listing reads its descriptor).
  const sawVariable = (key: string | symbol): void => {
    const recorder = typeof key === "string" ? active() : undefined;
    if (recorder) recorder.sawEnv(key as string, realEnv[key as string]);
  };
  process.env = new Proxy(realEnv, {
    get(target, key) {
      sawVariable(key);
      return Reflect.get(target, key);
    },
    has(target, key) {
      sawVariable(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      sawVariable(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    // Writes go to the real object as the receiver: through the proxy, assigning to an existing
    // variable would redefine it with a partial descriptor, which process.env refuses.
    set(target, key, value) {
      return Reflect.set(target, key, value);
    },
    ownKeys(target) {
      const keys = Reflect.ownKeys(target);
      const recorder = active();
      if (recorder) recorder.sawEnv(NAMES, keys.filter((k): k is string => typeof k === "string").sort().join("\n"));
      return keys;
    },
  });
  syncBuiltinESMExports(); // `import { readFileSync } from "node:fs"` sees the patched function too

  return {
    start: () => new Recorder(),
    during: (recorder, fn) => storage.run(recorder, fn),
    current: () => storage.getStore(),
  };
}

/** The path a call names (string, Buffer or file: URL), or null (a file descriptor, a FileHandle). */
function pathOf(p: unknown): string | null {
  if (typeof p === "string") return p;
  if (p instanceof URL) return p.protocol === "file:" ? fileURLToPath(p) : null;
  if (p instanceof Uint8Array) return Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString();
  return null;
}

/** Whether a write with these flags makes the file's whole content (`w`, `w+`, O_TRUNC; the default of writeFile and write streams). */
function writesWhole(flags: unknown): boolean {
  if (flags === undefined || flags === null) return true;
  if (typeof flags === "string") return flags.startsWith("w");
  if (typeof flags === "number") return (flags & constants.O_TRUNC) !== 0;
  return false;
}

/** Whether `open` with these flags reads the file, or tells whether it exists (`wx`): a pure write reads nothing. */
function opensForReading(flags: unknown): boolean {
  if (flags === undefined || flags === null) return true;
  if (typeof flags === "string") return /[r+x]/.test(flags);
  if (typeof flags === "number") return (flags & 3) !== constants.O_WRONLY || (flags & constants.O_EXCL) !== 0;
  return true;
}
