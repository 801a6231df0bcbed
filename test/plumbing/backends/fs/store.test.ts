// FsStore: the conformance suite, plus what only a store on disk can get wrong.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { fsck } from "../../../../plumbing/commands/fsck.js";
import { ObjectDb } from "../../../../plumbing/objects.js";
import { objectPath } from "../../../../plumbing/backends/fs/layout.js";
import { FsStore } from "../../../../plumbing/backends/fs/store.js";
import { makeRecord, tempDir } from "../../../helpers/fixtures.js";
import { storeConformance } from "../../store-conformance.js";

process.env.CASHET_DAEMON_IDLE_MS ??= "5000";
const dirs = new Map<FsStore, () => void>();

storeConformance("FsStore", {
  open: async () => {
    const t = tempDir();
    const store = new FsStore(t.dir);
    dirs.set(store, t.remove);
    return store;
  },
  dispose: async (store) => {
    await (store as FsStore).stopDaemon();
    await store.close();
    dirs.get(store as FsStore)?.();
  },
});

/** A fresh store for one test, stopped and removed afterwards. */
async function fresh(fn: (store: FsStore, db: ObjectDb, dir: string) => Promise<void>): Promise<void> {
  const t = tempDir();
  const store = new FsStore(t.dir);
  try {
    await fn(store, new ObjectDb(store.objects), store.location);
  } finally {
    await store.stopDaemon();
    await store.close();
    t.remove();
  }
}

