// show: one commit by id or unique prefix; unknown, ambiguous and malformed ids are errors.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeCommit } from "../../plumbing/commit.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { show } from "../../porcelain/show.js";
import { makeRecord } from "../helpers/fixtures.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

describe("show", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  let run: Recorded;
  before(async () => {
    t = await tempFsStore();
    run = await recordRun(t.store, { tags: { exp: "a" }, ttlMs: 3_600_000, output: Buffer.from("42"), deps: [{ kind: "declaration", key: "./#LR", hash: "ab".repeat(32) }] });
  });
  after(() => t.dispose());

  test("finds a commit by a unique prefix and returns everything in it, without inline bytes", async () => {
    const commit = await show(t.store, run.id.slice(0, 6).toUpperCase());
    const { inline: _inline, ...record } = run.record;
    assert.deepEqual(commit, { id: run.id, ...record });
    assert.equal(commit.expiresAt, new Date(Date.parse(run.record.createdAt) + 3_600_000).toISOString());
  });

  test("an unknown id or a blob id is ENOTFOUND; a malformed one is EINVALID", async () => {
    await assert.rejects(show(t.store, "0000000"), { code: "ENOTFOUND", message: /no commit matches "0000000"/ });
    const blob = await recordRun(t.store, { seed: "big" });
    await assert.rejects(show(t.store, blob.blob!), { code: "ENOTFOUND" });
    for (const bad of ["abc", "xyz!", "g".repeat(64), "a".repeat(65)]) await assert.rejects(show(t.store, bad), { code: "EINVALID" }, bad);
  });

  test("a prefix shared by two commits is EAMBIGUOUS, naming both", async () => {
    // Find two records whose ids share their first four hex digits.
    const rec = (i: number) => makeRecord({ seed: `amb${i}`, createdAt: "2025-01-01T00:00:00.000Z" });
    const seen = new Map<string, number>();
    let pair: [number, number] | null = null;
    for (let i = 0; !pair; i++) {
      const p = encodeCommit(rec(i)).id.slice(0, 4);
      if (seen.has(p)) pair = [seen.get(p)!, i];
      else seen.set(p, i);
    }
    const db = new ObjectDb(t.store.objects);
    const a = await db.putCommit(rec(pair[0]));
    const b = await db.putCommit(rec(pair[1]));
    await assert.rejects(show(t.store, a.id.slice(0, 4)), (err: Error & { code?: string }) => {
      assert.equal(err.code, "EAMBIGUOUS");
      assert.match(err.message, new RegExp(a.id.slice(0, 12)));
      assert.match(err.message, new RegExp(b.id.slice(0, 12)));
      return true;
    });
    assert.equal((await show(t.store, a.id.slice(0, 12))).id, a.id);
  });
});
