// diff: which parts of two runs differ, and a unified diff of the sources when the function did.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { diff } from "../../porcelain/diff.js";
import { recordRun, tempFsStore } from "../helpers/runs.js";

const SRC = "function train(x) {\n  const y = x + 1;\n  return y * 2;\n}";

describe("diff", () => {
  let t: Awaited<ReturnType<typeof tempFsStore>>;
  before(async () => {
    t = await tempFsStore();
  });
  after(() => t.dispose());

  test("two runs of the same call differ only in output", async () => {
    const a = await recordRun(t.store, { seed: "same", source: SRC });
    const b = await recordRun(t.store, { seed: "same", source: SRC });
    assert.deepEqual(await diff(t.store, a.id.slice(0, 8), b.id), {
      a: a.id,
      b: b.id,
      funcChanged: false,
      argsChanged: false,
      depsChanged: false,
      outputChanged: true,
      sourceDiff: null,
    });
    const same = await diff(t.store, a.id, a.id);
    assert.equal(same.outputChanged, false);
  });

  test("a changed function gives a unified diff of the two sources", async () => {
    const a = await recordRun(t.store, { seed: "f1", source: SRC, output: Buffer.from("same") });
    const b = await recordRun(t.store, { seed: "f2", source: SRC.replace("y * 2", "y * 3"), output: Buffer.from("same") });
    const d = await diff(t.store, a.id, b.id);
    assert.equal(d.funcChanged, true);
    assert.equal(d.outputChanged, false, "the same output bytes are the same blob");
    assert.equal(d.depsChanged, false);
    assert.equal(
      d.sourceDiff,
      [
        `--- a/pipeline.ts#train\t${a.id.slice(0, 12)}`,
        `+++ b/pipeline.ts#train\t${b.id.slice(0, 12)}`,
        "@@ -1,4 +1,4 @@",
        " function train(x) {",
        "   const y = x + 1;",
        "-  return y * 2;",
        "+  return y * 3;",
        " }",
        "",
      ].join("\n"),
    );
  });

  test("a changed helper changes the function and its dependencies, with no source diff", async () => {
    const dep = (hash: string) => [{ kind: "declaration", key: "./#helper", name: "helper", file: ".", hash }];
    const a = await recordRun(t.store, { seed: "h1", source: SRC, funcHash: "1".repeat(64), deps: dep("a".repeat(64)) });
    const b = await recordRun(t.store, { seed: "h2", source: SRC, funcHash: "2".repeat(64), deps: dep("b".repeat(64)) });
    const d = await diff(t.store, a.id, b.id);
    assert.equal(d.funcChanged, true);
    assert.equal(d.depsChanged, true);
    assert.equal(d.sourceDiff, null);
  });

  test("different arguments and a failed run are reported", async () => {
    const a = await recordRun(t.store, { seed: "args1", args: "[1]", source: SRC });
    const b = await recordRun(t.store, { seed: "args2", args: "[2]", source: SRC, failed: true });
    const d = await diff(t.store, a.id, b.id);
    assert.equal(d.argsChanged, true);
    assert.equal(d.outputChanged, true, "a run without output differs from one with");
    assert.equal(d.funcChanged, false);
  });

  test("an unknown id is ENOTFOUND", async () => {
    const a = await recordRun(t.store, { seed: "x" });
    await assert.rejects(diff(t.store, a.id, "abcdef0123"), { code: "ENOTFOUND" });
  });
});
