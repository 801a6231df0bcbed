// export and import: round trips in every format between stores in different directories (and
// through Redis), idempotent re-imports, refs that only move forward, export filters. Hostile
// archives: transfer-hostile.test.ts.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Client } from "../../lib/client.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import type { Store } from "../../plumbing/store.js";
import { importArchive } from "../../porcelain/transfer.js";
import { cashet } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { redisOrSkip, tempRedisStore } from "../helpers/redis.js";

export function table(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => Math.sqrt(i));
}
export function greet(name: string): string {
  return `hello ${name}`;
}

const redisAvailable = await redisOrSkip();
const t = tempDir("cashet-transfer-");
after(() => t.remove());
let stores = 0;
const fsStore = (): { store: FsStore; dir: string; dispose: () => Promise<void> } => {
  const dir = join(t.dir, `store-${++stores}`);
  const store = new FsStore(dir);
  return { store, dir, dispose: async () => { await store.stopDaemon(); await store.close(); } };
};

/** A source store with a few runs: a large output, small inline ones, a tagged one, a forced re-run. */
async function populate(store: Store): Promise<{ big: string; small: string[] }> {
  const client = new Client({ store });
  const big = await client.submit(table, 20_000);
  const small = [await client.run(greet, { args: ["ada"], tags: { team: "core" } }), await client.submit(greet, "bob")];
  await client.run(greet, { args: ["ada"], force: true, tags: { team: "core" } });
  return { big: big.commit, small: small.map((r) => r.commit) };
}

describe("export and import round trips", () => {
  for (const ext of [".tar.gz", ".tar.zst", ".zip", ".tar"]) {
    test(`${ext}: the other store then hits every call with byte-identical results; importing again changes nothing`, async () => {
      const a = fsStore();
      const b = fsStore();
      try {
        await populate(a.store);
        const file = join(t.dir, `round${stores}${ext}`);
        const out = await new Client({ store: a.store }).export(file);
        assert.deepEqual([out.commits, out.blobs, out.refs], [4, 1, 3]);
        const first = await new Client({ store: b.store }).import(file);
        assert.deepEqual([first.commits, first.blobs, first.refs, first.skipped], [4, 1, 3, 0]);
        const client = new Client({ store: b.store });
        const hit = await client.submit(table, 20_000);
        assert.equal(hit.cached, true);
        assert.deepEqual(await hit.load(), table(20_000));
        assert.equal((await client.submit(greet, "bob")).cached, true);
        assert.deepEqual(await b.store.index.stats(), await a.store.index.stats());
        const again = await new Client({ store: b.store }).import(file);
        assert.deepEqual([again.commits, again.blobs, again.refs, again.skipped], [0, 0, 0, 5]);
        assert.deepEqual(await b.store.index.stats(), await a.store.index.stats());
      } finally {
        await a.dispose();
        await b.dispose();
      }
    });
  }

  test("the CLI: export prints counts, import into a store in another directory makes `cashet run` hits", async () => {
    const dir = join(t.dir, "cli-project");
    mkdirSync(dir);
    writeFileSync(join(dir, "task.mjs"), "export function add(a, b) { return a + b; }\n");
    const storeA = join(t.dir, "cli-a");
    const storeB = join(t.dir, "cli-b");
    assert.equal((await cashet(["run", join(dir, "task.mjs#add"), "2", "3", "--store", storeA])).out, "5\n");
    const file = join(t.dir, "cli.tar.zst");
    const ex = await cashet(["export", file, "--store", storeA]);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.out, /^exported 1 commits, 0 blobs and 1 refs \(.+\) to .*cli\.tar\.zst\n$/);
    const im = await cashet(["import", "--json", file, "--store", storeB]);
    assert.equal(im.code, 0, im.stderr);
    assert.deepEqual(JSON.parse(im.out), { commits: 1, blobs: 0, refs: 1, bytes: JSON.parse(im.out).bytes, skipped: 0 });
    const run = await cashet(["run", "--json", join(dir, "task.mjs#add"), "2", "3", "--store", storeB]);
    assert.equal(JSON.parse(run.out).cached, true);
    for (const s of [storeA, storeB]) await new FsStore(s, { create: false }).stopDaemon();
  });

  test("refs move only forward: a newer local run stays the head, the imported one joins the history", async () => {
    const a = fsStore();
    const b = fsStore();
    try {
      const old = await new Client({ store: a.store }).submit(greet, "eve");
      const file = join(t.dir, "forward.tar.gz");
      await new Client({ store: a.store }).export(file);
      await new Promise((r) => setTimeout(r, 5));
      const newer = await new Client({ store: b.store }).submit(greet, "eve");
      const r = await importArchive(b.store, file);
      assert.equal(r.refs, 0, "the ref did not move back");
      const client = new Client({ store: b.store });
      assert.equal((await client.submit(greet, "eve")).commit, newer.commit);
      assert.deepEqual((await client.history(newer.commit)).map((c) => c.id).sort(), [old.commit, newer.commit].sort());
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  test("filters: --func, --tag and --since choose the runs; --with-history adds their ancestors", async () => {
    const a = fsStore();
    try {
      await populate(a.store);
      const client = new Client({ store: a.store });
      const counts = async (filters: Parameters<Client["export"]>[1]) => {
        const file = join(t.dir, `filter-${Math.random().toString(16).slice(2)}.tar`);
        const c = await client.export(file, filters);
        return [c.commits, c.blobs];
      };
      assert.deepEqual(await counts({ func: "table" }), [1, 1]);
      assert.deepEqual(await counts({ func: "greet" }), [3, 0]);
      assert.deepEqual(await counts({ tags: ["team=core"] }), [2, 0]);
      assert.deepEqual(await counts({ since: Date.now() + 60_000 }), [0, 0]);
      assert.deepEqual(await counts({ since: "1h" }), [4, 1]);
      await assert.rejects(client.export(join(t.dir, "bad.rar")), /unknown archive format/);
      // The forced re-run of greet("ada") descends from the first run: only with history does that come along.
      const forced = (await client.log({ func: "greet", tags: ["team=core"], limit: 1 }))[0]!;
      const since = Date.parse(forced.createdAt);
      assert.deepEqual(await counts({ tags: ["team=core"], since }), [1, 0]);
      assert.deepEqual(await counts({ tags: ["team=core"], since, withHistory: true }), [2, 0]);
    } finally {
      await a.dispose();
    }
  });

  test("FsStore → RedisStore → FsStore", { skip: !redisAvailable }, async () => {
    const a = fsStore();
    const r = tempRedisStore();
    const c = fsStore();
    try {
      await populate(a.store);
      const one = join(t.dir, "to-redis.tar.zst");
      await new Client({ store: a.store }).export(one);
      await importArchive(r.store, one);
      assert.equal((await new Client({ store: r.store }).submit(table, 20_000)).cached, true);
      const two = join(t.dir, "from-redis.zip");
      await new Client({ store: r.store }).export(two);
      await importArchive(c.store, two);
      const hit = await new Client({ store: c.store }).submit(table, 20_000);
      assert.equal(hit.cached, true);
      assert.deepEqual(await hit.load(), table(20_000));
      assert.deepEqual(await c.store.index.stats(), await a.store.index.stats());
    } finally {
      await a.dispose();
      await r.dispose();
      await c.dispose();
    }
  });
});
