// cashet gc as a user runs it: what it prints, --dry-run, --json, and usage errors that remove nothing.
import assert from "node:assert/strict";
import { existsSync, utimesSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fsck } from "../../plumbing/commands/fsck.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { cashet } from "../helpers/cli.js";
import { recordRun, tempFsStore, type Recorded } from "../helpers/runs.js";

const DAY = 24 * 3_600_000;

describe("cashet gc", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  let s: string[];
  let stale: Recorded;
  let expired: Recorded;
  let fresh: Recorded;
  const exists = (id: string): boolean => existsSync(objectPath(t.dir, id));
  before(async () => {
    t = await tempFsStore();
    s = ["--store", t.dir];
    const now = Date.now();
    const old = async (seed: string, ago: number, ttlMs?: number): Promise<Recorded> => {
      const r = await recordRun(t.store, { seed, at: now - ago, ttlMs });
      for (const id of [r.id, r.blob!]) utimesSync(objectPath(t.dir, id), (now - ago) / 1000, (now - ago) / 1000);
      return r;
    };
    expired = await old("a", 3 * DAY, DAY);
    stale = await old("b", 10 * DAY);
    fresh = await old("c", DAY);
  });
  after(() => t.dispose());

  test("bad --older-than or --max-size exits 2 with one line and removes nothing", async () => {
    for (const args of [["--older-than", "7days"], ["--older-than", "1w"], ["--max-size", "10XB"], ["--max-size", "big"], ["--older-than"]]) {
      const r = await cashet(["gc", ...args, ...s]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^cashet: [^\n]+\n$/);
      assert.equal(r.out, "");
    }
    assert.equal(exists(stale.id) && exists(expired.id), true);
  });

  test("--dry-run prints what would go and changes nothing", async () => {
    const r = await cashet(["gc", "--older-than", "7d", "--dry-run", ...s]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.out.split("\n")[0] + "\n" + r.out.split("\n")[1],
      `would remove ${expired.id.slice(0, 12)} (expired)\nwould remove ${stale.id.slice(0, 12)} (stale)`,
    );
    assert.match(r.out, /would remove 2 commits and 2 blobs; would free \d/);
    const j = await cashet(["gc", "--older-than", "7d", "--dry-run", "--json", ...s]);
    const parsed = JSON.parse(j.out) as { removed: unknown; commits: number; dryRun: boolean };
    assert.deepEqual(parsed.removed, [
      { id: expired.id, reason: "expired" },
      { id: stale.id, reason: "stale" },
    ]);
    assert.equal(parsed.dryRun, true);
    assert.equal(exists(stale.id) && exists(expired.id) && exists(stale.blob!), true);
  });

  test("gc removes expired and stale commits, prints a line each and a summary; the store stays sound", async () => {
    const r = await cashet(["gc", "--older-than", "7d", ...s]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.out.replace(/freed .*/, "freed …"),
      `removed ${expired.id.slice(0, 12)} (expired)\nremoved ${stale.id.slice(0, 12)} (stale)\nremoved 2 commits and 2 blobs; freed …\n`,
    );
    assert.equal(exists(stale.id) || exists(expired.id) || exists(stale.blob!), false);
    assert.equal(exists(fresh.id), true);
    assert.equal(await t.store.refs.read(fingerprintRef(stale.fingerprint)), null);
    assert.deepEqual((await fsck(t.store)).problems, []);

    const j = await cashet(["gc", "--max-size", "1000", "--json", ...s]);
    assert.equal(j.code, 0, j.stderr);
    const parsed = JSON.parse(j.out) as { removed: unknown; commits: number; blobs: number; bytes: number; dryRun: boolean };
    assert.deepEqual(parsed.removed, [{ id: fresh.id, reason: "size" }]);
    assert.equal(parsed.commits, 1);
    assert.equal(parsed.blobs, 1);
    assert.equal(parsed.dryRun, false);
    assert.deepEqual(await t.store.refs.list(), []);
  });
});

test("on a terminal gc shows a progress bar on stderr; on a pipe, nothing but its report", async () => {
  const { execFileSync } = await import("node:child_process");
  const { CLI } = await import("../helpers/cli.js");
  const t = await tempFsStore();
  try {
    const then = (Date.now() - 40 * DAY) / 1000;
    for (const seed of ["p1", "p2", "p3"]) {
      const r = await recordRun(t.store, { seed, at: then * 1000 });
      for (const id of [r.id, r.blob!]) utimesSync(objectPath(t.dir, id), then, then);
    }
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} gc --dry-run --store ${JSON.stringify(t.dir)}`;
    // `script` gives the command a pseudo-terminal, as a user's shell would.
    const onTty = execFileSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", env: { ...process.env, CASHET_DAEMON_IDLE_MS: "1000" } });
    assert.match(onTty, /scan\s+\S+ 3\/3/, "the bar counts the commits it scanned");
    assert.match(onTty, /would remove 3 commits/);
    const piped = await cashet(["gc", "--dry-run", "--store", t.dir]);
    assert.equal(piped.stderr, "");
    assert.doesNotMatch(piped.out, /scan/);
    assert.match(piped.out, /would remove 3 commits/);
  } finally {
    await t.dispose();
  }
});
