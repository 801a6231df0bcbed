// Store micro-benchmarks: blob, commit, index, ref and daemon-start costs of a fresh FsStore (and
// MemoryStore for blobs), with raw sha256 as the physical reference. `npm run bench [-- --json]`.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { INLINE_LIMIT, type CommitRecord } from "../plumbing/commit.js";
import { sha256 } from "../plumbing/ids.js";
import { ObjectDb } from "../plumbing/objects.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { MemoryStore } from "../plumbing/backends/memory.js";
import type { Store } from "../plumbing/store.js";
import { median } from "./median.js";

/** One row of the report. Unused measures are null. */
export interface BenchResult {
  name: string;
  store: string;
  usPerOp: number | null;
  mbPerSec: number | null;
  ms: number | null;
  /** Operations timed (warm-up excluded). */
  ops: number;
}

const MB = 1e6;
const MiB = 1024 * 1024;
const LARGE = 64 * MiB;
const COMMITS_SEQUENTIAL = { warmup: 100, batches: 10, perBatch: 200 };
const COMMITS_TOTAL = 10_000;
const BULK_CONCURRENCY = 32;

const results: BenchResult[] = [];
const json = process.argv.includes("--json");

// ---------------------------------------------------------------- timing helpers


interface Batches {
  warmup: number;
  batches: number;
  perBatch: number;
}

/**
 * Median µs/op over batches of sequential calls. `op` gets a running index so callers can make
 * each call's input distinct (a repeated blob would hit the dedup path instead).
 */
async function perOp(op: (i: number) => Promise<unknown>, b: Batches): Promise<{ usPerOp: number; ops: number }> {
  let i = 0;
  for (let w = 0; w < b.warmup; w++) await op(i++);
  const samples: number[] = [];
  for (let k = 0; k < b.batches; k++) {
    const t0 = performance.now();
    for (let n = 0; n < b.perBatch; n++) await op(i++);
    samples.push(((performance.now() - t0) * 1000) / b.perBatch);
  }
  return { usPerOp: median(samples), ops: b.batches * b.perBatch };
}

/** Median ms of `reps` single calls after one warm-up call (for operations too big to batch). */
async function perRep(op: (rep: number) => Promise<unknown>, reps: number): Promise<number> {
  await op(0);
  const samples: number[] = [];
  for (let r = 1; r <= reps; r++) {
    const t0 = performance.now();
    await op(r);
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

const mbps = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);

function record(r: Partial<BenchResult> & Pick<BenchResult, "name" | "store" | "ops">): void {
  results.push({ name: r.name, store: r.store, usPerOp: r.usPerOp ?? null, mbPerSec: r.mbPerSec ?? null, ms: r.ms ?? null, ops: r.ops });
  progress(`${r.store.padEnd(6)} ${r.name}`);
}

function progress(line: string): void {
  if (!json && process.stderr.isTTY) process.stderr.write(`  … ${line}\n`);
}

// ---------------------------------------------------------------- inputs

/** Writes `n` into the first bytes so otherwise-identical buffers hash (and store) apart. */
function stamp(buf: Buffer, n: number): Buffer {
  buf.writeBigUInt64LE(BigInt(n), 0);
  return buf;
}

function smallBlob(i: number): Buffer {
  return Buffer.from(`small blob #${i} `.padEnd(100, "abcdefghij"));
}

function compressibleText(size: number): Buffer {
  const line = "The quick brown fox jumps over the lazy dog; memoize all the things. 0123456789\n";
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, off + size);
}

/** Deterministic PRNG (mulberry32) so every run indexes the same shape of history. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUNCS = [
  "loadDataset", "parseCsv", "cleanRows", "dedupe", "joinTables", "featurize", "normalize",
  "splitTrainTest", "trainModel", "tuneHyperparams", "evaluate", "scoreBatch", "embedText",
  "tokenize", "summarize", "renderReport", "fetchPrices", "resample", "forecast", "exportParquet",
];

interface PoolBlob {
  id: string;
  size: number;
}

/**
 * A commit shaped like real ones: a skewed mix of function names (a few hot ones), ~5% failures,
 * half the outputs inline and the rest in shared stored blobs, tags on about a third, some TTLs.
 */
