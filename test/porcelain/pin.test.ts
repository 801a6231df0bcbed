// pin / unpin: pin/<name> refs on commits; names and ids checked.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pin, unpin } from "../../porcelain/pin.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

describe("pin and unpin", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  let a: Recorded;
  let b: Recorded;
  before(async () => {
    t = await tempFsStore();
    a = await recordRun(t.store, { seed: "a" });
    b = await recordRun(t.store, { seed: "b" });
  });
  after(() => t.dispose());

  test("pins a commit by prefix; pinning the name again moves it and says where it was", async () => {
    assert.deepEqual(await pin(t.store, a.id.slice(0, 7), "best"), { name: "best", ref: "pin/best", id: a.id, previous: null });
    assert.equal(await t.store.refs.read("pin/best"), a.id);
    assert.deepEqual(await pin(t.store, b.id, "pin/best"), { name: "best", ref: "pin/best", id: b.id, previous: a.id });
    assert.equal(await t.store.refs.read("pin/best"), b.id);
  });

  test("unpins, returning the commit; the commit stays; a second unpin is ENOTFOUND", async () => {
    await pin(t.store, a.id, "v1.0");
    assert.deepEqual(await unpin(t.store, "v1.0"), { name: "v1.0", ref: "pin/v1.0", id: a.id });
    assert.equal(await t.store.refs.read("pin/v1.0"), null);
    assert.ok(await t.store.objects.size(a.id));
    await assert.rejects(unpin(t.store, "v1.0"), { code: "ENOTFOUND", message: /no pin named "v1.0"/ });
  });

  test("refuses bad names (EINVALID), unknown commits and blobs (ENOTFOUND), changing nothing", async () => {
    const before = await t.store.refs.list();
    for (const name of ["", "a/b", "..", "-x", "white space", "x".repeat(101)]) {
      await assert.rejects(pin(t.store, a.id, name), { code: "EINVALID" }, name);
      await assert.rejects(unpin(t.store, name), { code: "EINVALID" }, name);
    }
    await assert.rejects(pin(t.store, "00000000", "x"), { code: "ENOTFOUND" });
    await assert.rejects(pin(t.store, a.blob!, "x"), { code: "ENOTFOUND" });
    await assert.rejects(pin(t.store, "zz", "x"), { code: "EINVALID" });
    assert.deepEqual(await t.store.refs.list(), before);
  });
});
