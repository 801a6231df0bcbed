// The plumbing commands as a user runs them: output, exit codes, and bad input that changes nothing.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { compress } from "../../plumbing/compress.js";
import { sha256 } from "../../plumbing/ids.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { cashet } from "../helpers/cli.js";
import { makeRecord, tempDir } from "../helpers/fixtures.js";

const COMMANDS = ["hash-object", "cat-object", "cat-commit", "show-ref", "update-ref", "rev-list", "fsck", "stats"];
const oneLine = (s: string): void => assert.match(s, /^cashet: [^\n]+\n$/, `expected one error line, got ${JSON.stringify(s)}`);

/** A store with a chain of three runs of one fingerprint (c1 ← c2 ← c3), the ref on c3. */
async function chainStore(dir: string): Promise<{ store: FsStore; ids: string[]; blobs: string[]; fp: string }> {
  const store = new FsStore(dir);
  const db = new ObjectDb(store.objects);
  const ids: string[] = [];
  const blobs: string[] = [];
  let parent: string | null = null;
  for (let i = 0; i < 3; i++) {
    const blob = await db.putBlob(randomBytes(2048));
    const put = await db.putCommit(
      makeRecord({ seed: "chain", outputId: blob.id, outputSize: 2048, parent, createdAt: new Date(1.7e12 + i * 1000).toISOString() }),
    );
    await store.index.addCommit(put.id);
    ids.push(put.id);
    blobs.push(blob.id);
    parent = put.id;
  }
  const fp = makeRecord({ seed: "chain" }).fingerprint;
  await store.refs.update(`fp/${fp}`, ids[2]!, null);
  return { store, ids, blobs, fp };
}

