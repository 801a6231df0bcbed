// A cache hit on a RedisStore against the same hit on a FsStore, in one run: round trips and
// µs, in-process (submit + load through the Client), for a small inline result and a 1 MiB one.
// Needs Redis ($CASHET_TEST_REDIS or 127.0.0.1:6379). `npm run build && node dist/bench/redis.js [--json]`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../lib/client.js";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { RedisStore } from "../plumbing/backends/redis/store.js";
import type { Store } from "../plumbing/store.js";
import { median } from "./median.js";
import { twice } from "./tasks.js";

const json = process.argv.includes("--json");
const URL = process.env.CASHET_TEST_REDIS ?? "redis://127.0.0.1:6379";
const MIB = randomBytes(1 << 20);

export function oneMiB(seed: number): Buffer {
  return seed >= 0 ? MIB : Buffer.alloc(0);
}

/** Median µs per hit (submit + load) over `n` calls, after the first call stored the results, and commands sent per hit. */
async function hits(store: Store, fn: (i: number) => unknown, distinct: number, n: number): Promise<{ us: number; commands: number | null }> {
  const warm = new Client({ store });
  for (let i = 0; i < distinct; i++) await (await warm.submit(fn as (i: number) => number, i)).load();
  const client = new Client({ store });
  await client.submit(fn as (i: number) => number, 0); // the function's identity, once per process
  const conn = (store as unknown as { redis?: { sendCommand: (c: unknown) => unknown } }).redis;
  let sent = 0;
  if (conn) {
    const send = conn.sendCommand.bind(conn);
    conn.sendCommand = (c) => (sent++, send(c));
  }
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    sent = 0;
    const t = performance.now();
    for (let i = 0; i < n; i++) await (await client.submit(fn as (i: number) => number, i % distinct)).load();
    rounds.push(((performance.now() - t) * 1000) / n);
  }
  return { us: median(rounds), commands: conn ? sent / n : null };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cashet-bench-redis-"));
  const fs = new FsStore(dir);
  const redis = await new RedisStore(URL, { prefix: `cashet-bench:${process.pid}:` }).ready();
  const rows: Array<{ name: string; fs: number; redis: number; commands: number | null }> = [];
  try {
    for (const [name, fn, distinct, n] of [
      ["hit, small result (inline), submit + load", twice, 100, 1000],
      ["hit, 1 MiB result, submit + load", oneMiB, 3, 100],
    ] as const) {
      const f = await hits(fs, fn, distinct, n);
      const r = await hits(redis, fn, distinct, n);
      rows.push({ name, fs: f.us, redis: r.us, commands: r.commands });
    }
  } finally {
    await fs.stopDaemon();
    await fs.close();
    await redis.destroy();
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  process.stdout.write(`cache hits: RedisStore (${URL}) against FsStore, same run\n\n`);
  process.stdout.write(`${"workload".padEnd(44)}${"fs".padStart(10)}${"redis".padStart(10)}${"ratio".padStart(8)}${"redis commands/hit".padStart(20)}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(44)}${`${r.fs.toFixed(0)} µs`.padStart(10)}${`${r.redis.toFixed(0)} µs`.padStart(10)}${`${(r.redis / r.fs).toFixed(2)}×`.padStart(8)}${String(r.commands ?? "—").padStart(20)}\n`,
    );
  }
}

await main();
