// Serializer benchmarks: serialize and deserialize time and encoded size per workload for the
// built-ins, Node's own v8.deserialize (what the v8 serializer's number-array fast path is
// measured against) and, when installed (`npm install --no-save msgpackr`; never a dependency;
// absent or half-installed, it is skipped with a note), msgpackr; plus the first deserialize in a
// fresh process for the 1.1 M-float list, which is what a CLI cache hit pays.
// `node dist/bench/serializers.js [--json]`.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import * as v8 from "node:v8";
import { bytesSerializer, jsonSerializer, v8Serializer } from "../plumbing/serializers.js";
import { median } from "./median.js";

/** One row of the report. Times are medians in milliseconds; null when the value was refused. */
export interface BenchResult {
  workload: string;
  serializer: string;
  serializeMs: number | null;
  deserializeMs: number | null;
  bytes: number | null;
  /** "ok" (deep-equal after the round trip), "refused" (serialize threw), or what differs. */
  roundTrip: string;
  reps: number;
}

/** The first deserialize of a payload in a new process (the CLI-hit case). */
export interface ColdResult {
  workload: string;
  serializer: string;
  /** null when the child could not decode it (`note` says why). */
  firstDeserializeMs: number | null;
  processes: number;
  note?: string;
}

interface Candidate {
  name: string;
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}

interface Packr {
  pack(value: unknown): Uint8Array;
  unpack(bytes: Uint8Array): unknown;
}
type MsgpackrModule = { Packr: new (options?: { structuredClone?: boolean }) => Packr };

const FLOATS = 1_100_000;
const COLD_PROCESSES = 3;
const json = process.argv.includes("--json");

/** msgpackr, or why it is left out: absent, or half-installed — it imports but cannot make a
 * Packr, or a Packr that cannot round-trip a small sample (a broken native extractor shows so). */
async function loadMsgpackr(): Promise<{ mod: MsgpackrModule; skipped: null } | { mod: null; skipped: string }> {
  const specifier = "msgpackr"; // a variable: the build must not need it
  let mod: Partial<MsgpackrModule>;
  try {
    mod = (await import(specifier)) as Partial<MsgpackrModule>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ERR_MODULE_NOT_FOUND" && /['"]msgpackr['"]/.test(e.message)) return { mod: null, skipped: "not installed" };
    return { mod: null, skipped: `half-installed (import failed: ${firstLine(e)})` };
  }
  if (typeof mod.Packr !== "function") return { mod: null, skipped: "half-installed (no Packr export)" };
  const sample = { text: "ünïcode text", long: "x".repeat(300), numbers: [1.5, -2, 3e300], nested: { ok: true } };
  try {
    for (const packr of [new mod.Packr({ structuredClone: true }), new mod.Packr()]) {
      if (!isDeepStrictEqual(packr.unpack(packr.pack(sample)), sample)) return { mod: null, skipped: "half-installed (a sample does not round-trip)" };
    }
  } catch (err) {
    return { mod: null, skipped: `half-installed (${firstLine(err)})` };
  }
  return { mod: mod as MsgpackrModule, skipped: null };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
}

async function candidates(): Promise<{ list: Candidate[]; msgpackr: string | null }> {
  const list: Candidate[] = [
    { name: "v8", serialize: (v) => v8Serializer.serialize(v), deserialize: (b) => v8Serializer.deserialize(b) },
    { name: "v8, node's deserialize", serialize: (v) => v8.serialize(v), deserialize: (b) => v8.deserialize(b) as unknown },
    { name: "json", serialize: (v) => jsonSerializer.serialize(v), deserialize: (b) => jsonSerializer.deserialize(b) },
    { name: "bytes", serialize: (v) => bytesSerializer.serialize(v), deserialize: (b) => bytesSerializer.deserialize(b) },
  ];
  const { mod, skipped } = await loadMsgpackr();
  if (mod) {
    const structured = new mod.Packr({ structuredClone: true });
    const plain = new mod.Packr();
    list.push(
      { name: "msgpackr structuredClone", serialize: (v) => structured.pack(v), deserialize: (b) => structured.unpack(b) },
      { name: "msgpackr default", serialize: (v) => plain.pack(v), deserialize: (b) => plain.unpack(b) },
    );
  }
  return { list, msgpackr: skipped };
}

