// The memoized call through the library: what runs, how often, and what comes back —
// on the memory store and on a real store on disk.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Client } from "../../lib/client.js";
import { file } from "../../plumbing/hash/file-arg.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { objectPath } from "../../plumbing/backends/fs/layout.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import type { Store } from "../../plumbing/store.js";
import { context } from "../../porcelain/exec/context.js";
import { TaskError, TaskTimeoutError, WaitTimeoutError } from "../../porcelain/run.js";
import { tempDir } from "../helpers/fixtures.js";

// Tasks live at module level: what a closure captures is part of its key, so counters captured
// by nested functions would change the key on every call.
const calls: Record<string, number> = {};
const count = (name: string): number => (calls[name] = (calls[name] ?? 0) + 1);

export function double(x: number): number {
  count("double");
  return x * 2;
}
export async function slowSquare(x: number): Promise<number> {
  count("slowSquare");
  await new Promise((r) => setTimeout(r, 50));
  return x * x;
}
export function flaky(failures: number, label: string): string {
  const n = count(`flaky-${label}`);
  if (n <= failures) throw new Error(`attempt ${n} failed`);
  return `ok after ${n}`;
}
export function boom(): never {
  count("boom");
  throw new RangeError("the task exploded");
}
export async function waitForAbort(): Promise<string> {
  count("waitForAbort");
  const { signal } = context();
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  return `aborted: ${signal.aborted}`;
}
/** Holds the thread for `ms` without yielding: no timer can fire until it returns. */
export function busy(ms: number, label: string): string {
  count(`busy-${label}`);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
  return "done";
}
export function parity(x: number): string {
  count("parity");
  return x % 2 === 0 ? "even" : "odd";
}
export function shout(s: string): string {
  count("shout");
  return s.toUpperCase();
}
export function joinAll(parts: { words: string[] }): string {
  count("joinAll");
  return parts.words.join("+");
}
export function bigResult(n: number): Float64Array {
  count("bigResult");
  return Float64Array.from({ length: n }, (_, i) => i * 0.5);
}
export function readLen(path: string): number {
  count("readLen");
  return readFileSync(path).length;
}
export async function slowBoom(label: string): Promise<never> {
  count(`slowBoom-${label}`);
  await new Promise((r) => setTimeout(r, 150));
  throw new RangeError(`slow explosion ${label}`);
}
/** Runs until `releaseHang()`: a holder that never finishes on its own. */
let releaseHang: () => void = () => undefined;
export async function hang(label: string): Promise<string> {
  count(`hang-${label}`);
  await new Promise<void>((r) => (releaseHang = r));
  return `released ${label}`;
}
export function structured(): Map<string, Set<number>> {
  return new Map([["a", new Set([1, 2])]]);
}

const backends: Array<{ name: string; open: () => { store: Store; done: () => Promise<void> } }> = [
  { name: "memory", open: () => { const store = new MemoryStore(); return { store, done: () => store.close() }; } },
  {
    name: "fs",
    open: () => {
      const t = tempDir();
      const store = new FsStore(join(t.dir, "store"));
      return { store, done: async () => { await store.stopDaemon(); await store.close(); t.remove(); } };
    },
  },
];