describe("FsStore on disk", () => {
  test("a 64 MiB blob round-trips whole and streamed, stored compressed under objects/xx/", () =>
    fresh(async (_store, db, dir) => {
      const text = Buffer.from("the quick brown fox jumps over the lazy dog\n".repeat(64));
      const bytes = Buffer.concat([randomBytes(32 << 20), Buffer.concat(Array(12_000).fill(text))]);
      const put = await db.putBlob(bytes);
      const path = objectPath(dir, put.id);
      assert.ok(existsSync(path));
      assert.ok(readFileSync(path).length < bytes.length, "the compressible half is compressed");
      assert.ok((await db.getBlob(put.id))!.equals(bytes));
      const big = randomBytes(56 << 20);
      const chunks = Array.from({ length: 56 }, (_, i) => big.subarray(i << 20, (i + 1) << 20));
      const streamed = await db.putBlobStream(Readable.from(chunks));
      assert.equal(streamed.id, createHash("sha256").update(big).digest("hex"));
      assert.ok((await db.getBlob(streamed.id))!.equals(big));
    }));

  test("a truncated or bit-flipped blob file is detected and never returned", () =>
    fresh(async (_store, db, dir) => {
      const a = await db.putBlob(randomBytes(100_000));
      const b = await db.putBlob(randomBytes(100_000));
      truncateSync(objectPath(dir, a.id), 5000);
      const file = objectPath(dir, b.id);
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(file, bytes);
      for (const id of [a.id, b.id]) {
        assert.equal((await db.read(id)).kind, "corrupt");
        assert.equal(await db.getBlob(id), null);
      }
    }));

  test("a writer killed between temp write and rename leaves no visible object", () =>
    fresh(async (store, db, dir) => {
      // The child streams a blob and is killed before the last chunk: no rename ever happens.
      const objects = fileURLToPath(new URL("../../../../plumbing/objects.js", import.meta.url));
      const fsstore = fileURLToPath(new URL("../../../../plumbing/backends/fs/store.js", import.meta.url));
      const script = `
        import { ObjectDb } from ${JSON.stringify(objects)};
        import { FsStore } from ${JSON.stringify(fsstore)};
        const db = new ObjectDb(new FsStore(${JSON.stringify(dir)}).objects);
        async function* chunks() {
          for (let i = 0; i < 8; i++) yield Buffer.alloc(1 << 20, i);
          process.stdout.write("written\\n");
          await new Promise(() => {});
        }
        await db.putBlobStream(chunks());`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((resolve) => child.stdout.on("data", (d) => String(d).includes("written") && resolve()));
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const listed = [];
      for await (const o of store.objects.list()) listed.push(o.id);
      assert.deepEqual(listed, [], "no object is visible");
      assert.equal(readdirSync(join(dir, "tmp")).length, 1, "the partial bytes sit in tmp/ only");
      const whole = Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.alloc(1 << 20, i)));
      assert.equal(await db.getBlob(createHash("sha256").update(whole).digest("hex")), null);
    }));

  test("a lost index is rebuilt from the objects: no result is lost", () =>
    fresh(async (store, db, dir) => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const blob = await db.putBlob(randomBytes(3000));
        const put = await db.putCommit(makeRecord({ seed: `lost${i}`, outputId: blob.id, outputSize: 3000 }));
        await store.index.addCommit(put.id);
        ids.push(put.id);
      }
      const before = await store.index.stats();
      await store.stopDaemon();
      await store.close();
      rmSync(join(dir, "index", "db"), { recursive: true, force: true });
      const reopened = new FsStore(dir);
      try {
        assert.deepEqual((await reopened.index.log()).map((e) => e.id).sort(), [...ids].sort());
        assert.deepEqual(await reopened.index.stats(), before);
      } finally {
        await reopened.stopDaemon();
        await reopened.close();
      }
    }));

  test("a corrupt index is moved aside and rebuilt", () =>
    fresh(async (store, db, dir) => {
      const put = await db.putCommit(makeRecord({ seed: "corrupt-index" }));
      await store.index.addCommit(put.id);
      await store.stopDaemon();
      await store.close();
      const level = join(dir, "index", "db");
      for (const f of readdirSync(level)) if (f.startsWith("MANIFEST") || f === "CURRENT") writeFileSync(join(level, f), "garbage");
      const reopened = new FsStore(dir);
      try {
        assert.deepEqual((await reopened.index.log()).map((e) => e.id), [put.id]);
        assert.ok(readdirSync(join(dir, "index")).some((f) => f.startsWith("db.corrupt-")));
      } finally {
        await reopened.stopDaemon();
        await reopened.close();
      }
    }));

  test("a commit whose writer died before the index heard of it is found by fsck and indexed by --repair", () =>
    fresh(async (store, db) => {
      const out = await db.putBlob(randomBytes(2000));
      const known = await db.putCommit(makeRecord({ seed: "known", outputId: out.id, outputSize: 2000 }));
      await store.index.addCommit(known.id);
      // The writer stored its commit and died before telling the index.
      const put = await db.putCommit(makeRecord({ seed: "writer-died", outputId: out.id, outputSize: 2000 }));
      const found = await fsck(store);
      assert.deepEqual(found.problems.map((p) => [p.kind, p.subject]), [["unindexed-commit", put.id]]);
      const repaired = await fsck(store, { repair: true });
      assert.equal(repaired.remaining, 0);
      assert.deepEqual((await store.index.log()).map((e) => e.id).sort(), [known.id, put.id].sort());
      assert.equal((await fsck(store)).problems.length, 0);
    }));

  test("a cache-hit read path (ref, commit, blob) works with no daemon running", () =>
    fresh(async (store, db, dir) => {
      const blob = await db.putBlob(randomBytes(5000));
      const put = await db.putCommit(makeRecord({ seed: "hit", outputId: blob.id, outputSize: 5000 }));
      const ref = `fp/${makeRecord({ seed: "hit" }).fingerprint}`;
      await store.refs.update(ref, put.id, null);
      await store.stopDaemon();
      await store.close();
      const reader = new FsStore(dir);
      const rdb = new ObjectDb(reader.objects);
      const id = await reader.refs.read(ref);
      const commit = await rdb.getCommit(id!);
      assert.equal((await rdb.getBlob(commit!.output!.hash))!.length, 5000);
      assert.ok(!existsSync(join(dir, "index", "daemon.pid")), "no daemon was started by the reads");
      await reader.close();
    }));
});

after(() => {
  for (const remove of dirs.values()) remove();
});
