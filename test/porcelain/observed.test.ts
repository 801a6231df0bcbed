// Observed inputs through the library, on a real store on disk with real files: a task that
// reads a file or an environment variable runs again when it changes and is served its older
// result when it is restored; calls at once in one process, the worker pool and calls made inside
// a task each record what they read; `track: false` records nothing; the module graph and
// node_modules are not recorded, and paths inside the project root are relative.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, test } from "node:test";
import { Client } from "../../lib/client.js";
import type { Commit } from "../../plumbing/commit.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { WorkerPoolExecutor } from "../../porcelain/exec/worker-pool.js";
import { tempDir } from "../helpers/fixtures.js";
import { writeProject } from "../helpers/projects.js";
import { redisOrSkip, tempRedisStore } from "../helpers/redis.js";
import * as tasks from "../helpers/observed-tasks.js";

const t = tempDir("cashet-observed-");
const storeDir = join(t.dir, "store");
const store = new FsStore(storeDir);
const client = new Client({ store });
const pool = new WorkerPoolExecutor({ size: 2 });
const pooled = new Client({ store, executor: pool });
after(async () => {
  await pool.close();
  await store.stopDaemon();
  await store.close();
  t.remove();
});

let files = 0;
/** A new input file with `text`. */
const input = (text: string): string => {
  const path = join(t.dir, `input-${++files}.txt`);
  write(path, text);
  return path;
};
const write = (path: string, text: string): void => writeFileSync(path, text);
// A read of a file changed within a clock tick waits the tick out; letting it pass first keeps the tests quick.
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 60));

type Task = (path: string) => unknown;
const commitOf = async (c: Client, fn: Task, arg: string): Promise<{ commit: Commit; cached: boolean; value: unknown }> => {
  const ref = await c.submit(fn as (p: string) => unknown, arg);
  return { commit: await c.show(ref.commit), cached: ref.cached, value: await ref.load() };
};

/** Runs, hits, runs again after a change, and is served the first commit once the change is undone. */
async function changeAndRestore(c: Client, fn: Task, path: string, edit: (to: string) => void, before: string, changed: string): Promise<void> {
  const first = await commitOf(c, fn, path);
  assert.equal(first.cached, false);
  assert.equal(first.value, before);
  assert.ok(first.commit.observed?.files.some((f) => f.path === path), `the commit records ${path}: ${JSON.stringify(first.commit.observed)}`);
  assert.equal((await commitOf(c, fn, path)).cached, true, "unchanged: a hit");
  edit(changed);
  await settle();
  const second = await commitOf(c, fn, path);
  assert.deepEqual([second.cached, second.value], [false, changed], "changed: it runs again");
  assert.equal(second.commit.parent, first.commit.id, "the new result's parent is the head it replaced");
  edit(before);
  await settle();
  const third = await commitOf(c, fn, path);
  assert.deepEqual([third.cached, third.value, third.commit.id], [true, before, first.commit.id], "restored: the older commit is served");
}

describe("a file the task reads", () => {
  for (const [api, fn] of [["readFileSync", tasks.readSync], ["fs.promises.readFile", tasks.readPromise], ["createReadStream", tasks.readStream]] as const) {
    test(`read by ${api}: a change runs it again, restoring it serves the older commit`, async () => {
      const path = input(`${api} v1`);
      await changeAndRestore(client, fn, path, (to) => write(path, to), `${api} v1`, `${api} v2`);
    });
  }

  test("a directory listed by readdirSync: an added entry runs it again, removing it serves the older commit", async () => {
    const dir = join(t.dir, "listed");
    mkdirSync(dir);
    writeFileSync(join(dir, "a"), "");
    await settle();
    const edit = (to: string): void => (to === "a" ? rmSync(join(dir, "b")) : writeFileSync(join(dir, "b"), ""));
    await changeAndRestore(client, tasks.listDir, dir, edit, "a", "a,b");
    const { commit } = await commitOf(client, tasks.listDir, dir);
    assert.deepEqual(commit.observed!.files.map((f) => [f.path, f.kind]), [[dir, "dir"]]);
  });

  test("a file that did not exist is an input too: creating it runs the task again", async () => {
    const path = join(t.dir, "appears-later.txt");
    const first = await commitOf(client, tasks.ifExists, path);
    assert.deepEqual(first.commit.observed!.files, [{ path, kind: "missing", hash: "" }]);
    assert.equal((await commitOf(client, tasks.ifExists, path)).cached, true);
    write(path, "here now");
    await settle();
    assert.deepEqual((await commitOf(client, tasks.ifExists, path)).value, "here now");
  });

  test("a file the task changed after reading it is recorded as changed: its commit is never served", async () => {
    const path = input("original");
    const first = await commitOf(client, tasks.readThenOverwrite, path);
    assert.equal(first.commit.observed!.files[0]!.hash, "", "what it read is not what is there: a hash that matches nothing");
    const again = await commitOf(client, tasks.readThenOverwrite, path);
    assert.equal(again.cached, false);
  });

  test("what the task writes and reads back (a scratch directory, a file renamed into place) is not an input: the call is a hit after it is gone", async () => {
    const first = await commitOf(client, tasks.scratch, "scratch");
    assert.equal(first.value, "scratch");
    assert.deepEqual(first.commit.observed!.files, [], "nothing it made itself, nor what fs.rm looked at to remove it");
    assert.equal((await commitOf(client, tasks.scratch, "scratch")).cached, true);
  });

  test("two calls running at once in one process each record only their own file", async () => {
    const a = input("a");
    const b = input("b");
    const [ra, rb] = await Promise.all([client.submit(tasks.readBetweenPauses, a, 30), client.submit(tasks.readBetweenPauses, b, 20)]);
    const [ca, cb] = await Promise.all([client.show(ra.commit), client.show(rb.commit)]);
    assert.deepEqual(ca.observed!.files.map((f) => f.path), [a]);
    assert.deepEqual(cb.observed!.files.map((f) => f.path), [b]);
  });

  test("the worker pool records what its threads read", async () => {
    const path = input("pooled v1");
    await changeAndRestore(pooled, tasks.readSync, path, (to) => write(path, to), "pooled v1", "pooled v2");
  });

  test("a call made inside a task passes what it read to the outer call: the outer one runs again when that changes", async () => {
    const path = input("nested v1");
    const first = await client.submit(tasks.readThroughInnerCall, storeDir, path);
    assert.equal(await first.load(), "inner: nested v1");
    const commit = await client.show(first.commit);
    assert.ok(commit.observed!.files.some((f) => f.path === path), `the outer commit records the inner call's file: ${JSON.stringify(commit.observed)}`);
    assert.equal((await client.submit(tasks.readThroughInnerCall, storeDir, path)).cached, true);
    write(path, "nested v2");
    await settle();
    const again = await client.submit(tasks.readThroughInnerCall, storeDir, path);
    assert.deepEqual([again.cached, await again.load()], [false, "inner: nested v2"]);
  });

  test("on a Redis store (a hit in one round trip) alike: a change runs it again, restoring it serves the older commit", async (t) => {
    if (!(await redisOrSkip())) return t.skip("no Redis");
    const redis = tempRedisStore();
    try {
      const path = input("redis v1");
      await changeAndRestore(new Client({ store: redis.store }), tasks.readSync, path, (to) => write(path, to), "redis v1", "redis v2");
    } finally {
      await redis.dispose();
    }
  });

  test("track: false records nothing, and a change is then not seen (a stale hit, by choice)", async () => {
    const path = input("untracked v1");
    const first = await client.run(tasks.readSync, { args: [path], track: false });
    assert.equal((await client.show(first.commit)).observed, undefined);
    write(path, "untracked v2");
    await settle();
    const again = await client.submit(tasks.readSync, path);
    assert.deepEqual([again.cached, await again.load()], [true, "untracked v1"]);
  });
});

