// clear: every commit and blob goes; pins and what they use stay unless --all.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import { fsck } from "../../plumbing/commands/fsck.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { clear } from "../../porcelain/clear.js";
import { log } from "../../porcelain/log.js";
import { stats } from "../../porcelain/stats.js";
import { makeRecord } from "../helpers/fixtures.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

describe("clear", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  let pinned: Recorded;
  let head: Recorded;
  let loose: string;
  let unindexed: string;
  beforeEach(async () => {
    if (t) await t.dispose();
    t = await tempFsStore();
    pinned = await recordRun(t.store, { seed: "p" });
    head = await recordRun(t.store, { seed: "p" }); // a newer run of the pinned call
    for (let i = 0; i < 4; i++) await recordRun(t.store, { seed: `s${i}`, failed: i === 3, output: i === 2 ? Buffer.from("inline") : undefined });
    await t.store.refs.update("pin/keep", pinned.id);
    const db = new ObjectDb(t.store.objects);
    loose = (await db.putBlob(Buffer.alloc(4096, 3))).id; // hash-object --write
    await t.store.index.addBlob(loose);
    unindexed = (await db.putCommit(makeRecord({ seed: "crashed" }))).id;
  });
  after(() => t.dispose());
  const objects = (): string[] => readdirSync(join(t.dir, "objects"), { recursive: true }).map(String).filter((p) => p.length > 3);

  test("removes every commit and blob but the pinned commit and its blob; its head falls back to it", async () => {
    const r = await clear(t.store);
    assert.equal(r.commits, 6, "five indexed, one unindexed");
    assert.equal(r.kept, 1);
    assert.equal(r.blobs, 4, "three 2 KiB outputs and the loose blob");
    assert.equal(r.refs, 4, "the heads of the four other calls");
    assert.ok(r.bytes > 4 * 2048);
    assert.deepEqual((await log(t.store)).map((c) => c.id), [pinned.id]);
    assert.equal(existsSync(objectPath(t.dir, pinned.blob!)), true);
    assert.equal(existsSync(objectPath(t.dir, head.blob!)), false);
    assert.equal(existsSync(objectPath(t.dir, loose)), false);
    assert.equal(existsSync(objectPath(t.dir, unindexed)), false);
    assert.equal(objects().length, 2);
    assert.deepEqual(await t.store.refs.list(), [
      { name: fingerprintRef(pinned.fingerprint), id: pinned.id },
      { name: "pin/keep", id: pinned.id },
    ]);
    assert.deepEqual((await fsck(t.store)).problems, []);
    const s = await stats(t.store);
    assert.equal(s.totalCommits, 1);
    assert.equal(s.blobObjects, 1);
    assert.equal(s.inlineObjects, 0);
  });

  test("--all removes the pins too, leaving an empty, sound store", async () => {
    const r = await clear(t.store, { all: true });
    assert.equal(r.commits, 7);
    assert.equal(r.kept, 0);
    assert.equal(r.refs, 6, "five heads and the pin");
    assert.deepEqual(objects(), []);
    assert.deepEqual(await t.store.refs.list(), []);
    assert.deepEqual(await log(t.store), []);
    assert.deepEqual((await fsck(t.store)).problems, []);
    const s = await stats(t.store);
    assert.deepEqual([s.totalCommits, s.blobObjects, s.diskBytes, s.inlineObjects, s.inlineBytes], [0, 0, 0, 0, 0]);
    assert.deepEqual(await clear(t.store, { all: true }), { commits: 0, blobs: 0, refs: 0, bytes: 0, kept: 0 });
  });
});
