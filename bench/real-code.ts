// Function hashes of real published code: every exported function of a few pinned packages
// (bench/corpus: TypeScript sources, ESM .js, one-file bundles), hashed in fresh processes, with
// crashes, warnings and components per function; and two stability checks — the same hashes from
// a second process, and from a copy of the corpus at another depth. `--dist DIR` (or
// CASHET_BENCH_DIST) picks the compiled cashet whose hashing is measured, default this one's:
// `npm run build && node dist/bench/real-code.js [--dist /work/baseline/dist] [--json]`.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { hashExportedFunction } from "../plumbing/hash/function.js";
import { median } from "./median.js";

/** One entry module of the corpus: the file hashed, and the file imported to list its exports. */
interface Entry {
  /** How the report names it: the package, and which of its builds when there are two. */
  label: string;
  pkg: string;
  lang: "ts" | "js";
  /** Relative to the corpus's node_modules. */
  hash: string;
  /** The built twin of a TypeScript entry (the same exports, importable by node); else `hash`. */
  names?: string;
}

const ENTRIES: Entry[] = [
  { label: "zod src/*.ts", pkg: "zod", lang: "ts", hash: "zod/src/index.ts", names: "zod/index.js" }, // a schema library's shipped sources
  { label: "zod *.js", pkg: "zod", lang: "js", hash: "zod/index.js" }, // the same functions, built
  { label: "valibot", pkg: "valibot", lang: "js", hash: "valibot/dist/index.mjs" }, // a schema library bundled into one 7,600-line file
  { label: "date-fns", pkg: "date-fns", lang: "js", hash: "date-fns/index.js" }, // one module per function, `export *` from an index
  { label: "remeda", pkg: "remeda", lang: "js", hash: "remeda/dist/index.js" }, // named re-exports of modules and shared chunks
];

const CORPUS = fileURLToPath(new URL("../../bench/corpus/", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const CHILD_TIMEOUT_MS = 15 * 60_000;

/** What a child reports for one function, one JSON line each. */
interface Hashed {
  /** The entry's label. */
  entry: string;
  name: string;
  ms: number;
  /** CPU time (user + system) of the hash: less moved than wall time by a busy neighbour. */
  cpuMs: number;
  hash?: string;
  components?: number;
  /** Components by kind (function, declaration, statement, package, unresolved). */
  kinds?: Record<string, number>;
  warnings?: string[];
  error?: string;
}

interface Distribution {
  p50: number;
  p95: number;
  max: number;
}

interface PackageSummary {
  entry: string;
  /** package@version; empty for the overall row. */
  pkg: string;
  lang: string;
  functions: number;
  crashes: number;
  firstErrors: string[];
  warnings: number;
  firstWarnings: string[];
  components: Distribution;
  /** The functions with the most components, largest first. */
  largest: Array<{ name: string; components: number; kinds: Record<string, number> }>;
  /** Per process (one per run), all of this entry's hashes: wall time, and CPU time. */
  totalMs: number[];
  totalCpuMs: number[];
  /** Medians over the processes, divided by `functions`. */
  perFunctionMs: number;
  perFunctionCpuMs: number;
}

interface Check {
  name: string;
  pass: boolean;
  /** What was compared: "3 processes", "1182 functions". */
  of: string;
  mismatches: string[];
}

function option(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Nearest-rank percentile of `xs` (0 < p ≤ 1). */
function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
}

/** Installs the pinned corpus (`npm ci`) unless every package is there at its pinned version. */
function ensureCorpus(dir: string): void {
  const pins = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies;
  const installed = Object.entries(pins).every(([name, version]) => {
    const pkg = join(dir, "node_modules", name, "package.json");
    return existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version === version;
  });
  if (installed) return;
  process.stderr.write(`installing the corpus in ${dir} (npm ci)\n`);
  execFileSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: dir, stdio: ["ignore", 2, 2] });
}

