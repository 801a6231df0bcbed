// call and runFile: the one porcelain call every front door makes — from the arguments as given to
// the answer — and the one task builder behind it, shared by file tasks and function objects.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { answerJson, call, runFile } from "../../porcelain/call.js";
import { storedResult } from "../../porcelain/result-ref.js";
import { fileTask, functionTask } from "../../porcelain/task.js";
import { tempDir } from "../helpers/fixtures.js";

describe("runFile and call", () => {
  let t: ReturnType<typeof tempDir>;
  let task: string;
  before(() => {
    t = tempDir("cashet-call-");
    task = join(t.dir, "task.mjs");
    writeFileSync(task, `globalThis.calls = 0;\nexport function double(x) { globalThis.calls++; return x * 2; }\nexport const notFn = 3;\n`);
  });
  after(() => t.remove());

  test("bad input is refused before the store is opened: no store directory is created", async () => {
    const dir = join(t.dir, "never");
    await assert.rejects(runFile({ file: join(t.dir, "missing.mjs") }, { store: { dir } }), { code: "EINVALID", message: /does not exist/ });
    await assert.rejects(runFile({ file: task, exportName: "nope" }, { store: { dir } }), { code: "EINVALID", message: /no export named "nope"|nope/ });
    await assert.rejects(runFile({ file: task, exportName: "double", words: ["@" + join(t.dir, "no-such-input")] }, { store: { dir } }), { code: "EINVALID" });
    assert.equal(existsSync(dir), false);
  });

  test("a miss runs once, the same call is then a hit, and both answer the same JSON as run --json", async () => {
    const dir = join(t.dir, "store");
    const first = await runFile({ file: task, exportName: "double", words: ["21"] }, { store: { dir } });
    const again = await runFile({ file: task, exportName: "double", words: ["21"] }, { store: { dir } });
    assert.equal(first.cached, false);
    assert.equal(again.cached, true);
    assert.equal(again.commit.id, first.commit.id);
    assert.equal(await again.result.load(), 42);
    const json = await answerJson(again);
    assert.deepEqual(Object.keys(json), ["commit", "output", "cached", "durationMs", "result"]);
    assert.equal(json.commit, first.commit.id);
    assert.equal(json.output, first.commit.output!.hash);
    assert.equal(json.result, 42);
  });

  test("a file task and the function object it exports are one cache entry: the library hits what the CLI ran", async () => {
    const store = new MemoryStore();
    const byFile = await call(store, await fileTask({ file: task, exportName: "double", args: [5] }));
    const { double } = (await import(pathToFileURL(task).href)) as { double: (x: number) => number };
    const fnTask = await functionTask(double as (...a: never[]) => unknown, [5]);
    assert.equal(fnTask.func.hash, byFile.commit.func.hash);
    assert.deepEqual(fnTask.func.deps, byFile.commit.func.deps);
    const byFn = await call(store, fnTask);
    assert.equal(byFn.cached, true);
    assert.equal(byFn.commit.id, byFile.commit.id);
  });

  test("both builders list the closure's files for provenance, the task's own file first among them", async () => {
    const { double } = (await import(pathToFileURL(task).href)) as { double: (x: number) => number };
    const byFile = await fileTask({ file: task, exportName: "double", args: [1] });
    const byFn = await functionTask(double as (...a: never[]) => unknown, [1]);
    assert.deepEqual(byFn.files, byFile.files);
    assert.ok(byFile.files?.includes(task), String(byFile.files));
  });

  test("a stored result loads from the store by its commit, and one naming another commit's output is refused", async () => {
    const store = new MemoryStore();
    const a = await call(store, await fileTask({ file: task, exportName: "double", args: [100] }));
    const b = await call(store, await fileTask({ file: task, exportName: "double", args: [7] }));
    assert.equal(await storedResult(store, a.commit.id, a.result.hash).load(), 200);
    await assert.rejects(storedResult(store, a.commit.id, b.result.hash).load(), { code: "EINVALID", message: /not in the store/ });
  });

  test("an argument that is an earlier result reaches the task as its value, keyed by its output", async () => {
    const store = new MemoryStore();
    const first = await call<number>(store, await fileTask({ file: task, exportName: "double", args: [4] }));
    const second = await call<number>(store, await fileTask({ file: task, exportName: "double", args: [first.result] }));
    assert.equal(await second.result.load(), 16);
    assert.match(second.commit.args.preview, /<ref /);
  });
});
