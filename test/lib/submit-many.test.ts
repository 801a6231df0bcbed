// Batches through the library: submitMany runs tasks in dependency order with TaskRefs wired to
// upstream results, caches every step, bounds parallelism, and rejects bad graphs before running;
// map caches per item.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Client } from "../../lib/client.js";
import { TaskRef } from "../../lib/task-ref.js";
import { InvalidInputError } from "../../plumbing/errors.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { TaskError } from "../../porcelain/run.js";
import { exec } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

// Tasks live at module level: what a closure captures is part of its key, so counters captured
// by nested functions would change the key on every call.
const calls: Record<string, number> = {};
const count = (name: string): number => (calls[name] = (calls[name] ?? 0) + 1);
const total = (): number => Object.values(calls).reduce((a, b) => a + b, 0);
const gauge = { active: 0, peak: 0 };

export function load(source: string): number[] {
  count("load");
  return source.split(",").map(Number);
}
export function train(data: number[], lr: number): { weights: number[] } {
  count("train");
  return { weights: data.map((x) => x * lr) };
}
export function evaluate(model: { weights: number[] }): number {
  count("evaluate");
  return model.weights.reduce((a, b) => a + b, 0);
}
export function parity(x: number): string {
  count("parity");
  return x % 2 === 0 ? "even" : "odd";
}
export function shout(s: string): string {
  count("shout");
  return s.toUpperCase();
}
export function join2(parts: { left: string; right: string[] }): string {
  count("join2");
  return `${parts.left}+${parts.right.join("+")}`;
}
export function boom(label: string): never {
  count("boom");
  throw new RangeError(`the task exploded (${label})`);
}
export function square(x: number): number {
  count("square");
  return x * x;
}
export function scale(x: number, factor: number): number {
  count("scale");
  return x * factor;
}
/** Holds a slot long enough for others to start; records how many run at once. */
export async function busy(label: string, ms: number): Promise<string> {
  count("busy");
  gauge.active++;
  gauge.peak = Math.max(gauge.peak, gauge.active);
  try {
    await new Promise((r) => setTimeout(r, ms));
    return label;
  } finally {
    gauge.active--;
  }
}
/** Waits (up to 2 s) until another task is running beside it. */
export async function rendezvous(label: string): Promise<string> {
  count("rendezvous");
  gauge.active++;
  gauge.peak = Math.max(gauge.peak, gauge.active);
  try {
    const deadline = Date.now() + 2000;
    while (gauge.active < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return label;
  } finally {
    gauge.active--;
  }
}

describe("submitMany and map on the memory store", () => {
  const store = new MemoryStore();
  const client = new Client({ store, maxWorkers: 4 });
  after(() => client.close());
  const runs = (name: string, since: Record<string, number>): number => (calls[name] ?? 0) - (since[name] ?? 0);

  test("TaskRef works without new and is recognised by instanceof", () => {
    const ref = TaskRef(0);
    assert.equal(ref.target, 0);
    assert.ok(ref instanceof TaskRef);
    assert.equal(TaskRef("load").target, "load");
    assert.throws(() => TaskRef(-1), InvalidInputError);
  });

  test("list form: a 3-step pipeline runs in order, and its second run executes nothing", async () => {
    const since = { ...calls };
    const pipeline = [[load, ["1,2,3"]], [train, [TaskRef(0), 0.5]], [evaluate, [TaskRef(1)]]] as const;
    const [data, model, score] = await client.submitMany(pipeline);
    assert.deepEqual(await data.load(), [1, 2, 3]);
    assert.deepEqual(await model.load(), { weights: [0.5, 1, 1.5] });
    assert.equal(await score.load(), 3);
    assert.deepEqual([runs("load", since), runs("train", since), runs("evaluate", since)], [1, 1, 1]);

    const before = total();
    const again = await client.submitMany(pipeline);
    assert.equal(total() - before, 0, "fully cached: zero executions");
    assert.ok(again.every((r) => r.cached));
    assert.deepEqual(again.map((r) => r.commit), [data.commit, model.commit, score.commit]);
  });

  test("changing one step's argument re-runs only it and what depends on it", async () => {
    await client.submitMany([[load, ["4,5"]], [train, [TaskRef(0), 0.01]], [evaluate, [TaskRef(1)]]]);
    const since = { ...calls };
    const refs = await client.submitMany([[load, ["4,5"]], [train, [TaskRef(0), 0.02]], [evaluate, [TaskRef(1)]]]);
    assert.deepEqual([runs("load", since), runs("train", since), runs("evaluate", since)], [0, 1, 1]);
    assert.deepEqual(refs.map((r) => r.cached), [true, false, false]);
    assert.equal(await refs[2].load(), 0.18);
  });

  test("record form: TaskRef by key, ResultRefs by key; an untouched branch stays cached", async () => {
    const batch = (n: number) =>
      ({ a: [parity, [3]], loudA: [shout, [TaskRef("a")]], b: [square, [n]], both: [join2, [{ left: TaskRef("loudA"), right: [TaskRef("a"), "x"] }]] }) as const;
    const first = await client.submitMany(batch(5));
    assert.deepEqual(Object.keys(first), ["a", "loudA", "b", "both"]);
    assert.equal(await first.loudA.load(), "ODD");
    assert.equal(await first.b.load(), 25);
    assert.equal(await first.both.load(), "ODD+odd+x", "TaskRefs inside nested plain objects and arrays are wired");
    const since = { ...calls };
    const second = await client.submitMany(batch(6));
    assert.deepEqual([runs("parity", since), runs("shout", since), runs("square", since), runs("join2", since)], [0, 0, 1, 0]);
    assert.equal(await second.b.load(), 36);
    assert.ok(second.a.cached && second.loudA.cached && second.both.cached && !second.b.cached);
  });

  test("early cutoff through TaskRef: a different upstream run with the same output does not re-run downstream", async () => {
    const since = { ...calls };
    const [even2, loud2] = await client.submitMany([[parity, [2]], [shout, [TaskRef(0)]]]);
    const [even4, loud4] = await client.submitMany([[parity, [4]], [shout, [TaskRef(0)]]]);
    assert.notEqual(even4.commit, even2.commit);
    assert.equal(loud4.cached, true);
    assert.equal(loud4.commit, loud2.commit);
    assert.equal(runs("shout", since), 1);
  });

  test("maxWorkers=2 never runs more than 2 tasks at once", async () => {
    gauge.peak = 0;
    const tasks = Array.from({ length: 6 }, (_, i) => [busy, [`cap-${i}`, 25]] as const);
    const refs = await client.submitMany(tasks, { maxWorkers: 2 });
    assert.equal(gauge.peak, 2);
    assert.deepEqual(await Promise.all(refs.map((r) => r.load())), tasks.map((t) => t[1][0]));
  });

  test("independent tasks overlap with maxWorkers ≥ 2", async () => {
    gauge.peak = 0;
    await client.submitMany([[rendezvous, ["left"]], [rendezvous, ["right"]]], { maxWorkers: 2 });
    assert.equal(gauge.peak, 2);
  });

  test("bad graphs are rejected before anything runs: circular, self, not found", async () => {
    const before = total();
    await assert.rejects(
      client.submitMany([[square, [1]], [shout, [TaskRef(2)]], [shout, [TaskRef(1)]]]),
      (e: unknown) => e instanceof InvalidInputError && /circular/.test(e.message) && /task 1 \(shout\)/.test(e.message) && /task 2/.test(e.message),
    );
    await assert.rejects(
      client.submitMany({ a: [square, [1]], b: [join2, [{ left: TaskRef("b"), right: [] }]] }),
      (e: unknown) => e instanceof InvalidInputError && /task "b" \(join2\) cannot depend on itself/.test(e.message),
    );
    await assert.rejects(client.submitMany([[square, [1]], [shout, [TaskRef(7)]]]), /TaskRef\(7\).*not found/);
    await assert.rejects(client.submitMany({ a: [square, [1]], b: [shout, [TaskRef("nope")]] }), /not found/);
    await assert.rejects(client.submitMany([[square, [1]], [shout, [TaskRef("a")]]]), /not found/, "list form refers by index");
    assert.equal(total() - before, 0);
  });

  test("a failing task rejects the batch with its TaskError and its dependents never run", async () => {
    const since = { ...calls };
    const err = await client
      .submitMany([[boom, ["batch"]], [shout, [TaskRef(0)]], [evaluate, [TaskRef(1)]], [square, [12345]]], { maxWorkers: 1 })
      .then(() => null, (e: unknown) => e);
    assert.ok(err instanceof TaskError, String(err));
    assert.match(err.message, /the task exploded \(batch\)/);
    assert.ok(err.cause instanceof RangeError);
    assert.equal(runs("boom", since), 1);
    assert.equal(runs("shout", since), 0);
    assert.equal(runs("evaluate", since), 0);
  });

  test("per-task options apply; a bare function is a task without arguments", async () => {
    const since = { ...calls };
    await client.submitMany([[square, [77]], [square, [77], { cache: false }]]);
    assert.equal(runs("square", since), 2);
    await assert.rejects(client.submitMany([[1 as unknown as typeof square, []]]), InvalidInputError);
  });

  test("map caches per item: the same items again execute nothing; one more item executes one", async () => {
    const since = { ...calls };
    const refs = await client.map(scale, [1, 2, 3], 10);
    assert.deepEqual(await Promise.all(refs.map((r) => r.load())), [10, 20, 30]);
    assert.equal(runs("scale", since), 3);
    const again = await client.map(scale, [1, 2, 3], 10);
    assert.equal(runs("scale", since), 3);
    assert.ok(again.every((r) => r.cached));
    const more = await client.map(scale, [1, 2, 3, 4], 10);
    assert.equal(runs("scale", since), 4);
    assert.deepEqual(more.map((r) => r.cached), [true, true, true, false]);
  });

  test("map runs with the client's concurrency limit", async () => {
    const capped = new Client({ store, maxWorkers: 2 });
    gauge.peak = 0;
    await capped.map(busy, ["m1", "m2", "m3", "m4", "m5"], 25);
    assert.equal(gauge.peak, 2);
  });
});

describe("a batch's summary: what was cached, what ran, the time saved", () => {
  const store = new MemoryStore();
  const client = new Client({ store, maxWorkers: 4 });
  after(() => client.close());

  test("a batch of 3 cached and 2 new tasks says { cached: 3, ran: 2 }, and the saved time is the cached runs' recorded durations", async () => {
    const first = await client.submitMany([[scale, [1, 7]], [scale, [2, 7]], [scale, [3, 7]]]);
    assert.deepEqual(first.summary, { cached: 0, ran: 3, savedMs: 0 });
    const recorded = await Promise.all(first.map(async (r) => (await client.show(r.commit)).durationMs));
    const batch = await client.submitMany([[scale, [1, 7]], [scale, [2, 7]], [scale, [3, 7]], [scale, [4, 7]], [scale, [5, 7]]]);
    assert.deepEqual({ ...batch.summary, savedMs: undefined }, { cached: 3, ran: 2, savedMs: undefined });
    assert.ok(Math.abs(batch.summary.savedMs - recorded.reduce((a, b) => a + b, 0)) < 1e-6, `${batch.summary.savedMs} vs ${recorded}`);
  });

  test("map has the same summary; the record form too; the summary is not one of the results", async () => {
    await client.map(square, [11, 12]);
    const mapped = await client.map(square, [11, 12, 13]);
    assert.deepEqual([mapped.summary.cached, mapped.summary.ran], [2, 1]);
    assert.equal(Object.keys(mapped).length, 3, "not enumerable");
    assert.equal(JSON.stringify(Object.keys(mapped)), JSON.stringify(["0", "1", "2"]));
    const record = await client.submitMany({ a: [square, [11]], b: [square, [14]] });
    assert.deepEqual([record.summary.cached, record.summary.ran], [1, 1]);
    assert.deepEqual(Object.keys(record), ["a", "b"]);
  });

  test("a record batch with a task named summary keeps its task; its type has no summary", async () => {
    const batch = await client.submitMany({ summary: [square, [21]], other: [square, [22]] });
    assert.equal(await batch.summary.load(), 441);
    // @ts-expect-error the task named "summary" is a ResultRef, not a BatchSummary: it has no `ran`
    assert.equal(batch.summary.ran, undefined);
  });

  test("a call that waited for another runner of the same call is cached, and saved the run's time less the wait", async () => {
    const batch = await client.submitMany([[busy, ["same", 150]], [busy, ["same", 150]]]);
    assert.deepEqual([batch.summary.cached, batch.summary.ran], [1, 1]);
    assert.ok(batch.summary.savedMs < 100, `waited most of the run, so saved little: ${batch.summary.savedMs}`);
  });
});

describe("submitMany on the fs store", () => {
  const t = tempDir();
  const store = new FsStore(join(t.dir, "store"));
  const client = new Client({ store });
  after(async () => {
    await store.stopDaemon();
    await store.close();
    t.remove();
  });

  test("a pipeline is cached on disk: a fresh client runs it again without executing anything", async () => {
    const pipeline = { data: [load, ["7,8"]], model: [train, [TaskRef("data"), 2]], score: [evaluate, [TaskRef("model")]] } as const;
    const first = await client.submitMany(pipeline);
    assert.equal(await first.score.load(), 30);
    const before = total();
    const again = await new Client({ store }).submitMany(pipeline);
    assert.equal(total() - before, 0);
    assert.equal(again.score.commit, first.score.commit);
    assert.equal(await again.score.load(), 30);
  });
});

describe("a batch's summary line on a terminal", { skip: !existsSync("/usr/bin/script") && "needs script(1) for a pseudo-terminal" }, () => {
  const t = tempDir("cashet-summary-line-");
  after(() => t.remove());
  const LIB = new URL("../../lib/index.js", import.meta.url).href;
  const script = (summary: boolean): string => {
    const file = join(t.dir, `batch-${summary}.mjs`);
    writeFileSync(
      file,
      `import { Client } from ${JSON.stringify(LIB)};\nexport function sq(x) { return x * x; }\nconst client = new Client({ storeDir: ${JSON.stringify(join(t.dir, `store-${summary}`))}, summary: ${summary} });\ntry {\n  const a = await client.map(sq, [1, 2, 3]);\n  const b = await client.map(sq, [1, 2, 3, 4]);\n  console.log("summaries " + JSON.stringify([{ ...a.summary, savedMs: 0 }, { ...b.summary, savedMs: 0 }]));\n} finally {\n  await client.close();\n}\n`,
    );
    return file;
  };

  test("on a TTY each batch ends with `cashet: N cached, M ran, saved …` on stderr; on a pipe, and with summary: false, nothing", async () => {
    const file = script(true);
    const tty = await exec("script", ["-qec", `${process.execPath} ${file}`, "/dev/null"], { cwd: t.dir });
    assert.equal(tty.code, 0, tty.out);
    const lines = tty.out.split(/\r?\n/).filter((l) => l.startsWith("cashet: "));
    assert.equal(lines.length, 2, tty.out);
    assert.match(lines[0]!, /^cashet: 0 cached, 3 ran, saved 0ms$/);
    assert.match(lines[1]!, /^cashet: 3 cached, 1 ran, saved \d+(ms|\.\ds)$/);
    assert.match(tty.out, /summaries \[\{"cached":0,"ran":3,"savedMs":0\},\{"cached":3,"ran":1,"savedMs":0\}\]/);

    const pipe = await exec(process.execPath, [file], { cwd: t.dir });
    assert.equal(pipe.code, 0, pipe.stderr);
    assert.doesNotMatch(pipe.stderr, /cashet: /, "a pipe gets no summary line");
    assert.match(pipe.out, /summaries/);

    const quiet = await exec("script", ["-qec", `${process.execPath} ${script(false)}`, "/dev/null"], { cwd: t.dir });
    assert.equal(quiet.code, 0, quiet.out);
    assert.doesNotMatch(quiet.out, /cashet: \d+ cached/, "summary: false prints nothing");
    assert.match(quiet.out, /summaries/);
  });
});