describe("cashet plumbing commands", () => {
  const t = tempDir();
  const dir = join(t.dir, "store");
  let chain: Awaited<ReturnType<typeof chainStore>>;
  before(async () => {
    chain = await chainStore(dir);
  });
  after(async () => {
    await chain.store.stopDaemon();
    await chain.store.close();
    t.remove();
  });

  test("every command answers --help with its usage and exit 0", async () => {
    for (const name of COMMANDS) {
      const r = await cashet([name, "--help"]);
      assert.equal(r.code, 0, name);
      assert.match(r.out, new RegExp(`Usage: cashet ${name}`), name);
    }
    const top = await cashet(["--help"]);
    assert.equal(top.code, 0);
    for (const name of COMMANDS) assert.match(top.out, new RegExp(`\\b${name}\\b`));
  });

  test("an unknown command, an unknown flag and a missing argument exit 2 with one line", async () => {
    for (const args of [["frobnicate"], ["stats", "--bogus", "--store", dir], ["cat-object", "--store", dir], ["stats", "extra", "--store", dir]]) {
      const r = await cashet(args);
      assert.equal(r.code, 2, args.join(" "));
      oneLine(r.stderr);
      assert.equal(r.out, "");
    }
  });

  test("hash-object prints the sha256 of a file and of stdin, and stores nothing without --write", async () => {
    const file = join(t.dir, "input.bin");
    const bytes = randomBytes(200_000);
    writeFileSync(file, bytes);
    const want = createHash("sha256").update(bytes).digest("hex");
    const r = await cashet(["hash-object", file]);
    assert.equal(r.code, 0);
    assert.equal(r.out, `${want}\n`);
    const s = await cashet(["hash-object", "-"], { stdin: bytes });
    assert.equal(s.out, `${want}\n`);
    assert.equal(existsSync(objectPath(dir, want)), false);
  });

  test("hash-object --write stores the blob; cat-object gives back the same bytes by prefix", async () => {
    const file = join(t.dir, "w.bin");
    const bytes = randomBytes(50_000);
    writeFileSync(file, bytes);
    const w = await cashet(["hash-object", "--write", "--store", dir, "--json", file]);
    assert.equal(w.code, 0);
    const { id, size, written } = JSON.parse(w.out);
    assert.equal(id, sha256(bytes));
    assert.equal(size, bytes.length);
    assert.equal(written, true);
    const c = await cashet(["cat-object", "--store", dir, id.slice(0, 10)]);
    assert.equal(c.code, 0);
    assert.ok(c.stdout.equals(bytes));
    assert.equal((await cashet(["cat-object", "-t", "--store", dir, id])).out, "blob\n");
    assert.equal((await cashet(["cat-object", "-s", "--store", dir, id])).out, `${bytes.length}\n`);
    const again = await cashet(["hash-object", "-w", "--store", dir, "--json", file]);
    assert.equal(JSON.parse(again.out).written, false, "stored once");
  });

  test("hash-object of a missing file exits 2 with one line and creates no store", async () => {
    const fresh = join(t.dir, "never-created");
    const r = await cashet(["hash-object", "--write", "--store", fresh, join(t.dir, "absent.txt")]);
    assert.equal(r.code, 2);
    oneLine(r.stderr);
    assert.match(r.stderr, /no such file/);
    assert.equal(existsSync(fresh), false);
    const d = await cashet(["hash-object", "--store", dir, t.dir]);
    assert.equal(d.code, 2);
    assert.match(d.stderr, /is a directory/);
  });

  test("a store that cannot be created (a file stands in its way) exits 3 with one line", async () => {
    const blocker = join(t.dir, "a-file");
    writeFileSync(blocker, "not a directory");
    const r = await cashet(["hash-object", "-w", "--store", join(blocker, "store"), blocker]);
    assert.equal(r.code, 3);
    oneLine(r.stderr);
    assert.equal(readFileSync(blocker, "utf8"), "not a directory");
  });

  test("cat-object: unknown id exits 1, malformed id exits 2, a missing store exits 3 and is not created", async () => {
    const unknown = await cashet(["cat-object", "--store", dir, "0000000000"]);
    assert.equal(unknown.code, 1);
    oneLine(unknown.stderr);
    const bad = await cashet(["cat-object", "--store", dir, "xyz!"]);
    assert.equal(bad.code, 2);
    oneLine(bad.stderr);
    const nowhere = join(t.dir, "nowhere");
    const missing = await cashet(["cat-object", "--store", nowhere, "abcd"]);
    assert.equal(missing.code, 3);
    oneLine(missing.stderr);
    assert.equal(existsSync(nowhere), false);
    const env = await cashet(["stats"], { env: { CASHET_DIR: nowhere } });
    assert.equal(env.code, 3, "CASHET_DIR is honoured");
  });

  test("cat-commit prints the commit in its public shape; a blob id is not a commit", async () => {
    const r = await cashet(["cat-commit", "--json", "--store", dir, chain.ids[1]!.slice(0, 8)]);
    assert.equal(r.code, 0);
    const commit = JSON.parse(r.out);
    assert.equal(commit.id, chain.ids[1]);
    assert.equal(commit.parent, chain.ids[0]);
    assert.equal(commit.output.hash, chain.blobs[1]);
    for (const k of ["fingerprint", "status", "func", "args", "output", "error", "parent", "createdAt", "durationMs", "attempts", "tags", "expiresAt", "provenance"]) {
      assert.ok(k in commit, k);
    }
    const pretty = await cashet(["cat-commit", "--store", dir, chain.ids[1]!]);
    assert.deepEqual(JSON.parse(pretty.out), commit);
    const raw = await cashet(["cat-object", "--store", dir, chain.ids[1]!]);
    assert.equal(sha256(raw.stdout), chain.ids[1], "cat-object gives the stored bytes, which hash to the id");
    const blob = await cashet(["cat-commit", "--store", dir, chain.blobs[0]!]);
    assert.equal(blob.code, 1);
    oneLine(blob.stderr);
  });

  test("show-ref lists refs; update-ref points, compares-and-swaps and deletes", async () => {
    const fpRef = `fp/${chain.fp}`;
    const s = await cashet(["show-ref", "--store", dir]);
    assert.equal(s.out, `${chain.ids[2]} ${fpRef}\n`);
    assert.equal((await cashet(["update-ref", "--store", dir, "pin/best", chain.ids[0]!.slice(0, 8)])).code, 0);
    assert.deepEqual(JSON.parse((await cashet(["show-ref", "--json", "--store", dir, "pin/"])).out), [{ name: "pin/best", id: chain.ids[0] }]);
    const stale = await cashet(["update-ref", "--store", dir, "--old", chain.ids[1]!, "pin/best", chain.ids[2]!]);
    assert.equal(stale.code, 1, "compare-and-swap against a value the ref no longer holds fails");
    assert.equal((await chain.store.refs.read("pin/best")), chain.ids[0]);
    const ok = await cashet(["update-ref", "--store", dir, "--old", chain.ids[0]!, "pin/best", chain.ids[2]!]);
    assert.equal(ok.code, 0);
    assert.equal((await chain.store.refs.read("pin/best")), chain.ids[2]);
    assert.equal((await cashet(["update-ref", "-d", "--store", dir, "pin/best"])).code, 0);
    assert.equal((await cashet(["show-ref", "--store", dir, "pin/"])).code, 1, "no match exits 1");
  });

  test("update-ref on a missing store exits 3 and creates nothing", async () => {
    const nowhere = join(t.dir, "no-store-here");
    const r = await cashet(["update-ref", "--store", nowhere, "pin/x", chain.ids[0]!]);
    assert.equal(r.code, 3);
    oneLine(r.stderr);
    assert.equal(existsSync(nowhere), false);
  });

  test("update-ref rejects a bad ref name (exit 2) and a blob id (exit 1), changing nothing", async () => {
    const before = await chain.store.refs.list();
    const badName = await cashet(["update-ref", "--store", dir, "pin/../../x", chain.ids[0]!]);
    assert.equal(badName.code, 2);
    oneLine(badName.stderr);
    const blob = await cashet(["update-ref", "--store", dir, "pin/x", chain.blobs[0]!]);
    assert.equal(blob.code, 1);
    oneLine(blob.stderr);
    assert.deepEqual(await chain.store.refs.list(), before);
  });

  test("rev-list walks the history chain newest first", async () => {
    const r = await cashet(["rev-list", "--store", dir, chain.ids[2]!]);
    assert.equal(r.out, [...chain.ids].reverse().map((id) => `${id}\n`).join(""));
    const limited = await cashet(["rev-list", "-n", "2", "--json", "--store", dir, chain.ids[2]!]);
    assert.deepEqual(JSON.parse(limited.out).map((c: { id: string }) => c.id), [chain.ids[2], chain.ids[1]]);
    const badLimit = await cashet(["rev-list", "-n", "zero", "--store", dir, chain.ids[2]!]);
    assert.equal(badLimit.code, 2);
  });

  test("stats counts commits and blobs", async () => {
    const r = await cashet(["stats", "--json", "--store", dir]);
    assert.equal(r.code, 0);
    const s = JSON.parse(r.out);
    assert.equal(s.totalCommits, 3);
    assert.equal(s.completedCommits, 3);
    assert.equal(s.failedCommits, 0);
    assert.ok(s.blobObjects >= 3);
    assert.equal(s.storedObjects, s.blobObjects + s.totalCommits);
    assert.ok(s.diskBytes > 3 * 2048);
    assert.equal(s.kind, "fs");
    const human = await cashet(["stats", "--store", dir]);
    assert.match(human.out, /commits\s+3 \(3 completed, 0 failed\)/);
  });
});

