// The tsconfig options that change the JavaScript tsx runs for a TypeScript file. tsx reads one
// tsconfig per process — `TSX_TSCONFIG_PATH`, else the nearest tsconfig.json above the working
// directory, `extends` resolved (get-tsconfig, as tsx does) — and applies it to the files its
// `include`/`files` match; esbuild then honours only the compiler options below. Those options,
// as they take effect for a file, are part of the hash of every TypeScript function in a closure.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../backends/fs/files.js";
import type * as GetTsconfig from "get-tsconfig";

/** The compiler options esbuild (tsx's transformer) reads from a tsconfig; the rest cannot change emitted code. */
const EMIT_OPTIONS = [
  "alwaysStrict",
  "emitDecoratorMetadata",
  "experimentalDecorators",
  "importsNotUsedAsValues",
  "jsx",
  "jsxFactory",
  "jsxFragmentFactory",
  "jsxImportSource",
  "preserveValueImports",
  "strict",
  "target",
  "useDefineForClassFields",
  "verbatimModuleSyntax",
] as const;

export interface TsconfigOptions {
  /** sha256 over the options below (canonical JSON). */
  hash: string;
  /** The emit-relevant options in effect, sorted; `{}` when no tsconfig applies to the file. */
  options: Record<string, string | boolean>;
}

const require = createRequire(import.meta.url);
let lib: typeof GetTsconfig | undefined;
type Loaded = { result: GetTsconfig.TsConfigResult | null; matcher: GetTsconfig.FileMatcher | null };
let loaded: Loaded | undefined;

function getTsconfig(): typeof GetTsconfig {
  // ≈ 5 ms to load: only hashing a TypeScript function pays it.
  return (lib ??= require("get-tsconfig") as typeof GetTsconfig);
}

/**
 * Where the answer is kept between processes (the store's analysis directory), or null. A CLI hit
 * then checks the files get-tsconfig looked at (a stat each) instead of loading it (≈ 4 ms) and
 * parsing them: the record lists every existence check and every read it made, so a tsconfig that
 * appears, vanishes or changes anywhere on its search path is a different answer.
 */
let keptIn: { dir: string; tmp: string } | null = null;

/** Keeps the tsconfig answer in `dir` (temp files in `tmp`); null turns it off. */
export function setTsconfigCache(dir: string | null, tmp?: string): void {
  keptIn = dir ? { dir, tmp: tmp ?? dir } : null;
}

interface Kept {
  format: 1;
  /** What get-tsconfig asked of the file system, and what it found (see observe). */
  checks: Array<[string, string | boolean]>;
  result: GetTsconfig.TsConfigResult | null;
  /** Files already matched against `include`/`files`. */
  matched: Record<string, boolean>;
}

/** What a check saw: existence, a read file's content hash (an edit within one clock tick still shows), a stat. */
function observe(op: string, path: string): string | boolean {
  if (op === "existsSync") return existsSync(path);
  if (op === "readFileSync") {
    try {
      return createHash("sha256").update(readFileSync(path)).digest("hex");
    } catch {
      return false;
    }
  }
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? `${st.mtimeMs}:${st.size}:${st.ino}` : false;
}

function keptPath(): string | null {
  if (!keptIn) return null;
  const key = createHash("sha256").update(`tsconfig-1\0${process.cwd()}\0${process.env.TSX_TSCONFIG_PATH ?? ""}`).digest("hex");
  return join(keptIn.dir, `tsconfig-${key}.json`);
}

function readKept(path: string): Kept | null {
  let kept: Kept;
  try {
    kept = JSON.parse(readFileSync(path, "utf8")) as Kept;
  } catch {
    return null;
  }
  return kept.format === 1 && Array.isArray(kept.checks) && stillTrue(kept) ? kept : null;
}

/** Whether every check of a record sees what it saw (a few stats and reads of small files). */
function stillTrue(kept: Kept): boolean {
  for (const [check, expected] of kept.checks) {
    const at = check.indexOf(":");
    const op = check.slice(0, at);
    const file = check.slice(at + 1).replace(/:utf8$/, "");
    if (observe(op, file) !== expected) return false;
  }
  return true;
}

