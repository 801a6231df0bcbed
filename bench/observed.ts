// What checking observed inputs adds to a hit: the same repeated in-process hit (submit + load)
// of a task that read 10 files and of one that read none, in alternating rounds on one FsStore.
// An unchanged file should cost one stat through the kept content hashes: the target is ≤ 30 µs
// more per hit. `npm run build && node dist/bench/observed.js [--json]`.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../lib/client.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { median } from "./median.js";

const FILES = 10;
const ROUNDS = 40;
const HITS = 200;

/** Reads the `n` files in `dir`: 10 observed inputs. */
export function readsFiles(dir: string, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += readFileSync(join(dir, `input-${i}.csv`)).length;
  return total;
}

/** The same call shape, reading nothing. */
export function readsNothing(dir: string, n: number): number {
  return dir.length + n;
}

const dir = mkdtempSync(join(tmpdir(), "cashet-bench-observed-"));
const store = new FsStore(join(dir, "store"));
try {
  const data = join(dir, "data");
  mkdirSync(data);
  for (let i = 0; i < FILES; i++) writeFileSync(join(data, `input-${i}.csv`), `${"x,y\n".repeat(1000)}${i}\n`);
  await new Promise((r) => setTimeout(r, 100)); // older than a clock tick: their hashes are kept
  const client = new Client({ store });
  const first = await client.submit(readsFiles, data, FILES);
  await client.submit(readsNothing, data, FILES);
  const observed = (await client.show(first.commit)).observed;
  if (observed?.files.length !== FILES) throw new Error(`the task's commit records ${observed?.files.length} files, not ${FILES}`);

  const perHit = async (fn: typeof readsFiles): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < HITS; i++) {
      const ref = await client.submit(fn, data, FILES);
      if (!ref.cached) throw new Error("a repeated call ran");
      await ref.load();
    }
    return ((performance.now() - t) / HITS) * 1000;
  };
  await perHit(readsFiles); // warm both paths
  await perHit(readsNothing);
  const none: number[] = [];
  const ten: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    none.push(await perHit(readsNothing));
    ten.push(await perHit(readsFiles));
  }
  // Paired rounds: each difference is of two rounds run back to back, in the same window of this VM's noise.
  const rows = {
    none: median(none),
    ten: median(ten),
    extra: median(ten.map((t, i) => t - none[i]!)),
    extraOfFastest: Math.min(...ten) - Math.min(...none),
  };
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify({ ...rows, none, ten }, null, 2)}\n`);
  else {
    process.stdout.write(`observed inputs on a hit (submit + load, same process, ${ROUNDS} rounds of ${HITS}; medians)\n`);
    process.stdout.write(`  hit, nothing observed          ${rows.none.toFixed(1)} µs (${Math.min(...none).toFixed(0)}–${Math.max(...none).toFixed(0)})\n`);
    process.stdout.write(`  hit, ${FILES} observed files         ${rows.ten.toFixed(1)} µs (${Math.min(...ten).toFixed(0)}–${Math.max(...ten).toFixed(0)})\n`);
    process.stdout.write(`  extra for ${FILES} files (target ≤ 30) ${rows.extra.toFixed(1)} µs (median of paired rounds; ${rows.extraOfFastest.toFixed(1)} µs between the fastest rounds)\n`);
  }
} finally {
  await store.stopDaemon();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
