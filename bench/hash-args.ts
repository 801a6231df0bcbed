// Argument-hash benchmarks: hashArgs on a 100 MB Float64Array next to plain sha256 over the same
// bytes (the physical limit), and on many small values (a 10,000-key object, a 1,000-element
// array of small objects). `node dist/bench/hash-args.js [--json]`.
import { createHash } from "node:crypto";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { hashArgs } from "../plumbing/hash/args.js";
import { previewArgs } from "../plumbing/hash/preview.js";
import { median } from "./median.js";

/** One row of the report. Unused measures are null. */
export interface BenchResult {
  name: string;
  usPerOp: number | null;
  mbPerSec: number | null;
  /** Operations timed (warm-up excluded). */
  ops: number;
}

const MB = 1e6;
const BIG_BYTES = 100 * MB;
const BIG_REPS = 5;

const results: BenchResult[] = [];
const json = process.argv.includes("--json");


/** Milliseconds one call takes. */
async function timeMs(op: () => unknown): Promise<number> {
  const t0 = performance.now();
  await op();
  return performance.now() - t0;
}

/** Median µs/op over batches of `perBatch` sequential calls, after a warm-up batch. */
async function perOp(op: () => unknown, batches: number, perBatch: number): Promise<number> {
  for (let n = 0; n < perBatch; n++) await op();
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let n = 0; n < perBatch; n++) await op();
    samples.push(((performance.now() - t0) * 1000) / perBatch);
  }
  return median(samples);
}

async function benchBig(): Promise<void> {
  const big = new Float64Array(BIG_BYTES / 8);
  for (let i = 0; i < big.length; i++) big[i] = i * 1.000001;
  const bytes = new Uint8Array(big.buffer);
  // Alternate the two so both see the same machine state (frequency scaling, other load).
  const plainOp = (): Buffer => createHash("sha256").update(bytes).digest();
  const oursOp = (): Promise<string> => hashArgs([big]);
  plainOp(); // warm-up
  await oursOp();
  const plainMs: number[] = [];
  const oursMs: number[] = [];
  for (let r = 0; r < BIG_REPS; r++) {
    plainMs.push(await timeMs(plainOp));
    oursMs.push(await timeMs(oursOp));
  }
  const plain = median(plainMs);
  const ours = median(oursMs);
  results.push({ name: "sha256 100 MB (reference)", usPerOp: plain * 1000, mbPerSec: BIG_BYTES / MB / (plain / 1000), ops: BIG_REPS });
  results.push({ name: "hashArgs Float64Array 100 MB", usPerOp: ours * 1000, mbPerSec: BIG_BYTES / MB / (ours / 1000), ops: BIG_REPS });
}

async function benchSmall(): Promise<void> {
  const wide: Record<string, number> = {};
  for (let i = 0; i < 10_000; i++) wide[`key${i}`] = i * 0.5;
  results.push({ name: "hashArgs object 10,000 keys", usPerOp: await perOp(() => hashArgs([wide]), 10, 20), mbPerSec: null, ops: 200 });

  const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `item ${i}`, score: i / 7, tags: ["a", "b"], ok: i % 2 === 0 }));
  results.push({ name: "hashArgs array of 1,000 objects", usPerOp: await perOp(() => hashArgs([rows]), 10, 50), mbPerSec: null, ops: 500 });

  const map = new Map(Object.entries(wide));
  results.push({ name: "hashArgs Map 10,000 entries", usPerOp: await perOp(() => hashArgs([map]), 10, 20), mbPerSec: null, ops: 200 });

  const call = [{ lr: 0.01, epochs: 10 }, "data/train.csv", 42];
  results.push({ name: "hashArgs small call (3 args)", usPerOp: await perOp(() => hashArgs(call), 10, 2000), mbPerSec: null, ops: 20_000 });
  results.push({ name: "previewArgs array of 1,000 objects", usPerOp: await perOp(() => previewArgs([rows]), 10, 200), mbPerSec: null, ops: 2000 });
}

function fmt(x: number | null, digits: number): string {
  return x === null ? "" : x.toFixed(digits);
}

function table(rows: BenchResult[]): string {
  const head = ["benchmark", "µs/op", "MB/s", "n"];
  const body = rows.map((r) => [r.name, fmt(r.usPerOp, 1), fmt(r.mbPerSec, 0), String(r.ops)]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

async function main(): Promise<void> {
  const started = performance.now();
  await benchBig();
  await benchSmall();
  const totalS = (performance.now() - started) / 1000;
  const environment = { node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? "?" };
  if (json) {
    process.stdout.write(`${JSON.stringify({ environment, totalSeconds: totalS, results }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`cashet hash-args bench — node ${environment.node}, ${environment.platform}, ${environment.cpu}\n`);
  process.stdout.write("MB/s = 10^6 bytes per second; µs/op are medians.\n\n");
  process.stdout.write(`${table(results)}\n\ntotal ${totalS.toFixed(1)} s\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
