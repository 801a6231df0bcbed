// gc: expired, then stale, then least-recently-used commits go; pins, claimed calls, referenced
// and fresh blobs stay; refs end on surviving commits and fsck finds nothing wrong.
import assert from "node:assert/strict";
import { existsSync, utimesSync } from "node:fs";
import { afterEach, beforeEach, describe, test } from "node:test";
import { fsck } from "../../plumbing/commands/fsck.js";
import { InvalidInputError } from "../../plumbing/errors.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { gc } from "../../porcelain/gc.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("gc", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  let now: number;
  beforeEach(async () => {
    t = await tempFsStore();
    now = Date.now();
  });
  afterEach(() => t.dispose());

  /** Sets the object's access time (file mtime) to `ago` ms before now. */
  const age = (id: string, ago: number): void => {
    const s = (now - ago) / 1000;
    utimesSync(objectPath(t.dir, id), s, s);
  };
  /** A run created `ago` ms ago whose commit and blob were last used then too. */
  const old = async (seed: string, ago: number, spec: Parameters<typeof recordRun>[1] = {}): Promise<Recorded> => {
    const r = await recordRun(t.store, { seed, at: now - ago, ...spec });
    age(r.id, ago);
    if (r.blob && existsSync(objectPath(t.dir, r.blob))) age(r.blob, ago);
    return r;
  };
  const exists = (id: string): boolean => existsSync(objectPath(t.dir, id));
  const sound = async (): Promise<void> => {
    assert.deepEqual((await fsck(t.store)).problems, []);
    for (const ref of await t.store.refs.list()) assert.ok(exists(ref.id), `${ref.name} points at a removed commit`);
  };

  test("expired commits go first, then commits not accessed within olderThan; a recently used old commit stays", async () => {
    const expired = await old("a", 10 * DAY, { ttlMs: DAY });
    age(expired.id, 0); // used a moment ago, but its TTL ran out
    const stale = await old("b", 10 * DAY);
    const hit = await old("c", 10 * DAY);
    age(hit.id, HOUR); // a cache hit touched it an hour ago
    const indexed = await old("d", 10 * DAY);
    await t.store.index.touch(indexed.id, now - HOUR); // an access the index recorded
    const failed = await old("e", 9 * DAY, { failed: true });
    const fresh = await old("f", DAY);

    const r = await gc(t.store, { olderThan: "7d" });
    assert.deepEqual(r.removed, [
      { id: expired.id, reason: "expired" },
      { id: stale.id, reason: "stale" },
      { id: failed.id, reason: "stale" },
    ]);
    assert.equal(r.commits, 3);
    assert.equal(r.blobs, 2, "the outputs of the expired and the stale run");
    assert.equal(r.dryRun, false);
    assert.ok(r.bytes > 2 * 2048);
    for (const c of [expired, stale, failed]) assert.equal(exists(c.id), false);
    assert.equal(exists(stale.blob!), false);
    for (const c of [hit, indexed, fresh]) assert.equal(exists(c.id) && exists(c.blob!), true);
    assert.equal(await t.store.refs.read(fingerprintRef(stale.fingerprint)), null);
    await sound();
  });

  test("an fp/ head falls back to its parent when that survives, and is deleted when the whole chain goes", async () => {
    const parent = await old("x", 20 * DAY);
    age(parent.id, HOUR);
    const head = await old("x", 10 * DAY);
    const y1 = await old("y", 20 * DAY);
    const y2 = await old("y", 10 * DAY);
    await gc(t.store, { olderThan: "7d" });
    assert.equal(await t.store.refs.read(fingerprintRef(head.fingerprint)), parent.id);
    assert.equal(await t.store.refs.read(fingerprintRef(y2.fingerprint)), null);
    assert.equal(exists(y1.id) || exists(y2.id), false);
    await sound();
  });

  test("max-size evicts least recently used commits until the store fits", async () => {
    const a = await old("a", 3 * DAY);
    const b = await old("b", 2 * DAY);
    const c = await old("c", 1 * DAY);
    age(a.id, HOUR); // created first, used last
    const s = await t.store.index.stats();
    const total = s.blobBytes + s.commitBytes;
    const r = await gc(t.store, { maxSize: total - 1 });
    assert.deepEqual(r.removed, [{ id: b.id, reason: "size" }]);
    const after = await t.store.index.stats();
    assert.ok(after.blobBytes + after.commitBytes <= total - 1);
    assert.equal(after.blobBytes + after.commitBytes, total - r.bytes);
    assert.equal(exists(a.id) && exists(c.id), true);

    const all = await gc(t.store, { maxSize: "1000" });
    assert.deepEqual(all.removed, [{ id: c.id, reason: "size" }, { id: a.id, reason: "size" }]);
    await sound();
  });

  test("pinned commits and commits of a claimed (running) call are never evicted", async () => {
    const pinned = await old("p", 40 * DAY, { ttlMs: DAY });
    await t.store.refs.update("pin/keep", pinned.id);
    const running = await old("q", 40 * DAY);
    const claim = await t.store.claims.tryAcquire(running.fingerprint);
    assert.ok(claim);
    const other = await old("r", 40 * DAY);
    try {
      const r = await gc(t.store, { olderThan: "1d", maxSize: 0 });
      assert.deepEqual(r.removed, [{ id: other.id, reason: "stale" }]);
      assert.equal(exists(pinned.id) && exists(pinned.blob!) && exists(running.id), true);
      assert.equal(await t.store.refs.read("pin/keep"), pinned.id);
    } finally {
      await claim.release();
    }
    assert.deepEqual((await gc(t.store, { olderThan: "1d" })).removed, [{ id: running.id, reason: "stale" }]);
    await sound();
  });

  test("orphan blobs go once past the grace period; a fresh orphan and a still-referenced blob stay", async () => {
    const db = new ObjectDb(t.store.objects);
    const orphan = (await db.putBlob(Buffer.alloc(4096, 1))).id;
    const freshOrphan = (await db.putBlob(Buffer.alloc(4096, 2))).id;
    await t.store.index.addBlob(orphan);
    await t.store.index.addBlob(freshOrphan);
    age(orphan, 2 * HOUR);
    age(freshOrphan, 10 * 60_000);
    const shared = Buffer.alloc(3000, 7);
    const gone = await old("s1", 40 * DAY, { output: shared });
    const kept = await old("s2", DAY, { output: shared });
    assert.equal(gone.blob, kept.blob);

    const r = await gc(t.store);
    assert.deepEqual(r.removed, [{ id: gone.id, reason: "stale" }]);
    assert.equal(r.blobs, 1, "only the old orphan");
    assert.equal(exists(orphan), false);
    assert.equal(exists(freshOrphan), true);
    assert.equal(exists(kept.blob!), true, "still referenced by the surviving run");
    assert.deepEqual(await t.store.index.blobReferrers(kept.blob!), [kept.id]);

    const later = await gc(t.store, { olderThan: "1h", blobGraceMs: 60_000 });
    assert.deepEqual(later.removed, [{ id: kept.id, reason: "stale" }]);
    assert.equal(exists(kept.blob!) || exists(freshOrphan), false);
    assert.equal((await t.store.index.stats()).blobObjects, 0);
    await sound();
  });

  test("a dry run changes nothing and reports exactly what a real run then removes", async () => {
    await old("a", 10 * DAY, { ttlMs: DAY });
    await old("b", 40 * DAY);
    await old("c", 2 * DAY);
    const d = await old("d", 1 * DAY);
    const orphan = (await new ObjectDb(t.store.objects).putBlob(Buffer.alloc(2048, 9))).id;
    await t.store.index.addBlob(orphan);
    age(orphan, 2 * HOUR);
    // Room for d alone: after the expired, the stale run and the orphan, c must go too.
    const maxSize = (await t.store.index.entry(d.id))!.bytes + (await t.store.objects.size(d.blob!))!;
    const refs = await t.store.refs.list();
    const statsBefore = await t.store.index.stats();

    const dry = await gc(t.store, { maxSize, dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.equal(dry.commits, 3);
    assert.deepEqual(await t.store.refs.list(), refs);
    assert.deepEqual(await t.store.index.stats(), statsBefore);
    assert.equal(exists(orphan), true);

    const real = await gc(t.store, { maxSize });
    assert.deepEqual({ ...real, dryRun: true }, dry);
    assert.deepEqual(dry.removed.map((c) => c.reason), ["expired", "stale", "size"]);
    await sound();
  });

  test("a bad duration or size is an InvalidInputError and removes nothing", async () => {
    const stale = await old("a", 40 * DAY);
    for (const options of [{ olderThan: "7 days" }, { olderThan: "-1d" }, { olderThan: "1w" }, { maxSize: "10XB" }, { maxSize: "MB" }, { maxSize: -1 }]) {
      await assert.rejects(gc(t.store, options), InvalidInputError, JSON.stringify(options));
    }
    assert.equal(exists(stale.id), true);
  });
});
