// What a shared Redis store must get right beyond the conformance suite — the known failure
// modes of the Python cashet's Redis store among them: order by time (not by hash), tags with
// `:` kept apart from `key=value`, reference counts that shrink, counters exact under concurrent
// writers, an empty invalidate refused, and a hit in one round trip.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Client } from "../../../../lib/client.js";
import { ObjectDb } from "../../../../plumbing/objects.js";
import { history } from "../../../../porcelain/history.js";
import { invalidate } from "../../../../porcelain/invalidate.js";
import { log } from "../../../../porcelain/log.js";
import { rm } from "../../../../porcelain/rm.js";
import { stats } from "../../../../porcelain/stats.js";
import { makeRecord } from "../../../helpers/fixtures.js";
import { redisOrSkip, tempRedisStore } from "../../../helpers/redis.js";

const available = await redisOrSkip();

export function label(x: number, tag: string): string {
  return `${tag}-${x}`;
}
export function bigOutput(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => i / 3);
}

describe("RedisStore", { skip: !available }, () => {
  const opened: Array<() => Promise<void>> = [];
  const open = () => {
    const r = tempRedisStore({ claimTtlMs: 2000 });
    opened.push(r.dispose);
    return r;
  };
  after(async () => {
    for (const dispose of opened) await dispose();
  });

  test("log and history are newest first by creation time, whatever the hashes", async () => {
    const { store } = open();
    const db = new ObjectDb(store.objects);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const put = await db.putCommit(makeRecord({ seed: `same-call`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
      await store.index.addCommit(put.id);
      ids.push(put.id);
    }
    assert.deepEqual((await log(store, { limit: Infinity })).map((c) => c.id), [...ids].reverse());
    assert.deepEqual((await history(store, ids[5]!)).map((c) => c.id), [...ids].reverse());
  });

  test("a tag key holding ':' and a value holding ':' never collide", async () => {
    const { store } = open();
    const client = new Client({ store });
    const a = await client.run(label, { args: [1, "a"], tags: { "a:b": "c" } });
    const b = await client.run(label, { args: [2, "b"], tags: { a: "b:c" } });
    assert.deepEqual((await client.log({ tags: ["a:b=c"] })).map((c) => c.id), [a.commit]);
    assert.deepEqual((await client.log({ tags: ["a=b:c"] })).map((c) => c.id), [b.commit]);
    assert.deepEqual((await client.log({ tags: ["a"] })).map((c) => c.id), [b.commit]);
    assert.deepEqual((await client.log({ tags: ["a:b"] })).map((c) => c.id), [a.commit]);
  });

  test("reference counts shrink: removing the last commit that uses a blob frees it; a shared blob stays", async () => {
    const { store } = open();
    const client = new Client({ store });
    const one = await client.submit(bigOutput, 5000);
    const forced = await client.run(bigOutput, { args: [5000], force: true }); // same output blob, second referrer
    assert.equal(one.hash, forced.hash);
    assert.deepEqual((await store.index.blobReferrers(one.hash)).sort(), [one.commit, forced.commit].sort());
    const first = await rm(store, forced.commit);
    assert.deepEqual(first!.blobs, [], "still used by the other run");
    assert.ok(await store.objects.size(one.hash));
    const second = await rm(store, one.commit);
    assert.deepEqual(second!.blobs, [one.hash]);
    assert.equal(await store.objects.size(one.hash), null);
    const s = await stats(store);
    assert.equal(s.totalCommits, 0);
    assert.equal(s.blobObjects, 0);
    assert.equal(s.blobBytes, 0);
  });

  test("counters stay exact with many writers on separate connections at once", async () => {
    const { prefix } = open(); // disposes of the keys afterwards
    const shared = Array.from({ length: 4 }, () => tempRedisStore({ prefix }).store); // four connections, one store
    const records = Array.from({ length: 80 }, (_, i) => makeRecord({ seed: `w${i}`, status: i % 5 === 0 ? "failed" : "completed", ...(i % 5 === 0 ? { output: null, error: { name: "E", message: "m", stack: "s" } } : {}) }));
    await Promise.all(
      records.map(async (rec, i) => {
        const s = shared[i % shared.length]!;
        const put = await new ObjectDb(s.objects).putCommit(rec);
        await Promise.all([s.index.addCommit(put.id), shared[(i + 1) % shared.length]!.index.addCommit(put.id)]); // each twice, concurrently
      }),
    );
    const st = await shared[0]!.index.stats();
    assert.equal(st.totalCommits, 80);
    assert.equal(st.failedCommits, 16);
    assert.equal(st.completedCommits, 64);
    for (const s of shared) await s.close();
  });

  test("invalidate with no tag is refused and removes nothing", async () => {
    const { store } = open();
    const client = new Client({ store });
    await client.run(label, { args: [9, "keep"], tags: { stage: "x" } });
    await assert.rejects(invalidate(store, { tags: [] }), /at least one tag/);
    assert.equal((await stats(store)).totalCommits, 1);
    assert.equal(await invalidate(store, { tags: ["stage=x"] }), 1);
  });

  test("a hit is one round trip and then served; a corrupted output blob is recomputed, never returned", async () => {
    const { store } = open();
    const client = new Client({ store });
    const first = await client.submit(bigOutput, 3000);
    const fresh = new Client({ store });
    await fresh.submit(bigOutput, 1); // the function's identity is worked out once per process, not per hit
    // Every command of an ioredis client goes through sendCommand: count what the hit sends.
    const conn = (store as unknown as { redis: { sendCommand: (c: { name: string }) => unknown } }).redis;
    const send = conn.sendCommand.bind(conn);
    const sent: string[] = [];
    conn.sendCommand = (c) => (sent.push(c.name), send(c));
    const again = await fresh.submit(bigOutput, 3000);
    conn.sendCommand = send;
    const used = sent.length;
    assert.equal(again.cached, true);
    assert.equal(used, 1, `one round trip: ref, commit and output blob in one script (sent: ${sent.join(", ")})`);
    assert.deepEqual(await again.load(), bigOutput(3000));
    await store.objects.delete(first.hash);
    await store.objects.write(first.hash, Buffer.from("(garbage that is not the output)"));
    const third = await new Client({ store }).submit(bigOutput, 3000);
    assert.equal(third.cached, false, "the damaged blob was not served");
    assert.deepEqual(await third.load(), bigOutput(3000));
  });
});

describe("RedisStore claims", { skip: !available }, () => {
  test("a holder that lost its claim cannot move the ref over the run of the one that took over", async () => {
    const { store, dispose } = tempRedisStore({ claimTtlMs: 150 });
    try {
      const db = new ObjectDb(store.objects);
      const fp = "a".repeat(64);
      const commitOf = async (seed: string): Promise<string> => (await db.putCommit(makeRecord({ seed }))).id;
      const stale = (await store.claims.tryAcquire(fp))!;
      (store.claims as unknown as { stop: () => void }).stop(); // its heartbeat stops: as if the process froze
      await new Promise((r) => setTimeout(r, 400));
      const fresh = (await store.claims.tryAcquire(fp))!;
      assert.ok(fresh, "the expired claim was taken over");
      const newer = await commitOf("newer");
      await fresh.complete!(newer, `fp/${fp}`, null);
      const older = await commitOf("older");
      await stale.complete!(older, `fp/${fp}`, null); // wakes up and tries to publish
      assert.equal(await store.refs.read(`fp/${fp}`), newer, "the fenced write was refused");
      assert.ok(await store.index.entry(older), "its commit is still recorded (history), just not the head");
    } finally {
      await dispose();
    }
  });

  test("gc on Redis evicts stale commits and their blobs, and stats follow", async () => {
    const { store, dispose } = tempRedisStore();
    try {
      const client = new Client({ store });
      await client.submit(bigOutput, 2000);
      await client.submit(label, 1, "x");
      assert.equal((await client.stats()).totalCommits, 2);
      assert.equal(await client.gc({ olderThan: 0 }), 2);
      const s = await client.stats();
      assert.deepEqual([s.totalCommits, s.blobObjects, s.inlineObjects], [0, 0, 0]);
    } finally {
      await dispose();
    }
  });
});
