// export and import: round trips in every format between stores in different directories (and
// through Redis), idempotent re-imports, refs that only move forward, export filters — and a
// hostile-archive suite: every malformed or malicious archive is refused with one line naming
// the entry, writes nothing outside the store and leaves nothing half-imported visible.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { Client } from "../../lib/client.js";
import { compress } from "../../plumbing/compress.js";
import { encodeCommit } from "../../plumbing/commit.js";
import { InvalidInputError } from "../../plumbing/errors.js";
import { sha256 } from "../../plumbing/ids.js";
import { FsStore } from "../../plumbing/store/fs/store.js";
import type { Store } from "../../plumbing/store/types.js";
import { importArchive } from "../../porcelain/transfer.js";
import { cashet } from "../helpers/cli.js";
import { makeRecord, tempDir } from "../helpers/fixtures.js";
import { redisOrSkip, tempRedisStore } from "../helpers/redis.js";

const require = createRequire(import.meta.url);
const tar = require("tar-stream") as typeof import("tar-stream");
const yazl = require("yazl") as typeof import("yazl");

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

// --- hostile archives -------------------------------------------------------------------------

type TarEntry = { name: string; body?: Buffer; type?: "file" | "symlink" | "link" | "character-device" | "directory"; linkname?: string; size?: number };

async function makeTar(entries: TarEntry[], gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: e.name, type: e.type ?? "file", ...(e.linkname ? { linkname: e.linkname } : {}), size: e.body?.length ?? 0 }, e.body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  return gzip ? gzipSync(raw) : raw;
}

const manifest = (counts: Partial<{ commits: number; blobs: number; refs: number }> = {}): TarEntry => ({
  name: "cashet-archive.json",
  body: Buffer.from(JSON.stringify({ format: "cashet-archive", version: 1, cashet: "0.1.0", createdAt: new Date().toISOString(), commits: 0, blobs: 0, refs: 0, ...counts })),
});
const blobEntry = (content: Buffer, id = sha256(content)): TarEntry => ({ name: `objects/${id}`, body: compress(content) });

