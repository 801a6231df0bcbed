// The import staging area: verified blobs wait outside the object namespace (an fs store's tmp/,
// else a private temp directory), publishing moves them in (a rename on an fs store), and
// discarding leaves nothing — also after an aborted write.
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { compress } from "../../plumbing/compress.js";
import { sha256 } from "../../plumbing/ids.js";
import { ObjectDb, writeVerifiedBlob } from "../../plumbing/objects.js";
import { openStaging } from "../../plumbing/staging.js";
import { FsObjects } from "../../plumbing/backends/fs/objects.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { tempDir } from "../helpers/fixtures.js";

const t = tempDir("cashet-staging-");
after(() => t.remove());

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
const blob = (text: string): { id: string; frame: Buffer } => ({ id: sha256(Buffer.from(text)), frame: compress(Buffer.from(text)) });

test("fs: a staged blob lives in tmp/, not in objects/; publishing renames that very file into place", async () => {
  const objects = new FsObjects(join(t.dir, "fs"));
  const staging = openStaging(objects);
  const { id, frame } = blob("staged bytes");
  await writeVerifiedBlob(staging, id, once(frame));
  assert.equal(staging.has(id), true);
  assert.equal(await objects.size(id), null, "not visible before publish");
  const [name] = readdirSync(join(t.dir, "fs", "tmp"));
  assert.match(name!, new RegExp(`^import-${process.pid}-[0-9a-f]{12}-${id}$`));
  const inode = statSync(join(t.dir, "fs", "tmp", name!)).ino;
  await staging.publish();
  assert.equal(statSync(join(t.dir, "fs", "objects", id.slice(0, 2), id.slice(2))).ino, inode, "moved, not copied");
  assert.deepEqual(readdirSync(join(t.dir, "fs", "tmp")), []);
  assert.deepEqual((await new ObjectDb(objects).getBlob(id))?.toString(), "staged bytes");
  await staging.discard();
  assert.equal(await objects.size(id), frame.length, "a published blob stays");
});

test("fs: discard removes every staged file and an aborted write leaves none", async () => {
  const objects = new FsObjects(join(t.dir, "fs2"));
  const staging = openStaging(objects);
  for (const text of ["one", "two", "three"]) await writeVerifiedBlob(staging, blob(text).id, once(blob(text).frame));
  const bad = blob("claimed");
  await assert.rejects(writeVerifiedBlob(staging, bad.id, once(blob("real").frame)), /does not match its id/);
  assert.equal(staging.has(bad.id), false);
  assert.equal(readdirSync(join(t.dir, "fs2", "tmp")).length, 3);
  await staging.discard();
  assert.deepEqual(readdirSync(join(t.dir, "fs2", "tmp")), []);
  assert.deepEqual(readdirSync(join(t.dir, "fs2")), ["tmp"], "no objects/ directory was made");
});

test("another store: staged outside it, streamed in on publish; a discarded blob never arrives", async () => {
  const store = new MemoryStore();
  const staging = openStaging(store.objects);
  const { id, frame } = blob("x".repeat(3 << 20));
  await writeVerifiedBlob(staging, id, once(frame));
  assert.equal(await store.objects.size(id), null);
  await staging.publish();
  assert.equal(Buffer.from((await store.objects.read(id))!).equals(frame), true);
  await staging.discard();

  const refused = openStaging(store.objects);
  const other = blob("never published");
  await writeVerifiedBlob(refused, other.id, once(other.frame));
  await refused.discard();
  assert.equal(await store.objects.size(other.id), null);
});
