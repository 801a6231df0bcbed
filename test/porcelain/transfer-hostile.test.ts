// Hostile archives, in every format (.tar.gz, .tar.zst, .zip, .tar): each malformed or malicious
// archive is refused with one line naming the problem, writes nothing beside itself and leaves
// the store exactly as it was — the same files (every file outside the index daemon's index/
// directory: path, size, mtime and content) and the same index (log, stats, refs). Many of them
// fail late: a bad object or ref after every good one. The good archive they are made from still
// imports in full afterwards.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { Client } from "../../lib/client.js";
import { encodeCommit } from "../../plumbing/commit.js";
import { compress } from "../../plumbing/compress.js";
import { InvalidInputError } from "../../plumbing/errors.js";
import { sha256 } from "../../plumbing/ids.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import type { Store } from "../../plumbing/store.js";
import { readAll, readArchive } from "../../porcelain/archive.js";
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

type Format = "tar.gz" | "tar.zst" | "zip" | "tar";
const FORMATS: Format[] = ["tar.gz", "tar.zst", "zip", "tar"];
type Entry = { name: string; body?: Buffer; type?: "file" | "symlink" | "link" | "character-device" | "directory"; linkname?: string };

async function makeTar(entries: Entry[]): Promise<Buffer> {
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
  return Buffer.concat(chunks);
}

/**
 * yazl refuses to write `..` and absolute names, so those are written under a stand-in of the same
 * length and patched into the finished bytes (local header and central directory alike).
 */
async function makeZip(entries: Entry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const patches: Array<[string, string]> = [];
  for (const e of entries) {
    let name = e.name;
    if (name.includes("..") || name.startsWith("/")) {
      const standIn = name.replace(/\.\./g, "@@").replace(/^\//, "_");
      patches.push([standIn, name]);
      name = standIn;
    }
    const mtime = new Date(0);
    if (e.type === "directory") zip.addEmptyDirectory(name, { mtime });
    else if (e.type === "symlink") zip.addBuffer(Buffer.from(e.linkname ?? ""), name, { mode: 0o120777, mtime });
    else if (e.type === "character-device") zip.addBuffer(Buffer.alloc(0), name, { mode: 0o020666, mtime });
    else if (e.type === "link") throw new Error("zip has no hard links");
    else zip.addBuffer(e.body ?? Buffer.alloc(0), name, { compress: !name.startsWith("objects/"), mtime });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  for (const [from, to] of patches) {
    for (let at = bytes.indexOf(from); at !== -1; at = bytes.indexOf(from, at + 1)) bytes.write(to, at, "latin1");
  }
  return bytes;
}

async function build(format: Format, entries: Entry[]): Promise<Buffer> {
  if (format === "zip") return makeZip(entries);
  const raw = await makeTar(entries);
  return format === "tar.gz" ? gzipSync(raw) : format === "tar.zst" ? compress(raw) : raw;
}

const manifestEntry = (counts: Partial<{ commits: number; blobs: number; refs: number }> = {}): Entry => ({
  name: "cashet-archive.json",
  body: Buffer.from(JSON.stringify({ format: "cashet-archive", version: 1, cashet: "0.1.0", createdAt: new Date().toISOString(), commits: 0, blobs: 0, refs: 0, ...counts })),
});
const blobEntry = (content: Buffer, id = sha256(content)): Entry => ({ name: `objects/${id}`, body: compress(content) });

/**
 * Every file and directory under an fs store but index/ (the daemon's LevelDB, pid file and log:
 * compared through log and stats instead) and stats/ (this test process's own call counts, which
 * the snapshot's `stats()` writes).
 */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (path === "index" || path === "stats") continue;
      const st = statSync(join(dir, path));
      if (st.isDirectory()) {
        out.push(`${path}/`);
        walk(path);
      } else {
        out.push(`${path} ${st.size} ${st.mtimeMs} ${createHash("sha256").update(readFileSync(join(dir, path))).digest("hex")}`);
      }
    }
  };
  walk("");
  return out;
}