function workloads(): { name: string; make: () => unknown; reps: number }[] {
  // Deterministic doubles with full mantissas, like measurements (not integers).
  const floats = Array.from({ length: FLOATS }, (_, i) => Math.sin(i) * 1000 + i / 7);
  const f64 = Float64Array.from(floats);
  const buffer = randomBytes(10 * 1024 * 1024);
  const objects = Array.from({ length: 10_000 }, (_, i) => ({ id: i, name: `item ${i}`, score: i / 7, tags: ["a", "b"], ok: i % 2 === 0 }));
  const map = new Map(Array.from({ length: 10_000 }, (_, i) => [`key${i}`, i * 0.5 + 0.25]));
  return [
    { name: "list of 1.1 M floats", make: () => floats, reps: 7 },
    { name: "Float64Array 1.1 M", make: () => f64, reps: 15 },
    { name: "Buffer 10 MiB", make: () => buffer, reps: 15 },
    { name: "10,000 small objects", make: () => objects, reps: 15 },
    { name: "Map 10,000 entries", make: () => map, reps: 15 },
  ];
}

function describeDifference(back: unknown, value: unknown): string {
  if (isDeepStrictEqual(back, value)) return "ok";
  const kind = (v: unknown): string => (v === null ? "null" : typeof v === "object" ? Object.prototype.toString.call(v).slice(8, -1) : typeof v);
  if (kind(back) !== kind(value)) return `differs: ${kind(value)} → ${kind(back)}`;
  return "differs";
}

/** Measures every candidate on one value, alternating them rep by rep so that all see the same
 * machine and heap state (frequency scaling, the garbage the previous one left). */
function measure(workload: string, value: unknown, list: Candidate[], reps: number): BenchResult[] {
  const live: { c: Candidate; payload: Uint8Array; roundTrip: string; ser: number[]; de: number[] }[] = [];
  const refused: BenchResult[] = [];
  for (const c of list) {
    let payload: Uint8Array;
    try {
      payload = c.serialize(value);
    } catch {
      refused.push({ workload, serializer: c.name, serializeMs: null, deserializeMs: null, bytes: null, roundTrip: "refused", reps: 0 });
      continue;
    }
    let roundTrip: string;
    try {
      roundTrip = describeDifference(c.deserialize(payload), value);
    } catch (err) {
      roundTrip = `failed: ${firstLine(err)}`;
    }
    live.push({ c, payload, roundTrip, ser: [], de: [] });
  }
  for (let r = 0; r < reps; r++) {
    for (const m of live) {
      if (m.roundTrip.startsWith("failed")) continue;
      try {
        let t0 = performance.now();
        m.payload = m.c.serialize(value);
        m.ser.push(performance.now() - t0);
        t0 = performance.now();
        m.c.deserialize(m.payload);
        m.de.push(performance.now() - t0);
      } catch (err) {
        // Only an optional serializer should get here (a half-working msgpackr): its row says so.
        m.roundTrip = `failed: ${firstLine(err)}`;
      }
    }
  }
  const measured = live.map((m): BenchResult => ({
    workload,
    serializer: m.c.name,
    serializeMs: m.ser.length ? median(m.ser) : null,
    deserializeMs: m.de.length ? median(m.de) : null,
    bytes: m.payload.byteLength,
    roundTrip: m.roundTrip,
    reps: m.de.length,
  }));
  return list.flatMap((c) => [...measured, ...refused].filter((r) => r.serializer === c.name));
}

