// The package's public entry point: what `import … from "cashet"` gives a user.
import assert from "node:assert/strict";
import { test } from "node:test";

test('import from "cashet" gives the stores, the object database and the typed errors', async () => {
  const cashet = await import("cashet");
  const store = new cashet.MemoryStore();
  const db = new cashet.ObjectDb(store.objects);
  const put = await db.putBlob(Buffer.from("via the package entry point"));
  assert.equal(put.id, cashet.sha256(Buffer.from("via the package entry point")));
  await assert.rejects(db.resolve("nope"), cashet.InvalidInputError);
  assert.equal(new cashet.NotFoundError("x").code, "ENOTFOUND");
  await store.close();
});

test('the Client from "cashet" memoizes a call end to end', async () => {
  const cashet = await import("cashet");
  const client = new cashet.Client({ store: new cashet.MemoryStore() });
  const first = await client.submit(square, 12);
  const again = await client.submit(square, 12);
  assert.equal(await first.load(), 144);
  assert.equal(again.cached, true);
  assert.equal(again.commit, first.commit);
  await client.close();
});

export function square(x: number): number {
  return x * x;
}