function commitRecord(i: number, pool: PoolBlob[], base: number): CommitRecord {
  const r = rng(i + 1);
  const fn = FUNCS[Math.floor(r() ** 1.5 * FUNCS.length)]!;
  const source = `export async function ${fn}(input: Input, opts = {}) {\n  const rows = await read(input);\n  return rows.map((row) => step(row, opts));\n}`;
  const createdAt = base + i * 60_000 + Math.floor(r() * 30_000);
  const inline: Record<string, string> = {};
  let output: CommitRecord["output"] = null;
  let error: CommitRecord["error"] = null;
  if (r() < 0.05) {
    error = { name: "Error", message: `row ${i} failed validation`, stack: `Error: row ${i} failed validation\n    at ${fn} (pipeline.ts:42:11)` };
  } else if (r() < 0.5) {
    const bytes = Buffer.from(JSON.stringify({ i, fn, score: r(), rows: Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 1e6)) }));
    if (bytes.length >= INLINE_LIMIT) throw new Error("inline fixture too large");
    const id = sha256(bytes);
    inline[id] = bytes.toString("base64");
    output = { hash: id, size: bytes.length, serializer: "json", preview: bytes.toString("utf8", 0, 60) };
  } else {
    const blob = pool[Math.floor(r() * pool.length)]!;
    output = { hash: blob.id, size: blob.size, serializer: "v8", preview: `<${blob.size} bytes>` };
  }
  const tags: Record<string, string> = {};
  if (r() < 0.3) tags.env = r() < 0.7 ? "prod" : "dev";
  if (r() < 0.1) tags.model = `m${i % 4}`;
  return {
    fingerprint: sha256(`fp:${i}`),
    status: error ? "failed" : "completed",
    func: { name: fn, module: `pipeline/${fn}.ts`, hash: sha256(source), source, deps: r() < 0.3 ? [{ name: "lodash", version: "4.17.21" }] : [] },
    args: { hash: sha256(`args:${i}`), preview: `[${i}, {"limit":100}]`, blob: null },
    output,
    error,
    parent: null,
    createdAt: new Date(createdAt).toISOString(),
    durationMs: Math.floor(r() * 5000),
    attempts: 1,
    tags,
    expiresAt: r() < 0.1 ? new Date(createdAt + 30 * 86_400_000).toISOString() : null,
    provenance: { node: process.version, host: "bench", cashet: "0.1.0" },
    ...(Object.keys(inline).length ? { inline } : {}),
  };
}

// ---------------------------------------------------------------- fs store lifecycle

const tempDirs: string[] = [];
const openStores: FsStore[] = [];

function freshFsStore(label: string): FsStore {
  const dir = mkdtempSync(join(tmpdir(), `cashet-bench-${label}-`));
  tempDirs.push(dir);
  const store = new FsStore(dir);
  openStores.push(store);
  return store;
}

/** Stops the store's daemon (stopDaemon waits for its process to go), so its dir can be removed. */
async function shutdownFsStore(store: FsStore): Promise<void> {
  await store.stopDaemon();
  await store.close();
  openStores.splice(openStores.indexOf(store), 1);
}

/** Time from a cold FsStore to the answer of its first index call (spawns the daemon). */
async function firstIndexCallMs(store: FsStore): Promise<number> {
  const t0 = performance.now();
  await store.index.stats();
  return performance.now() - t0;
}

// ---------------------------------------------------------------- benchmarks

async function benchDaemonStart(main: FsStore): Promise<void> {
  const samples = [await firstIndexCallMs(main)];
  for (let k = 0; k < 2; k++) {
    const s = freshFsStore("start");
    samples.push(await firstIndexCallMs(s));
    await shutdownFsStore(s);
  }
  record({ name: "11 daemon first start (empty store)", store: "fs", ms: median(samples), ops: samples.length });
}

/**
 * The same first start, but with objects written before the daemon ever ran (as after
 * `hash-object --write` on a new store, or a lost index). Shows what the startup reindex costs.
 */
