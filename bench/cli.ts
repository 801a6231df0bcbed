// Whole processes, against ../shared/anchor-perf.md and against `node -e 0` run alternately with
// them (the fair floor on a noisy VM): a cold process doing 1000 hits, a CLI cache hit (.mjs and
// .ts task), `log` (20 rows) / `show` / `stats` on a store of 1000 runs, and 8 processes racing
// one uncached 0.5 s call. bench/run.ts reports these rows in its table; alone:
// `npm run build && node dist/bench/cli.js [--json]`.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../lib/client.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { median } from "./median.js";
import { medianRow, table, type Row } from "./report.js";
import { twice } from "./tasks.js";

const CLI = fileURLToPath(new URL("../cmd/cli.js", import.meta.url));
const COLD_CHILD = fileURLToPath(new URL("./cold-hits.js", import.meta.url));
const TASKS_JS = fileURLToPath(new URL("./cli-tasks.js", import.meta.url));
const TASKS_TS = fileURLToPath(new URL("../../bench/cli-tasks.ts", import.meta.url));
const RACERS = 8;

/** Wall time (ms) of one `node args…`, which must exit 0. */
function once(args: string[]): number {
  const t = performance.now();
  execFileSync(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
  return performance.now() - t;
}

/** `runs` runs of `node args…`, each after a run of `node -e 0`, so both see the same windows of this VM's noise. */
function againstNode(args: string[], runs: number): { ours: number[]; node: number } {
  const ours: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(once(["-e", "0"]));
    ours.push(once(args));
  }
  return { ours, node: median(node) };
}

/** Runs `node args…` in `n` processes at once; resolves with each one's wall time (ms) when all exit. */
function race(n: number, args: string[]): Promise<number[]> {
  const t = performance.now();
  return Promise.all(
    Array.from({ length: n }, () =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
        child.on("error", reject);
        child.on("exit", (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`a racer exited with ${code}`))));
      }),
    ),
  );
}

/** The whole-process rows of the anchor table. Every store it makes is removed, its daemon stopped. */
export async function processRows(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-cli-"));
  const store = join(dir, ".cashet");
  const rows: Row[] = [];
  const cli = (...args: string[]): string[] => [CLI, ...args, "--store", store];
  try {
    copyFileSync(TASKS_JS, join(dir, "tasks.mjs"));
    copyFileSync(TASKS_TS, join(dir, "tasks.ts"));

    // A store of 1000 runs of twice: the cold process's hits, and what log / show / stats read.
    const fs = new FsStore(store);
    const client = new Client({ store: fs });
    let last = "";
    for (let i = 0; i < 1000; i++) last = (await client.submit(twice, i)).commit;
    await client.close();

    const baseline: number[] = [];
    const cold = againstNode([COLD_CHILD, store], 5);
    baseline.push(cold.node);
    rows.push(medianRow("cold process: start, import, 1000 hits, exit", cold.ours.map((ms) => ms / 1000), "s", 1.73, 0.56, cold.node / 1000));

    for (const file of ["tasks.mjs", "tasks.ts"]) {
      const args = cli("run", `${join(dir, file)}#triple`, "7");
      once(args); // the miss
      once(args); // a hit that stores the module analyses
      const hit = againstNode(args, 9);
      baseline.push(hit.node);
      rows.push(medianRow(`CLI hit: cashet run ${file}#triple 7`, hit.ours, "ms", null, null, hit.node));
    }

    const commands: [string, string[], number][] = [
      ["CLI log --limit 20, wall", ["log", "--limit", "20"], 210],
      ["CLI show <id>, wall", ["show", last.slice(0, 12)], 290],
      ["CLI stats, wall", ["stats"], 200],
    ];
    for (const [name, args, python] of commands) {
      const m = againstNode(cli(...args), 7);
      baseline.push(m.node);
      rows.push(medianRow(name, m.ours, "ms", python, null, m.node));
    }

    // 8 processes, one uncached 0.5 s call (a fresh log file per round, so a fresh call): how many
    // executions, and when the last process has the result. One process alone is the floor.
    const slow = (log: string): string[] => cli("run", `${join(dir, "tasks.mjs")}#slow`, log);
    const alone: number[] = [];
    const executions: number[] = [];
    const lastResult: number[] = [];
    for (let round = 0; round < 3; round++) {
      const log = join(dir, `slow-${round}.log`);
      writeFileSync(log, "");
      const times = await race(RACERS, slow(log));
      executions.push(readFileSync(log, "utf8").split("\n").filter(Boolean).length);
      lastResult.push(Math.max(...times));
      alone.push(once(slow(join(dir, `alone-${round}.log`))));
    }
    rows.push(medianRow("1 process, the same kind of uncached 0.5 s call (CLI miss)", alone, "ms", null, null));
    rows.push(medianRow(`${RACERS} processes racing one 0.5 s call: executions`, executions, "", 1, RACERS));
    rows.push(medianRow(`${RACERS} processes racing one 0.5 s call: last result`, lastResult, "ms", 820, 560));
    rows.unshift({ name: "node -e 0 (this run's floor)", ours: median(baseline), unit: "ms", python: null, joblib: null, samples: baseline });
  } finally {
    if (existsSync(store)) {
      const fs = new FsStore(store, { create: false });
      await fs.stopDaemon();
      await fs.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await processRows();
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(`whole processes (fs store); anchors from ../shared/anchor-perf.md, node -e 0 from this run\n\n${table(rows)}\n`);
}
