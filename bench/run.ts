// The memoized call through the library, against ../shared/anchor-perf.md: a trivial miss, a hit
// (submit + load), a cold process doing 1000 hits, a 10 MiB incompressible result, a 1.1 M-float
// list, the 3-step pipeline's cached run, disk for 1000 tiny results, and a 1,000-node DAG
// through submitMany — each on a fresh FsStore. `npm run build && node dist/bench/run.js [--json]`.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../lib/client.js";
import { ResultRef } from "../lib/result-ref.js";
import { TaskRef } from "../lib/task-ref.js";
import { FsStore } from "../plumbing/store/fs/store.js";
import { median } from "./median.js";
import { loadRows, node, normalize, summarize, twice } from "./tasks.js";

const json = process.argv.includes("--json");

const BIG = randomBytes(10 * 1024 * 1024);
export function tenMiB(seed: number): Buffer {
  return seed >= 0 ? BIG : Buffer.alloc(0);
}
export function floats(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i * 0.001);
}

interface Row {
  name: string;
  ours: number;
  python: number | null;
  joblib: number | null;
  unit: "µs" | "ms" | "s" | "MB" | "";
}

/** Bytes of every file under `dir` (apparent sizes) and the blocks they occupy. */
function diskUse(dir: string): { bytes: number; allocated: number; files: number } {
  const out = { bytes: 0, allocated: 0, files: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const st = statSync(join(entry.parentPath, entry.name));
    out.bytes += st.size;
    out.allocated += st.blocks * 512;
    out.files++;
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-run-"));
  const store = new FsStore(dir);
  const client = new Client({ store });
  const rows: Row[] = [];
  try {
    await client.submit(twice, -1); // start the daemon, warm the function hash
    let t = performance.now();
    for (let i = 0; i < 1000; i++) await client.submit(twice, i);
    rows.push({ name: "miss, trivial f(i)=i*2, per call", ours: ((performance.now() - t) * 1000) / 1000, python: 5300, joblib: 1400, unit: "µs" });

    const hits: number[] = [];
    for (let round = 0; round < 5; round++) {
      t = performance.now();
      for (let i = 0; i < 1000; i++) await (await client.submit(twice, i)).load();
      hits.push(((performance.now() - t) * 1000) / 1000);
    }
    rows.push({ name: "hit, same process, submit + load, per call", ours: median(hits), python: 1860, joblib: 81, unit: "µs" });

    // A fresh process: start Node, import cashet, 1000 hits of the store warmed above, exit.
    const child = fileURLToPath(new URL("./cold-hits.js", import.meta.url));
    const colds: number[] = [];
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      execFileSync(process.execPath, [child, dir], { stdio: "inherit" });
      colds.push(performance.now() - t);
    }
    rows.push({ name: "cold process: start, import, 1000 hits, exit", ours: median(colds) / 1000, python: 1.73, joblib: 0.56, unit: "s" });

    // The 3-step pipeline (load → normalize → summarize, chained by ResultRefs), second run.
    const pipeline = async (): Promise<void> => {
      const raw = await client.submit(loadRows, 10_000);
      const norm = await client.submit(normalize, raw as ResultRef<number[]>);
      await (await client.submit(summarize, norm as ResultRef<number[]>)).load();
    };
    await pipeline();
    const pipes: number[] = [];
    for (let i = 0; i < 20; i++) {
      t = performance.now();
      await pipeline();
      pipes.push(performance.now() - t);
    }
    rows.push({ name: "3-step pipeline, second (all-cached) run", ours: median(pipes), python: 6.7, joblib: null, unit: "ms" });

    t = performance.now();
    await client.submit(tenMiB, 1);
    rows.push({ name: "10 MiB incompressible bytes: miss", ours: performance.now() - t, python: 294, joblib: 59, unit: "ms" });
    const bigHits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const fresh = new Client({ store }); // a new client: nothing remembered in memory
      t = performance.now();
      await (await fresh.submit(tenMiB, 1)).load();
      bigHits.push(performance.now() - t);
    }
    rows.push({ name: "10 MiB incompressible bytes: hit + load", ours: median(bigHits), python: 18.7, joblib: 5.0, unit: "ms" });

    t = performance.now();
    await client.submit(floats, 1_100_000);
    rows.push({ name: "list of 1.1 M floats: miss", ours: performance.now() - t, python: 576, joblib: 1019, unit: "ms" });
    const listHits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const fresh = new Client({ store });
      t = performance.now();
      await (await fresh.submit(floats, 1_100_000)).load();
      listHits.push(performance.now() - t);
    }
    rows.push({ name: "list of 1.1 M floats: hit + load", ours: median(listHits), python: 75, joblib: 456, unit: "ms" });
  } finally {
    await store.stopDaemon();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
  rows.push(...(await tinyResultsDisk()), ...(await dag()));
  if (json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  process.stdout.write("in-process memoized call (fs store) vs anchor-perf.md (Python cashet 0.4.3, joblib 1.2.0; their figures are from another run)\n\n");
  process.stdout.write(`${"workload".padEnd(46)}${"cashet-ts".padStart(11)}${"python".padStart(10)}${"ratio".padStart(8)}${"joblib".padStart(10)}${"ratio".padStart(8)}\n`);
  for (const r of rows) {
    const unit = r.unit;
    process.stdout.write(
      `${r.name.padEnd(46)}${`${fmt(r.ours)} ${unit}`.padStart(11)}${r.python === null ? "—".padStart(10) + "".padStart(8) : `${`${fmt(r.python)} ${unit}`.padStart(10)}${(r.ours / r.python).toFixed(2).padStart(7)}×`}` +
        `${r.joblib === null ? "—".padStart(10) : `${fmt(r.joblib)} ${unit}`.padStart(10)}${r.joblib === null ? "".padStart(8) : `${(r.ours / r.joblib).toFixed(2).padStart(7)}×`}\n`,
    );
  }
}

/** Disk for 1000 tiny results (the anchor: 1.24 MB plus 1000 lock files for the Python cashet, 8.2 MB for joblib). */
async function tinyResultsDisk(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-disk-"));
  const store = new FsStore(dir);
  const client = new Client({ store });
  try {
    for (let i = 0; i < 1000; i++) await client.submit(twice, i);
    await store.stopDaemon(); // the index settles on disk
    const { allocated, bytes, files } = diskUse(dir);
    return [
      { name: `disk for 1000 tiny results (allocated; ${files} files)`, ours: allocated / 1e6, python: 1.24, joblib: 8.2, unit: "MB" },
      { name: "disk for 1000 tiny results (file bytes)", ours: bytes / 1e6, python: null, joblib: null, unit: "MB" },
    ];
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A 1,000-node layered DAG through submitMany (each node reads two earlier ones): first run and fully cached run, per node. */
async function dag(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-dag-"));
  const store = new FsStore(dir);
  const client = new Client({ store, maxWorkers: 8 });
  const batch = Array.from({ length: 1000 }, (_, i) =>
    i < 10 ? ([node, [i, []]] as const) : ([node, [i, [TaskRef(i - 10), TaskRef((i * 7) % (i - 9))]]] as const),
  );
  try {
    let t = performance.now();
    await client.submitMany(batch);
    const first = (performance.now() - t) / 1000;
    const again: number[] = [];
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const refs = await client.submitMany(batch);
      again.push((performance.now() - t) / 1000);
      if (refs.some((r) => !r.cached)) throw new Error("the second run of the DAG executed something");
    }
    return [
      { name: "1,000-node DAG (submitMany), first run, per node", ours: first * 1000, python: null, joblib: null, unit: "µs" },
      { name: "1,000-node DAG, fully cached run, per node", ours: median(again) * 1000, python: null, joblib: null, unit: "µs" },
    ];
  } finally {
    await store.stopDaemon();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