for (const backend of backends) {
  describe(`Client on the ${backend.name} store`, () => {
    const { store, done } = backend.open();
    const client = new Client({ store });
    after(done);
    const before = (name: string): number => calls[name] ?? 0;

    test("the second identical call is a hit: nothing runs, same commit, same value", async () => {
      const n = before("double");
      const a = await client.submit(double, 21);
      const b = await client.submit(double, 21);
      assert.equal(calls.double! - n, 1);
      assert.equal(a.cached, false);
      assert.equal(b.cached, true);
      assert.equal(b.commit, a.commit);
      assert.equal(await b.load(), 42);
      await client.submit(double, 22);
      assert.equal(calls.double! - n, 2, "different arguments run again");
    });

    test("force runs again and makes the new run the head; cache:false always runs", async () => {
      const n = before("double");
      const first = await client.submit(double, 100);
      const forced = await client.run(double, { args: [100], force: true });
      assert.equal(calls.double! - n, 2);
      assert.notEqual(forced.commit, first.commit);
      const after = await client.submit(double, 100);
      assert.equal(after.commit, forced.commit, "the forced run is the new head");
      const db = new ObjectDb(store.objects);
      assert.equal((await db.getCommit(forced.commit))!.parent, first.commit);
      await client.run(double, { args: [100], cache: false });
      await client.run(double, { args: [100], cache: false });
      assert.equal(calls.double! - n, 4);
    });

    test("retries: a task that fails twice succeeds on its third attempt, recorded as such", async () => {
      const ref = await client.run(flaky, { args: [2, backend.name], retries: 2 });
      assert.equal(await ref.load(), "ok after 3");
      assert.equal(calls[`flaky-${backend.name}`], 3);
      assert.equal((await new ObjectDb(store.objects).getCommit(ref.commit))!.attempts, 3);
    });

    test("a failure raises TaskError with the original error, records a failed commit, and is never served", async () => {
      const n = before("boom");
      const err = await client.submit(boom).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof TaskError);
      assert.match(err.message, /the task exploded/);
      assert.ok(err.cause instanceof RangeError);
      const failed = await new ObjectDb(store.objects).getCommit(err.commit);
      assert.equal(failed!.status, "failed");
      assert.equal(failed!.error!.name, "RangeError");
      assert.match(failed!.error!.stack, /boom/);
      await assert.rejects(client.submit(boom), TaskError);
      assert.equal(calls.boom! - n, 2, "the failure was not served from the cache");
      assert.ok((await store.index.log({ status: "failed" })).some((e) => e.id === err.commit));
    });

    test("concurrent identical calls that fail execute once, and every caller gets that run's failed commit", async () => {
      const label = backend.name;
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => client.submit(slowBoom, label)));
      assert.equal(calls[`slowBoom-${label}`], 1, "executed once");
      const errors = settled.map((s) => (s.status === "rejected" ? (s.reason as unknown) : null));
      for (const e of errors) {
        assert.ok(e instanceof TaskError, `every caller gets a TaskError, not ${String(e)}`);
        assert.match(e.message, /slow explosion/);
        assert.equal((e.cause as Error).name, "RangeError");
        assert.match((e.cause as Error).stack ?? "", /slow explosion/);
      }
      const commits = new Set(errors.map((e) => (e as TaskError).commit));
      assert.equal(commits.size, 1, "all got the same failed commit");
      const failed = await new ObjectDb(store.objects).getCommit([...commits][0]!);
      assert.equal(failed!.status, "failed");

      // A later call did not wait for that run: it runs again (a failure is never a hit).
      const later = await client.submit(slowBoom, label).then(() => null, (e: unknown) => e);
      assert.ok(later instanceof TaskError);
      assert.notEqual(later.commit, failed!.id);
      assert.equal(calls[`slowBoom-${label}`], 2);
    });

    test("a call behind a runner that does not finish gives up after waitTimeout, saying who runs it", async () => {
      const label = backend.name;
      const holding = client.submit(hang, label);
      while (!calls[`hang-${label}`]) await new Promise((r) => setTimeout(r, 5));
      const started = Date.now();
      const err = await client.run(hang, { args: [label], waitTimeout: 0.3 }).then(() => null, (e: unknown) => e);
      const waited = Date.now() - started;
      assert.ok(err instanceof WaitTimeoutError, String(err));
      assert.equal(err.code, "EWAITTIMEOUT");
      assert.equal(err.holder?.pid, process.pid);
      assert.match(err.message, new RegExp(`after 0\\.3 s waiting for another run of hang \\(pid ${process.pid} on \\S+ has been running it for \\d+ s\\)`));
      assert.ok(waited >= 280 && waited < 3000, `gave up after ${waited} ms`);
      // the client's own default applies too, and a call's wins over it
      const impatient = new Client({ store, waitTimeout: 0.1 });
      await assert.rejects(impatient.submit(hang, label), WaitTimeoutError);
      releaseHang();
      assert.equal(await (await holding).load(), `released ${label}`);
      assert.equal(await (await impatient.submit(hang, label)).load(), `released ${label}`, "once it finished, a hit");
      assert.equal(calls[`hang-${label}`], 1);
      assert.throws(() => new Client({ store, waitTimeout: -1 }), /waitTimeout must be a positive number of seconds/);
      await assert.rejects(client.run(hang, { args: [label], waitTimeout: 0 }), /waitTimeout must be a positive number of seconds, not 0/);
    });

    test("a TTL expires: the call runs again once it has passed", async () => {
      const n = before("parity");
      await client.run(parity, { args: [7], ttl: 0.15 });
      await client.run(parity, { args: [7], ttl: 0.15 });
      assert.equal(calls.parity! - n, 1);
      await new Promise((r) => setTimeout(r, 200));
      await client.run(parity, { args: [7], ttl: 0.15 });
      assert.equal(calls.parity! - n, 2);
    });

    test("a timeout aborts the task's signal and fails the call", async () => {
      const err = await client.run(waitForAbort, { timeout: 0.1 }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof TaskError, String(err));
      assert.match(err.message, /timed out after 0.1 s/);
    });

    test("a synchronous task that returns after its timeout fails with TaskTimeoutError, is retried, and is never a hit", async () => {
      const label = backend.name;
      const err = await client.run(busy, { args: [300, label], timeout: 0.1 }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof TaskError, String(err));
      assert.ok(err.cause instanceof TaskTimeoutError, String(err.cause));
      assert.match(err.message, /timed out after 0.1 s .*cannot interrupt synchronous code/);
      const failed = await new ObjectDb(store.objects).getCommit(err.commit);
      assert.equal(failed!.status, "failed");
      assert.equal(failed!.attempts, 1);
      assert.equal(failed!.error!.name, "TaskTimeoutError");

      const retried = await client.run(busy, { args: [300, label], timeout: 0.1, retries: 1 }).then(() => null, (e: unknown) => e);
      assert.ok(retried instanceof TaskError);
      assert.equal((await new ObjectDb(store.objects).getCommit(retried.commit))!.attempts, 2);
      assert.equal(calls[`busy-${label}`], 3, "ran each time: a late attempt is not a result");
      assert.equal(await (await client.run(busy, { args: [10, label], timeout: 5 })).load(), "done", "within its timeout it completes");
    });

    test("client.task(fn, { name }) records that name; log --func finds it; the key stays the function's", async () => {
      const train = client.task(double, { name: `train-${backend.name}` });
      const ref = await train(7000);
      const commit = await client.show(ref.commit);
      assert.equal(commit.func.name, `train-${backend.name}`);
      assert.deepEqual((await client.log({ func: `train-${backend.name}` })).map((c) => c.id), [ref.commit]);
      const plain = await client.submit(double, 7000);
      assert.equal(plain.cached, true, "the name is not part of the key");
      assert.equal(plain.commit, ref.commit);
      await assert.rejects(client.run(double, { args: [1], name: "" }), /name must be a non-empty string/);
    });

    test("concurrent identical calls in one process run once and share the result", async () => {
      const n = before("slowSquare");
      const refs = await Promise.all(Array.from({ length: 6 }, () => client.submit(slowSquare, 9)));
      assert.equal(calls.slowSquare! - n, 1);
      assert.equal(new Set(refs.map((r) => r.commit)).size, 1);
      assert.equal(refs.filter((r) => !r.cached).length, 1);
      for (const r of refs) assert.equal(await r.load(), 81);
    });

    test("a result ref feeds the next task; identical upstream output does not re-run downstream (early cutoff)", async () => {
      const n = before("shout");
      const even2 = await client.submit(parity, 2);
      const loud = await client.submit(shout, even2);
      assert.equal(await loud.load(), "EVEN");
      const even4 = await client.submit(parity, 4); // a different upstream run, same output bytes
      assert.notEqual(even4.commit, even2.commit);
      const again = await client.submit(shout, even4);
      assert.equal(again.cached, true);
      assert.equal(calls.shout! - n, 1);
    });

    test("refs nested in plain arrays and objects arrive as values and key the call by their output", async () => {
      const n = before("joinAll");
      const [odd1, even2] = [await client.submit(parity, 1), await client.submit(parity, 2)];
      const joined = await client.submit(joinAll, { words: [odd1, even2] } as unknown as { words: string[] });
      assert.equal(await joined.load(), "odd+even");
      const [odd3, even6] = [await client.submit(parity, 3), await client.submit(parity, 6)];
      const again = await client.submit(joinAll, { words: [odd3, even6] } as unknown as { words: string[] });
      assert.equal(again.cached, true, "other upstream runs with the same outputs are a hit");
      const swapped = await client.submit(joinAll, { words: [even6, odd3] } as unknown as { words: string[] });
      assert.equal(await swapped.load(), "even+odd");
      assert.equal(calls.joinAll! - n, 2);
    });

    test("a ref pointed at another call's run is never served: the call runs again", async () => {
      const n = before("parity");
      const odd = await client.submit(parity, 101);
      const even = await client.submit(parity, 102);
      const fingerprintOfOdd = (await new ObjectDb(store.objects).getCommit(odd.commit))!.fingerprint;
      await store.refs.update(`fp/${fingerprintOfOdd}`, even.commit); // as a hand edit of the ref would
      const again = await client.submit(parity, 101);
      assert.equal(again.cached, false);
      assert.equal(await again.load(), "odd");
      assert.equal(calls.parity! - n, 3);
    });

    test("results come back with their types on a hit, decoded from the store", async () => {
      const a = await client.submit(structured);
      const fresh = new Client({ store });
      const b = await fresh.submit(structured);
      assert.equal(b.cached, true);
      const value = await b.load();
      assert.ok(value instanceof Map);
      assert.deepEqual([...value.get("a")!], [1, 2]);
      const big = await client.submit(bigResult, 100_000);
      const bigAgain = await fresh.submit(bigResult, 100_000);
      assert.equal(bigAgain.cached, true);
      const arr = await bigAgain.load();
      assert.ok(arr instanceof Float64Array);
      assert.equal(arr[99_999], 49_999.5);
      assert.equal(big.size, 800_000 + (big.size - 800_000), "size is the serialized size");
      void a;
    });

    test("a file() argument runs with the path and re-runs when the file's content changes", async () => {
      const t = tempDir();
      try {
        const p = join(t.dir, "in.txt");
        writeFileSync(p, "12345");
        const n = before("readLen");
        assert.equal(await (await client.submit(readLen, file(p) as unknown as string)).load(), 5);
        assert.equal((await client.submit(readLen, file(p) as unknown as string)).cached, true);
        writeFileSync(p, "1234567");
        assert.equal(await (await client.submit(readLen, file(p) as unknown as string)).load(), 7);
        assert.equal(calls.readLen! - n, 2);
      } finally {
        t.remove();
      }
    });
  });
}