function writeKept(path: string, kept: Kept): void {
  try {
    writeFileAtomic(path, JSON.stringify(kept), keptIn!.tmp, keptIn!.dir);
  } catch {
    // best effort: a read-only or full store only costs the next process the lookup
  }
}

/** The tsconfig tsx uses in this process, found and parsed once per snapshot (see forgetTsconfig). */
function load(): Loaded {
  if (loaded) return loaded;
  // This process's last answer, when every file it came from is as it was: a long-lived process
  // hashing again re-reads two or three small files instead of running get-tsconfig.
  if (last && last.cwd === process.cwd() && last.env === process.env.TSX_TSCONFIG_PATH && stillTrue(last.kept)) {
    return (loaded = fromKept(last.kept, last.path));
  }
  const path = keptPath();
  const kept = path ? readKept(path) : null;
  if (kept) {
    last = { cwd: process.cwd(), env: process.env.TSX_TSCONFIG_PATH, kept, path };
    return (loaded = fromKept(kept, path));
  }
  const gt = getTsconfig();
  const seen = new Map<string, unknown>();
  let result: GetTsconfig.TsConfigResult | null = null;
  try {
    const explicit = process.env.TSX_TSCONFIG_PATH;
    if (explicit) {
      const file = resolve(explicit);
      result = { path: file, config: gt.parseTsconfig(file, seen as GetTsconfig.Cache<string>) };
    } else result = gt.getTsconfig(process.cwd(), "tsconfig.json", seen as GetTsconfig.Cache<string>);
  } catch {
    result = null; // tsx ignores a tsconfig it cannot read, and so do we
  }
  const matcher = result ? gt.createFilesMatcher(result) : null;
  const checks: Kept["checks"] = [];
  for (const k of seen.keys()) {
    const at = k.indexOf(":");
    const op = k.slice(0, at);
    const file = k.slice(at + 1).replace(/:utf8$/, "");
    checks.push([k, observe(op, file)]);
  }
  const record: Kept = { format: 1, checks, result, matched: {} };
  if (path) writeKept(path, record);
  last = { cwd: process.cwd(), env: process.env.TSX_TSCONFIG_PATH, kept: record, path };
  return (loaded = { result, matcher: matcherKeeping(record, path, matcher) });
}

let last: { cwd: string; env: string | undefined; kept: Kept; path: string | null } | undefined;

/** A matcher that answers from the record and adds what it learns to it (and to its file, if any). */
function matcherKeeping(kept: Kept, path: string | null, matcher: GetTsconfig.FileMatcher | null): GetTsconfig.FileMatcher | null {
  if (!kept.result) return null;
  let real = matcher;
  return (file: string) => {
    const known = kept.matched[file];
    if (known !== undefined) return known ? kept.result!.config : undefined;
    real ??= getTsconfig().createFilesMatcher(kept.result!);
    const match = real(file);
    kept.matched[file] = match !== undefined;
    if (path) writeKept(path, kept);
    return match;
  };
}

function fromKept(kept: Kept, path: string | null): Loaded {
  return { result: kept.result, matcher: matcherKeeping(kept, path, null) };
}

/** Drops what was read of tsconfig files, so the next hash sees them as they are now. */
export function forgetTsconfig(): void {
  loaded = undefined;
}

/** The path of the tsconfig tsx would use here, or null (for the resolver's `paths`). */
export function tsxTsconfigPath(): string | null {
  return load().result?.path ?? null;
}

const EMPTY: TsconfigOptions = { hash: createHash("sha256").update("{}").digest("hex"), options: {} };

/** The emit-relevant options tsx applies to TypeScript file `file`. */
export function tsconfigOptionsFor(file: string): TsconfigOptions {
  const { result, matcher } = load();
  if (!result || !matcher || !matcher(file)) return EMPTY;
  const compilerOptions = (result.config.compilerOptions ?? {}) as Record<string, unknown>;
  const options: Record<string, string | boolean> = {};
  for (const key of EMIT_OPTIONS) {
    const v = compilerOptions[key];
    // TypeScript reads option values case-insensitively (`ES2022` = `es2022`)
    if (typeof v === "string") options[key] = v.toLowerCase();
    else if (typeof v === "boolean") options[key] = v;
  }
  return { hash: createHash("sha256").update(JSON.stringify(options)).digest("hex"), options };
}
