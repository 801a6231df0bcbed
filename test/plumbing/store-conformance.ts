// The store conformance suite: every backend (memory, fs, later Redis and remote HTTP) must pass
// exactly these tests. Each test gets a fresh, empty store.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { claimHolder } from "../../plumbing/claims.js";
import { encodeCommit } from "../../plumbing/commit.js";
import { compress } from "../../plumbing/compress.js";
import { AmbiguousIdError, InvalidInputError, NotFoundError } from "../../plumbing/errors.js";
import { sha256 } from "../../plumbing/ids.js";
import { ObjectDb } from "../../plumbing/objects.js";
import type { Store } from "../../plumbing/store.js";
import { makeRecord } from "../helpers/fixtures.js";

export interface StoreFactory {
  open(): Promise<Store>;
  /** Closes and disposes of a store made by `open`. */
  dispose(store: Store): Promise<void>;
}

export function storeConformance(name: string, factory: StoreFactory): void {
  const withStore = (fn: (store: Store, db: ObjectDb) => Promise<void>) => async () => {
    const store = await factory.open();
    try {
      await fn(store, new ObjectDb(store.objects));
    } finally {
      await factory.dispose(store);
    }
  };

  describe(`${name} store conformance`, () => {
    test("a small blob round-trips and its id is the sha256 of its bytes", withStore(async (_s, db) => {
      const bytes = Buffer.from("hello, cashet");
      const put = await db.putBlob(bytes);
      assert.equal(put.id, sha256(bytes));
      assert.deepEqual(await db.getBlob(put.id), bytes);
    }));

    test("an empty blob and a 1 MiB random blob round-trip", withStore(async (_s, db) => {
      for (const bytes of [Buffer.alloc(0), randomBytes(1 << 20)]) {
        const put = await db.putBlob(bytes);
        assert.ok((await db.getBlob(put.id))!.equals(bytes));
      }
    }));

    test("a streamed blob gets the same id as the same bytes put whole", withStore(async (_s, db) => {
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 2_000_000), bytes.subarray(2_000_000)];
      const streamed = await db.putBlobStream(Readable.from(chunks));
      assert.equal(streamed.id, sha256(bytes));
      assert.equal(streamed.size, bytes.length);
      assert.ok((await db.getBlob(streamed.id))!.equals(bytes));
      const again = await db.putBlob(bytes);
      assert.equal(again.created, false);
    }));

    test("identical bytes are stored once", withStore(async (store, db) => {
      const bytes = Buffer.from("same bytes".repeat(100));
      const a = await db.putBlob(bytes);
      const b = await db.putBlob(Buffer.from(bytes));
      assert.equal(a.created, true);
      assert.equal(b.created, false);
      assert.equal(a.id, b.id);
      const listed = [];
      for await (const o of store.objects.list()) listed.push(o.id);
      assert.deepEqual(listed, [a.id]);
    }));

    test("stored bytes that do not match their id are never returned", withStore(async (store, db) => {
      const put = await db.putBlob(Buffer.from("the real content"));
      await store.objects.delete(put.id);
      await store.objects.write(put.id, compress(Buffer.from("something else")));
      assert.equal((await db.read(put.id)).kind, "corrupt");
      assert.equal(await db.getBlob(put.id), null);
      assert.equal((await db.read(put.id)).kind, "missing", "a blob that failed verification is removed");
      assert.equal((await db.putBlob(Buffer.from("the real content"))).created, true, "so the right bytes can land again");
      assert.deepEqual(await db.getBlob(put.id), Buffer.from("the real content"));
      await store.objects.delete(put.id);
      await store.objects.write(put.id, Buffer.from("not zstd and not json"));
      assert.equal(await db.getBlob(put.id), null);
    }));

    test("a commit round-trips, its id is the hash of canonical JSON, and key order does not matter", withStore(async (_s, db) => {
      const record = makeRecord({ tags: { b: "2", a: "1" } });
      const put = await db.putCommit(record);
      const reordered = Object.fromEntries(Object.entries(record).reverse()) as typeof record;
      assert.equal(encodeCommit(reordered).id, put.id);
      const back = await db.getCommit(put.id);
      assert.equal(back!.id, put.id);
      assert.deepEqual(back!.tags, { a: "1", b: "2" });
      assert.equal((await db.putCommit(record)).created, false);
    }));

    test("a small blob carried inline in its commit is read through the commit", withStore(async (_s, db) => {
      const bytes = Buffer.from("tiny result");
      const id = sha256(bytes);
      const record = makeRecord({ outputId: id, outputSize: bytes.length, inline: { [id]: bytes.toString("base64") } });
      const put = await db.putCommit(record);
      const commit = await db.getCommit(put.id);
      assert.deepEqual(await db.getBlob(id, commit!), bytes);
      assert.equal(await db.getBlob(id), null, "no separate object was written");
      assert.throws(() => encodeCommit({ ...record, inline: { [id]: Buffer.from("forged").toString("base64") } }), InvalidInputError);
    }));

    test("ids resolve from unique prefixes; unknown, ambiguous and malformed prefixes are clear errors", withStore(async (_s, db) => {
      const ids: string[] = [];
      const byPrefix = new Map<string, string>();
      let pair: [string, string] | null = null;
      for (let i = 0; !pair; i++) {
        const { id } = await db.putBlob(Buffer.from(`blob ${i}`));
        ids.push(id);
        const p = id.slice(0, 4);
        const other = byPrefix.get(p);
        if (other) pair = [other, id];
        byPrefix.set(p, id);
      }
      const unique = ids.find((id) => ids.filter((x) => x.startsWith(id.slice(0, 6))).length === 1)!;
      assert.equal(await db.resolve(unique.slice(0, 6)), unique);
      assert.equal(await db.resolve(unique.toUpperCase()), unique);
      await assert.rejects(db.resolve(pair[0].slice(0, 4)), AmbiguousIdError);
      const absent = ids[0]!.startsWith("0000") ? "ffff" : "0000";
      if (!ids.some((id) => id.startsWith(absent))) await assert.rejects(db.resolve(absent), NotFoundError);
      await assert.rejects(db.resolve("abc"), InvalidInputError);
      await assert.rejects(db.resolve("xyz123"), InvalidInputError);
    }));

    test("resolve with a kind ignores objects of the other kind", withStore(async (_s, db) => {
      const c = await db.putCommit(makeRecord());
      await assert.rejects(db.resolve(c.id, "blob"), NotFoundError);
      assert.equal(await db.resolve(c.id.slice(0, 8), "commit"), c.id);
    }));

    test("refs: create, compare-and-swap, retried update, delete, list", withStore(async (store) => {
      const a = sha256("a");
      const b = sha256("b");
      const fp = `fp/${sha256("fp")}`;
      assert.equal(await store.refs.read(fp), null);
      assert.equal(await store.refs.update(fp, a, null), true);
      assert.equal(await store.refs.update(fp, b, null), false, "must-not-exist fails once it exists");
      assert.equal(await store.refs.read(fp), a);
      assert.equal(await store.refs.update(fp, b, sha256("wrong")), false);
      assert.equal(await store.refs.update(fp, b, a), true);
      assert.equal(await store.refs.update(fp, b, a), true, "a retried update that already landed succeeds");
      assert.equal(await store.refs.read(fp), b);
      await store.refs.update("pin/best", a);
      assert.deepEqual((await store.refs.list("pin/")).map((r) => r.name), ["pin/best"]);
      assert.equal((await store.refs.list()).length, 2);
      assert.equal(await store.refs.update(fp, null, b), true);
      assert.equal(await store.refs.read(fp), null);
    }));

    test("refs with malformed names are rejected", withStore(async (store) => {
      for (const bad of ["fp/short", "pin/../x", "pin/", "heads/x", "pin/a/b", "../../etc/passwd"]) {
        await assert.rejects(store.refs.update(bad, sha256("a")), InvalidInputError, bad);
      }
    }));

    test("claims: one holder at a time; a waiter wakes when it is released", withStore(async (store) => {
      const key = sha256("fingerprint");
      const first = await store.claims.tryAcquire(key);
      assert.ok(first);
      assert.equal(await store.claims.tryAcquire(key), null);
      const held = await store.claims.list();
      assert.equal(held.length, 1);
      assert.equal(held[0]!.key, key);
      assert.equal(held[0]!.pid, process.pid);
      let woke = false;
      const waiting = store.claims.waitRelease(key).then(() => (woke = true));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(woke, false);
      await first.release();
      await waiting;
      const second = await store.claims.tryAcquire(key);
      assert.ok(second);
      await second.release();
      assert.deepEqual(await store.claims.list(), []);
    }));

    test("claims: the holder of a key is who claimed it, and since when; null once it is free", withStore(async (store) => {
      const key = sha256("who holds it");
      assert.equal(await claimHolder(store.claims, key), null);
      const before = Date.now();
      const handle = await store.claims.tryAcquire(key);
      const holder = await claimHolder(store.claims, key);
      assert.equal(holder?.key, key);
      assert.equal(holder?.pid, process.pid);
      assert.equal(holder?.hostname, hostname());
      assert.ok(holder!.since >= before - 1000 && holder!.since <= Date.now() + 1000, `since ${holder!.since}`);
      await handle!.release();
      assert.equal(await claimHolder(store.claims, key), null);
    }));

    test("index: log is newest first and filters by function, status and tags", withStore(async (store, db) => {
      const t0 = Date.parse("2026-01-01T00:00:00Z");
      const specs = [
        { func: "load", status: "completed", tags: { stage: "prep" } },
        { func: "train", status: "completed", tags: { stage: "fit", lr: "0.1" } },
        { func: "train", status: "failed", tags: { stage: "fit", lr: "0.2" } },
        { func: "eval", status: "completed", tags: {} },
      ] as const;
      const ids: string[] = [];
      for (const [i, s] of specs.entries()) {
        const failed = s.status === "failed";
        const rec = makeRecord({
          seed: `c${i}`,
          func: { name: s.func, module: "p.ts", hash: sha256(s.func), source: "", deps: [] },
          status: s.status,
          output: failed ? null : { hash: sha256(`o${i}`), size: 10, serializer: "v8", preview: "" },
          error: failed ? { name: "Error", message: "boom", stack: "Error: boom" } : null,
          tags: { ...s.tags },
          createdAt: new Date(t0 + i * 1000).toISOString(),
        });
        const put = await db.putCommit(rec);
        await store.index.addCommit(put.id);
        await store.index.addCommit(put.id); // idempotent
        ids.push(put.id);
      }
      assert.deepEqual((await store.index.log()).map((e) => e.id), [...ids].reverse());
      assert.deepEqual((await store.index.log({ limit: 2 })).map((e) => e.id), [ids[3], ids[2]]);
      assert.deepEqual((await store.index.log({ func: "train" })).map((e) => e.id), [ids[2], ids[1]]);
      assert.deepEqual((await store.index.log({ status: "failed" })).map((e) => e.id), [ids[2]]);
      assert.deepEqual((await store.index.log({ tags: ["stage=fit"] })).map((e) => e.id), [ids[2], ids[1]]);
      assert.deepEqual((await store.index.log({ tags: ["lr"] })).map((e) => e.id), [ids[2], ids[1]]);
      assert.deepEqual((await store.index.log({ tags: ["stage=fit", "lr=0.1"] })).map((e) => e.id), [ids[1]]);
      assert.deepEqual((await store.index.log({ func: "train", status: "completed" })).map((e) => e.id), [ids[1]]);
      assert.deepEqual((await store.index.log({ since: t0 + 2000 })).map((e) => e.id), [ids[3], ids[2]]);
      assert.deepEqual(await store.index.log({ func: "nope" }), []);
      for (const id of ids) {
        const fingerprint = (await store.index.entry(id))!.fingerprint;
        assert.deepEqual((await store.index.log({ fingerprint })).map((x) => x.id), [id], "every run of one call, by fingerprint");
      }
      const fp1 = (await store.index.entry(ids[1]!))!.fingerprint;
      assert.deepEqual(await store.index.log({ fingerprint: fp1, status: "failed" }), [], "with other filters too");
      const e = await store.index.entry(ids[1]!);
      assert.equal(e!.func, "train");
      assert.equal(e!.outputSize, 10);
      const stats = await store.index.stats();
      assert.equal(stats.totalCommits, 4);
      assert.equal(stats.completedCommits, 3);
      assert.equal(stats.failedCommits, 1);
    }));

    test("index: reference counts say when a blob is no longer used, and stats follow", withStore(async (store, db) => {
      const blob = await db.putBlob(randomBytes(4096));
      const small = Buffer.from("inline me");
      const smallId = sha256(small);
      const c1 = await db.putCommit(makeRecord({ seed: "1", outputId: blob.id, outputSize: 4096 }));
      const c2 = await db.putCommit(
        makeRecord({ seed: "2", outputId: blob.id, outputSize: 4096, args: { hash: sha256("x"), preview: "", blob: smallId }, inline: { [smallId]: small.toString("base64") } }),
      );
      await store.index.addCommit(c1.id);
      await store.index.addCommit(c2.id);
      assert.deepEqual((await store.index.blobReferrers(blob.id)).sort(), [c1.id, c2.id].sort());
      let s = await store.index.stats();
      assert.equal(s.blobObjects, 1);
      assert.equal(s.blobBytes, await store.objects.size(blob.id));
      assert.equal(s.inlineObjects, 1);
      assert.equal(s.inlineBytes, small.length);
      assert.deepEqual(await store.index.removeCommit(c1.id), [], "still referenced by c2");
      assert.deepEqual(await store.index.removeCommit(c2.id), [blob.id]);
      assert.deepEqual(await store.index.removeCommit(c2.id), [], "removing twice is harmless");
      await store.index.removeBlob(blob.id);
      s = await store.index.stats();
      assert.deepEqual([s.totalCommits, s.blobObjects, s.blobBytes, s.inlineObjects, s.inlineBytes, s.commitBytes], [0, 0, 0, 0, 0, 0]);
    }));

    test("index: reindex rebuilds the same answers from the objects", withStore(async (store, db) => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const blob = await db.putBlob(randomBytes(2000));
        const put = await db.putCommit(makeRecord({ seed: `r${i}`, outputId: blob.id, outputSize: 2000, createdAt: new Date(1e12 + i).toISOString() }));
        await store.index.addCommit(put.id);
        ids.push(put.id);
      }
      const orphan = await db.putBlob(Buffer.from("registered, unreferenced"));
      await store.index.addBlob(orphan.id);
      const before = await store.index.stats();
      const log = (await store.index.log()).map((e) => e.id);
      assert.deepEqual(await store.index.reindex(), { commits: 5, blobs: 6 });
      assert.deepEqual(await store.index.stats(), before);
      assert.deepEqual((await store.index.log()).map((e) => e.id), log);
    }));

    test("object storage refuses anything but a 64-hex id, so no id can name another path", withStore(async (store) => {
      for (const bad of ["../../etc/passwd", "ab", sha256("x").toUpperCase(), `${sha256("x")}/..`]) {
        await assert.rejects(store.objects.read(bad), InvalidInputError, bad);
        await assert.rejects(store.objects.write(bad, Buffer.from("x")), InvalidInputError, bad);
        await assert.rejects(store.objects.delete(bad), InvalidInputError, bad);
      }
    }));

    test("a wait for a claim can be abandoned with an AbortSignal", withStore(async (store) => {
      const key = sha256("abandoned");
      const held = await store.claims.tryAcquire(key);
      const ac = new AbortController();
      const waiting = store.claims.waitRelease(key, { signal: ac.signal });
      ac.abort(new Error("gave up"));
      await assert.rejects(waiting, /gave up/);
      await held!.release();
      await store.claims.waitRelease(key);
    }));

    test("usage (where the store counts calls): batches add up per function, say since when, and outlive a reindex", withStore(async (store) => {
      if (!store.usage) return;
      assert.deepEqual(await store.usage.read(), { functions: [], since: null });
      const before = Date.now();
      await store.usage.add([
        { name: "train", module: "m.ts", hits: 2, misses: 1, savedMs: 10.5 },
        { name: "train", module: "n.ts", hits: 0, misses: 1, savedMs: 0 },
      ]);
      await store.usage.add([{ name: "train", module: "m.ts", hits: 1, misses: 0, savedMs: 4 }]);
      await store.index.reindex();
      const usage = await store.usage.read();
      assert.deepEqual(usage.functions.sort((a, b) => a.module.localeCompare(b.module)), [
        { name: "train", module: "m.ts", hits: 3, misses: 1, savedMs: 14.5 },
        { name: "train", module: "n.ts", hits: 0, misses: 1, savedMs: 0 },
      ]);
      assert.ok(usage.since !== null && usage.since >= before - 5 && usage.since <= Date.now(), String(usage.since));
    }));

    test("touch records a use: the access time moves forward", withStore(async (store, db) => {
      const put = await db.putBlob(Buffer.from("used"));
      const first = (await store.objects.accessedAt(put.id))!;
      await new Promise((r) => setTimeout(r, 20));
      await store.objects.touch(put.id);
      assert.ok((await store.objects.accessedAt(put.id))! > first);
      assert.equal(await store.objects.accessedAt(sha256("absent")), null);
    }));
  });
}