/** What a user can see of a store: its files (fs), its objects, `log --json`, `stats --json` and the refs. */
async function snapshot(store: Store): Promise<unknown> {
  const client = new Client({ store });
  const objects: string[] = [];
  for await (const o of store.objects.list()) objects.push(`${o.id} ${o.size}`);
  return {
    files: store instanceof FsStore ? listing(store.location) : null,
    objects,
    log: await client.log({ limit: Number.POSITIVE_INFINITY }),
    stats: await client.stats(),
    refs: await store.refs.list(),
  };
}

/** The good archive every late-failing case is made from: 13 blobs (one of 2.4 MB), 16 commits and 17 refs, in export order. */
async function goodEntries(dir: string): Promise<Entry[]> {
  const store = new FsStore(join(dir, "source"));
  try {
    const client = new Client({ store });
    for (let i = 0; i < 12; i++) await client.submit(table, 2000 + i);
    await client.submit(table, 300_000);
    for (const name of ["ada", "bob", "cy"]) await client.submit(greet, name);
    await client.pin((await client.submit(greet, "ada")).commit, "hello-ada");
    const file = join(dir, "good.tar");
    await client.export(file);
    const entries: Entry[] = [];
    for await (const e of readArchive(file)) entries.push({ name: e.name, body: await readAll(e, 64 * 1024 * 1024) });
    return entries;
  } finally {
    await store.stopDaemon();
    await store.close();
  }
}

interface Case {
  name: string;
  entries: (good: Entry[]) => Entry[];
  expect: RegExp;
  /** A different message where a format says it its own way. */
  expectIn?: Partial<Record<Format, RegExp>>;
  formats?: Format[];
  limits?: { maxEntryBytes?: number; maxUnpackedBytes?: number };
  /** Applied to the built archive's bytes. */
  mangle?: (bytes: Buffer) => Buffer;
}

