// explain(): whether a call would hit and, on a miss, why — on real project files, keyed as run
// keys them, in a memory store: each component kind that can change, this call's own expired,
// failed or lost result, the closest of the function's runs, a function never stored, and run's
// own explanation of a miss (asked for; a hit computes none).
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { call } from "../../porcelain/call.js";
import { explain, type Explanation } from "../../porcelain/explain.js";
import { run, TaskError } from "../../porcelain/run.js";
import { fileTask } from "../../porcelain/task.js";
import { tempDir } from "../helpers/fixtures.js";
import { writeProject, type Files } from "../helpers/projects.js";

const PIPELINE = `import { scale } from "./helpers.mjs";
const LR = 0.01;
class Model { fit(x) { return x + 1; } }
export function train(n, opts = {}) {
  return new Model().fit(scale(n)) + LR * (opts.lr ?? 1);
}
export function trainer(n) { return n; }
export function boom(why) { throw new RangeError("refused: " + why); }
export function big(n) { return "x".repeat(2000 + n); }
`;
const HELPERS = `export function scale(x) { return x * 2; }\n`;

describe("explain", () => {
  const t = tempDir("cashet-explain-");
  after(() => t.remove());
  let projects = 0;
  /** A fresh project (its own files: this process never holds an older copy of them). */
  const project = (files: Files = {}): string => {
    const dir = join(t.dir, `p${projects++}`);
    writeProject(dir, { "package.json": `{"type":"module"}`, "pipeline.mjs": PIPELINE, "helpers.mjs": HELPERS, ...files });
    return dir;
  };
  const task = (dir: string, exportName: string, args: unknown[]) => fileTask({ file: join(dir, "pipeline.mjs"), exportName, args });
  const ran = async (store: MemoryStore, dir: string, exportName: string, args: unknown[], options = {}) => call(store, await task(dir, exportName, args), options);
  const why = async (store: MemoryStore, dir: string, exportName: string, args: unknown[]): Promise<Explanation> => explain(store, await task(dir, exportName, args));
  const edit = (dir: string, file: string, from: string | RegExp, to: string): void => {
    const path = join(dir, file);
    const text = readFileSync(path, "utf8");
    assert.notEqual(text.replace(from, to), text, `${from} is in ${file}`);
    writeFileSync(path, text.replace(from, to));
  };

  test("a call that would hit says so and names the commit it serves; nothing runs", async () => {
    const store = new MemoryStore();
    const dir = project({ "count.mjs": `import { appendFileSync } from "node:fs";\nexport function count(n) { appendFileSync(new URL("./calls.log", import.meta.url), "x"); return n; }\n` });
    const done = await call(store, await fileTask({ file: join(dir, "count.mjs"), exportName: "count", args: [1] }));
    const e = await explain(store, await fileTask({ file: join(dir, "count.mjs"), exportName: "count", args: [1] }));
    assert.equal(e.hit, true);
    assert.equal(e.commit!.id, done.commit.id);
    assert.equal(e.fingerprint, done.commit.fingerprint);
    assert.deepEqual(e.differences, []);
    assert.match(e.reason, /^served from [0-9a-f]{12} \(\d+ s ago\)$/);
    assert.equal(readFileSync(join(dir, "calls.log"), "utf8"), "x", "explain ran nothing");
  });

  test("the function's own source: a source difference with a unified diff of the two sources", async () => {
    const store = new MemoryStore();
    const dir = project();
    await ran(store, dir, "train", [3]);
    edit(dir, "pipeline.mjs", "LR * (opts.lr ?? 1)", "LR * (opts.lr ?? 2)");
    const e = await why(store, dir, "train", [3]);
    assert.equal(e.hit, false);
    assert.equal(e.compared, "newest");
    assert.equal(e.differences.length, 1);
    const [d] = e.differences;
    assert.equal(d!.kind, "source");
    assert.equal(d!.name, "train");
    assert.match(d!.diff!, /^-  return new Model\(\)\.fit\(scale\(n\)\) \+ LR \* \(opts\.lr \?\? 1\);$/m);
    assert.match(d!.diff!, /^\+  return new Model\(\)\.fit\(scale\(n\)\) \+ LR \* \(opts\.lr \?\? 2\);$/m);
    assert.equal(e.reason, `source of train (${d!.file}) changed`);
  });

  test("a helper, a constant and a class: by kind, name and file; a helper added, a constant removed", async () => {
    const store = new MemoryStore();
    const dir = project();
    await ran(store, dir, "train", [3]);
    edit(dir, "helpers.mjs", "x * 2", "x * 3");
    edit(dir, "pipeline.mjs", "const LR = 0.01;", "const LR = 0.02;");
    edit(dir, "pipeline.mjs", "return x + 1;", "return x + 2;");
    const e = await why(store, dir, "train", [3]);
    const seen = e.differences.map((d) => `${d.kind} ${d.name} ${d.change} ${d.file!.split("/").pop()}`).sort();
    assert.deepEqual(seen, ["class Model changed pipeline.mjs", "constant LR changed pipeline.mjs", "helper scale changed helpers.mjs"]);
    assert.match(e.reason, / and 1 more$/);

    const fresh = new MemoryStore(); // the same code in another project: the first project's run would be a hit
    const again = project();
    await ran(fresh, again, "train", [3]);
    writeFileSync(join(again, "helpers.mjs"), `${HELPERS}export function clip(x) { return x; }\n`);
    edit(again, "pipeline.mjs", "import { scale }", "import { scale, clip }");
    edit(again, "pipeline.mjs", "LR * (opts.lr ?? 1)", "clip(opts.lr ?? 1)");
    const changed = (await why(fresh, again, "train", [3])).differences.map((d) => `${d.kind} ${d.name} ${d.change}`);
    assert.deepEqual(changed, ["source train changed", "helper clip added", "constant LR removed"]);
  });

  test("an argument by its path, with previews only", async () => {
    const store = new MemoryStore();
    const dir = project();
    await ran(store, dir, "train", [3, { lr: 0.01, epochs: 10 }]);
    const e = await why(store, dir, "train", [3, { lr: 0.02, epochs: 10 }]);
    assert.deepEqual(e.differences, [{ kind: "argument", name: "args[1].lr", change: "changed", was: "0.01", now: "0.02" }]);
    assert.equal(e.reason, "args[1].lr: 0.01 → 0.02");
    const more = await why(store, dir, "train", [3, { lr: 0.01, epochs: 10 }, "extra"]);
    assert.deepEqual(more.differences, [{ kind: "argument", name: "args[2]", change: "added", now: `"extra"` }]);
  });

  test("a package: its version, and at the same version its lockfile integrity", async () => {
    const store = new MemoryStore();
    const pkg = (version: string, integrity: string): Files => ({
      "node_modules/fake-db/package.json": JSON.stringify({ name: "fake-db", version, type: "module", exports: "./index.js" }),
      "node_modules/fake-db/index.js": "export function q(x) { return x; }\n",
      "node_modules/.package-lock.json": JSON.stringify({ name: "p", lockfileVersion: 3, packages: { "node_modules/fake-db": { version, integrity } } }),
    });
    const dir = project({ ...pkg("1.2.0", "sha512-AAAA"), "db.mjs": `import { q } from "fake-db";\nexport function load(n) { return q(n); }\n` });
    await call(store, await fileTask({ file: join(dir, "db.mjs"), exportName: "load", args: [1] }));
    const explainLoad = async (): Promise<Explanation> => explain(store, await fileTask({ file: join(dir, "db.mjs"), exportName: "load", args: [1] }));
    for (const [path, text] of Object.entries(pkg("1.3.0", "sha512-AAAA"))) writeFileSync(join(dir, path), text);
    assert.deepEqual((await explainLoad()).differences, [{ kind: "package", name: "fake-db", change: "changed", was: "1.2.0", now: "1.3.0" }]);
    for (const [path, text] of Object.entries(pkg("1.2.0", "sha512-BBBB"))) writeFileSync(join(dir, path), text);
    assert.deepEqual((await explainLoad()).differences, [{ kind: "package", name: "fake-db", change: "changed", was: "1.2.0 sha512-AAAA", now: "1.2.0 sha512-BBBB" }]);
  });

  test("this call's own run: an expired result, a failed last run, a result whose output is gone", async () => {
    const store = new MemoryStore();
    const dir = project();
    await ran(store, dir, "train", [5], { ttl: 0.05 });
    await new Promise((r) => setTimeout(r, 80));
    const expired = await why(store, dir, "train", [5]);
    assert.equal(expired.compared, "same-call");
    assert.deepEqual(expired.differences.map((d) => d.kind), ["expired"]);
    assert.match(expired.reason, /^its result expired \d+ s ago$/);

    await assert.rejects(ran(store, dir, "boom", ["no"]), TaskError);
    const failed = await why(store, dir, "boom", ["no"]);
    assert.equal(failed.commit!.status, "failed");
    assert.equal(failed.reason, "its last run failed: RangeError: refused: no");

    const done = await ran(store, dir, "big", [1]);
    await store.objects.delete(done.commit.output!.hash);
    const gone = await why(store, dir, "big", [1]);
    assert.deepEqual(gone.differences.map((d) => d.kind), ["output"]);
    assert.equal(gone.commit!.id, done.commit.id);
  });

  test("the run compared is the closest of the newest runs (fewest differences), the newer on a tie", async () => {
    const store = new MemoryStore();
    const dir = project();
    const older = await ran(store, dir, "train", [1]);
    await ran(store, dir, "train", [2]);
    edit(dir, "helpers.mjs", "x * 2", "x * 4");
    const e = await why(store, dir, "train", [1]);
    assert.equal(e.compared, "closest");
    assert.equal(e.commit!.id, older.commit.id);
    assert.equal(e.runs, 2);
    assert.deepEqual(e.differences.map((d) => `${d.kind} ${d.name}`), ["helper scale"]);
  });

  test("a function never stored: says so and names the nearest stored function", async () => {
    const store = new MemoryStore();
    const dir = project();
    const empty = await why(store, dir, "train", [1]);
    assert.deepEqual([empty.hit, empty.commit, empty.suggestion, empty.reason], [false, null, null, "nothing named train was ever stored"]);
    await ran(store, dir, "train", [1]);
    const e = await why(store, dir, "trainer", [1]);
    assert.equal(e.suggestion, "train");
    assert.equal(e.reason, "nothing named trainer was ever stored; did you mean train?");
    // the same name from another module (with other code: the same code anywhere is a hit) is another function
    const other = project({ "helpers.mjs": "export function scale(x) { return x * 5; }\n" });
    const elsewhere = await explain(store, await fileTask({ file: join(other, "pipeline.mjs"), exportName: "train", args: [1] }));
    assert.match(elsewhere.reason, /^nothing of train from .*p\d+\/pipeline\.mjs was ever stored \(train was, from .*pipeline\.mjs\)$/);
  });

  test("run with explain says why a miss missed, worked out before it ran; a hit and a forced run say so without comparing", async () => {
    const store = new MemoryStore();
    const dir = project();
    const first = await run(store, await task(dir, "train", [1, { lr: 1 }]), { explain: true });
    assert.equal(first.explanation!.reason, "nothing named train was ever stored");
    const second = await run(store, await task(dir, "train", [1, { lr: 2 }]), { explain: true });
    assert.equal(second.explanation!.reason, "args[1].lr: 1 → 2");
    assert.equal(second.explanation!.commit!.id, first.commit.id, "compared with the run before, not with itself");
    const hit = await run(store, await task(dir, "train", [1, { lr: 2 }]), { explain: true });
    assert.equal(hit.cached, true);
    assert.equal(hit.explanation, undefined);
    const forced = await run(store, await task(dir, "train", [1, { lr: 2 }]), { explain: true, force: true });
    assert.equal(forced.explanation!.reason, "forced (--force)");
    const uncached = await run(store, await task(dir, "train", [9]), { explain: true, cache: false });
    assert.equal(uncached.explanation!.reason, "caching off (--no-cache)");
    const sameAgain = await explain(store, await task(dir, "train", [9]));
    assert.equal(sameAgain.reason, "the same call only ran with caching off (--no-cache), which is never served");
  });

  test("every new commit records its argument tree; an edit that changes no code is no difference", async () => {
    const store = new MemoryStore();
    const dir = project();
    const done = await ran(store, dir, "train", [3, { lr: 0.5 }]);
    assert.deepEqual(done.commit.args.tree!.map(([path]) => path), ["args[0]", "args[1]", "args[1].lr"]);
    appendFileSync(join(dir, "pipeline.mjs"), "\n");
    assert.equal((await why(store, dir, "train", [3, { lr: 0.5 }])).hit, true, "a newline is no change");
  });
});
