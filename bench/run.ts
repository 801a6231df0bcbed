// Every workload of ../shared/anchor-perf.md, in one run and one table against its Python cashet
// and joblib figures: in this process a trivial miss, a hit (submit + load), a 10 MiB
// incompressible result, a 1.1 M-float list, the 3-step pipeline's cached run, disk for 1000 tiny
// results and a 1,000-node DAG through submitMany — each on a fresh FsStore — then the
// whole-process rows of bench/cli.ts. `npm run build && node dist/bench/run.js [--json] [--in-process]`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../lib/client.js";
import { ResultRef } from "../porcelain/result-ref.js";
import { TaskRef } from "../lib/task-ref.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { processRows } from "./cli.js";
import { medianRow, table, type Row } from "./report.js";
import { floats, incompressible, loadRows, node, normalize, summarize, tenMiB, twice } from "./tasks.js";

const json = process.argv.includes("--json");
const inProcessOnly = process.argv.includes("--in-process");
const REPS = 3;
const FLOATS = 1_100_000;

/** Bytes of every file under `dir` (apparent sizes) and the blocks they occupy, like `du`. */
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

/** A fresh FsStore in a temp dir for `body`; afterwards its daemon is stopped, the store closed and the dir removed. */
async function withStore<T>(name: string, body: (store: FsStore, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `cashet-bench-${name}-`));
  const store = new FsStore(dir);
  try {
    return await body(store, dir);
  } finally {
    await store.stopDaemon();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ms of `body`. */
async function time(body: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await body();
  return performance.now() - t;
}

/** The trivial miss and hit, the pipeline, and the large results, on one store. */
function calls(): Promise<Row[]> {
  return withStore("run", async (store) => {
    const rows: Row[] = [];
    // One client throughout, as a program would use it; the large-result hits use fresh ones.
    const client = new Client({ store });
    await client.submit(twice, -1); // start the daemon, warm the function hash

    // 1000 distinct calls per round, each round on arguments never seen before.
    const misses: number[] = [];
    for (let round = 0; round < REPS; round++) {
      const from = round * 1000;
      const ms = await time(async () => {
        for (let i = from; i < from + 1000; i++) await client.submit(twice, i);
      });
      misses.push(ms / 1000);
    }
    rows.push(medianRow("miss, trivial f(i)=i*2, 1000 distinct calls, per call", misses.map((ms) => ms * 1000), "µs", 5300, 1400));

    // The first hit of a commit in a process reads and verifies it (and touches it for gc); later
    // ones answer from the process's memory of verified commits. Python cashet and joblib have no
    // such memory: their one figure stands against both rows.
    const hits: number[] = [];
    for (let round = 0; round < 8; round++) {
      const ms = await time(async () => {
        for (let i = 0; i < 1000; i++) await (await client.submit(twice, i)).load();
      });
      hits.push(ms / 1000);
    }
    rows.push({ name: "hit, same process, submit + load, first of each commit, per call", ours: hits[0]! * 1000, unit: "µs", python: 1860, joblib: 81 });
    rows.push(medianRow("hit, same process, submit + load, repeated, per call", hits.slice(1).map((ms) => ms * 1000), "µs", 1860, 81));

    // The 3-step pipeline (load → normalize → summarize, chained by ResultRefs), all cached.
    const pipeline = async (): Promise<void> => {
      const raw = await client.submit(loadRows, 10_000);
      const norm = await client.submit(normalize, raw as ResultRef<number[]>);
      await (await client.submit(summarize, norm as ResultRef<number[]>)).load();
    };
    await pipeline();
    const pipes: number[] = [];
    for (let i = 0; i < 20; i++) pipes.push(await time(pipeline));
    rows.push(medianRow("3-step pipeline, second (all-cached) run", pipes, "ms", 6.7, null));

    // Distinct random contents per round: a repeated blob would take the dedup path.
    for (let seed = 0; seed < REPS; seed++) incompressible[seed] = randomBytes(10 * 1024 * 1024);
    const bigMisses: number[] = [];
    for (let seed = 0; seed < REPS; seed++) bigMisses.push(await time(() => client.submit(tenMiB, seed)));
    rows.push(medianRow("10 MiB incompressible bytes: miss", bigMisses, "ms", 294, 59));
    const bigHits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const fresh = new Client({ store }); // nothing remembered in memory
      bigHits.push(await time(async () => (await fresh.submit(tenMiB, i % REPS)).load()));
    }
    rows.push(medianRow("10 MiB incompressible bytes: hit + load", bigHits, "ms", 18.7, 5.0));

    const listMisses: number[] = [];
    for (let round = 0; round < REPS; round++) listMisses.push(await time(() => client.submit(floats, FLOATS + round)));
    rows.push(medianRow("list of 1.1 M floats: miss", listMisses, "ms", 576, 1019));
    const listHits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const fresh = new Client({ store });
      listHits.push(await time(async () => (await fresh.submit(floats, FLOATS + (i % REPS))).load()));
    }
    rows.push(medianRow("list of 1.1 M floats: hit + load", listHits, "ms", 75, 456));
    incompressible.length = 0;
    return rows;
  });
}

/** Disk for 1000 tiny results. Python cashet: 1.24 MB plus 1000 stray lock files; joblib: 8.2 MB allocated. */
function tinyResultsDisk(): Promise<Row[]> {
  return withStore("disk", async (store, dir) => {
    const client = new Client({ store });
    for (let i = 0; i < 1000; i++) await client.submit(twice, i);
    await store.stopDaemon(); // the index settles on disk
    const { allocated, bytes, files } = diskUse(dir);
    return [
      { name: `disk for 1000 tiny results, allocated (${files} files)`, ours: allocated / 1e6, unit: "MB", python: 1.24, joblib: 8.2 },
      { name: "disk for 1000 tiny results, file bytes", ours: bytes / 1e6, unit: "MB", python: null, joblib: null },
    ];
  });
}

/** A 1,000-node layered DAG through submitMany (each node reads two earlier ones): first and fully cached runs, per node. */
function dag(): Promise<Row[]> {
  return withStore("dag", async (store) => {
    const client = new Client({ store, maxWorkers: 8 });
    // `base` makes each round's graph new to the store.
    const graph = (base: number) =>
      Array.from({ length: 1000 }, (_, i) =>
        i < 10 ? ([node, [base + i, []]] as const) : ([node, [base + i, [TaskRef(i - 10), TaskRef((i * 7) % (i - 9))]]] as const),
      );
    const first: number[] = [];
    const again: number[] = [];
    for (let round = 0; round < REPS; round++) {
      const batch = graph(round * 1000);
      first.push(await time(() => client.submitMany(batch)));
      const refs = await client.submitMany(batch);
      if (refs.some((r) => !r.cached)) throw new Error("the second run of the DAG executed something");
      again.push(await time(() => client.submitMany(batch)));
    }
    return [
      medianRow("1,000-node DAG (submitMany, 8 at a time), first run, per node", first, "µs", null, null),
      medianRow("1,000-node DAG, fully cached run, per node", again, "µs", null, null),
    ];
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const rows = [...(await calls()), ...(await tinyResultsDisk()), ...(await dag())];
  if (!inProcessOnly) rows.push(...(await processRows()));
  if (json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  process.stdout.write(
    `anchor workloads (fs stores in ${tmpdir()}) — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}\n` +
      "cashet-ts is the median (spread: min–max); python / joblib are ../shared/anchor-perf.md's figures from another run\n" +
      "(±35 % between windows on these VMs); × node -e 0 is against node -e 0 run alternately with the row's runs.\n\n" +
      `${table(rows)}\n\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

await main();
