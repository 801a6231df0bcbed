// Only bench/cli.ts's CLI-hit rows, with more runs: `cashet run tasks.mjs#triple 7` and
// `tasks.ts#triple 7` hits, each round after a `node -e 0` (the floor, in the same window of this
// VM's noise); medians and the ratios to node. `--dist DIR` picks the compiled cashet measured
// (its cmd/cli.js, and its checkout's bench/cli-tasks.ts), default this one's:
// `npm run build && node dist/bench/cli-hit.js [--dist /work/baseline/dist] [--runs 30] [--json]`.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { FsStore as FsStoreClass } from "../plumbing/backends/fs/store.js";
import { median } from "./median.js";

function option(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Wall time (ms) of one `node args…`, which must exit 0. */
function once(args: string[]): number {
  const t = performance.now();
  execFileSync(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
  return performance.now() - t;
}

const dist = resolve(option("--dist") ?? process.env.CASHET_BENCH_DIST ?? fileURLToPath(new URL("..", import.meta.url)));
const runs = Number(option("--runs") ?? 30);
const dir = mkdtempSync(join(tmpdir(), "cashet-bench-cli-hit-"));
const store = join(dir, ".cashet");
const { FsStore } = (await import(pathToFileURL(join(dist, existsSync(join(dist, "plumbing/backends")) ? "plumbing/backends/fs/store.js" : "plumbing/store/fs/store.js")).href)) as { FsStore: typeof FsStoreClass };
try {
  copyFileSync(join(dist, "bench/cli-tasks.js"), join(dir, "tasks.mjs"));
  copyFileSync(join(dist, "../bench/cli-tasks.ts"), join(dir, "tasks.ts"));
  const hit = (file: string): string[] => [join(dist, "cmd/cli.js"), "run", `${join(dir, file)}#triple`, "7", "--store", store];
  const files = ["tasks.mjs", "tasks.ts"];
  for (const file of files) {
    once(hit(file)); // the miss
    once(hit(file)); // a hit that stores the module analyses
  }
  const node: number[] = [];
  const ours: Record<string, number[]> = { "tasks.mjs": [], "tasks.ts": [] };
  for (let i = 0; i < runs; i++) {
    node.push(once(["-e", "0"]));
    for (const file of files) ours[file]!.push(once(hit(file)));
  }
  const rows = files.map((file) => ({
    name: `cashet run ${file}#triple 7 (hit)`,
    ms: median(ours[file]!),
    spread: [Math.min(...ours[file]!), Math.max(...ours[file]!)],
    ratio: median(ours[file]!) / median(node),
  }));
  const result = { dist, runs, nodeMs: median(node), nodeSpread: [Math.min(...node), Math.max(...node)], rows };
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`CLI hits from ${dist}, ${runs} rounds of node -e 0 then each hit; medians\n`);
    process.stdout.write(`  node -e 0                          ${result.nodeMs.toFixed(1)} ms (${Math.round(Math.min(...node))}–${Math.round(Math.max(...node))})\n`);
    for (const r of rows) process.stdout.write(`  ${r.name.padEnd(34)} ${r.ms.toFixed(1)} ms (${Math.round(r.spread[0]!)}–${Math.round(r.spread[1]!)})  ${r.ratio.toFixed(2)}× node -e 0\n`);
  }
} finally {
  if (existsSync(store)) {
    const fs = new FsStore(store, { create: false });
    await fs.stopDaemon();
    await fs.close();
  }
  rmSync(dir, { recursive: true, force: true });
}