const parts = (good: Entry[]) => ({
  manifest: JSON.parse(good[0]!.body!.toString("utf8")) as { commits: number; blobs: number; refs: number },
  blobs: good.filter((e) => e.name.startsWith("objects/") && e.body![0] !== 0x7b),
  commits: good.filter((e) => e.name.startsWith("objects/") && e.body![0] === 0x7b),
  refs: good.filter((e) => e.name.startsWith("refs/")),
});
/** The good archive with `extra` after every good entry, and the manifest counting it. */
const goodThen = (good: Entry[], extra: Entry[], counts: Partial<{ commits: number; blobs: number; refs: number }> = {}): Entry[] => {
  const { manifest } = parts(good);
  return [manifestEntry({ ...manifest, ...Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, manifest[k as keyof typeof manifest] + v])) }), ...good.slice(1), ...extra];
};
const ghost = "9".repeat(64);
/** How each layer says it ended early: tar-stream, zlib, zstd, yauzl, or the manifest's counts when the cut falls between entries. */
const TRUNCATED = /unexpected end of (data|file)|ended in middle of compressed data|not a readable archive \(|truncated\?/i;

const cases: Case[] = [
  // Refused at the first entry that breaks the layout.
  { name: "a path with ..", entries: () => [manifestEntry(), { name: "../escape", body: Buffer.from("x") }], expect: /"\.\.\/escape" is not part of a cashet archive/, expectIn: { zip: /not a readable archive \(invalid relative path: \.\.\/escape\)/ } },
  { name: "an absolute path", entries: () => [manifestEntry(), { name: "/tmp/cashet-escape", body: Buffer.from("x") }], expect: /"\/tmp\/cashet-escape" is not part of a cashet archive/, expectIn: { zip: /not a readable archive \(absolute path: \/tmp\/cashet-escape\)/ } },
  { name: "a symlink", entries: () => [manifestEntry(), { name: `objects/${"a".repeat(64)}`, type: "symlink", linkname: "/etc/passwd" }], expect: /is a link, not a regular file/ },
  { name: "a hard link", entries: () => [manifestEntry(), { name: `objects/${"b".repeat(64)}`, type: "link", linkname: "cashet-archive.json" }], expect: /is a link, not a regular file/, formats: ["tar.gz", "tar.zst", "tar"] },
  { name: "a device file", entries: () => [manifestEntry(), { name: `objects/${"c".repeat(64)}`, type: "character-device" }], expect: /is a character-device, not a regular file/, expectIn: { zip: /is a special file, not a regular file/ } },
  { name: "a directory", entries: () => [manifestEntry(), { name: "objects/", type: "directory" }], expect: /"objects\/" is a directory, not a regular file/ },
  { name: "a duplicate entry", entries: () => [manifestEntry({ blobs: 1 }), blobEntry(Buffer.from("twice")), blobEntry(Buffer.from("twice"))], expect: /appears twice/ },
  { name: "an entry over the size limit", entries: () => [manifestEntry({ blobs: 1 }), blobEntry(Buffer.alloc(5000, 7))], limits: { maxEntryBytes: 100 }, expect: /declares \d+ bytes, over the limit of 100/ },
  { name: "an archive that unpacks beyond the ceiling", entries: () => [manifestEntry({ blobs: 1 }), blobEntry(randomBytes(3 * 1024 * 1024))], limits: { maxUnpackedBytes: 1024 * 1024 }, expect: /unpacks to more than 1048576 bytes/ },
  { name: "a decompression bomb (a small blob that inflates far beyond the archive)", entries: () => [manifestEntry({ blobs: 1 }), blobEntry(Buffer.alloc(64 * 1024 * 1024))], limits: { maxUnpackedBytes: 8 * 1024 * 1024 }, expect: /"objects\/[0-9a-f]{64}": unpacks to more than 8388608 bytes/ },
  { name: "a manifest that is not JSON", entries: () => [{ name: "cashet-archive.json", body: Buffer.from("{nope") }], expect: /cashet-archive\.json is not valid JSON/ },
  { name: "a manifest of another format version", entries: () => [{ name: "cashet-archive.json", body: Buffer.from(JSON.stringify({ format: "cashet-archive", version: 99, commits: 0, blobs: 0, refs: 0 })) }], expect: /archive format version 99 is not supported/ },
  { name: "no manifest first", entries: () => [blobEntry(Buffer.from("x")), manifestEntry()], expect: /the first entry must be cashet-archive\.json/ },
  { name: "no entries at all", entries: () => [], expect: /an empty archive|not a readable archive/ },
  { name: "a blob whose content is not its id", entries: () => [manifestEntry({ blobs: 1 }), blobEntry(Buffer.from("real"), sha256("claimed"))], expect: /its content does not match its id/ },
  {
    name: "a commit that needs an object the archive lacks",
    entries: () => {
      const { id, bytes } = encodeCommit(makeRecord({ seed: "needs-missing" }));
      return [manifestEntry({ commits: 1 }), { name: `objects/${id}`, body: bytes }];
    },
    expect: /needs object [0-9a-f]{12}, which is neither in the archive nor in the store/,
  },
  {
    name: "a truncated stream",
    entries: () => [manifestEntry({ blobs: 1 }), blobEntry(randomBytes(300_000))],
    mangle: (bytes) => bytes.subarray(0, Math.floor(bytes.length / 2)),
    expect: TRUNCATED,
  },

  // Refused late: after every good blob, commit and ref of a real export.
  { name: "a blob whose content is not its id, after every good object", entries: (g) => goodThen(g, [blobEntry(Buffer.from("real"), sha256("claimed"))], { blobs: 1 }), expect: /its content does not match its id/ },
  { name: "a bad blob among the good ones (after the large one)", entries: (g) => { const { blobs, commits, refs, manifest } = parts(g); return [manifestEntry({ ...manifest, blobs: manifest.blobs + 1 }), ...blobs, blobEntry(Buffer.from("real"), sha256("claimed")), ...commits, ...refs]; }, expect: /its content does not match its id/ },
  { name: "a ref naming a commit the archive does not contain", entries: (g) => goodThen(g, [{ name: "refs/pin/ghost", body: Buffer.from(`${ghost}\n`) }], { refs: 1 }), expect: /"refs\/pin\/ghost" names commit 999999999999, which the archive does not hold/ },
  {
    name: "a ref of one call naming the run of another",
    entries: (g) => {
      const { refs } = parts(g);
      const fp = refs.filter((r) => r.name.startsWith("refs/fp/"));
      return goodThen(g, [], {}).map((e) => (e.name === fp[0]!.name ? { name: e.name, body: fp[1]!.body! } : e));
    },
    expect: /names a run of another call/,
  },
  { name: "a ref that holds no commit id", entries: (g) => goodThen(g, [{ name: "refs/pin/junk", body: Buffer.from("not an id\n") }], { refs: 1 }), expect: /"refs\/pin\/junk" does not hold a commit id/ },
  { name: "a commit that does not decode, after every good commit", entries: (g) => goodThen(g, [{ name: `objects/${ghost}`, body: Buffer.from('{"not":"a commit"}') }], { commits: 1 }), expect: new RegExp(`"objects/${ghost}": `) },
  {
    name: "a commit that needs a blob the archive lacks, after every good object",
    entries: (g) => {
      const { id, bytes } = encodeCommit(makeRecord({ seed: "late-missing", outputSize: 5000 }));
      return goodThen(g, [{ name: `objects/${id}`, body: bytes }], { commits: 1 });
    },
    expect: /needs object [0-9a-f]{12}, which is neither in the archive nor in the store/,
  },
  {
    name: "a commit whose blob was left out of the archive",
    entries: (g) => {
      const { blobs } = parts(g);
      const dropped = blobs.reduce((a, b) => (b.body!.length > a.body!.length ? b : a)).name; // the 2.4 MB one, which the store lacks
      return goodThen(g, [], { blobs: -1 }).filter((e) => e.name !== dropped);
    },
    expect: /needs object [0-9a-f]{12}, which is neither in the archive nor in the store/,
  },
  { name: "a manifest that announces a commit more than the archive holds (truncated at an entry boundary)", entries: (g) => goodThen(g, [], { commits: 1 }), expect: /the manifest lists \d+ commits but the archive holds \d+ \(truncated\?\)/ },
  { name: "a manifest that announces a ref more than the archive holds", entries: (g) => goodThen(g, [], { refs: 1 }), expect: /the manifest lists \d+ refs but the archive holds \d+ \(truncated\?\)/ },
  { name: "a manifest that announces a blob more than the archive holds", entries: (g) => goodThen(g, [], { blobs: 1 }), expect: /the manifest lists \d+ blobs but the archive holds \d+ \(truncated\?\)/ },
  { name: "a duplicate entry after every good one", entries: (g) => goodThen(g, [parts(g).blobs[0]!]), expect: /appears twice/ },
  { name: "a second manifest after every good entry", entries: (g) => goodThen(g, [manifestEntry()]), expect: /"cashet-archive\.json" appears twice/ },
  { name: "a path with .. after every good entry", entries: (g) => goodThen(g, [{ name: "../escape", body: Buffer.from("x") }]), expect: /"\.\.\/escape" is not part of a cashet archive/, expectIn: { zip: /not a readable archive \(invalid relative path: \.\.\/escape\)/ } },
  { name: "a symlink after every good entry", entries: (g) => goodThen(g, [{ name: `objects/${"d".repeat(64)}`, type: "symlink", linkname: "/etc/passwd" }]), expect: /is a link, not a regular file/ },
  { name: "an empty object after every good one", entries: (g) => goodThen(g, [{ name: `objects/${"e".repeat(64)}`, body: Buffer.alloc(0) }], { blobs: 1 }), expect: /"objects\/e{64}" is empty/ },
  { name: "an object that is neither commit nor blob, after every good one", entries: (g) => goodThen(g, [{ name: `objects/${"f".repeat(64)}`, body: Buffer.from("garbage") }], { blobs: 1 }), expect: /is neither a commit nor a blob/ },
  { name: "a decompression bomb after every good object", entries: (g) => goodThen(g, [blobEntry(Buffer.alloc(64 * 1024 * 1024))], { blobs: 1 }), limits: { maxUnpackedBytes: 16 * 1024 * 1024 }, expect: /unpacks to more than 16777216 bytes/ },
  { name: "a good archive truncated in its last third", entries: (g) => g, mangle: (bytes) => bytes.subarray(0, Math.floor((bytes.length * 2) / 3)), expect: TRUNCATED },
];

const t = tempDir("cashet-hostile-");
after(() => t.remove());
let good: Entry[] = [];
before(async () => {
  good = await goodEntries(t.dir);
});

/** A store with runs of its own (one shares a blob with the good archive), a pin, and an unreferenced blob. */
async function populate(store: Store): Promise<void> {
  const client = new Client({ store });
  await client.submit(table, 2000); // the same output as the good archive's first run: a shared blob
  await client.submit(table, 50_000);
  await client.pin((await client.run(greet, { args: ["zed"], tags: { team: "core" } })).commit, "zed");
  const loose = await new ObjectDb(store.objects).putBlob(Buffer.from("a blob no commit references"));
  await store.index.addBlob(loose.id);
}

for (const format of FORMATS) {
  describe(`hostile .${format} archives leave the store exactly as it was`, () => {
    let store: FsStore;
    let n = 0;
    before(async () => {
      store = new FsStore(join(t.dir, `store-${format}`));
      await populate(store);
    });
    after(async () => {
      await store.stopDaemon();
      await store.close();
    });

    for (const c of cases) {
      if (c.formats && !c.formats.includes(format)) continue;
      test(`${c.name}: refused with one line, nothing written beside it, files and index unchanged`, async () => {
        const box = join(t.dir, `box-${format}-${++n}`);
        mkdirSync(box);
        const file = join(box, `hostile.${format}`);
        const bytes = await build(format, c.entries(good));
        writeFileSync(file, c.mangle ? c.mangle(bytes) : bytes);
        const before = await snapshot(store);
        const err = await importArchive(store, file, c.limits ?? {}).then(() => null, (e: unknown) => e);
        assert.ok(err instanceof InvalidInputError, `expected a bad-input error, got ${String(err)}`);
        assert.match(err.message, c.expectIn?.[format] ?? c.expect);
        assert.doesNotMatch(err.message, /\n/);
        assert.deepEqual(readdirSync(box), [`hostile.${format}`], "nothing written beside the archive");
        assert.deepEqual(await snapshot(store), before, "the store is as it was");
      });
    }

    test("the good archive they were made from then imports in full, and again changes nothing", async () => {
      const file = join(t.dir, `good-after-${format}.${format}`);
      writeFileSync(file, await build(format, good));
      const { manifest } = parts(good);
      const first = await importArchive(store, file);
      // Only the blob the store already had is skipped: nothing a refused import left counts as
      // stored. Every ref moves but table(2000)'s, where the store's own run is newer.
      assert.deepEqual([first.commits, first.blobs, first.skipped, first.refs], [manifest.commits, manifest.blobs - 1, 1, manifest.refs - 1]);
      const client = new Client({ store });
      for (let i = 0; i < 12; i++) assert.equal((await client.submit(table, 2000 + i)).cached, true);
      const big = await client.submit(table, 300_000);
      assert.equal(big.cached, true);
      assert.deepEqual(await big.load(), table(300_000));
      assert.deepEqual((await store.refs.list("pin/")).map((r) => r.name), ["pin/hello-ada", "pin/zed"]);
      const before = await snapshot(store);
      const again = await importArchive(store, file);
      assert.deepEqual([again.commits, again.blobs, again.refs], [0, 0, 0]);
      // Files aside: writing a commit that is already stored records a use (its mtime).
      const { files: _f, ...index } = before as { files: unknown };
      const { files: _g, ...indexAfter } = (await snapshot(store)) as { files: unknown };
      assert.deepEqual(indexAfter, index);
    });
  });
}

const redis = await redisOrSkip();
describe("on stores without a directory (staged in a temp directory, copied in)", () => {
  const kinds: Array<{ kind: string; skip: boolean; open: () => { store: Store; dispose: () => Promise<void> } }> = [
    { kind: "memory", skip: false, open: () => ({ store: new MemoryStore(), dispose: async () => undefined }) },
    { kind: "redis", skip: !redis, open: () => tempRedisStore() },
  ];
  for (const k of kinds) {
    test(`${k.kind}: late refusals leave objects, index and refs unchanged; the good archive imports in full`, { skip: k.skip }, async () => {
      const { store, dispose } = k.open();
      try {
        await populate(store);
        const late = cases.filter((c) => /after every good|naming a commit the archive does not contain|left out/.test(c.name));
        for (const c of late) {
          const file = join(t.dir, `generic-${k.kind}-${late.indexOf(c)}.tar.zst`);
          writeFileSync(file, await build("tar.zst", c.entries(good)));
          const before = await snapshot(store);
          await assert.rejects(importArchive(store, file, c.limits ?? {}), c.expect);
          assert.deepEqual(await snapshot(store), before, `${c.name}: the store is as it was`);
        }
        const file = join(t.dir, `generic-${k.kind}-good.zip`);
        writeFileSync(file, await build("zip", good));
        const { manifest } = parts(good);
        const r = await importArchive(store, file);
        assert.deepEqual([r.commits, r.blobs, r.skipped], [manifest.commits, manifest.blobs - 1, 1]);
        assert.equal((await new Client({ store }).submit(table, 300_000)).cached, true);
      } finally {
        await dispose();
      }
    });
  }
});

test("the CLI: a ref naming a commit the archive lacks is exit 2, and `log --json` and `stats --json` read as before", async () => {
  const dir = join(t.dir, "cli-store");
  const store = new FsStore(dir);
  await populate(store);
  await store.stopDaemon();
  await store.close();
  const file = join(t.dir, "cli-ghost.tar.zst");
  writeFileSync(file, await build("tar.zst", goodThen(good, [{ name: "refs/pin/ghost", body: Buffer.from(`${ghost}\n`) }], { refs: 1 })));
  const view = async (): Promise<string[]> => [
    (await cashet(["log", "--json", "--limit", "1000", "--store", dir])).out,
    (await cashet(["stats", "--json", "--store", dir])).out,
    (await cashet(["show-ref", "--store", dir])).out,
    listing(dir).join("\n"),
  ];
  const before = await view();
  const r = await cashet(["import", file, "--store", dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^cashet: archive entry "refs\/pin\/ghost" names commit 999999999999, which the archive does not hold\n$/);
  assert.deepEqual(await view(), before);
  await new FsStore(dir, { create: false }).stopDaemon();
});

test("the CLI refuses a hostile archive with exit 2 and one line, and a missing file with exit 2", async () => {
  const file = join(t.dir, "evil.tar");
  writeFileSync(file, await makeTar([manifestEntry(), { name: "../../evil", body: Buffer.from("x") }]));
  const store = join(t.dir, "cli-hostile");
  const r = await cashet(["import", file, "--store", store]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^cashet: archive entry "\.\.\/\.\.\/evil" is not part of a cashet archive\n$/);
  const missing = await cashet(["import", join(t.dir, "nope.tar.gz"), "--store", store]);
  assert.equal(missing.code, 2);
  await new FsStore(store, { create: false }).stopDaemon().catch(() => undefined);
});
