// Two builds against each other in the same rounds, for changes smaller than this VM's noise
// between separate runs (±5 % on a CLI hit): a CLI hit (`cashet run tasks.mjs#triple 7`) as wall
// and CPU time (user + system, read in the child at exit), alternating ABBA beside `node -e 0`;
// then in-process repeated hits (submit + load) of both builds' Clients in this one process,
// alternating rounds of 1000. Reports medians and the median of the paired differences.
// `npm run build && node dist/bench/ab.js --before /tmp/before/dist [--after dist] [--runs 100] [--rounds 40]`
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { median } from "./median.js";
import { twice } from "./tasks.js";

function option(flag: string, fallback?: string): string {
  const i = process.argv.indexOf(flag);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`${flag} is required (a dist/ directory of the build to compare)`);
  return v;
}

const builds = { before: resolve(option("--before")), after: resolve(option("--after", fileURLToPath(new URL("..", import.meta.url)))) };
const sides = ["before", "after"] as const;
const runs = Number(option("--runs", "100"));
const rounds = Number(option("--rounds", "40"));
const dir = mkdtempSync(join(tmpdir(), "cashet-bench-ab-"));

interface Sample {
  wall: number;
  cpu: number;
}
const paired = (a: number[], b: number[]): number => median(a.map((x, i) => x - b[i]!));

/** A child's wall time, and the CPU time it reports at exit through a preloaded module. */
function once(args: string[]): Sample {
  const t = performance.now();
  const r = spawnSync(process.execPath, ["--import", pathToFileURL(join(dir, "cpu.mjs")).href, ...args], { encoding: "utf8" });
  const wall = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: Number(/^cashet-ab-cpu (\S+)$/m.exec(r.stderr)?.[1]) };
}

async function cliHits(): Promise<void> {
  writeFileSync(join(dir, "cpu.mjs"), `import { writeSync } from "node:fs";\nprocess.on("exit", () => { const u = process.cpuUsage(); writeSync(2, "cashet-ab-cpu " + (u.user + u.system) / 1000 + "\\n"); });\n`);
  copyFileSync(fileURLToPath(new URL("./cli-tasks.js", import.meta.url)), join(dir, "tasks.mjs"));
  const hit = (side: (typeof sides)[number]): string[] => [join(builds[side], "cmd/cli.js"), "run", `${join(dir, "tasks.mjs")}#triple`, "7", "--store", join(dir, side)];
  for (const side of sides) for (let i = 0; i < 3; i++) once(hit(side)); // the miss, the hit that keeps the analyses, one more
  const t = { node: [] as Sample[], before: [] as Sample[], after: [] as Sample[] };
  for (let i = 0; i < runs; i++) {
    t.node.push(once(["-e", "0"]));
    for (const side of i % 2 ? [...sides].reverse() : sides) t[side].push(once(hit(side)));
  }
  const m = (k: keyof typeof t, f: keyof Sample): number => median(t[k].map((s) => s[f]));
  process.stdout.write(`CLI hit, ${runs} rounds (node -e 0, then both builds in ABBA order); medians\n`);
  for (const k of ["node", ...sides] as const) {
    process.stdout.write(`  ${k.padEnd(6)} wall ${m(k, "wall").toFixed(1)} ms (${(m(k, "wall") / m("node", "wall")).toFixed(3)}×)   cpu ${m(k, "cpu").toFixed(1)} ms (${(m(k, "cpu") / m("node", "cpu")).toFixed(3)}×)\n`);
  }
  const d = (f: keyof Sample): string => paired(t.after.map((s) => s[f]), t.before.map((s) => s[f])).toFixed(2);
  process.stdout.write(`  after − before, median of paired rounds: wall ${d("wall")} ms, cpu ${d("cpu")} ms\n`);
  for (const side of sides) {
    const { FsStore } = (await import(pathToFileURL(join(builds[side], "plumbing/backends/fs/store.js")).href)) as typeof import("../plumbing/backends/fs/store.js");
    const store = new FsStore(join(dir, side), { create: false });
    await store.stopDaemon();
    await store.close();
  }
}

async function inProcessHits(): Promise<void> {
  const clients = [];
  for (const side of sides) {
    const { Client } = (await import(pathToFileURL(join(builds[side], "lib/client.js")).href)) as typeof import("../lib/client.js");
    const { FsStore } = (await import(pathToFileURL(join(builds[side], "plumbing/backends/fs/store.js")).href)) as typeof import("../plumbing/backends/fs/store.js");
    const store = new FsStore(join(dir, `in-process-${side}`));
    const client = new Client({ store });
    for (let i = 0; i < 1000; i++) await client.submit(twice, i); // misses
    for (let i = 0; i < 1000; i++) await (await client.submit(twice, i)).load(); // first hits: commits verified and remembered
    clients.push({ side, store, client, us: [] as number[] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of r % 2 ? [...clients].reverse() : clients) {
      const t = performance.now();
      for (let i = 0; i < 1000; i++) await (await c.client.submit(twice, i)).load();
      c.us.push(performance.now() - t); // ms per 1000 calls = µs per call
    }
  }
  process.stdout.write(`in-process repeated hit (submit + load), ${rounds} alternating rounds of 1000; medians per call\n`);
  for (const c of clients) process.stdout.write(`  ${c.side.padEnd(6)} ${median(c.us).toFixed(1)} µs (min ${Math.min(...c.us).toFixed(1)})\n`);
  process.stdout.write(`  after − before, median of paired rounds: ${paired(clients[1]!.us, clients[0]!.us).toFixed(2)} µs\n`);
  for (const c of clients) {
    await c.store.stopDaemon();
    await c.store.close();
  }
}

try {
  process.stdout.write(`before ${builds.before}\nafter  ${builds.after}\n`);
  await cliHits();
  await inProcessHits();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