/** In a fresh process: hashes every exported function of every entry, one JSON line per function. */
async function runChild(corpus: string, dist: string): Promise<void> {
  const mod = (await import(pathToFileURL(join(dist, "plumbing/hash/function.js")).href)) as { hashExportedFunction: typeof hashExportedFunction };
  for (const entry of ENTRIES) {
    const modules = join(corpus, "node_modules");
    const exported = (await import(pathToFileURL(join(modules, entry.names ?? entry.hash)).href)) as Record<string, unknown>;
    const names = Object.keys(exported).filter((k) => typeof exported[k] === "function").sort();
    for (const name of names) {
      const t = performance.now();
      const cpu = process.cpuUsage();
      const spent = (): { ms: number; cpuMs: number } => {
        const c = process.cpuUsage(cpu);
        return { ms: performance.now() - t, cpuMs: (c.user + c.system) / 1000 };
      };
      let row: Hashed;
      try {
        const h = mod.hashExportedFunction(join(modules, entry.hash), name);
        const kinds: Record<string, number> = {};
        for (const c of h.components) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
        row = { entry: entry.label, name, ...spent(), hash: h.hash, components: h.components.length, kinds, warnings: h.warnings };
      } catch (e) {
        row = { entry: entry.label, name, ...spent(), error: (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).replaceAll(corpus, "<corpus>") };
      }
      process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
}

/** One child over `corpus`; a child that dies is one crash row, after the rows it did write. */
function hashAll(corpus: string, dist: string): Hashed[] {
  const r = spawnSync(process.execPath, [SELF, "--child", corpus, "--dist", dist], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: CHILD_TIMEOUT_MS,
  });
  const rows = r.stdout.split("\n").flatMap((line): Hashed[] => {
    try {
      return [JSON.parse(line) as Hashed];
    } catch {
      return []; // the blank last line, or one cut short by a killed child
    }
  });
  if (r.status !== 0) {
    const lines = r.stderr.split("\n").map((l) => l.trim()).filter(Boolean);
    const first = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines[0] ?? "no output";
    const why = r.error ? r.error.message : `exited with ${r.status ?? r.signal} after ${rows.length} functions: ${first}`;
    rows.push({ entry: "(process)", name: "(child)", ms: 0, cpuMs: 0, error: why });
  }
  return rows;
}

/** Whether two runs gave every function the same hash (or the same error). */
function compare(name: string, a: Hashed[], b: Hashed[]): Check {
  const key = (h: Hashed): string => `${h.entry}#${h.name}`;
  const outcome = (h: Hashed | undefined): string => (h === undefined ? "(absent)" : (h.hash ?? `error ${h.error}`));
  const other = new Map(b.map((h) => [key(h), h]));
  const mismatches: string[] = [];
  for (const h of a) {
    const o = other.get(key(h));
    if (outcome(h) !== outcome(o)) mismatches.push(`${key(h)}: ${outcome(h).slice(0, 80)} vs ${outcome(o).slice(0, 80)}`);
    other.delete(key(h));
  }
  for (const k of other.keys()) mismatches.push(`${k}: absent vs ${outcome(other.get(k)).slice(0, 80)}`);
  return { name, pass: mismatches.length === 0, of: `${a.length} functions`, mismatches };
}

function summarise(entry: string, pkg: string, lang: string, runs: Hashed[][]): PackageSummary {
  const rows = runs[0]!.filter((h) => h.entry === entry);
  const ok = rows.filter((h) => h.error === undefined);
  const failed = rows.filter((h) => h.error !== undefined);
  const warned = ok.flatMap((h) => h.warnings ?? []);
  const counts = ok.map((h) => h.components!);
  const total = (k: "ms" | "cpuMs"): number[] => runs.map((run) => run.filter((h) => h.entry === entry).reduce((s, h) => s + h[k], 0));
  const totalMs = total("ms");
  const totalCpuMs = total("cpuMs");
  return {
    entry,
    pkg,
    lang,
    functions: rows.length,
    crashes: failed.length,
    firstErrors: [...new Set(failed.map((h) => `${h.name}: ${h.error}`))].slice(0, 3),
    warnings: warned.length,
    firstWarnings: [...new Set(warned)].slice(0, 3),
    components: { p50: percentile(counts, 0.5), p95: percentile(counts, 0.95), max: Math.max(0, ...counts) },
    largest: [...ok].sort((a, b) => b.components! - a.components!).slice(0, 5).map((h) => ({ name: h.name, components: h.components!, kinds: h.kinds! })),
    totalMs,
    totalCpuMs,
    perFunctionMs: rows.length ? median(totalMs) / rows.length : 0,
    perFunctionCpuMs: rows.length ? median(totalCpuMs) / rows.length : 0,
  };
}

const KINDS = ["function", "declaration", "statement", "package", "unresolved"];

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`;
}

/** A plain-text table; columns after the first are right-aligned (as bench/report.ts's). */
function table(head: string[], body: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function report(dist: string, summaries: PackageSummary[], overall: PackageSummary, checks: Check[]): string {
  const out: string[] = [`function hashes of real published code; hashing from ${dist}; times (wall, and CPU of the hashing process): medians of ${overall.totalMs.length} processes`, ""];
  const row = (s: PackageSummary): string[] => [
    s.entry,
    s.pkg,
    s.lang,
    String(s.functions),
    String(s.crashes),
    String(s.warnings),
    String(s.components.p50),
    String(s.components.p95),
    String(s.components.max),
    `${fmtMs(median(s.totalMs))} (${fmtMs(Math.min(...s.totalMs))}–${fmtMs(Math.max(...s.totalMs))})`,
    fmtMs(s.perFunctionMs),
    fmtMs(median(s.totalCpuMs)),
    fmtMs(s.perFunctionCpuMs),
  ];
  out.push(table(["entry", "package", "lang", "functions", "crashes", "warnings", "comp p50", "p95", "max", "wall (spread)", "per fn", "cpu", "per fn"], [...summaries.map(row), row(overall)]));
  out.push("");
  for (const s of summaries) {
    const kinds = (k: Record<string, number>): string => KINDS.filter((kind) => k[kind]).map((kind) => `${k[kind]} ${kind}`).join(", ");
    if (s.largest.length) out.push(`${s.entry}: largest ${s.largest.slice(0, 3).map((l) => `${l.name} ${l.components} (${kinds(l.kinds)})`).join("; ")}`);
    for (const e of s.firstErrors) out.push(`  crash: ${e}`);
    for (const w of s.firstWarnings) out.push(`  warning: ${w}`);
  }
  out.push("");
  for (const c of checks) {
    out.push(`${c.pass ? "PASS" : "FAIL"}  ${c.name} (${c.of})`);
    for (const m of c.mismatches.slice(0, 5)) out.push(`      ${m}`);
    if (c.mismatches.length > 5) out.push(`      … ${c.mismatches.length - 5} more`);
  }
  return out.join("\n");
}

async function main(): Promise<number> {
  const dist = resolve(option("--dist") ?? process.env.CASHET_BENCH_DIST ?? fileURLToPath(new URL("..", import.meta.url)));
  ensureCorpus(CORPUS);
  // The copy sits at another depth, under another name: no path may enter a hash.
  const tmp = mkdtempSync(join(tmpdir(), "cashet-bench-corpus-"));
  const copy = join(tmp, "a", "b", "elsewhere");
  try {
    cpSync(CORPUS, copy, { recursive: true, verbatimSymlinks: true });
    const first = hashAll(CORPUS, dist);
    const second = hashAll(CORPUS, dist);
    const copied = hashAll(copy, dist);
    const runs = [first, second, copied];
    const version = (pkg: string): string => (JSON.parse(readFileSync(join(CORPUS, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
    const summaries = ENTRIES.map((e) => summarise(e.label, `${e.pkg}@${version(e.pkg)}`, e.lang, runs));
    if (first.some((h) => h.entry === "(process)")) summaries.push(summarise("(process)", "", "", runs));
    const all = runs.map((run) => run.map((h) => ({ ...h, entry: "overall" })));
    const overall = summarise("overall", "", [...new Set(ENTRIES.map((e) => e.lang))].join("+"), all);
    const finished: Check = { name: "every process hashed to the end", pass: !runs.some((run) => run.some((h) => h.entry === "(process)")), of: `${runs.length} processes`, mismatches: [] };
    const checks = [finished, compare("same hashes in a second process", first, second), compare(`same hashes from a copy of the corpus (${copy})`, first, copied)];
    if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify({ dist, packages: summaries, overall, checks }, null, 2)}\n`);
    else process.stdout.write(`${report(dist, summaries, overall, checks)}\n`);
    return checks.every((c) => c.pass) ? 0 : 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") await runChild(process.argv[3]!, option("--dist")!);
else process.exitCode = await main();