describe("hostile archives", () => {
  const cases: Array<{ name: string; build: () => Promise<Buffer>; ext?: string; expect: RegExp; limits?: { maxEntryBytes?: number; maxUnpackedBytes?: number } }> = [
    { name: "a path with ..", build: () => makeTar([manifest(), { name: "../escape", body: Buffer.from("x") }]), expect: /"\.\.\/escape" is not part of a cashet archive/ },
    { name: "an absolute path", build: () => makeTar([manifest(), { name: "/tmp/cashet-escape", body: Buffer.from("x") }]), expect: /"\/tmp\/cashet-escape" is not part of a cashet archive/ },
    { name: "a symlink", build: () => makeTar([manifest(), { name: `objects/${"a".repeat(64)}`, type: "symlink", linkname: "/etc/passwd" }]), expect: /is a link, not a regular file/ },
    { name: "a hard link", build: () => makeTar([manifest(), { name: `objects/${"b".repeat(64)}`, type: "link", linkname: "cashet-archive.json" }]), expect: /is a link, not a regular file/ },
    { name: "a device file", build: () => makeTar([manifest(), { name: `objects/${"c".repeat(64)}`, type: "character-device" }]), expect: /is a character-device, not a regular file/ },
    { name: "a duplicate entry", build: () => makeTar([manifest(), blobEntry(Buffer.from("twice")), blobEntry(Buffer.from("twice"))]), expect: /appears twice/ },
    { name: "an entry over the size limit", build: () => makeTar([manifest(), blobEntry(Buffer.alloc(5000, 7))]), limits: { maxEntryBytes: 100 }, expect: /declares \d+ bytes, over the limit of 100/ },
    {
      name: "an archive whose gzip layer unpacks beyond the ceiling",
      build: () => makeTar([manifest({ blobs: 1 }), blobEntry(randomBytes(3 * 1024 * 1024))], true),
      ext: ".tar.gz",
      limits: { maxUnpackedBytes: 1024 * 1024 },
      expect: /unpacks to more than 1048576 bytes/,
    },
    {
      name: "a decompression bomb (a small blob that inflates far beyond the archive)",
      build: () => makeTar([manifest({ blobs: 1 }), blobEntry(Buffer.alloc(64 * 1024 * 1024))]),
      limits: { maxUnpackedBytes: 8 * 1024 * 1024 },
      expect: /"objects\/[0-9a-f]{64}": unpacks to more than 8388608 bytes/,
    },
    { name: "a manifest that is not JSON", build: () => makeTar([{ name: "cashet-archive.json", body: Buffer.from("{nope") }]), expect: /cashet-archive\.json is not valid JSON/ },
    { name: "no manifest first", build: () => makeTar([blobEntry(Buffer.from("x")), manifest()]), expect: /the first entry must be cashet-archive\.json/ },
    { name: "a blob whose content is not its id", build: () => makeTar([manifest(), blobEntry(Buffer.from("real"), sha256("claimed"))]), expect: /its content does not match its id/ },
    {
      name: "a commit that needs an object the archive lacks",
      build: () => {
        const rec = makeRecord({ seed: "needs-missing" });
        const { id, bytes } = encodeCommit(rec);
        return makeTar([manifest({ commits: 1 }), { name: `objects/${id}`, body: bytes }]);
      },
      expect: /needs object [0-9a-f]{12}, which is neither in the archive nor in the store/,
    },
    {
      name: "a truncated stream",
      build: async () => {
        const whole = await makeTar([manifest({ blobs: 1 }), blobEntry(Buffer.from("some content ".repeat(5000)))], true);
        return whole.subarray(0, Math.floor(whole.length / 2));
      },
      ext: ".tar.gz",
      expect: /not a readable archive \(unexpected end of file\)/,
    },
    {
      name: "a symlink in a zip",
      build: async () => {
        const zip = new yazl.ZipFile();
        zip.addBuffer(manifest().body!, "cashet-archive.json");
        zip.addBuffer(Buffer.from("/etc/passwd"), `objects/${"e".repeat(64)}`, { mode: 0o120777 });
        zip.end();
        const chunks: Buffer[] = [];
        for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
        return Buffer.concat(chunks);
      },
      ext: ".zip",
      expect: /is a link, not a regular file/,
    },
  ];

  for (const c of cases) {
    test(`${c.name} is refused, names the entry, writes nothing outside the store and leaves nothing visible`, async () => {
      const s = fsStore();
      const box = join(t.dir, `box-${stores}`);
      mkdirSync(box);
      const file = join(box, `hostile${c.ext ?? ".tar"}`);
      writeFileSync(file, await c.build());
      try {
        const err = await importArchive(s.store, file, c.limits ?? {}).then(() => null, (e: unknown) => e);
        assert.ok(err instanceof InvalidInputError, `expected a bad-input error, got ${String(err)}`);
        assert.match(err.message, c.expect);
        assert.doesNotMatch(err.message, /\n/);
        assert.deepEqual(readdirSync(box), [`hostile${c.ext ?? ".tar"}`], "nothing written beside the archive");
        const st = await s.store.index.stats();
        assert.equal(st.totalCommits, 0, "no commit became visible");
        assert.deepEqual(await s.store.refs.list(), []);
      } finally {
        await s.dispose();
      }
    });
  }

  test("the CLI refuses a hostile archive with exit 2 and one line", async () => {
    const file = join(t.dir, "evil.tar");
    writeFileSync(file, await makeTar([manifest(), { name: "../../evil", body: Buffer.from("x") }]));
    const store = join(t.dir, "cli-hostile");
    const r = await cashet(["import", file, "--store", store]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^cashet: archive entry "\.\.\/\.\.\/evil" is not part of a cashet archive\n$/);
    const missing = await cashet(["import", join(t.dir, "nope.tar.gz"), "--store", store]);
    assert.equal(missing.code, 2);
    await new FsStore(store, { create: false }).stopDaemon().catch(() => undefined);
  });
});
