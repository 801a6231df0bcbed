// The publish order (plumbing/publish.ts), wherever it runs — a run's publish, the fs daemon's
// claim.complete, Redis's claim: the index holds a commit before any ref points at it; the ref
// moves from the head the writer saw, and over a head moved meanwhile.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { Client } from "../../lib/client.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { publishRun } from "../../plumbing/publish.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import type { RefStorage, Store } from "../../plumbing/store.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { makeRecord, tempDir } from "../helpers/fixtures.js";
import { redisOrSkip, tempRedisStore } from "../helpers/redis.js";

process.env.CASHET_DAEMON_IDLE_MS ??= "5000";
const t = tempDir("cashet-publish-");
after(() => t.remove());
const available = await redisOrSkip();

/** `store` with its index and refs recording each call — and, at each ref update, whether the index already held the commit. */
function recording(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const index = Object.create(store.index) as Store["index"];
  index.addCommit = async (id) => {
    calls.push(`index ${id.slice(0, 6)}`);
    await store.index.addCommit(id);
  };
  const refs: RefStorage = {
    read: (name) => store.refs.read(name),
    list: (prefix) => store.refs.list(prefix),
    update: async (name, next, expected) => {
      const indexed = next !== null && (await store.index.entry(next)) !== null;
      calls.push(`ref ${next?.slice(0, 6)}${expected === undefined ? "" : ` from ${expected?.slice(0, 6) ?? "none"}`}${indexed ? " (indexed)" : " (NOT INDEXED)"}`);
      return store.refs.update(name, next, expected);
    },
  };
  const wrapped = Object.assign(Object.create(store) as Store, { index, refs });
  return { store: wrapped, calls };
}

async function commitOf(store: Store, seed: string): Promise<string> {
  return (await new ObjectDb(store.objects).putCommit(makeRecord({ seed: "call", tags: { run: seed } }))).id;
}
const REF = fingerprintRef(makeRecord({ seed: "call" }).fingerprint);

describe("publishRun", () => {
  test("the index holds the commit before the ref moves to it", async () => {
    const memory = new MemoryStore();
    const { store, calls } = recording(memory);
    try {
      const id = await commitOf(memory, "a");
      assert.equal(await publishRun(store, id, REF, null), true);
      assert.deepEqual(calls, [`index ${id.slice(0, 6)}`, `ref ${id.slice(0, 6)} from none (indexed)`]);
      assert.equal(await memory.refs.read(REF), id);
    } finally {
      await memory.close();
    }
  });

  test("a head moved meanwhile is replaced by ours; with onConflict theirs it stays; without a head seen, the ref moves over whatever it names", async () => {
    const memory = new MemoryStore();
    const { store, calls } = recording(memory);
    try {
      const seen = await commitOf(memory, "seen");
      const meanwhile = await commitOf(memory, "meanwhile");
      const ours = await commitOf(memory, "ours!");
      await memory.refs.update(REF, meanwhile);
      assert.equal(await publishRun(store, ours, REF, seen), true);
      assert.equal(await memory.refs.read(REF), ours);
      assert.deepEqual(calls.slice(1), [`ref ${ours.slice(0, 6)} from ${seen.slice(0, 6)} (indexed)`, `ref ${ours.slice(0, 6)} (indexed)`]);
      await memory.refs.update(REF, meanwhile);
      assert.equal(await publishRun(store, ours, REF, seen, { onConflict: "theirs" }), false);
      assert.equal(await memory.refs.read(REF), meanwhile);
      calls.length = 0;
      assert.equal(await publishRun(store, ours, REF), true);
      assert.deepEqual(calls.slice(1), [`ref ${ours.slice(0, 6)} (indexed)`]);
    } finally {
      await memory.close();
    }
  });

  test("a failed run (no ref) is only indexed", async () => {
    const memory = new MemoryStore();
    const { store, calls } = recording(memory);
    try {
      const id = await commitOf(memory, "failed");
      await publishRun(store, id, null, null);
      assert.deepEqual(calls, [`index ${id.slice(0, 6)}`]);
    } finally {
      await memory.close();
    }
  });

  test("a run through the cache publishes in that order (a store whose claims have no one-step complete)", async () => {
    const memory = new MemoryStore();
    const { store, calls } = recording(memory);
    try {
      const double = (x: number): number => x * 2;
      const result = await new Client({ store }).submit(double, 21);
      assert.equal(await result.load(), 42);
      const commit = result.commit.slice(0, 6);
      assert.deepEqual(calls.filter((c) => c.includes(commit)), [`index ${commit}`, `ref ${commit} from none (indexed)`]);
    } finally {
      await memory.close();
    }
  });
});

describe("a claim's one-step complete follows the same order", () => {
  test("the fs daemon: indexed, the ref moved over a head moved meanwhile, the claim released", async () => {
    const store = new FsStore(`${t.dir}/${randomBytes(4).toString("hex")}`);
    try {
      const fp = makeRecord({ seed: "call" }).fingerprint;
      const seen = await commitOf(store, "seen");
      const meanwhile = await commitOf(store, "meanwhile");
      const ours = await commitOf(store, "ours!");
      const claim = (await store.claims.tryAcquire(fp))!;
      await store.refs.update(REF, meanwhile);
      await claim.complete!(ours, REF, seen);
      assert.equal(await store.refs.read(REF), ours);
      assert.equal((await store.index.entry(ours))?.id, ours);
      assert.ok(await store.claims.tryAcquire(fp), "released");
    } finally {
      await store.stopDaemon();
      await store.close();
    }
  });

  test("Redis: indexed, the ref moved (over a head moved meanwhile), released — one script after the index update", { skip: !available }, async () => {
    const { store, dispose } = tempRedisStore();
    try {
      const fp = makeRecord({ seed: "call" }).fingerprint;
      const conn = (store as unknown as { redis: { sendCommand: (c: { name: string }) => unknown } }).redis;
      const send = conn.sendCommand.bind(conn);
      let sent = 0;
      conn.sendCommand = (c) => (sent++, send(c));
      const count = async (step: () => Promise<unknown>): Promise<number> => {
        sent = 0;
        await step();
        return sent;
      };
      const first = await commitOf(store, "first");
      const claim = (await store.claims.tryAcquire(fp))!;
      const indexing = await count(() => store.index.addCommit(first));
      const second = await commitOf(store, "second");
      const publishing = await count(() => claim.complete!(second, REF, null));
      assert.equal(publishing, indexing + 1, "index, then one script that moves the ref and releases");
      assert.equal(await store.refs.read(REF), second);
      assert.ok((await store.index.entry(second)) !== null);
      const again = (await store.claims.tryAcquire(fp))!;
      assert.ok(again, "released");
      const ours = await commitOf(store, "ours!");
      await store.refs.update(REF, first); // moved meanwhile
      await again.complete!(ours, REF, second);
      assert.equal(await store.refs.read(REF), ours, "the holder's run replaces a head moved meanwhile");
      assert.ok(await store.claims.tryAcquire(fp), "released");
    } finally {
      await dispose();
    }
  });
});
