// history: the runs of one function+arguments, newest first, from the head and the index.
import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import { fingerprintRef } from "../../plumbing/refs.js";
import { history } from "../../porcelain/history.js";
import { rm } from "../../porcelain/rm.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

describe("history", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  let chain: Recorded[];
  let other: Recorded;
  beforeEach(async () => {
    if (t) await t.dispose();
    t = await tempFsStore();
    chain = [];
    for (let i = 0; i < 3; i++) {
      chain.push(await recordRun(t.store, { seed: "chain" }));
      other = await recordRun(t.store, { seed: "other" }); // same function, other arguments
    }
  });
  after(() => t.dispose());
  const ids = (xs: Array<{ id: string }>): string[] => xs.map((c) => c.id);

  test("lists every run of the commit's function and arguments, newest first, from any of them", async () => {
    const want = ids(chain).reverse();
    for (const c of chain) assert.deepEqual(ids(await history(t.store, c.id.slice(0, 8))), want);
    assert.equal((await history(t.store, other.id)).length, 3, "other arguments are another history");
  });

  test("still lists the older runs after a run in the middle is removed", async () => {
    assert.ok(await rm(t.store, chain[1]!.id));
    assert.deepEqual(ids(await history(t.store, chain[2]!.id)), [chain[2]!.id, chain[0]!.id]);
    assert.deepEqual(ids(await history(t.store, chain[0]!.id)), [chain[2]!.id, chain[0]!.id]);
  });

  test("works from the commit itself when its head ref is gone", async () => {
    await t.store.refs.update(fingerprintRef(chain[0]!.fingerprint), null);
    assert.deepEqual(ids(await history(t.store, chain[1]!.id)), ids(chain).reverse());
  });

  test("includes a run forked off the chain (two forced re-runs of one parent)", async () => {
    const fork = await recordRun(t.store, { seed: "chain", parent: chain[1]!.id, moveHead: false });
    assert.deepEqual(ids(await history(t.store, chain[0]!.id)), [fork.id, chain[2]!.id, chain[1]!.id, chain[0]!.id]);
  });

  test("refuses unknown and malformed ids like show", async () => {
    await assert.rejects(history(t.store, "ffff0000"), { code: "ENOTFOUND" });
    await assert.rejects(history(t.store, "nope"), { code: "EINVALID" });
  });
});
