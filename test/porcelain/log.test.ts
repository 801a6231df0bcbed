// log: newest first from the index, filters, public shape, and bad filters refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ObjectDb } from "../../plumbing/objects.js";
import { log } from "../../porcelain/log.js";
import { makeRecord } from "../helpers/fixtures.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

const PUBLIC_KEYS = ["args", "attempts", "createdAt", "durationMs", "error", "expiresAt", "fingerprint", "func", "id", "output", "parent", "provenance", "status", "tags"];

describe("log", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  const runs: Recorded[] = [];
  before(async () => {
    t = await tempFsStore();
    for (let i = 0; i < 25; i++) {
      runs.push(
        await recordRun(t.store, {
          seed: `s${i}`,
          func: i % 2 ? "train" : "load",
          failed: i % 5 === 4,
          tags: i % 3 === 0 ? { exp: i < 12 ? "a" : "b" } : {},
          output: i % 4 === 0 ? Buffer.from(`small ${i}`) : undefined,
        }),
      );
    }
  });
  after(() => t.dispose());

  test("lists the newest 20 commits, newest first, by default", async () => {
    const commits = await log(t.store);
    assert.deepEqual(commits.map((c) => c.id), runs.slice(5).reverse().map((r) => r.id));
  });

  test("gives each commit in the public shape: every field, no inline bytes", async () => {
    const [newest] = await log(t.store, { limit: 1 });
    assert.deepEqual(Object.keys(newest!).sort(), PUBLIC_KEYS);
    const small = (await log(t.store, { limit: Infinity })).find((c) => c.id === runs[0]!.id)!;
    assert.equal("inline" in small, false, "a commit with an inline output does not show its bytes");
    const { inline: _inline, ...record } = runs[0]!.record;
    assert.deepEqual(small, { id: runs[0]!.id, ...record });
  });

  test("filters by function, status and tags, all at once, and honours the limit", async () => {
    const all = runs.slice().reverse();
    const ids = (xs: Recorded[]) => xs.map((r) => r.id);
    assert.deepEqual((await log(t.store, { func: "train", limit: Infinity })).map((c) => c.id), ids(all.filter((r) => r.record.func.name === "train")));
    assert.deepEqual((await log(t.store, { status: "failed" })).map((c) => c.id), ids(all.filter((r) => r.record.status === "failed")));
    assert.deepEqual((await log(t.store, { tags: ["exp=a"] })).map((c) => c.id), ids(all.filter((r) => r.record.tags.exp === "a")));
    assert.deepEqual((await log(t.store, { tags: ["exp"] })).map((c) => c.id), ids(all.filter((r) => "exp" in r.record.tags)));
    assert.deepEqual(
      (await log(t.store, { tags: ["exp=b"], func: "load", status: "completed" })).map((c) => c.id),
      ids(all.filter((r) => r.record.tags.exp === "b" && r.record.func.name === "load" && r.record.status === "completed")),
    );
    assert.equal((await log(t.store, { limit: 3 })).length, 3);
    assert.deepEqual(await log(t.store, { func: "nobody" }), []);
  });

  test("answers from the index: an unindexed commit is not listed, a vanished one is left out", async () => {
    const db = new ObjectDb(t.store.objects);
    const stray = await db.putCommit(makeRecord({ seed: "unindexed", createdAt: new Date(Date.parse("2030-01-01")).toISOString() }));
    assert.equal((await log(t.store, { limit: Infinity })).some((c) => c.id === stray.id), false);
    const gone = await recordRun(t.store, { seed: "vanishing", func: "ephemeral" });
    await t.store.objects.delete(gone.id);
    assert.deepEqual(await log(t.store, { func: "ephemeral" }), []);
    await t.store.index.removeCommit(gone.id);
    await t.store.objects.delete(stray.id);
  });

  test("refuses a bad status, limit or tag filter with EINVALID", async () => {
    const bad = [
      { status: "running" as never },
      { limit: 0 },
      { limit: -1 },
      { limit: 1.5 },
      { limit: Number.NaN },
      { tags: ["=v"] },
      { tags: [""] },
      { tags: ["a\0b"] },
    ];
    for (const options of bad) {
      await assert.rejects(log(t.store, options), { code: "EINVALID" }, JSON.stringify(options));
    }
  });
});
