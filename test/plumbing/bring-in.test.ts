// Bringing in a commit made elsewhere (plumbing/bring-in.ts), as a read-through fetch, an import
// and the server's upload all do: refused — with nothing changed — while a blob it names is
// missing; otherwise stored, indexed, and its ref moved by the publish rule.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { bringInCommit } from "../../plumbing/bring-in.js";
import { encodeCommit } from "../../plumbing/commit.js";
import { compress } from "../../plumbing/compress.js";
import { CorruptObjectError } from "../../plumbing/errors.js";
import { sha256 } from "../../plumbing/ids.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import type { Store } from "../../plumbing/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { makeRecord, tempDir } from "../helpers/fixtures.js";
import { localBackends } from "../helpers/runs.js";

process.env.CASHET_DAEMON_IDLE_MS ??= "5000";
const t = tempDir("cashet-bring-in-");
after(() => t.remove());

/** A commit (not stored anywhere) whose output is a 2 KiB blob, with the blob's stored bytes. */
function runMadeElsewhere(seed: string): { id: string; bytes: Buffer; ref: string; blob: { id: string; frame: Buffer } } {
  const output = randomBytes(2048);
  const blob = { id: sha256(output), frame: compress(output) };
  const record = makeRecord({ seed, outputId: blob.id, outputSize: output.length });
  return { ...encodeCommit(record), ref: fingerprintRef(record.fingerprint), blob };
}

async function objectIds(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for await (const o of store.objects.list()) ids.push(o.id);
  return ids;
}

const backends = localBackends(t.dir);

for (const [name, open] of backends) {
  describe(`bringInCommit on ${name}`, () => {
    test("a commit whose blob is missing is refused, and the store is as it was: no object, no index entry, no ref", async () => {
      const { store, close } = await open();
      try {
        const run = runMadeElsewhere("missing");
        const before = await objectIds(store);
        const brought = await bringInCommit(store, run.id, run.bytes, { ref: { name: run.ref } });
        assert.deepEqual(brought, { brought: false, missing: run.blob.id });
        assert.deepEqual(await objectIds(store), before);
        assert.equal(await store.index.entry(run.id), null);
        assert.equal(await store.refs.read(run.ref), null);
      } finally {
        await close();
      }
    });

    test("with its blobs stored, a commit is written, indexed and its ref moved; again, it changes nothing", async () => {
      const { store, close } = await open();
      try {
        const run = runMadeElsewhere("complete");
        await store.objects.write(run.blob.id, run.blob.frame);
        const brought = await bringInCommit(store, run.id, run.bytes, { ref: { name: run.ref } });
        assert.equal(brought.brought && brought.created, true);
        assert.equal((await store.index.entry(run.id))?.id, run.id);
        assert.equal(await store.refs.read(run.ref), run.id);
        const again = await bringInCommit(store, run.id, run.bytes);
        assert.equal(again.brought && again.created, false);
      } finally {
        await close();
      }
    });

    test("a blob fetched on demand counts; an inline blob needs no object", async () => {
      const { store, close } = await open();
      try {
        const run = runMadeElsewhere("fetched");
        const asked: string[] = [];
        const brought = await bringInCommit(store, run.id, run.bytes, { fetch: async (id) => (asked.push(id), store.objects.write(id, run.blob.frame)) });
        assert.deepEqual(asked, [run.blob.id]);
        assert.equal(brought.brought, true);
        const small = Buffer.from("tiny");
        const inline = encodeCommit(makeRecord({ seed: "inline", outputId: sha256(small), outputSize: small.length, inline: { [sha256(small)]: small.toString("base64") } }));
        assert.equal((await bringInCommit(store, inline.id, inline.bytes)).brought, true);
      } finally {
        await close();
      }
    });
  });
}

describe("bringInCommit", () => {
  test("bytes that are not the commit they claim to be are refused before anything is stored", async () => {
    const store = new MemoryStore();
    try {
      const run = runMadeElsewhere("forged");
      await store.objects.write(run.blob.id, run.blob.frame);
      const other = runMadeElsewhere("other");
      await assert.rejects(bringInCommit(store, run.id, other.bytes), CorruptObjectError);
      assert.equal(await store.objects.size(run.id), null);
    } finally {
      await store.close();
    }
  });

  test("a stored copy that no longer verifies is replaced by the verified bytes", async () => {
    const store = new MemoryStore();
    try {
      const run = runMadeElsewhere("damaged");
      await store.objects.write(run.blob.id, run.blob.frame);
      await store.objects.write(run.id, Buffer.from(`{"damaged":true}`));
      const brought = await bringInCommit(store, run.id, run.bytes);
      assert.equal(brought.brought && brought.created, true);
      assert.deepEqual(Buffer.from((await store.objects.read(run.id))!), run.bytes);
      assert.equal((await store.index.entry(run.id))?.id, run.id);
    } finally {
      await store.close();
    }
  });

  test('a ref moved "theirs" on conflict: a run made here meanwhile stays the head', async () => {
    const store = new MemoryStore();
    try {
      const run = runMadeElsewhere("theirs");
      await store.objects.write(run.blob.id, run.blob.frame);
      const local = runMadeElsewhere("theirs-local");
      await store.objects.write(local.blob.id, local.blob.frame);
      await bringInCommit(store, local.id, local.bytes);
      await store.refs.update(run.ref, local.id); // (another commit id; the ref's rule is not checked here)
      const brought = await bringInCommit(store, run.id, run.bytes, { ref: { name: run.ref, head: null, onConflict: "theirs" } });
      assert.equal(brought.brought && brought.refMoved, false);
      assert.equal(await store.refs.read(run.ref), local.id);
      assert.equal((await store.index.entry(run.id))?.id, run.id, "indexed all the same: it is in the history");
    } finally {
      await store.close();
    }
  });
});
