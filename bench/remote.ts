// The remote cache over loopback, in one run: `cashet serve` in its own process on a FsStore, and
// this process as another machine. Rows: a hit answered by the server (HttpStore, one request),
// the first hit of a call through a local store that reads through (fetch, verify, store and
// index locally), the local hits after it, a FsStore hit for scale; then large objects up and
// down (MB/s of stored bytes, both sides verifying) and the server's peak memory.
// `npm run build && node dist/bench/remote.js [--json]`.
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../lib/client.js";
import { compress } from "../plumbing/compress.js";
import { sha256 } from "../plumbing/ids.js";
import { decodeObject } from "../plumbing/objects.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { HttpStore } from "../plumbing/backends/http/store.js";
import { RemoteCachedStore } from "../plumbing/backends/remote.js";
import { CLI, startServe } from "../test/helpers/cli.js";
import { median } from "./median.js";
import { twice } from "./tasks.js";

const json = process.argv.includes("--json");
const MIB = randomBytes(1 << 20);

export function oneMiB(seed: number): Buffer {
  return seed >= 0 ? MIB : Buffer.alloc(0);
}

interface Row {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** Median µs per hit (submit + load) over five rounds of `n` calls. */
async function hitRounds(client: Client, fn: (i: number) => unknown, distinct: number, n: number): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) await (await client.submit(fn as (i: number) => number, i % distinct)).load();
    rounds.push(((performance.now() - t) * 1000) / n);
  }
  return median(rounds);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "cashet-bench-remote-"));
  const { url, child } = await startServe(["--store", join(root, "server"), "--token", "bench"]);
  const remote = (): HttpStore => new HttpStore(url, { token: "bench" });
  const rows: Row[] = [];
  const opened: FsStore[] = [];
  const local = (name: string): FsStore => {
    const s = new FsStore(join(root, name));
    opened.push(s);
    return s;
  };
  try {
    // Machine A computes and uploads.
    const a = new Client({ store: new RemoteCachedStore(local("a"), remote()) });
    for (let i = 0; i < 1000; i++) await a.submit(twice, i);
    for (let i = 0; i < 3; i++) await a.submit(oneMiB, i);

    const direct = new Client({ store: remote() });
    await direct.submit(twice, 0);
    rows.push({ name: "remote hit, small result: HttpStore (1 request)", value: await hitRounds(direct, twice, 100, 1000), unit: "µs" });
    rows.push({ name: "remote hit, 1 MiB result: HttpStore (1 request)", value: await hitRounds(direct, oneMiB, 3, 50), unit: "µs" });

    // Machine B: an empty local store reading through; each call's first hit fetches it, later ones are local.
    const b = new Client({ store: new RemoteCachedStore(local("b"), remote()) });
    await b.submit(twice, 999);
    const t = performance.now();
    for (let i = 0; i < 500; i++) await (await b.submit(twice, i)).load();
    rows.push({ name: "first hit via read-through (fetch, verify, store, index)", value: ((performance.now() - t) * 1000) / 500, unit: "µs", note: "500 calls" });
    rows.push({ name: "hit after it, from the local copy", value: await hitRounds(b, twice, 100, 1000), unit: "µs" });
    // A Redis store hit, the other way to share a cache between machines, for comparison in the same run.
    const { RedisStore } = await import("../plumbing/backends/redis/store.js");
    const redis = await new RedisStore(process.env.CASHET_TEST_REDIS ?? "redis://127.0.0.1:6379", { prefix: `cashet-bench-remote:${process.pid}:` })
      .ready()
      .catch(() => null);
    if (redis) {
      const r = new Client({ store: redis });
      for (let i = 0; i < 100; i++) await r.submit(twice, i);
      rows.push({ name: "RedisStore hit, small result (same run)", value: await hitRounds(r, twice, 100, 1000), unit: "µs" });
      await redis.destroy();
      await r.close();
    }
    const plain = new Client({ store: local("b-plain") });
    for (let i = 0; i < 100; i++) await plain.submit(twice, i);
    rows.push({ name: "FsStore hit, no remote (for scale)", value: await hitRounds(plain, twice, 100, 1000), unit: "µs" });

    // Misses: the upload a run adds (blobs the server lacks, commit, ref).
    const c = new Client({ store: new RemoteCachedStore(local("c"), remote()) });
    const c0 = new Client({ store: local("c-plain") });
    const missTime = async (client: Client, base: number): Promise<number> => {
      const s = performance.now();
      for (let i = 0; i < 200; i++) await client.submit(twice, base + i);
      return ((performance.now() - s) * 1000) / 200;
    };
    rows.push({ name: "miss, small result, write-through", value: await missTime(c, 10_000), unit: "µs" });
    rows.push({ name: "miss, small result, local only", value: await missTime(c0, 20_000), unit: "µs" });

    // The CLI: `cashet run` with CASHET_REMOTE in a store that lacks the run (it is fetched; the
    // local index daemon starts to index it), then in that store again (a local hit), against `node -e 0`.
    const script = join(root, "cli-task.mjs");
    writeFileSync(script, "export function cube(x) { return x ** 3; }\n");
    const cli = (dir: string, arg: number): number => {
      const t0 = performance.now();
      execFileSync(process.execPath, [CLI, "run", `${script}#cube`, String(arg)], { env: { ...process.env, CASHET_DIR: join(root, dir), CASHET_REMOTE: url, CASHET_REMOTE_TOKEN: "bench", CASHET_DAEMON_IDLE_MS: "2000" } });
      return performance.now() - t0;
    };
    cli("cli-seed", 3); // machine A computes and uploads
    const first: number[] = [];
    const again: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < 5; r++) {
      first.push(cli(`cli-fresh-${r}`, 3));
      again.push(cli(`cli-fresh-${r}`, 3));
      const t0 = performance.now();
      execFileSync(process.execPath, ["-e", "0"]);
      bare.push(performance.now() - t0);
    }
    rows.push({ name: "CLI: cashet run, remote hit into an empty store", value: median(first), unit: "ms", note: `${(median(first) / median(bare)).toFixed(2)}× node -e 0` });
    rows.push({ name: "CLI: the same call again, local hit", value: median(again), unit: "ms", note: `${(median(again) / median(bare)).toFixed(2)}× node -e 0` });
    rows.push({ name: "node -e 0", value: median(bare), unit: "ms" });

    // Large objects: stored bytes up (the server verifies) and down (we verify).
    const http = remote();
    for (const mib of [64, 256]) {
      const raw = randomBytes(mib << 20);
      const id = sha256(raw);
      const stored = compress(raw);
      let s = performance.now();
      await http.objects.write(id, stored);
      const up = (stored.length / 1e6) / ((performance.now() - s) / 1000);
      s = performance.now();
      const back = await http.objects.read(id);
      const ok = back && decodeObject(id, back).kind === "blob";
      const down = (stored.length / 1e6) / ((performance.now() - s) / 1000);
      if (!ok) throw new Error("the large object did not come back whole");
      rows.push({ name: `upload ${mib} MiB object (server verifies)`, value: up, unit: "MB/s" });
      rows.push({ name: `download ${mib} MiB object (client verifies)`, value: down, unit: "MB/s" });
    }
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
    if (hwm) rows.push({ name: "server peak RSS after the 256 MiB object", value: Number(hwm[1]) / 1024, unit: "MiB" });
    for (const cl of [a, direct, b, plain, c, c0]) await cl.close();
    await http.close();
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    // Fresh handles: the clients closed theirs. Each store's daemon is asked to exit now.
    const cliStores = ["cli-seed", ...[0, 1, 2, 3, 4].map((r) => `cli-fresh-${r}`)].map((d) => join(root, d));
    for (const s of [...opened.map((o) => o.location), join(root, "server"), ...cliStores]) {
      if (!existsSync(s)) continue;
      const handle = new FsStore(s, { create: false });
      await handle.stopDaemon().catch(() => undefined);
      await handle.close();
    }
    rmSync(root, { recursive: true, force: true });
  }
  if (json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  process.stdout.write(`remote cache over loopback (cashet serve in another process), same run\n\n`);
  for (const r of rows) {
    const v = r.value.toFixed(0);
    process.stdout.write(`${r.name.padEnd(58)}${`${v} ${r.unit}`.padStart(12)}${r.note ? `  (${r.note})` : ""}\n`);
  }
}

await main();
