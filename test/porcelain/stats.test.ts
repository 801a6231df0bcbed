// stats: hits, misses and time saved, per function and in all — counted by run, batched to the
// store, summed over every process and client (memory and Redis here; fs across processes in
// test/cmd/stats-cli.test.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Client } from "../../lib/client.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { stats } from "../../porcelain/stats.js";
import { TaskError } from "../../porcelain/run.js";
import { makeRecord } from "../helpers/fixtures.js";
import { redisOrSkip, tempRedisStore } from "../helpers/redis.js";
import { RedisStore } from "../../plumbing/backends/redis/store.js";
import { REDIS_URL } from "../helpers/redis.js";

export function slow(x: number): number {
  const until = performance.now() + 20;
  while (performance.now() < until);
  return x * 2;
}
export function quick(x: number): number {
  return x + 1;
}
export function fails(x: number): never {
  throw new Error(`no ${x}`);
}

describe("stats on the memory store", () => {
  test("hits and misses per function, and a hit saves the recorded duration of the commit it served", async () => {
    const client = new Client({ store: new MemoryStore() });
    try {
      const ran = await client.submit(slow, 1);
      await client.submit(slow, 1);
      await client.submit(slow, 1);
      await client.submit(quick, 1);
      const s = await client.stats();
      const recorded = (await client.show(ran.commit)).durationMs;
      assert.deepEqual([s.hits, s.misses], [2, 2]);
      assert.ok(Math.abs(s.savedMs - 2 * recorded) < 1e-6);
      assert.ok(s.savedMs >= 40);
      assert.ok(s.countedSince !== null && Date.parse(s.countedSince) <= Date.now());
      assert.deepEqual(
        s.functions.map((f) => [f.name, f.module, f.hits, f.misses]),
        [
          ["slow", "dist/test/porcelain/stats.test.js", 2, 1],
          ["quick", "dist/test/porcelain/stats.test.js", 0, 1],
        ],
        "most time saved first",
      );
      await client.clear({ all: true });
      const cleared = await client.stats();
      assert.deepEqual([cleared.totalCommits, cleared.hits, cleared.misses], [0, 2, 2], "clear empties the cache, not its history");
    } finally {
      await client.close();
    }
  });

  test("forced, uncached and failed runs are misses; a call under another name is counted under it", async () => {
    const client = new Client({ store: new MemoryStore() });
    try {
      await client.submit(quick, 5);
      await client.run(quick, { args: [5], force: true });
      await client.run(quick, { args: [5], cache: false });
      await assert.rejects(client.submit(fails, 1), TaskError);
      await client.run(quick, { args: [5], name: "renamed" });
      const s = await client.stats();
      assert.deepEqual(
        s.functions.map((f) => [f.name, f.hits, f.misses]).sort(),
        [
          ["fails", 0, 1],
          ["quick", 0, 3],
          ["renamed", 1, 0],
        ],
      );
    } finally {
      await client.close();
    }
  });

  test("a store with no counts (one older than them) answers zeros and no date", async () => {
    const store = new MemoryStore();
    const put = await new ObjectDb(store.objects).putCommit(makeRecord());
    await store.index.addCommit(put.id);
    const s = await stats(store);
    assert.equal(s.totalCommits, 1);
    assert.deepEqual([s.hits, s.misses, s.savedMs, s.countedSince, s.functions], [0, 0, 0, null, []]);
    await store.close();
  });
});

describe("stats on the Redis store", async () => {
  const available = await redisOrSkip();
  test("two clients' counts add up in the store, function by function", { skip: !available }, async () => {
    const { store, prefix, dispose } = tempRedisStore();
    const other = new RedisStore(REDIS_URL, { prefix });
    try {
      const a = new Client({ store });
      const b = new Client({ store: other });
      await a.submit(quick, 10);
      await b.submit(quick, 10);
      await b.submit(quick, 10);
      await a.submit(slow, 10);
      await other.close(); // closing writes what it counted: one MULTI
      const s = await a.stats();
      assert.deepEqual([s.hits, s.misses], [2, 2]);
      assert.deepEqual(
        s.functions.map((f) => [f.name, f.hits, f.misses]).sort(),
        [
          ["quick", 2, 1],
          ["slow", 0, 1],
        ],
      );
      await store.index.reindex();
      assert.equal((await a.stats()).hits, 2, "reindex keeps the counts");
    } finally {
      await other.close().catch(() => undefined);
      await dispose();
    }
  });
});
