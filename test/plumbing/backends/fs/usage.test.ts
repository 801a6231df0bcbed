// Counts on an fs store: each process appends its batches to a stats file of its own (no daemon
// on a hit); the daemon folds the files into the index, each line once, and removes a file once
// its writer is done or gone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { statsDir, statsHost } from "../../../../plumbing/backends/fs/layout.js";
import { FsStore } from "../../../../plumbing/backends/fs/store.js";
import type { FunctionUsage } from "../../../../plumbing/store.js";
import { tempDir } from "../../../helpers/fixtures.js";

process.env.CASHET_DAEMON_IDLE_MS ??= "3000";
const HOST = statsHost();
const row = (hits: number, misses = 0, savedMs = 0): FunctionUsage => ({ name: "train", module: "m.ts", hits, misses, savedMs });
const line = (...rows: FunctionUsage[]): string => `${JSON.stringify({ at: Date.now(), rows })}\n`;

async function withStore(fn: (store: FsStore, stats: string) => Promise<void>): Promise<void> {
  const t = tempDir();
  const store = new FsStore(t.dir);
  try {
    await fn(store, statsDir(store.location));
  } finally {
    await store.stopDaemon();
    await store.close();
    t.remove();
  }
}

const hits = async (store: FsStore): Promise<number> => (await store.usage.read()).functions.reduce((n, f) => n + f.hits, 0);

test("a process's batches go to its own file; folding counts each complete line once and keeps a live writer's file", () =>
  withStore(async (store, stats) => {
    await store.usage.add([row(2)]);
    const [file] = readdirSync(stats);
    assert.match(file!, new RegExp(`^${HOST.replace(/\./g, "\\.")}-${process.pid}-[0-9a-f]{8}\\.log$`));
    assert.equal(await hits(store), 2);
    assert.equal(await hits(store), 2, "folded once");
    appendFileSync(join(stats, file!), line(row(5)).slice(0, 20)); // a line still being written
    assert.equal(await hits(store), 2);
    appendFileSync(join(stats, file!), line(row(5)).slice(20));
    assert.equal(await hits(store), 7);
    assert.deepEqual(readdirSync(stats), [file], "its writer is alive: kept");
    store.usage.addSync([row(1)], true); // done with it: sealed
    assert.deepEqual(readdirSync(stats), [file!.replace(/\.log$/, ".done")]);
    assert.equal(await hits(store), 8);
    assert.deepEqual(readdirSync(stats), [], "folded and removed");
    await store.usage.add([row(1)]);
    assert.equal(readdirSync(stats).length, 1, "counts after sealing start a new file");
    assert.notEqual(readdirSync(stats)[0], file);
    assert.equal(await hits(store), 9);
  }));

test("a dead writer's file is folded and removed; another host's is kept until it is a week old", () =>
  withStore(async (store, stats) => {
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    mkdirSync(stats, { recursive: true });
    writeFileSync(join(stats, `${HOST}-${dead}-0badcafe.log`), line(row(3, 1, 12)));
    writeFileSync(join(stats, "elsewhere-1-cafebabe.log"), line(row(4)));
    writeFileSync(join(stats, "not-a-stats-file"), "ignored\n");
    assert.equal(await hits(store), 7);
    assert.deepEqual(readdirSync(stats).sort(), ["elsewhere-1-cafebabe.log", "not-a-stats-file"]);
    const weekAgo = (Date.now() - 8 * 24 * 3600_000) / 1000;
    utimesSync(join(stats, "elsewhere-1-cafebabe.log"), weekAgo, weekAgo);
    assert.equal(await hits(store), 7, "counted once");
    assert.deepEqual(readdirSync(stats), ["not-a-stats-file"]);
    const usage = await store.usage.read();
    assert.deepEqual(usage.functions, [{ name: "train", module: "m.ts", hits: 7, misses: 1, savedMs: 12 }]);
  }));

test("the counts are in the index: a new daemon (and a new process) reads them back", () =>
  withStore(async (store, stats) => {
    await store.usage.add([row(6)]);
    store.usage.addSync([], true);
    assert.equal(await hits(store), 6);
    await store.stopDaemon();
    assert.equal(existsSync(stats) && readdirSync(stats).length, 0);
    const again = new FsStore(store.location);
    assert.equal(await hits(again), 6);
    await again.close();
  }));

test("a process that exits without closing its store leaves its counts; one killed outright loses only those it had not written", () =>
  withStore(async (store) => {
    const lib = fileURLToPath(new URL("../../../../lib/index.js", import.meta.url));
    const t = tempDir();
    const file = join(t.dir, "counting.mjs");
    writeFileSync(
      file,
      `import { Client, FsStore } from ${JSON.stringify(lib)};
      export function twice(x) { return 2 * x; }
      const client = new Client({ store: new FsStore(${JSON.stringify(store.location)}) });
      await client.submit(twice, 1);
      await new Promise((r) => setTimeout(r, 300)); // the batch timer (100 ms here) writes this count
      await client.submit(twice, 1);
      if (process.argv[2] === "kill") process.kill(process.pid, "SIGKILL");
      process.exit(0);`,
    );
    const run = (how: string): number | null =>
      spawnSync(process.execPath, [file, how], { env: { ...process.env, CASHET_USAGE_FLUSH_MS: "100" }, encoding: "utf8" }).status;
    assert.equal(run("exit"), 0);
    let usage = await store.usage.read();
    assert.deepEqual(usage.functions.map((f) => [f.hits, f.misses]), [[1, 1]], "the hit was written at exit");
    run("kill");
    usage = await store.usage.read();
    assert.deepEqual(usage.functions.map((f) => [f.hits, f.misses]), [[2, 1]], "the killed process's last hit (not yet written) is lost; its earlier batch is not");
    t.remove();
  }));
