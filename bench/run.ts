// The memoized call in process, against ../shared/anchor-perf.md: a trivial miss, a hit
// (submit + load), a 10 MiB incompressible result (miss, hit + load) and a 1.1 M-float list,
// on a fresh FsStore. `npm run build && node dist/bench/run.js [--json]`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../lib/client.js";
import { FsStore } from "../plumbing/store/fs/store.js";
import { median } from "./median.js";

const json = process.argv.includes("--json");

export function twice(i: number): number {
  return i * 2;
}
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
  python: number;
  joblib: number | null;
  unit: "µs" | "ms";
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
  if (json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  process.stdout.write("in-process memoized call (fs store) vs anchor-perf.md (Python cashet 0.4.3, joblib 1.2.0; their figures are from another run)\n\n");
  process.stdout.write(`${"workload".padEnd(46)}${"cashet-ts".padStart(11)}${"python".padStart(10)}${"ratio".padStart(8)}${"joblib".padStart(10)}${"ratio".padStart(8)}\n`);
  for (const r of rows) {
    const unit = r.unit;
    process.stdout.write(
      `${r.name.padEnd(46)}${`${fmt(r.ours)} ${unit}`.padStart(11)}${`${fmt(r.python)} ${unit}`.padStart(10)}${(r.ours / r.python).toFixed(2).padStart(7)}×` +
        `${r.joblib === null ? "—".padStart(10) : `${fmt(r.joblib)} ${unit}`.padStart(10)}${r.joblib === null ? "".padStart(8) : `${(r.ours / r.joblib).toFixed(2).padStart(7)}×`}\n`,
    );
  }
}

await main();
