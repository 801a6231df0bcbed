// The porcelain through the Client, on a real store on disk: what a user sees from log, show,
// get, diff, history, rm, pin, gc, invalidate, clear and stats after real runs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { Client } from "../../lib/client.js";
import { AmbiguousIdError, InvalidInputError, NotFoundError } from "../../plumbing/errors.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { TaskError } from "../../porcelain/run.js";
import { cashet } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const calls: Record<string, number> = {};
const count = (name: string): number => (calls[name] = (calls[name] ?? 0) + 1);

export function area(w: number, h: number): { w: number; h: number; area: number } {
  count("area");
  return { w, h, area: w * h };
}
export function perimeter(w: number, h: number): number {
  count("perimeter");
  return 2 * (w + h);
}
export function refuse(reason: string): never {
  count("refuse");
  throw new TypeError(`refused: ${reason}`);
}

const t = tempDir();
const store = new FsStore(join(t.dir, "store"));
const client = new Client({ store });
after(async () => {
  await store.stopDaemon();
  await store.close();
  t.remove();
});

test("a name given to client.task is what log --func finds, in the library and on the command line", async () => {
  const named = client.task(perimeter, { name: "train" });
  const ref = await named(40, 2);
  assert.equal((await client.show(ref.commit)).func.name, "train");
  assert.deepEqual((await client.log({ func: "train" })).map((c) => c.id), [ref.commit]);
  const cli = await cashet(["log", "--json", "--store", store.location, "--func", "train"]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual((JSON.parse(cli.out) as Array<{ id: string }>).map((c) => c.id), [ref.commit]);
});

test("log lists runs newest first and filters by function, status and tags (object or k=v form)", async () => {
  const a = await client.run(area, { args: [2, 3], tags: { stage: "geometry", owner: "ana" } });
  const p = await client.run(perimeter, { args: [2, 3], tags: { stage: "geometry" } });
  await assert.rejects(client.run(refuse, { args: ["no"], tags: { stage: "policy" } }), TaskError);

  const all = await client.log();
  assert.deepEqual(all.slice(0, 3).map((c) => c.func.name), ["refuse", "perimeter", "area"]);
  assert.deepEqual((await client.log({ func: "area" })).map((c) => c.id), [a.commit]);
  assert.deepEqual((await client.log({ status: "failed" })).map((c) => c.func.name), ["refuse"]);
  assert.deepEqual((await client.log({ tags: { stage: "geometry" } })).map((c) => c.id), [p.commit, a.commit]);
  assert.deepEqual((await client.log({ tags: ["stage=geometry", "owner"] })).map((c) => c.id), [a.commit]);
  assert.equal((await client.log({ limit: 1 })).length, 1);
  await assert.rejects(client.log({ limit: 0 }), InvalidInputError);
  await assert.rejects(client.log({ tags: { stage: 3 as unknown as string } }), /string value/);
});

test("show and get by full id or prefix; a failed commit's get throws its recorded error", async () => {
  const ref = await client.submit(area, 4, 5);
  const commit = await client.show(ref.commit.slice(0, 10));
  assert.equal(commit.id, ref.commit);
  assert.equal(commit.func.name, "area");
  assert.match(commit.func.source, /w \* h/);
  assert.deepEqual(await client.get(ref.commit.slice(0, 8)), { w: 4, h: 5, area: 20 });

  const failed = (await client.log({ status: "failed", limit: 1 }))[0]!;
  const err = await client.get(failed.id).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError);
  assert.match(err.message, /refused: no/);
  await assert.rejects(client.show("0000000000"), NotFoundError);
  await assert.rejects(client.show("zz"), InvalidInputError);
  await assert.rejects(client.show(""), (e: unknown) => e instanceof InvalidInputError || e instanceof AmbiguousIdError);
});

test("diff tells what changed between two runs; history lists the runs of one call", async () => {
  const first = await client.submit(perimeter, 7, 1);
  const second = await client.run(perimeter, { args: [7, 1], force: true });
  const other = await client.submit(area, 7, 1);
  const same = await client.diff(first.commit, second.commit);
  assert.equal(same.funcChanged, false);
  assert.equal(same.argsChanged, false);
  assert.equal(same.outputChanged, false);
  const d = await client.diff(first.commit, other.commit);
  assert.equal(d.funcChanged, true);
  assert.equal(d.outputChanged, true);
  assert.match(d.sourceDiff ?? "", /^-.*2 \* \(w \+ h\)/m);
  assert.match(d.sourceDiff ?? "", /^\+.*area: w \* h/m);

  const runs = await client.history(first.commit);
  assert.deepEqual(runs.map((c) => c.id), [second.commit, first.commit]);
});

test("rm removes one commit and the call's previous run is served again; a miss returns false", async () => {
  const first = await client.submit(perimeter, 9, 9);
  const forced = await client.run(perimeter, { args: [9, 9], force: true });
  assert.equal(await client.rm(forced.commit), true);
  const again = await client.submit(perimeter, 9, 9);
  assert.equal(again.cached, true);
  assert.equal(again.commit, first.commit, "the ref fell back to the parent run");
  assert.equal(await client.rm("f".repeat(64)), false);
});

test("invalidate removes every run with the tags and they run again; it refuses an empty filter", async () => {
  const n = calls.area ?? 0;
  await client.run(area, { args: [10, 10], tags: { batch: "b1" } });
  await client.run(area, { args: [11, 10], tags: { batch: "b1" } });
  await client.run(area, { args: [12, 10], tags: { batch: "b2" } });
  assert.equal(await client.invalidate({ tags: { batch: "b1" } }), 2);
  await assert.rejects(client.invalidate({ tags: {} }), /at least one tag/);
  await assert.rejects(client.invalidate({} as { tags: string[] }), /at least one tag/);
  assert.equal((await client.submit(area, 10, 10)).cached, false);
  assert.equal((await client.submit(area, 12, 10)).cached, true);
  assert.equal(calls.area! - n, 4);
});

test("pin keeps a commit through gc; gc returns how many commits it removed; stats counts what is left", async () => {
  const kept = await client.submit(area, 100, 1);
  await client.pin(kept.commit, "keep-me");
  const before = await client.stats();
  assert.ok(before.totalCommits >= 10);
  assert.equal(before.kind, "fs");
  assert.equal(await client.gc({ olderThan: 0, dryRun: true }), before.totalCommits - 1);
  assert.equal((await client.stats()).totalCommits, before.totalCommits, "a dry run changes nothing");
  assert.equal(await client.gc({ olderThan: 0 }), before.totalCommits - 1);
  const after = await client.stats();
  assert.equal(after.totalCommits, 1);
  assert.equal((await client.submit(area, 100, 1)).cached, true);
  await assert.rejects(client.gc({ maxSize: "lots" }), InvalidInputError);

  await client.unpin("keep-me");
  const cleared = await client.clear();
  assert.equal(cleared.commits, 1);
  assert.equal((await client.stats()).totalCommits, 0);
});
