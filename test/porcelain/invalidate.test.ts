// invalidate: every commit with the given tags goes, as rm removes one.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, beforeEach, describe, test } from "node:test";
import { fsck } from "../../plumbing/commands/fsck.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { invalidate } from "../../porcelain/invalidate.js";
import { log } from "../../porcelain/log.js";
import { recordRun, tempFsStore } from "../helpers/runs.js";

describe("invalidate", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  beforeEach(async () => {
    if (t) await t.dispose();
    t = await tempFsStore();
  });
  after(() => t.dispose());

  test("removes exactly the commits matching every tag and returns how many", async () => {
    const v1a = await recordRun(t.store, { seed: "a", tags: { data: "v1", team: "x" } });
    const v1b = await recordRun(t.store, { seed: "b", tags: { data: "v1" } });
    const v2 = await recordRun(t.store, { seed: "c", tags: { data: "v2", team: "x" } });
    const plain = await recordRun(t.store, { seed: "d" });
    assert.equal(await invalidate(t.store, { tags: ["data=v1", "team"] }), 1);
    assert.deepEqual((await log(t.store)).map((c) => c.id), [plain.id, v2.id, v1b.id]);
    assert.equal(existsSync(objectPath(t.dir, v1a.blob!)), false);
    assert.equal(await invalidate(t.store, { tags: ["data"] }), 2);
    assert.deepEqual((await log(t.store)).map((c) => c.id), [plain.id]);
    assert.equal(await invalidate(t.store, { tags: ["data"] }), 0);
    assert.deepEqual((await fsck(t.store)).problems, []);
  });

  test("the head falls back to the newest earlier run that does not match", async () => {
    const old = await recordRun(t.store, { tags: { data: "v0" } });
    await recordRun(t.store, { tags: { data: "v1" } });
    await recordRun(t.store, { tags: { data: "v1" } });
    assert.equal(await invalidate(t.store, { tags: ["data=v1"] }), 2);
    assert.equal(await t.store.refs.read(fingerprintRef(old.fingerprint)), old.id);
    assert.deepEqual((await fsck(t.store)).problems, []);
  });

  test("without a tag, or with a malformed one, is EINVALID and removes nothing", async () => {
    await recordRun(t.store, { tags: { a: "1" } });
    await assert.rejects(invalidate(t.store, { tags: [] }), { code: "EINVALID" });
    await assert.rejects(invalidate(t.store, { tags: ["=1"] }), { code: "EINVALID" });
    assert.equal((await log(t.store)).length, 1);
  });
});
