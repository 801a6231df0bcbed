// run(): the memoized call's semantics (SPEC §4) on the memory store, with tasks built by hand —
// what runs, how often, what is recorded and what the ref points at. Fast: no files, no processes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { hashArgs } from "../../plumbing/hash/args.js";
import { sha256 } from "../../plumbing/ids.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import { context } from "../../porcelain/exec/context.js";
import { fingerprintOf, run, TaskError, TaskTimeoutError, type TaskSpec } from "../../porcelain/run.js";

/** A task of `fn` whose function hash is derived from `name`: same name, same function. */
function task(name: string, fn: (...args: never[]) => unknown, args: unknown[] = []): TaskSpec {
  return { fn, args, func: { name, module: "<test>", hash: sha256(`fn:${name}`), source: String(fn), deps: [] } };
}

/** A function that counts its calls. */
function counted<A extends unknown[], R>(body: (...args: A) => R): ((...args: A) => R) & { calls: number } {
  const f = Object.assign((...args: A): R => {
    f.calls++;
    return body(...args);
  }, { calls: 0 });
  return f;
}

async function refOf(store: MemoryStore, name: string, args: unknown[]): Promise<string | null> {
  return store.refs.read(fingerprintRef(fingerprintOf(sha256(`fn:${name}`), await hashArgs(args))));
}

function busy(ms: number): string {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // holds the thread: the timeout's timer cannot fire until this returns
  }
  return "done";
}

test("a miss runs and records; the same call again is a hit that runs nothing; other arguments miss", async () => {
  const store = new MemoryStore();
  const add = counted((a: number, b: number) => a + b);
  const first = await run(store, task("add", add, [1, 2]));
  assert.equal(first.cached, false);
  assert.equal(first.value, 3);
  assert.equal(first.commit.status, "completed");
  const second = await run(store, task("add", add, [1, 2]));
  assert.equal(second.cached, true);
  assert.equal(second.commit.id, first.commit.id);
  assert.equal(add.calls, 1);
  assert.equal((await run(store, task("add", add, [2, 1]))).cached, false);
  assert.equal(add.calls, 2);
  assert.equal(await refOf(store, "add", [1, 2]), first.commit.id);
});

test("force runs again and moves the head to the new run, whose parent is the old one", async () => {
  const store = new MemoryStore();
  const now = counted(() => performance.now());
  const first = await run(store, task("now", now));
  const forced = await run(store, task("now", now), { force: true });
  assert.equal(forced.cached, false);
  assert.equal(now.calls, 2);
  assert.notEqual(forced.commit.id, first.commit.id);
  assert.equal(forced.commit.parent, first.commit.id);
  assert.equal(await refOf(store, "now", []), forced.commit.id);
  assert.equal((await run(store, task("now", now))).commit.id, forced.commit.id, "later calls get the forced run");
});

test("cache:false always runs and records each run under a fingerprint of its own", async () => {
  const store = new MemoryStore();
  const one = counted(() => 1);
  const cached = await run(store, task("one", one));
  const a = await run(store, task("one", one), { cache: false });
  const b = await run(store, task("one", one), { cache: false });
  assert.equal(one.calls, 3);
  assert.equal(new Set([cached.commit.fingerprint, a.commit.fingerprint, b.commit.fingerprint]).size, 3);
  assert.equal(await refOf(store, "one", []), cached.commit.id, "the cached call's head is untouched");
  assert.equal((await run(store, task("one", one))).cached, true);
});

test("retries: attempts are counted, each sees its number, and the waits between them back off", async () => {
  const store = new MemoryStore();
  const seen: number[] = [];
  const flaky = counted(() => {
    seen.push(context().attempt);
    if (seen.length < 3) throw new Error(`attempt ${seen.length} failed`);
    return "ok";
  });
  const started = performance.now();
  const r = await run(store, task("flaky", flaky), { retries: 3, retryDelayMs: 20 });
  const took = performance.now() - started;
  assert.equal(r.value, "ok");
  assert.equal(r.commit.attempts, 3);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.ok(took >= 20 + 40 - 2, `waited 20 then 40 ms between attempts, took ${took.toFixed(1)} ms`);
});