describe("an environment variable the task reads", () => {
  const NAME = "CASHET_OBSERVED_TEST_VAR";
  after(() => delete process.env[NAME]);

  test("unset then set runs it again; changed runs it again; restored serves the older commit", async () => {
    delete process.env[NAME];
    const unset = await client.submit(tasks.readEnv, NAME);
    assert.equal(await unset.load(), null);
    const recorded = (await client.show(unset.commit)).observed!.env;
    assert.deepEqual(recorded, [{ name: NAME, hash: null }]);
    process.env[NAME] = "one";
    const one = await client.submit(tasks.readEnv, NAME);
    assert.deepEqual([one.cached, await one.load()], [false, "one"]);
    assert.equal((await client.submit(tasks.readEnv, NAME)).cached, true);
    process.env[NAME] = "two";
    const two = await client.submit(tasks.readEnv, NAME);
    assert.deepEqual([two.cached, await two.load()], [false, "two"]);
    process.env[NAME] = "one";
    const back = await client.submit(tasks.readEnv, NAME);
    assert.deepEqual([back.cached, back.commit], [true, one.commit]);
    delete process.env[NAME];
    const unsetAgain = await client.submit(tasks.readEnv, NAME);
    assert.deepEqual([unsetAgain.cached, unsetAgain.commit], [true, unset.commit]);
  });
});

describe("what is recorded, in a project of its own", () => {
  const root = join(t.dir, "project");
  writeProject(root, {
    "package.json": JSON.stringify({ name: "observed-fixture", private: true, type: "module" }),
    "data/in.txt": "data",
    "helper.mjs": "export const h = 2;\n",
    "helper.cjs": "module.exports = 3;\n",
    "node_modules/pkg/package.json": JSON.stringify({ name: "pkg", version: "1.0.0" }),
    "node_modules/pkg/data.txt": "installed",
    "task.mjs": [
      `import { readFileSync } from "node:fs";`,
      `import { createRequire } from "node:module";`,
      `export async function task() {`,
      `  const { h } = await import("./helper.mjs");`,
      `  const c = createRequire(import.meta.url)("./helper.cjs");`,
      `  const installed = readFileSync(new URL("./node_modules/pkg/data.txt", import.meta.url), "utf8");`,
      `  const data = readFileSync(new URL("./data/in.txt", import.meta.url), "utf8");`,
      `  return [h, c, installed, data].join(" ");`,
      `}`,
      ``,
    ].join("\n"),
  });

  test("files of the module graph and node_modules are not recorded; a path inside the root is relative to it", async () => {
    await settle();
    const mod = (await import(pathToFileURL(join(root, "task.mjs")).href)) as { task: () => Promise<string> };
    const ref = await client.submit(mod.task);
    assert.equal(await ref.load(), "2 3 installed data");
    const observed = (await client.show(ref.commit)).observed!;
    // helper.mjs is in the function's hash (a literal import); helper.cjs, required through
    // createRequire, is not: what the key cannot see is recorded, as any file the task reads.
    assert.deepEqual(observed.files.map((f) => [f.path, f.kind]), [["data/in.txt", "file"], ["helper.cjs", "file"]]);
  });
});