describe("Client on disk only", () => {
  test("a corrupted result blob is recomputed, never returned", async () => {
    const t = tempDir();
    const store = new FsStore(join(t.dir, "store"));
    const client = new Client({ store });
    try {
      const n = calls.bigResult ?? 0;
      const ref = await client.submit(bigResult, 5000);
      const path = objectPath(store.location, ref.hash);
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(path, bytes);
      const again = await client.submit(bigResult, 5000);
      assert.equal(again.cached, false, "the damaged result is not served");
      assert.equal(calls.bigResult! - n, 2);
      assert.equal((await again.load())[4999], 2499.5);
    } finally {
      await store.stopDaemon();
      await client.close();
      t.remove();
    }
  });
});

describe("a Client captured by the code around a call", () => {
  test("client.submit((x) => x + 1, 1) in a function that captures its Client over a MemoryStore runs; a task using the client keys by its code, not the store's contents", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on("warning", onWarning);
    const client = new Client({ store: new MemoryStore() });
    try {
      const step = async (n: number): Promise<number> => (await client.submit((x: number) => x + 1, n)).load();
      assert.equal(await step(1), 2);
      assert.equal(await step(1), 2);

      // This task captures the client itself; each run adds to the store, and still the next call hits.
      const viaClient = async (n: number): Promise<number> => (await client.submit(double, n)).load();
      const first = await client.submit(viaClient, 21);
      assert.equal(await first.load(), 42);
      await client.submit(double, 5);
      const again = await client.submit(viaClient, 21);
      assert.equal(again.cached, true);
      assert.equal(again.commit, first.commit);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
    } finally {
      process.off("warning", onWarning);
      await client.close();
    }
  });
});
