// The tally: counting a call is an increment in memory; the counts reach the store in batches
// (a timer, a number of calls, the store's close, the process's exit), summed per function.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { FunctionUsage, Store, UsageStorage } from "../../plumbing/store.js";

process.env.CASHET_USAGE_FLUSH_MS = "100";
const { closeUsage, countHit, countMiss, flushUsage } = await import("../../plumbing/usage.js");

/** A store with only a usage part that records every batch it is given. */
function recording(sync: boolean): { store: Store; batches: FunctionUsage[][]; finals: number } {
  const out = { batches: [] as FunctionUsage[][], finals: 0, store: {} as Store };
  const usage: UsageStorage = {
    add: async (batch) => void out.batches.push(batch),
    read: async () => ({ functions: [], since: null }),
    ...(sync
      ? {
          addSync: (batch: FunctionUsage[], final?: boolean) => {
            if (batch.length) out.batches.push(batch);
            if (final) out.finals++;
          },
        }
      : {}),
  };
  out.store = { usage } as unknown as Store;
  return out;
}

const f = ["train", "m.ts"] as const;
const g = ["train", "other.ts"] as const;

test("counting writes nothing at once; one batch later holds the sums per function (name and module)", async () => {
  const r = recording(false);
  countHit(r.store, ...f, 10);
  countHit(r.store, ...f, 2.5);
  countMiss(r.store, ...f);
  countMiss(r.store, ...g);
  assert.equal(r.batches.length, 0);
  await flushUsage(r.store);
  assert.deepEqual(r.batches, [
    [
      { name: "train", module: "m.ts", hits: 2, misses: 1, savedMs: 12.5 },
      { name: "train", module: "other.ts", hits: 0, misses: 1, savedMs: 0 },
    ],
  ]);
  await flushUsage(r.store);
  assert.equal(r.batches.length, 1, "nothing new, nothing written");
  await closeUsage(r.store.usage!);
});

test("a batch goes out on its own a moment after the first count, and after 1000 counts at once", async () => {
  const r = recording(false);
  countHit(r.store, ...f, 1);
  await new Promise((res) => setTimeout(res, 250));
  assert.equal(r.batches.length, 1, "the timer wrote it");
  for (let i = 0; i < 1000; i++) countHit(r.store, ...f, 1);
  await new Promise((res) => setImmediate(res));
  assert.equal(r.batches.length, 2, "the 1000th count wrote it");
  assert.equal(r.batches[1]![0]!.hits, 1000);
  await closeUsage(r.store.usage!);
});

test("closing the store writes what is left, synchronously where the store can, marked final", async () => {
  const r = recording(true);
  countMiss(r.store, ...f);
  await closeUsage(r.store.usage!);
  assert.deepEqual(r.batches, [[{ name: "train", module: "m.ts", hits: 0, misses: 1, savedMs: 0 }]]);
  assert.equal(r.finals, 1);
});

test("a store without a usage part counts nothing", async () => {
  const store = {} as Store;
  countHit(store, ...f, 1);
  await flushUsage(store);
});

test("at exit, what a process still holds goes out synchronously; an async-only store loses it", () => {
  const script = `
    const { countHit, countMiss } = await import(${JSON.stringify(fileURLToPath(new URL("../../plumbing/usage.js", import.meta.url)))});
    const store = (sync) => ({ usage: { add: async () => console.log("async add"), read: async () => null,
      ...(sync ? { addSync: (b, final) => console.log("sync", JSON.stringify(b), final) } : {}) } });
    countHit(store(true), "f", "m", 3);
    countMiss(store(false), "g", "m");
    process.exit(0);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `sync [{"name":"f","module":"m","hits":1,"misses":0,"savedMs":3}] true\n`);
});