async function benchDaemonStartPopulated(big: Buffer): Promise<void> {
  const s = freshFsStore("populated");
  const db = new ObjectDb(s.objects);
  await db.putBlob(stamp(big, 999_999));
  for (let i = 0; i < 1000; i++) await db.putBlob(smallBlob(i));
  const ms = await firstIndexCallMs(s);
  await shutdownFsStore(s);
  record({ name: "11b daemon first start (64 MiB + 1000 small blobs pre-written)", store: "fs", ms, ops: 1 });
}

async function benchBlobs(store: Store, big: Buffer, text: Buffer): Promise<void> {
  const db = new ObjectDb(store.objects);
  const kind = store.kind;

  // 1, 2: small blobs
  const smallIds: string[] = [];
  const smallPut = await perOp(async (i) => smallIds.push((await db.putBlob(smallBlob(i))).id), { warmup: 200, batches: 7, perBatch: 500 });
  record({ name: "1 blob put, 100 B distinct", store: kind, usPerOp: smallPut.usPerOp, ops: smallPut.ops });
  const smallGet = await perOp(async (i) => mustGet(db, smallIds[i % smallIds.length]!), { warmup: 200, batches: 7, perBatch: 500 });
  record({ name: "2 blob get (verified), 100 B", store: kind, usPerOp: smallGet.usPerOp, ops: smallGet.ops });
  await deleteAll(store, smallIds);

  // 3, 4: 1 MiB incompressible
  const oneMiB = big.subarray(0, MiB);
  const midIds: string[] = [];
  const midPut = await perOp(async (i) => midIds.push((await db.putBlob(stamp(oneMiB, 1_000_000 + i))).id), { warmup: 5, batches: 5, perBatch: 20 });
  record({ name: "3 blob put, 1 MiB random distinct", store: kind, usPerOp: midPut.usPerOp, mbPerSec: mbps(MiB, midPut.usPerOp / 1000), ops: midPut.ops });
  const midGet = await perOp(async (i) => mustGet(db, midIds[i % midIds.length]!), { warmup: 5, batches: 5, perBatch: 20 });
  record({ name: "4 blob get (verified), 1 MiB", store: kind, usPerOp: midGet.usPerOp, mbPerSec: mbps(MiB, midGet.usPerOp / 1000), ops: midGet.ops });
  await deleteAll(store, midIds);

  // 5: 64 MiB incompressible, whole buffer and streamed
  const bigIds: string[] = [];
  const putMs = await perRep(async (r) => bigIds.push((await db.putBlob(stamp(big, 2_000_000 + r))).id), 3);
  record({ name: "5 blob put, 64 MiB random (putBlob)", store: kind, mbPerSec: mbps(LARGE, putMs), ms: putMs, ops: 3 });
  const streamMs = await perRep(
    async (r) => bigIds.push((await db.putBlobStream(Readable.from(chunksOf(stamp(big, 3_000_000 + r), MiB)))).id),
    3,
  );
  record({ name: "5 blob put, 64 MiB random (putBlobStream, 1 MiB chunks)", store: kind, mbPerSec: mbps(LARGE, streamMs), ms: streamMs, ops: 3 });
  // Read back one of each: a streamed frame has no content size in its header, which changes
  // how it decompresses.
  const fromPut = bigIds[0]!;
  const fromStream = bigIds[bigIds.length - 1]!;
  const getMs = await perRep(() => mustGet(db, fromPut), 3);
  record({ name: "5 blob get (verified), 64 MiB random, put by putBlob", store: kind, mbPerSec: mbps(LARGE, getMs), ms: getMs, ops: 3 });
  const getStreamedMs = await perRep(() => mustGet(db, fromStream), 3);
  record({ name: "5 blob get (verified), 64 MiB random, put by putBlobStream", store: kind, mbPerSec: mbps(LARGE, getStreamedMs), ms: getStreamedMs, ops: 3 });
  await deleteAll(store, bigIds);

  // 6: 64 MiB compressible
  const textIds: string[] = [];
  const textMs = await perRep(async (r) => textIds.push((await db.putBlob(stamp(text, 4_000_000 + r))).id), 3);
  record({ name: "6 blob put, 64 MiB text (putBlob)", store: kind, mbPerSec: mbps(LARGE, textMs), ms: textMs, ops: 3 });
  await deleteAll(store, textIds);
}