describe("an index daemon that cannot start", () => {
  test("a command that needs the index exits 3 at once, saying where to look", async () => {
    const t = tempDir();
    const dir = join(t.dir, "store");
    const store = new FsStore(dir);
    await store.close();
    rmSync(join(dir, "index"), { recursive: true, force: true });
    writeFileSync(join(dir, "index"), "a file where the index directory should be");
    try {
      const started = Date.now();
      const r = await cashet(["stats", "--store", dir]);
      assert.equal(r.code, 3);
      oneLine(r.stderr);
      assert.match(r.stderr, /index daemon .* failed to start/);
      assert.ok(Date.now() - started < 10_000, "no waiting out the whole connect timeout");
    } finally {
      t.remove();
    }
  });
});

describe("cashet fsck", () => {
  test("finds planted corruption, --repair removes it, and the store is sound after", async () => {
    const t = tempDir();
    const dir = join(t.dir, "store");
    const { store, ids, blobs, fp } = await chainStore(dir);
    try {
      const clean = await cashet(["fsck", "--store", dir]);
      assert.equal(clean.code, 0, clean.out + clean.stderr);
      assert.match(clean.out, /no problems/);

      // The newest commit is truncated, the middle one loses its output blob to a bit flip,
      // a crashed writer's temp file lies in tmp/, and an unreadable object sits in objects/.
      const newest = objectPath(dir, ids[2]!);
      writeFileSync(newest, readFileSync(newest).subarray(0, 40));
      const middleBlob = objectPath(dir, blobs[1]!);
      const bytes = readFileSync(middleBlob);
      bytes[bytes.length - 5] ^= 0x55;
      writeFileSync(middleBlob, bytes);
      writeFileSync(join(dir, "tmp", "12345-deadbeef.tmp"), "partial");
      const junkId = sha256("junk");
      mkdirSync(dirname(objectPath(dir, junkId)), { recursive: true });
      writeFileSync(objectPath(dir, junkId), compress(Buffer.from("not junk")));

      const found = await cashet(["fsck", "--json", "--store", dir], { env: { CASHET_STRAY_AGE_MS: "0" } });
      assert.equal(found.code, 3, "problems left: the store is corrupt");
      const report = JSON.parse(found.out);
      const kinds = (kind: string) => report.problems.filter((p: { kind: string }) => p.kind === kind).map((p: { subject: string }) => p.subject).sort();
      assert.deepEqual(kinds("corrupt-object"), [ids[2], blobs[1], junkId].sort());
      assert.deepEqual(kinds("missing-blob"), [ids[1]]);
      assert.deepEqual(kinds("dangling-ref"), [`fp/${fp}`]);
      assert.deepEqual(kinds("stray-file"), ["tmp/12345-deadbeef.tmp"]);
      assert.equal(report.remaining, report.problems.length);

      const repaired = await cashet(["fsck", "--repair", "--store", dir], { env: { CASHET_STRAY_AGE_MS: "0" } });
      assert.equal(repaired.code, 0, repaired.out + repaired.stderr);
      assert.match(repaired.out, /all repaired/);
      const after = await cashet(["fsck", "--json", "--store", dir], { env: { CASHET_STRAY_AGE_MS: "0" } });
      assert.equal(after.code, 0, after.out);
      assert.deepEqual(JSON.parse(after.out).problems, []);
      assert.equal(await store.refs.read(`fp/${fp}`), ids[0], "the ref falls back to the newest sound run");
      assert.deepEqual((await store.index.log()).map((e) => e.id), [ids[0]]);
      assert.deepEqual(readdirSync(join(dir, "tmp")), []);
    } finally {
      await store.stopDaemon();
      await store.close();
      t.remove();
    }
  });

  test("--reindex rebuilds the index and reports a sound store", async () => {
    const t = tempDir();
    const { store } = await chainStore(join(t.dir, "s"));
    try {
      const r = await cashet(["fsck", "--reindex", "--json", "--store", store.location]);
      assert.equal(r.code, 0);
      assert.equal(JSON.parse(r.out).commits, 3);
      assert.equal((await store.index.stats()).totalCommits, 3);
    } finally {
      await store.stopDaemon();
      await store.close();
      t.remove();
    }
  });
});