/** Child mode: one deserialize of the payload in `file`, printed in ms. */
async function child(serializer: string, file: string): Promise<void> {
  const { list } = await candidates();
  const c = list.find((x) => x.name === serializer);
  if (!c) throw new Error(`no serializer "${serializer}" in this process (msgpackr went missing?)`);
  const bytes = readFileSync(file);
  const t0 = performance.now();
  c.deserialize(bytes);
  process.stdout.write(`${performance.now() - t0}\n`);
}

function cold(list: Candidate[], floats: unknown): ColdResult[] {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-serializers-"));
  const out: ColdResult[] = [];
  try {
    for (const c of list.filter((x) => x.name !== "bytes")) {
      const file = join(dir, "payload");
      const row: ColdResult = { workload: "list of 1.1 M floats", serializer: c.name, firstDeserializeMs: null, processes: 0 };
      out.push(row);
      try {
        writeFileSync(file, c.serialize(floats));
      } catch (err) {
        row.note = `refused: ${firstLine(err)}`;
        continue;
      }
      const times: number[] = [];
      for (let p = 0; p < COLD_PROCESSES; p++) {
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", c.name, file], { encoding: "utf8" });
        if (r.status !== 0) {
          row.note = `failed: ${/\w*Error\b.*/.exec(r.stderr)?.[0] ?? `exit ${r.status}`}`;
          break;
        }
        times.push(Number(r.stdout));
      }
      if (times.length === COLD_PROCESSES) Object.assign(row, { firstDeserializeMs: median(times), processes: COLD_PROCESSES });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function fmt(x: number | null, digits: number): string {
  return x === null ? "" : x.toFixed(digits);
}

/** A text table; columns listed in `right` are right-aligned (numbers). */
function table(head: string[], body: string[][], right: readonly number[]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (right.includes(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

async function main(): Promise<void> {
  const started = performance.now();
  const { list, msgpackr: msgpackrSkipped } = await candidates();
  const results: BenchResult[] = [];
  const loads = workloads();
  for (const w of loads) {
    const value = w.make();
    // bytes refuses all but bytes: a row that says so once is enough.
    results.push(...measure(w.name, value, list.filter((c) => c.name !== "bytes" || Buffer.isBuffer(value)), w.reps));
  }
  const coldResults = cold(list, loads[0]!.make());
  const totalS = (performance.now() - started) / 1000;
  const environment = { node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? "?", msgpackr: msgpackrSkipped ?? "measured" };
  if (json) {
    process.stdout.write(`${JSON.stringify({ environment, totalSeconds: totalS, results, cold: coldResults }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`cashet serializers bench — node ${environment.node}, ${environment.platform}, ${environment.cpu}\n`);
  if (msgpackrSkipped) process.stdout.write(`msgpackr is ${msgpackrSkipped}: its rows are left out (it is optional: npm install --no-save msgpackr).\n`);
  process.stdout.write("ms are medians; MB = 10^6 bytes; round trip = deep-equal to the input.\n\n");
  process.stdout.write(
    `${table(
      ["workload", "serializer", "serialize ms", "deserialize ms", "MB", "round trip"],
      results.map((r) => [r.workload, r.serializer, fmt(r.serializeMs, 2), fmt(r.deserializeMs, 2), fmt(r.bytes === null ? null : r.bytes / 1e6, 2), r.roundTrip]),
      [2, 3, 4],
    )}\n\n`,
  );
  process.stdout.write(
    `${table(
      ["workload", "serializer", "first deserialize in a new process, ms"],
      coldResults.map((r) => [r.workload, r.serializer, r.note ?? fmt(r.firstDeserializeMs, 1)]),
      [2],
    )}\n\ntotal ${totalS.toFixed(1)} s\n`,
  );
}

const childAt = process.argv.indexOf("--child");
(childAt >= 0 ? child(process.argv[childAt + 1]!, process.argv[childAt + 2]!) : main()).catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