async function mustGet(db: ObjectDb, id: string): Promise<void> {
  if ((await db.getBlob(id)) === null) throw new Error(`blob ${id.slice(0, 12)} did not read back`);
}

/** Frees what a section wrote: keeps the temp dir (and memory) small between sections. */
async function deleteAll(store: Store, ids: string[]): Promise<void> {
  for (const id of ids) await store.objects.delete(id);
}

async function benchSha256(big: Buffer): Promise<void> {
  const ms = await perRep(async () => createHash("sha256").update(big).digest("hex"), 5);
  record({ name: "7 sha256 (node:crypto), 64 MiB — reference", store: "-", mbPerSec: mbps(LARGE, ms), ms, ops: 5 });
}

async function benchCommitsAndIndex(store: FsStore): Promise<void> {
  const db = new ObjectDb(store.objects);
  // Outputs too big to inline live in a shared pool of stored blobs, as repeated results would.
  const pool: PoolBlob[] = [];
  for (let k = 0; k < 200; k++) {
    const bytes = compressibleText(2048 + ((k * 977) % 6144));
    stamp(bytes, 5_000_000 + k);
    pool.push({ id: (await db.putBlob(bytes)).id, size: bytes.length });
  }
  const base = Date.now() - COMMITS_TOTAL * 60_000;
  const records = Array.from({ length: COMMITS_TOTAL }, (_, i) => commitRecord(i, pool, base));
  const ids: string[] = [];
  const putAndIndex = async (i: number): Promise<void> => {
    const { id } = await db.putCommit(records[i]!);
    await store.index.addCommit(id);
    ids.push(id);
  };

  // 8: one at a time, as a single runner does it
  const seq = await perOp(putAndIndex, COMMITS_SEQUENTIAL);
  record({ name: "8 commit put + index.addCommit (sequential)", store: "fs", usPerOp: seq.usPerOp, ops: seq.ops });

  // The rest of the 10,000, many in flight (as concurrent runners would); reported for contrast.
  const start = ids.length;
  const t0 = performance.now();
  let next = start;
  await Promise.all(
    Array.from({ length: BULK_CONCURRENCY }, async () => {
      while (next < COMMITS_TOTAL) await putAndIndex(next++);
    }),
  );
  const bulkUs = ((performance.now() - t0) * 1000) / (COMMITS_TOTAL - start);
  record({ name: `8b commit put + index.addCommit (${BULK_CONCURRENCY} in flight)`, store: "fs", usPerOp: bulkUs, ops: COMMITS_TOTAL - start });
  const stats = await store.index.stats();
  if (stats.totalCommits !== COMMITS_TOTAL) throw new Error(`index holds ${stats.totalCommits} commits, expected ${COMMITS_TOTAL}`);

  // 9: lookups against 10,000 indexed commits; a no-op call first, as the floor of every call
  const lookups: Batches = { warmup: 100, batches: 7, perBatch: 300 };
  const rtt = await perOp(() => store.daemonInfo(), lookups);
  record({ name: "9 daemon round trip, no-op (info), floor", store: "fs", usPerOp: rtt.usPerOp, ops: rtt.ops });
  const pick = rng(42);
  const entry = await perOp(async () => {
    if ((await store.index.entry(ids[Math.floor(pick() * ids.length)]!)) === null) throw new Error("entry missing");
  }, lookups);
  record({ name: "9 index.entry(id)", store: "fs", usPerOp: entry.usPerOp, ops: entry.ops });
  const log = await perOp(() => expectRows(store.index.log({ limit: 20 }), 20), lookups);
  record({ name: "9 index.log({limit: 20})", store: "fs", usPerOp: log.usPerOp, ops: log.ops });
  const byFunc = await perOp((i) => expectRows(store.index.log({ func: FUNCS[i % FUNCS.length]!, limit: 20 }), 20), lookups);
  record({ name: "9 index.log({func, limit: 20})", store: "fs", usPerOp: byFunc.usPerOp, ops: byFunc.ops });
  // Two filters, only one of which the index can seek on: shows the per-entry filtering cost.
  const byFuncFailed = await perOp((i) => store.index.log({ func: FUNCS[i % FUNCS.length]!, status: "failed", limit: 20 }), { warmup: 20, batches: 5, perBatch: 40 });
  record({ name: "9b index.log({func, status: failed, limit: 20})", store: "fs", usPerOp: byFuncFailed.usPerOp, ops: byFuncFailed.ops });

  // 10: refs
  const ref = `fp/${records[0]!.fingerprint}`;
  if (!(await store.refs.update(ref, ids[0]!, null))) throw new Error("ref create failed");
  const read = await perOp(async () => {
    if ((await store.refs.read(ref)) === null) throw new Error("ref missing");
  }, { warmup: 200, batches: 7, perBatch: 1000 });
  record({ name: "10 refs.read", store: "fs", usPerOp: read.usPerOp, ops: read.ops });
  let current = ids[0]!;
  const cas = await perOp(async (i) => {
    const target = ids[1 + (i % (ids.length - 1))]!;
    if (!(await store.refs.update(ref, target, current))) throw new Error("ref CAS lost");
    current = target;
  }, { warmup: 50, batches: 7, perBatch: 200 });
  record({ name: "10 refs.update (CAS, via daemon)", store: "fs", usPerOp: cas.usPerOp, ops: cas.ops });
}

