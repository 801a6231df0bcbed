// Whole processes, against ../shared/anchor-perf.md and against `node -e 0` measured in the same
// run: a CLI cache hit (a .mjs and a .ts task), `log` (20 rows) / `show` / `stats` on a store of
// 1000 runs, and 8 processes racing one uncached 0.5 s call. `npm run build && node dist/bench/cli.js [--json]`.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../lib/client.js";
import { FsStore } from "../plumbing/store/fs/store.js";
import { median } from "./median.js";
import { twice } from "./tasks.js";

const json = process.argv.includes("--json");
const CLI = fileURLToPath(new URL("../cmd/cli.js", import.meta.url));

interface Row {
  name: string;
  ours: number;
  /** What the row is compared with, and its figure. */
  against: string;
  theirs: number | null;
  unit: string;
}

/** Median wall time (ms) of `runs` runs of `node args…`. */
function wall(args: string[], runs: number, env: NodeJS.ProcessEnv = {}): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    execFileSync(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } });
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Runs `node args…` in `n` processes at once; resolves with each one's wall time (ms) when all exit. */
function race(n: number, args: string[], env: NodeJS.ProcessEnv): Promise<number[]> {
  const t = performance.now();
  return Promise.all(
    Array.from({ length: n }, () =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } });
        child.on("error", reject);
        child.on("exit", (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`exit ${code}`))));
      }),
    ),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-cli-"));
  const store = join(dir, ".cashet");
  const env = { CASHET_DIR: store };
  const rows: Row[] = [];
  try {
    writeFileSync(join(dir, "tasks.mjs"), `export function triple(x) {\n  return x * 3;\n}\n`);
    writeFileSync(join(dir, "tasks.ts"), `export function triple(x: number): number {\n  return x * 3;\n}\n`);
    writeFileSync(
      join(dir, "slow.mjs"),
      `import { appendFileSync } from "node:fs";\nexport function slow(log) {\n  appendFileSync(log, "ran\\n");\n  const until = Date.now() + 500;\n  while (Date.now() < until) {}\n  return "done";\n}\n`,
    );
    const node0 = wall(["-e", "0"], 9);
    rows.push({ name: "node -e 0 (this run's baseline)", ours: node0, against: "", theirs: null, unit: "ms" });

    for (const file of ["tasks.mjs", "tasks.ts"]) {
      const args = [CLI, "run", join(dir, `${file}#triple`), "7"];
      wall(args, 2, env); // the miss, then a hit that stores the module analyses
      rows.push({ name: `CLI hit: cashet run ${file}#triple 7`, ours: wall(args, 9, env), against: "node -e 0", theirs: node0, unit: "ms" });
    }

    // A store of 1000 runs, for log / show / stats.
    const fs = new FsStore(store);
    const client = new Client({ store: fs });
    let last = "";
    for (let i = 0; i < 1000; i++) last = (await client.submit(twice, i)).commit;
    await client.close();
    rows.push({ name: "CLI log (20 rows), wall", ours: wall([CLI, "log"], 5, env), against: "python cashet", theirs: 210, unit: "ms" });
    rows.push({ name: "CLI show <id>, wall", ours: wall([CLI, "show", last.slice(0, 12)], 5, env), against: "python cashet", theirs: 290, unit: "ms" });
    rows.push({ name: "CLI stats, wall", ours: wall([CLI, "stats"], 5, env), against: "python cashet", theirs: 200, unit: "ms" });

    // 8 processes, one uncached 0.5 s call: how many executions, and when the last one has the result.
    const log = join(dir, "slow.log");
    writeFileSync(log, "");
    const times = await race(8, [CLI, "run", `${join(dir, "slow.mjs")}#slow`, log], env);
    const executions = readFileSync(log, "utf8").split("\n").filter(Boolean).length;
    rows.push({ name: "8 processes racing one 0.5 s call: executions", ours: executions, against: "python cashet", theirs: 1, unit: "" });
    rows.push({ name: "8 processes racing one 0.5 s call: last result", ours: Math.max(...times), against: "python cashet", theirs: 820, unit: "ms" });
    await new FsStore(store, { create: false }).stopDaemon();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  const fmt = (v: number): string => (v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1));
  process.stdout.write("whole processes (fs store); anchors from ../shared/anchor-perf.md, node -e 0 from this run\n\n");
  process.stdout.write(`${"workload".padEnd(50)}${"cashet-ts".padStart(11)}   against${"".padStart(8)}${"theirs".padStart(9)}${"ratio".padStart(8)}\n`);
  for (const r of rows) {
    const theirs = r.theirs === null ? "" : `${fmt(r.theirs)} ${r.unit}`;
    const ratio = r.theirs === null ? "" : `${(r.ours / r.theirs).toFixed(2)}×`;
    process.stdout.write(`${r.name.padEnd(50)}${`${fmt(r.ours)} ${r.unit}`.padStart(11)}   ${r.against.padEnd(15)}${theirs.padStart(9)}${ratio.padStart(8)}\n`);
  }
}

await main();