test("a failure is recorded, never a hit, and leaves the ref on the last good result", async () => {
  const store = new MemoryStore();
  let broken = false;
  const step = counted(() => {
    if (broken) throw new RangeError("broken now");
    return "good";
  });
  const good = await run(store, task("step", step));
  broken = true;
  const err = await run(store, task("step", step), { force: true, retries: 1, retryDelayMs: 1 }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError, String(err));
  assert.ok(err.cause instanceof RangeError);
  assert.match(err.message, /^step failed after 2 attempts: broken now$/);
  const failed = await new ObjectDb(store.objects).getCommit(err.commit);
  assert.equal(failed!.status, "failed");
  assert.equal(failed!.attempts, 2);
  assert.equal(failed!.error!.name, "RangeError");
  assert.equal(await refOf(store, "step", []), good.commit.id, "the failed run is not the head");
  const after = await run(store, task("step", step));
  assert.equal(after.cached, true);
  assert.equal(after.commit.id, good.commit.id);

  const never = counted(() => {
    throw new Error("never works");
  });
  await assert.rejects(run(store, task("never", never)), TaskError);
  await assert.rejects(run(store, task("never", never)), TaskError);
  assert.equal(never.calls, 2, "a failure is not served");
  assert.equal(await refOf(store, "never", []), null);
});

test("a result past its ttl is a miss: the call runs again", async () => {
  const store = new MemoryStore();
  const tick = counted(() => "t");
  const first = await run(store, task("tick", tick), { ttl: 0.05 });
  assert.ok(first.commit.expiresAt !== null);
  assert.equal((await run(store, task("tick", tick), { ttl: 0.05 })).cached, true);
  await new Promise((r) => setTimeout(r, 70));
  assert.equal((await run(store, task("tick", tick), { ttl: 0.05 })).cached, false);
  assert.equal(tick.calls, 2);
});

test("tags and a name are recorded but are not part of the key", async () => {
  const store = new MemoryStore();
  const f = counted(() => 5);
  const tagged = await run(store, task("f", f), { tags: { stage: "a" }, name: "train" });
  assert.deepEqual(tagged.commit.tags, { stage: "a" });
  assert.equal(tagged.commit.func.name, "train");
  assert.deepEqual((await store.index.log({ func: "train" })).map((e) => e.id), [tagged.commit.id]);
  const other = await run(store, task("f", f), { tags: { stage: "b" } });
  assert.equal(other.cached, true);
  assert.deepEqual(other.commit.tags, { stage: "a" }, "a hit is the commit as recorded");
  assert.equal(other.commit.func.name, "train");
  assert.equal(f.calls, 1);
  await assert.rejects(run(store, task("f", f), { name: " " }), /name must be a non-empty string/);
  await assert.rejects(run(store, task("f", f), { name: "a\0b" }), /without NUL/);
});

test("concurrent identical calls in one process run once and share the commit", async () => {
  const store = new MemoryStore();
  const slow = counted(async (x: number) => {
    await new Promise((r) => setTimeout(r, 30));
    return x * x;
  });
  const results = await Promise.all(Array.from({ length: 5 }, () => run(store, task("slow", slow, [9]))));
  assert.equal(slow.calls, 1);
  assert.equal(new Set(results.map((r) => r.commit.id)).size, 1);
  assert.equal(results.filter((r) => !r.cached).length, 1);
});

test("an attempt that ends after its timeout is a timeout — a synchronous one too — retried, and never a hit", async () => {
  const store = new MemoryStore();
  const spin = counted((ms: number) => busy(ms));
  const err = await run(store, task("spin", spin, [150]), { timeout: 0.05, retries: 1, retryDelayMs: 1 }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError, String(err));
  assert.ok(err.cause instanceof TaskTimeoutError, String(err.cause));
  assert.equal(err.cause.hard, false);
  assert.match(err.message, /^spin failed after 2 attempts: timed out after 0.05 s .*cannot interrupt synchronous code/);
  assert.equal((await new ObjectDb(store.objects).getCommit(err.commit))!.attempts, 2);
  assert.equal(spin.calls, 2);
  await assert.rejects(run(store, task("spin", spin, [150]), { timeout: 0.05 }), TaskError);
  assert.equal(spin.calls, 3, "ran again: the late result was not stored");
  assert.equal(await refOf(store, "spin", [150]), null);

  const waits = counted(async () => {
    const { signal } = context();
    await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
    return "aborted";
  });
  const soft = await run(store, task("waits", waits), { timeout: 0.05 }).then(() => null, (e: unknown) => e);
  assert.ok(soft instanceof TaskError && soft.cause instanceof TaskTimeoutError, "an async task's timer fires as before");
  assert.equal((await run(store, task("spin", spin, [1]), { timeout: 1 })).value, "done", "in time, it completes");
});
