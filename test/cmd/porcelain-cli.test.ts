// The porcelain commands as a user runs them: what they print, their exit codes, and what is
// gone from the store afterwards.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import { cashet } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

const COMMANDS = ["log", "show", "history", "diff", "rm", "pin", "unpin", "invalidate", "clear"];
const UTC = { env: { TZ: "UTC" } };
const oneLine = (s: string): void => assert.match(s, /^cashet: [^\n]+\n$/, `expected one error line, got ${JSON.stringify(s)}`);
const short = (id: string): string => id.slice(0, 12);

/** Runs `cashet` and checks it failed with `code`, one line on stderr and nothing on stdout. */
async function fails(args: string[], code: number): Promise<string> {
  const r = await cashet(args);
  assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
  oneLine(r.stderr);
  assert.equal(r.out, "", args.join(" "));
  return r.stderr;
}

describe("cashet porcelain: reading", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  let s: string[];
  let first: Recorded; // train(1), the first run
  let failed: Recorded; // train(1) again, failed
  let load: Recorded; // load("x"), another function with another source
  before(async () => {
    t = await tempFsStore();
    s = ["--store", t.dir];
    first = await recordRun(t.store, {
      seed: "train1",
      tags: { exp: "a", lr: "0.01" },
      ttlMs: 3_600_000,
      deps: [{ kind: "declaration", key: "./#LR", name: "LR", file: ".", hash: "ab".repeat(32) }],
      at: Date.parse("2025-03-01T10:00:00Z"),
    });
    failed = await recordRun(t.store, { seed: "train1", failed: true, tags: { exp: "b" }, at: Date.parse("2025-03-01T10:00:05Z") });
    load = await recordRun(t.store, {
      seed: "load",
      func: "load",
      args: '["x"]',
      source: "function load(x) {\n  return read(x);\n}",
      output: Buffer.from('"contents"'),
      at: Date.parse("2025-03-01T10:00:09Z"),
    });
  });
  after(() => t.dispose());

  test("every command answers --help with its usage, and the command list names them", async () => {
    for (const name of COMMANDS) {
      const r = await cashet([name, "--help"]);
      assert.equal(r.code, 0, name);
      assert.match(r.out, new RegExp(`Usage: cashet ${name}`), name);
    }
    const top = await cashet(["--help"]);
    for (const name of COMMANDS) assert.match(top.out, new RegExp(`^    ${name} `, "m"), name);
  });

  test("log prints a table, newest first: short id, function, status, created, duration, size, tags", async () => {
    const r = await cashet(["log", ...s], UTC);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.out.trimEnd().split("\n");
    assert.match(lines[0]!, /^COMMIT\s+FUNCTION\s+STATUS\s+CREATED\s+DURATION\s+SIZE\s+TAGS$/);
    assert.match(lines[1]!, new RegExp(`^${short(load.id)}\\s+load\\s+completed\\s+2025-03-01 10:00:09\\s+5 ms\\s+10 B$`));
    assert.match(lines[2]!, new RegExp(`^${short(failed.id)}\\s+train\\s+failed\\s+2025-03-01 10:00:05\\s+5 ms\\s+-\\s+exp=b$`));
    assert.match(lines[3]!, new RegExp(`^${short(first.id)}\\s+train\\s+completed\\s+2025-03-01 10:00:00\\s+5 ms\\s+2.0 KiB\\s+exp=a lr=0.01$`));
    assert.equal(lines.length, 4);
  });

  test("log --json gives the commits in the public shape, the same as cat-commit", async () => {
    const r = await cashet(["log", "--json", ...s]);
    const commits = JSON.parse(r.out);
    assert.deepEqual(commits.map((c: { id: string }) => c.id), [load.id, failed.id, first.id]);
    const cat = JSON.parse((await cashet(["cat-commit", "--json", ...s, load.id])).out);
    assert.deepEqual(commits[0], cat);
    assert.equal("inline" in commits[0], false);
  });

  test("log filters by --func, --tag (k=v and k, repeatable), --status and --limit", async () => {
    const ids = async (...args: string[]): Promise<string[]> => {
      const r = await cashet(["log", "--json", ...s, ...args]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.out).map((c: { id: string }) => c.id);
    };
    assert.deepEqual(await ids("--func", "train"), [failed.id, first.id]);
    assert.deepEqual(await ids("--status", "failed"), [failed.id]);
    assert.deepEqual(await ids("--tag", "exp=a"), [first.id]);
    assert.deepEqual(await ids("--tag", "exp"), [failed.id, first.id]);
    assert.deepEqual(await ids("--tag", "exp", "--tag", "lr=0.01"), [first.id]);
    assert.deepEqual(await ids("--limit", "2"), [load.id, failed.id]);
    assert.deepEqual(await ids("-n", "1", "--func", "train", "--status", "completed"), [first.id]);
    assert.deepEqual(await ids("--func", "nothing"), []);
    const empty = await cashet(["log", ...s, "--func", "nothing"]);
    assert.equal(empty.code, 0);
    assert.equal(empty.out, "", "no rows, no header");
  });

  test("the store flags may come before the command (--store DIR and --store=DIR); another flag there is a usage error", async () => {
    const ids = (out: string): string[] => (JSON.parse(out) as Array<{ id: string }>).map((c) => c.id);
    const before = await cashet(["--store", t.dir, "log", "--json"]);
    assert.equal(before.code, 0, before.stderr);
    assert.deepEqual(ids(before.out), [load.id, failed.id, first.id]);
    const stats = await cashet([`--store=${t.dir}`, "stats", "--json"]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(JSON.parse(stats.out).totalCommits, 3);
    assert.equal(JSON.parse(stats.out).location, t.dir);
    assert.match(await fails(["--bogus", "log", ...s], 2), /unknown flag --bogus before the command/);
    assert.match(await fails(["--json", "log", ...s], 2), /unknown flag --json before the command/);
    assert.match(await fails(["--store"], 2), /--store needs a value/);
    const version = await cashet(["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.out, /^\d+\.\d+\.\d+\n$/);
    assert.equal((await cashet(["--store", t.dir, "--version"])).code, 0);
  });

  test("log refuses a bad --status, --limit or --tag, or an argument, with exit 2 and one line", async () => {
    for (const bad of [["--status", "running"], ["--limit", "0"], ["--limit", "ten"], ["--limit", "1.5"], ["--tag", "=v"], ["--tag", ""], ["extra"], ["--bogus"]]) {
      await fails(["log", ...s, ...bad], 2);
    }
    await fails(["log", "--store", join(t.dir, "absent")], 3);
  });

  test("show prints everything in the commit", async () => {
    const r = await cashet(["show", ...s, first.id.slice(0, 8)], UTC);
    assert.equal(r.code, 0, r.stderr);
    for (const want of [
      new RegExp(`^commit\\s+${first.id}$`, "m"),
      /^function\s+train \(pipeline\.ts\)$/m,
      new RegExp(`^func hash\\s+${first.record.func.hash}$`, "m"),
      /^status\s+completed$/m,
      /^created\s+2025-03-01 10:00:00 \(took 5 ms, 1 attempt\)$/m,
      /^args\s+\[1\] \(hash [0-9a-f]{12}\)$/m,
      new RegExp(`^output\\s+<2048 bytes> \\(2\\.0 KiB, v8, blob ${first.blob}\\)$`, "m"),
      /^parent\s+none$/m,
      /^tags\s+exp=a lr=0\.01$/m,
      /^expires\s+2025-03-01 11:00:00 \(ttl 3600 s, expired\)$/m,
      /^dependencies\n {4}declaration {2}\.\/#LR {2}abababababab$/m,
      /^provenance\n {4}node {2}v20$/m,
      /^source\n {4}function train\(x\) \{\n {6}return x \* 2;\n {4}\}$/m,
    ]) {
      assert.match(r.out, want);
    }
    assert.doesNotMatch(r.out, /^error$/m);
  });

  test("show of a failed run prints its error, stack and parent; --json is the commit", async () => {
    const r = await cashet(["show", ...s, failed.id]);
    assert.match(r.out, /^status\s+failed$/m);
    assert.match(r.out, /^output\s+none$/m);
    assert.match(r.out, new RegExp(`^parent\\s+${first.id}$`, "m"));
    assert.match(r.out, /^error\n {4}Error: boom\n {8}at train \(pipeline\.ts:2:9\)$/m);
    const j = await cashet(["show", "--json", ...s, failed.id.slice(0, 10)]);
    const commit = JSON.parse(j.out);
    assert.equal(commit.id, failed.id);
    assert.deepEqual(commit.error, failed.record.error);
    assert.deepEqual(commit, JSON.parse((await cashet(["cat-commit", "--json", ...s, failed.id])).out));
  });

  test("show: an unknown id or a blob exits 1, a malformed id or no id exits 2", async () => {
    assert.match(await fails(["show", ...s, "00000000"], 1), /no commit matches "00000000" \(try `cashet log`\)/);
    await fails(["show", ...s, first.blob!], 1);
    await fails(["show", ...s, "xyz"], 2);
    await fails(["show", ...s], 2);
  });

  test("history lists the runs of one function and arguments, newest first", async () => {
    const j = await cashet(["history", "--json", ...s, first.id.slice(0, 8)]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.out).map((c: { id: string }) => c.id), [failed.id, first.id]);
    const r = await cashet(["history", ...s, failed.id], UTC);
    const lines = r.out.trimEnd().split("\n");
    assert.match(lines[0]!, /^COMMIT\s+FUNCTION\s+STATUS\s+CREATED\s+DURATION\s+SIZE\s+OUTPUT\s+TAGS$/);
    assert.match(lines[1]!, new RegExp(`^${short(failed.id)}\\s+train\\s+failed\\s.*\\s-\\s+-\\s+exp=b$`));
    assert.match(lines[2]!, new RegExp(`^${short(first.id)}\\s+train\\s+completed\\s.*\\s${short(first.blob!)}\\s+exp=a lr=0\\.01$`));
    assert.equal(lines.length, 3);
    await fails(["history", ...s, "abcdef12"], 1);
    await fails(["history", ...s, "q"], 2);
  });

  test("diff names the parts that differ and shows a unified diff of the sources", async () => {
    const r = await cashet(["diff", ...s, first.id, load.id.slice(0, 8)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`^function\\s+differs\\s+train ${short(first.record.func.hash)} → load ${short(load.record.func.hash)}$`, "m"));
    assert.match(r.out, /^dependencies\s+differs\s+1 → 0$/m);
    assert.match(r.out, /^args\s+differs\s+\[1\] → \["x"\]$/m);
    assert.match(r.out, /^output\s+differs\s/m);
    assert.match(r.out, /^status\s+same\s+completed$/m);
    assert.match(r.out, /^- declaration {2}\.\/#LR {2}abababababab$/m);
    assert.ok(
      r.out.endsWith(
        [
          `--- a/pipeline.ts#train\t${short(first.id)}`,
          `+++ b/pipeline.ts#load\t${short(load.id)}`,
          "@@ -1,3 +1,3 @@",
          "-function train(x) {",
          "-  return x * 2;",
          "+function load(x) {",
          "+  return read(x);",
          " }",
          "",
        ].join("\n"),
      ),
      r.out,
    );
  });

  test("diff --json is {a, b, funcChanged, argsChanged, depsChanged, outputChanged, sourceDiff}", async () => {
    const same = JSON.parse((await cashet(["diff", "--json", ...s, first.id, failed.id])).out);
    assert.deepEqual(same, { a: first.id, b: failed.id, funcChanged: false, argsChanged: false, depsChanged: true, outputChanged: true, sourceDiff: null });
    const other = JSON.parse((await cashet(["diff", "--json", ...s, first.id, load.id])).out);
    assert.deepEqual(Object.keys(other), ["a", "b", "funcChanged", "argsChanged", "depsChanged", "outputChanged", "sourceDiff"]);
    assert.equal(other.funcChanged, true);
    assert.match(other.sourceDiff, /^--- a\/pipeline\.ts#train\t/);
    const human = await cashet(["diff", ...s, first.id, failed.id]);
    assert.match(human.out, /^status\s+differs\s+completed → failed$/m);
    assert.doesNotMatch(human.out, /^@@/m, "no source diff when the function is the same");
  });

  test("diff: a missing second id exits 2; an unknown one exits 1", async () => {
    await fails(["diff", ...s, first.id], 2);
    await fails(["diff", ...s, first.id, "12345678"], 1);
  });
});

describe("cashet porcelain: removing", () => {
  const t = tempDir();
  const fsck = async (dir: string): Promise<void> => {
    const r = await cashet(["fsck", "--json", "--store", dir]);
    assert.equal(r.code, 0, r.out + r.stderr);
    assert.deepEqual(JSON.parse(r.out).problems, []);
  };
  const stores: Array<Awaited<ReturnType<typeof tempFsStore>>> = [];
  const fresh = async (): Promise<Awaited<ReturnType<typeof tempFsStore>>> => {
    const s = await tempFsStore();
    stores.push(s);
    return s;
  };
  after(async () => {
    for (const s of stores) await s.dispose();
    t.remove();
  });

  test("rm removes a commit, its blob unless another commit uses it, and moves the head to the parent", async () => {
    const { store, dir } = await fresh();
    const shared = Buffer.alloc(3000, 9);
    const c1 = await recordRun(store, { seed: "x", output: shared });
    const c2 = await recordRun(store, { seed: "x" });
    const other = await recordRun(store, { seed: "y", output: shared });
    const r = await cashet(["rm", "--store", dir, c2.id.slice(0, 8)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, new RegExp(`^removed commit ${c2.id}\nremoved blob ${c2.blob}\nmoved fp/${c2.fingerprint} to ${short(c1.id)}\nfreed [0-9.]+ KiB\n$`));
    assert.equal(existsSync(objectPath(dir, c2.id)), false);
    assert.equal(existsSync(objectPath(dir, c2.blob!)), false);
    assert.equal(await store.refs.read(fingerprintRef(c1.fingerprint)), c1.id);

    const again = await cashet(["rm", "--json", "--store", dir, c1.id]);
    assert.deepEqual(JSON.parse(again.out).blobs, [], "the other run still uses the blob");
    assert.deepEqual(JSON.parse(again.out).refs, [{ name: `fp/${c1.fingerprint}`, to: null }]);
    assert.equal(existsSync(objectPath(dir, c1.blob!)), true);
    const last = await cashet(["rm", "--store", dir, other.id]);
    assert.match(last.out, new RegExp(`^removed blob ${other.blob}$`, "m"));
    assert.equal(existsSync(objectPath(dir, other.blob!)), false);
    assert.equal((await cashet(["log", "--store", dir])).out, "");
    await fsck(dir);
  });

  test("rm: an unknown id exits 1, a malformed one exits 2, a missing store exits 3; nothing changes", async () => {
    const { store, dir } = await fresh();
    const c = await recordRun(store);
    await fails(["rm", "--store", dir, "abcdef99"], 1);
    await fails(["rm", "--store", dir, c.blob!], 1);
    await fails(["rm", "--store", dir, "nope"], 2);
    await fails(["rm", "--store", dir], 2);
    await fails(["rm", "--store", join(t.dir, "absent"), c.id], 3);
    assert.equal(existsSync(join(t.dir, "absent")), false);
    assert.ok(existsSync(objectPath(dir, c.id)));
    await fsck(dir);
  });

  test("pin and unpin name a commit; bad names exit 2; unpinning a missing pin exits 1", async () => {
    const { store, dir } = await fresh();
    const a = await recordRun(store, { seed: "a" });
    const b = await recordRun(store, { seed: "b" });
    const p = await cashet(["pin", "--store", dir, a.id.slice(0, 6), "best"]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.out, `pinned ${short(a.id)} as pin/best\n`);
    const moved = await cashet(["pin", "--json", "--store", dir, b.id, "best"]);
    assert.deepEqual(JSON.parse(moved.out), { name: "best", ref: "pin/best", id: b.id, previous: a.id });
    assert.equal((await cashet(["show-ref", "--store", dir, "pin/"])).out, `${b.id} pin/best\n`);
    for (const bad of ["a/b", "..", "-x", "has space"]) await fails(["pin", "--store", dir, a.id, bad], 2);
    await fails(["pin", "--store", dir, a.id], 2);
    await fails(["pin", "--store", dir, "00000000", "x"], 1);
    await fails(["unpin", "--store", dir, "bad/name"], 2);
    await fails(["unpin", "--store", dir, "absent"], 1);
    const u = await cashet(["unpin", "--store", dir, "best"]);
    assert.equal(u.out, `unpinned pin/best (was ${short(b.id)})\n`);
    assert.equal(await store.refs.read("pin/best"), null);
    assert.ok(existsSync(objectPath(dir, b.id)), "the commit stays");
    await fails(["unpin", "--store", dir, "best"], 1);
  });

  test("invalidate removes every commit with the tags and prints the count; without --tag exits 2", async () => {
    const { store, dir } = await fresh();
    const keep = await recordRun(store, { seed: "a", tags: { data: "v2" } });
    const gone = [await recordRun(store, { seed: "b", tags: { data: "v1" } }), await recordRun(store, { seed: "c", tags: { data: "v1", x: "1" } })];
    await fails(["invalidate", "--store", dir], 2);
    await fails(["invalidate", "--store", dir, "--tag", "=v1"], 2);
    await fails(["invalidate", "--store", dir, "--tag", "data=v1", "extra"], 2);
    assert.equal((await cashet(["log", "--json", "--store", dir])).out.match(/"id"/g)?.length, 3, "nothing changed");
    const r = await cashet(["invalidate", "--store", dir, "--tag", "data=v1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, "removed 2 commits\n");
    for (const g of gone) assert.equal(existsSync(objectPath(dir, g.blob!)), false);
    assert.deepEqual(JSON.parse((await cashet(["log", "--json", "--store", dir])).out).map((c: { id: string }) => c.id), [keep.id]);
    assert.deepEqual(JSON.parse((await cashet(["invalidate", "--json", "--store", dir, "--tag", "data=v1"])).out), { removed: 0 });
    await fsck(dir);
  });

  test("clear removes everything but the pins; clear --all removes the pins too", async () => {
    const { store, dir } = await fresh();
    const pinned = await recordRun(store, { seed: "p" });
    const others = [await recordRun(store, { seed: "p" }), await recordRun(store, { seed: "q" }), await recordRun(store, { seed: "r", failed: true })];
    await store.refs.update("pin/keep", pinned.id);
    const r = await cashet(["clear", "--store", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /^removed 3 commits, 2 blobs and 2 refs; freed [0-9.]+ KiB\nkept 1 pinned commit \(clear --all removes them\)\n$/);
    for (const o of others) assert.equal(existsSync(objectPath(dir, o.id)), false);
    assert.ok(existsSync(objectPath(dir, pinned.blob!)));
    assert.deepEqual(JSON.parse((await cashet(["log", "--json", "--store", dir])).out).map((c: { id: string }) => c.id), [pinned.id]);
    await fsck(dir);
    await fails(["clear", "--store", dir, "now"], 2);
    const all = await cashet(["clear", "--all", "--json", "--store", dir]);
    const { bytes, ...counts } = JSON.parse(all.out);
    assert.deepEqual(counts, { commits: 1, blobs: 1, refs: 2, kept: 0 });
    assert.ok(bytes > 2048);
    assert.equal(existsSync(objectPath(dir, pinned.blob!)), false);
    assert.deepEqual(JSON.parse((await cashet(["stats", "--json", "--store", dir])).out).totalCommits, 0);
    assert.equal((await cashet(["show-ref", "--store", dir])).code, 1, "no refs left");
    await fsck(dir);
  });
});
