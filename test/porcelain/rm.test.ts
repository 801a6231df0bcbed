// rm: a commit goes, with the blobs only it used; refs fall back to its parent; the store stays sound.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, beforeEach, describe, test } from "node:test";
import { fsck } from "../../plumbing/commands/fsck.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { log } from "../../porcelain/log.js";
import { rm } from "../../porcelain/rm.js";
import { stats } from "../../porcelain/stats.js";
import { makeRecord } from "../helpers/fixtures.js";
import { recordRun, tempFsStore } from "../helpers/runs.js";

describe("rm", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  beforeEach(async () => {
    if (t) await t.dispose();
    t = await tempFsStore();
  });
  after(() => t.dispose());
  const sound = async (): Promise<void> => assert.deepEqual((await fsck(t.store)).problems, []);

  test("removes the head: its blob file goes, the fp ref moves to the parent", async () => {
    const c1 = await recordRun(t.store);
    const c2 = await recordRun(t.store);
    const before = await stats(t.store);
    const r = await rm(t.store, c2.id.slice(0, 8));
    assert.deepEqual(r?.commit, c2.id);
    assert.deepEqual(r?.blobs, [c2.blob]);
    assert.deepEqual(r?.refs, [{ name: fingerprintRef(c2.fingerprint), to: c1.id }]);
    assert.ok(r!.bytes > 2048 - 100, "the blob's stored bytes are counted");
    assert.equal(existsSync(objectPath(t.dir, c2.id)), false);
    assert.equal(existsSync(objectPath(t.dir, c2.blob!)), false);
    assert.equal(existsSync(objectPath(t.dir, c1.blob!)), true);
    assert.equal(await t.store.refs.read(fingerprintRef(c1.fingerprint)), c1.id);
    assert.deepEqual((await log(t.store)).map((c) => c.id), [c1.id]);
    const now = await stats(t.store);
    assert.equal(now.totalCommits, before.totalCommits - 1);
    assert.equal(now.blobObjects, before.blobObjects - 1);
    assert.equal(now.diskBytes, before.diskBytes - r!.bytes);
    await sound();
  });

  test("keeps a blob another commit still uses, and removes it with the last user", async () => {
    const output = Buffer.alloc(5000, 7);
    const a = await recordRun(t.store, { seed: "a", output });
    const b = await recordRun(t.store, { seed: "b", output });
    assert.equal(a.blob, b.blob);
    assert.deepEqual((await rm(t.store, a.id))?.blobs, []);
    assert.equal(existsSync(objectPath(t.dir, a.blob!)), true);
    await sound();
    assert.deepEqual((await rm(t.store, b.id))?.blobs, [b.blob]);
    assert.equal(existsSync(objectPath(t.dir, b.blob!)), false);
    await sound();
  });

  test("deletes the fp ref of a commit without a parent, and a pin on it", async () => {
    const c = await recordRun(t.store, { output: Buffer.from("tiny") });
    await t.store.refs.update("pin/keep", c.id);
    const r = await rm(t.store, c.id);
    assert.deepEqual(r?.blobs, [], "an inline blob is no object of its own");
    assert.deepEqual(
      r?.refs.sort((x, y) => x.name.localeCompare(y.name)),
      [{ name: fingerprintRef(c.fingerprint), to: null }, { name: "pin/keep", to: null }],
    );
    assert.deepEqual(await t.store.refs.list(), []);
    assert.equal((await stats(t.store)).inlineObjects, 0);
    await sound();
  });

  test("moves a pin on the commit to its parent, an earlier run of the same call", async () => {
    const c1 = await recordRun(t.store);
    const c2 = await recordRun(t.store);
    await t.store.refs.update("pin/best", c2.id);
    await rm(t.store, c2.id);
    assert.equal(await t.store.refs.read("pin/best"), c1.id);
    await sound();
  });

  test("a parent that is gone is not a place for a ref: it is deleted instead", async () => {
    const c1 = await recordRun(t.store);
    const c2 = await recordRun(t.store);
    await rm(t.store, c1.id);
    const r = await rm(t.store, c2.id);
    assert.deepEqual(r?.refs, [{ name: fingerprintRef(c2.fingerprint), to: null }]);
    await sound();
  });

  test("removes a commit the index never knew (a writer died before indexing it), and its blob", async () => {
    const db = new ObjectDb(t.store.objects);
    const blob = await db.putBlob(Buffer.alloc(3000, 1));
    const put = await db.putCommit(makeRecord({ seed: "lost", outputId: blob.id, outputSize: 3000 }));
    const r = await rm(t.store, put.id);
    assert.deepEqual(r?.blobs, [blob.id]);
    assert.equal(existsSync(objectPath(t.dir, put.id)), false);
    assert.equal(existsSync(objectPath(t.dir, blob.id)), false);
    await sound();
  });

  test("nothing matching is null and changes nothing; a blob id is not a commit; bad ids throw", async () => {
    const c = await recordRun(t.store);
    assert.equal(await rm(t.store, "0123456789"), null);
    assert.equal(await rm(t.store, "f".repeat(64)), null);
    assert.equal(await rm(t.store, c.blob!), null);
    assert.equal(existsSync(objectPath(t.dir, c.blob!)), true);
    await assert.rejects(rm(t.store, "not-an-id"), { code: "EINVALID" });
    assert.equal((await stats(t.store)).totalCommits, 1);
  });
});
