// Reading hits (plumbing/hits.ts), as a run's lookup and the server's /hit both do: the ref read
// every time, the commit checked on every hit (however long it has been remembered), the output
// verified — a corrupt blob is a miss and is removed, never served — and a use recorded at most
// once a minute.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import type { CommitRecord } from "../../plumbing/commit.js";
import { readHit, readHitCommit, verifiedCommit } from "../../plumbing/hits.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import type { Store } from "../../plumbing/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { makeRecord, tempDir } from "../helpers/fixtures.js";
import { localBackends } from "../helpers/runs.js";

process.env.CASHET_DAEMON_IDLE_MS ??= "5000";
const t = tempDir("cashet-hits-");
after(() => t.remove());

/** Stores a run with a 2 KiB output blob (not inline) and points its call's ref at it. */
async function storeRun(store: Store, seed: string, overrides: Partial<CommitRecord> = {}): Promise<{ id: string; ref: string; output: Buffer; blob: string }> {
  const db = new ObjectDb(store.objects);
  const output = randomBytes(2048);
  const blob = await db.putBlob(output);
  const record = makeRecord({ seed, outputId: blob.id, outputSize: output.length, ...overrides });
  const { id } = await db.putCommit(record);
  await store.index.addCommit(id);
  const ref = fingerprintRef(record.fingerprint);
  await store.refs.update(ref, id);
  return { id, ref, output, blob: blob.id };
}

const backends = localBackends(t.dir);

for (const [name, open] of backends) {
  describe(`readHit on ${name}`, () => {
    test("a ref moved to another run is read again: the hit is the new run, not the remembered one", async () => {
      const { store, close } = await open();
      try {
        const first = await storeRun(store, "moved");
        assert.equal((await readHit(store, first.ref))?.commit.id, first.id);
        const db = new ObjectDb(store.objects);
        const blob = await db.putBlob(randomBytes(2048));
        const newer = await db.putCommit(makeRecord({ seed: "moved", outputId: blob.id, outputSize: 2048, parent: first.id, durationMs: 9 }));
        await store.index.addCommit(newer.id);
        await store.refs.update(first.ref, newer.id, first.id);
        assert.equal((await readHit(store, first.ref))?.commit.id, newer.id);
      } finally {
        await close();
      }
    });

    test("a corrupt output blob is a miss, is never served, and is removed so a recomputed result can land", async () => {
      const { store, close } = await open();
      try {
        const run = await storeRun(store, "corrupt");
        assert.deepEqual((await readHit(store, run.ref))?.bytes, run.output, "a hit first: the commit is remembered");
        await store.objects.delete(run.blob);
        await store.objects.write(run.blob, Buffer.from("(not the output)"));
        assert.equal(await readHit(store, run.ref), null);
        assert.equal(await store.objects.size(run.blob), null, "the bad bytes are gone");
      } finally {
        await close();
      }
    });

    test("an expired run is a miss, also once remembered from a hit before it expired", async () => {
      const { store, close } = await open();
      try {
        const run = await storeRun(store, "expiring", { expiresAt: new Date(Date.now() + 300).toISOString() });
        assert.ok(await readHit(store, run.ref), "a hit while it is valid");
        await new Promise((r) => setTimeout(r, 350));
        assert.equal(await readHit(store, run.ref), null);
        const past = await storeRun(store, "expired", { expiresAt: new Date(Date.now() - 1000).toISOString() });
        assert.equal(await readHit(store, past.ref), null);
      } finally {
        await close();
      }
    });

    test("a failed run is never a hit, and a call's ref pointed at another call's run is a miss even when that run is remembered", async () => {
      const { store, close } = await open();
      try {
        const db = new ObjectDb(store.objects);
        const failed = await db.putCommit(makeRecord({ seed: "failed", status: "failed", output: null, error: { name: "Error", message: "boom", stack: "" } }));
        await store.refs.update(fingerprintRef(makeRecord({ seed: "failed" }).fingerprint), failed.id);
        assert.equal(await readHit(store, fingerprintRef(makeRecord({ seed: "failed" }).fingerprint)), null);
        const other = await storeRun(store, "other");
        assert.ok(await readHit(store, other.ref), "remembered by this hit");
        const mine = fingerprintRef(makeRecord({ seed: "mine" }).fingerprint);
        await store.refs.update(mine, other.id); // a ref is a file anyone with write access can point anywhere
        assert.equal(await readHit(store, mine), null);
        assert.equal(await readHitCommit(store, mine), null, "the server's reader checks alike");
      } finally {
        await close();
      }
    });
  });
}

describe("the hit memory", () => {
  test("a use is recorded once a minute per commit, however many hits", async () => {
    const store = new MemoryStore();
    const touched: string[] = [];
    const touch = store.objects.touch.bind(store.objects);
    store.objects.touch = async (id) => (touched.push(id), touch(id));
    try {
      const run = await storeRun(store, "touched");
      for (let i = 0; i < 5; i++) assert.ok(await readHit(store, run.ref));
      assert.deepEqual(touched, [run.id]);
    } finally {
      await store.close();
    }
  });

  test("the server's reader gets the commit's stored bytes, and shares what a lookup verified", async () => {
    const store = new MemoryStore();
    try {
      const run = await storeRun(store, "served");
      assert.ok(await readHit(store, run.ref));
      const found = await readHitCommit(store, run.ref);
      assert.equal(found?.id, run.id);
      assert.deepEqual(Buffer.from(found!.stored), Buffer.from((await store.objects.read(run.id))!));
      assert.equal((await verifiedCommit(store.objects, run.id))?.id, run.id);
      await store.objects.delete(run.id);
      assert.equal((await verifiedCommit(store.objects, run.id))?.id, run.id, "remembered: commits never change");
    } finally {
      await store.close();
    }
  });

  test("a store that reads a hit in one round trip: the same checks, and a corrupt blob is a miss that is deleted", async () => {
    const local = new MemoryStore();
    const deleted: string[] = [];
    const store: Store = Object.assign(Object.create(local) as MemoryStore, {
      objects: Object.assign(Object.create(local.objects) as typeof local.objects, {
        delete: async (id: string) => (deleted.push(id), local.objects.delete(id)),
      }),
      readHit: async (ref: string) => {
        const id = await local.refs.read(ref);
        if (!id) return null;
        const commit = await local.objects.read(id);
        const output = commit && (JSON.parse(Buffer.from(commit).toString()) as { output: { hash: string } }).output.hash;
        return { id, commit, blob: output ? await local.objects.read(output) : null };
      },
    });
    try {
      const run = await storeRun(local, "at-once");
      assert.deepEqual((await readHit(store, run.ref))?.bytes, run.output);
      const expired = await storeRun(local, "at-once-expired", { expiresAt: new Date(Date.now() - 1).toISOString() });
      assert.equal(await readHit(store, expired.ref), null);
      local.objects.corrupt(run.blob, (await local.objects.read(expired.blob))!); // a sound frame of other content
      assert.equal(await readHit(store, run.ref), null);
      assert.deepEqual(deleted, [run.blob], "a blob that does not verify is deleted: recompute, never serve");
      assert.equal(await readHit(store, run.ref), null, "and stays a miss");
    } finally {
      await local.close();
    }
  });
});