async function expectRows(rows: Promise<unknown[]>, n: number): Promise<void> {
  const got = (await rows).length;
  if (got !== n) throw new Error(`log returned ${got} rows, expected ${n}`);
}

// ---------------------------------------------------------------- report

function fmt(v: number | null, digits: number): string {
  if (v === null) return "-";
  return v >= 100 ? v.toFixed(0) : v.toFixed(digits);
}

function table(rows: BenchResult[]): string {
  const head = ["benchmark", "store", "µs/op", "MB/s", "ms", "n"];
  const body = rows.map((r) => [r.name, r.store, fmt(r.usPerOp, 1), fmt(r.mbPerSec, 0), fmt(r.ms, 1), String(r.ops)]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function environment(): Record<string, string | number> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    tmpdir: tmpdir(), // fs numbers depend heavily on this filesystem (set TMPDIR to compare)
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = performance.now();
  const big = randomBytes(LARGE);
  const text = compressibleText(LARGE);
  const fs = freshFsStore("main");
  const memory = new MemoryStore();
  try {
    await benchDaemonStart(fs); // first, while the main store is still untouched
    await benchBlobs(fs, big, text);
    await benchBlobs(memory, big, text);
    await benchSha256(big);
    await benchCommitsAndIndex(fs);
    await benchDaemonStartPopulated(big);
  } finally {
    for (const s of [...openStores]) await shutdownFsStore(s).catch(() => undefined);
    await memory.close();
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  }
  // Group by row number, keep each row's fs/memory pair together, otherwise keep run order.
  const firstSeen = new Map<string, number>();
  results.forEach((r, i) => firstSeen.has(r.name) || firstSeen.set(r.name, i));
  const order = (r: BenchResult): number => parseFloat(r.name) * 1e6 + firstSeen.get(r.name)!;
  results.sort((a, b) => order(a) - order(b));
  const totalS = (performance.now() - started) / 1000;
  if (json) {
    process.stdout.write(`${JSON.stringify({ environment: environment(), totalSeconds: totalS, results }, null, 2)}\n`);
    return;
  }
  const env = environment();
  process.stdout.write(`cashet store bench — node ${env.node}, ${env.platform}, ${env.cpus}× ${env.cpu}, fs stores in ${env.tmpdir}\n`);
  process.stdout.write("MB/s = 10^6 bytes of blob content per second; µs/op and ms are medians of batches.\n\n");
  process.stdout.write(`${table(results)}\n\ntotal ${totalS.toFixed(1)} s\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
