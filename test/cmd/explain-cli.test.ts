// `cashet explain` and `cashet run`'s reasons, as a user runs them in a TypeScript project: the
// text and --json answers, the tsconfig component, arguments taken as run takes them, bad input
// refused before anything is created, run --explain, run --json's reason and the status line on
// a terminal.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CLI, exec } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { cashetIn, writeFiles, writeProject } from "../helpers/projects.js";

const FILES = {
  "package.json": `{"type":"module"}`,
  "tsconfig.json": JSON.stringify({ compilerOptions: { target: "ES2020", useDefineForClassFields: false } }),
  "src/helpers.ts": `export function scale(x: number): number { return x * 2; }\n`,
  "src/pipeline.ts": `import { scale } from "./helpers.ts";
class Model { rate = 1; fit(x: number): number { return x * this.rate; } }
export function train(n: number, opts: { lr: number }): number {
  return new Model().fit(scale(n)) + opts.lr;
}
`,
};

describe("cashet explain", () => {
  const t = tempDir("cashet-explain-cli-");
  after(() => t.remove());
  const dir = join(t.dir, "project");
  writeProject(dir, FILES);
  const cli = (args: string[]) => cashetIn(dir, args);

  test("bad input is refused as run refuses it (exit 2) and creates nothing; no store there is exit 3", async () => {
    const missing = await cli(["explain", "src/nope.ts#train", "1"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /src\/nope\.ts does not exist/);
    assert.equal((await cli(["explain", "src/pipeline.ts#train", "--args-json", "[1"])).code, 2);
    assert.equal((await cli(["explain", "src/pipeline.ts#train", "--force"])).code, 2, "explain takes no --force");
    assert.equal(existsSync(join(dir, ".cashet")), false);
    const none = await cli(["explain", "src/pipeline.ts#train", "1", `{"lr":0.1}`]);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no cashet store at/);
  });

  test("a hit, then a miss component by component: header, one line each, the source diff; --json is the Explanation", async () => {
    const first = await cli(["run", "src/pipeline.ts#train", "3", `{"lr":0.1}`, "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const ran = JSON.parse(first.out);
    assert.equal(ran.reason, "nothing named train was ever stored");

    const hit = await cli(["explain", "src/pipeline.ts#train", "3", `{"lr":0.1}`]);
    assert.equal(hit.code, 0);
    assert.match(hit.out, new RegExp(`^hit: train \\(src/pipeline\\.ts\\) — served from ${ran.commit.slice(0, 12)} \\(\\d+ s ago\\)\\n$`));

    writeFiles(dir, { "src/helpers.ts": FILES["src/helpers.ts"].replace("x * 2", "x * 3") });
    writeFiles(dir, { "src/pipeline.ts": FILES["src/pipeline.ts"].replace("+ opts.lr", "- opts.lr") });
    const miss = await cli(["explain", "src/pipeline.ts#train", "3", `{"lr":0.2}`]);
    assert.equal(miss.code, 0, "a miss exits 0 too");
    const lines = miss.out.split("\n");
    assert.match(lines[0]!, new RegExp(`^miss: train \\(src/pipeline\\.ts\\) — 3 differences from its only run ${ran.commit.slice(0, 12)} \\(\\d+ s ago\\)$`));
    assert.deepEqual(lines.slice(1, 4), ["  source of train (src/pipeline.ts) changed", "  helper scale (src/helpers.ts) changed", "  args[1].lr: 0.1 → 0.2"]);
    assert.match(miss.out, /^--- a\/src\/pipeline\.ts#train/m);
    assert.match(miss.out, /^-  return new Model\(\)\.fit\(scale\(n\)\) \+ opts\.lr;$/m);

    // flags after the arguments, and --args-json, as run takes them
    const json = await cli(["explain", "src/pipeline.ts#train", "--args-json", `[3, {"lr": 0.2}]`, "--json"]);
    assert.equal(json.code, 0);
    const e = JSON.parse(json.out);
    assert.deepEqual(Object.keys(e), ["hit", "func", "fingerprint", "commit", "compared", "runs", "differences", "suggestion", "reason"]);
    assert.equal(e.hit, false);
    assert.equal(e.commit.id, ran.commit);
    assert.deepEqual(e.differences.map((d: { kind: string; name: string }) => `${d.kind} ${d.name}`), ["source train", "helper scale", "argument args[1].lr"]);
    assert.equal(e.reason, "source of train (src/pipeline.ts) changed; helper scale (src/helpers.ts) changed and 1 more");
  });

  test("tsconfig options that change emitted code: by their names", async () => {
    writeFiles(dir, FILES);
    writeFiles(dir, { "tsconfig.json": JSON.stringify({ compilerOptions: { target: "ES2022", useDefineForClassFields: false } }) });
    const e = JSON.parse((await cli(["explain", "src/pipeline.ts#train", "3", `{"lr":0.1}`, "--json"])).out);
    assert.deepEqual(e.differences, [{ kind: "tsconfig", name: "tsconfig options", change: "changed", was: "target=es2020 useDefineForClassFields=false", now: "target=es2022 useDefineForClassFields=false" }]);
    writeFiles(dir, FILES);
  });

  test("run --explain prints the explanation on stderr, a hit's too; run --json's reason is null on a hit", async () => {
    const miss = await cli(["run", "src/pipeline.ts#train", "4", `{"lr":0.1}`, "--explain"]);
    assert.equal(miss.code, 0, miss.stderr);
    assert.equal(miss.out.trim(), "8.1");
    assert.match(miss.stderr, /^miss: train \(src\/pipeline\.ts\) — 1 difference from its only run [0-9a-f]{12} \(\d+ s ago\)\n  args\[0\]: 3 → 4\n$/);
    const hit = await cli(["run", "src/pipeline.ts#train", "4", `{"lr":0.1}`, "--explain", "--json"]);
    assert.match(hit.stderr, /^hit: train \(src\/pipeline\.ts\) — served from [0-9a-f]{12}/);
    assert.equal(JSON.parse(hit.out).reason, null);
  });

  test("on a terminal, run's status line says why a miss missed", { skip: !existsSync("/usr/bin/script") && "needs script(1) for a pseudo-terminal" }, async () => {
    const words = ["run", "src/pipeline.ts#train", "5", `{"lr":0.1}`].map((w) => `'${w}'`).join(" ");
    const tty = await exec("script", ["-qec", `${process.execPath} ${CLI} ${words}`, "/dev/null"], { cwd: dir, env: { CASHET_DAEMON_IDLE_MS: "3000" } });
    assert.match(tty.out, /cashet: ran [0-9a-f]{12} train in [\d.]+ m?s — args\[0\]: [34] → 5\r?\n/);
    const again = await exec("script", ["-qec", `${process.execPath} ${CLI} ${words}`, "/dev/null"], { cwd: dir, env: { CASHET_DAEMON_IDLE_MS: "3000" } });
    assert.match(again.out, /cashet: hit [0-9a-f]{12} train in [\d.]+ m?s\r?\n/, "a hit's line is as it was");
  });

  test("a miss caused by what the run read names the data file or the variable; restoring the file is a hit again", async () => {
    const data = join(t.dir, "observed");
    writeProject(data, {
      "package.json": `{"type":"module"}`,
      "data.csv": "a,b\n1,2\n",
      "load.mjs": `import { readFileSync } from "node:fs";\nexport function load() { return readFileSync("data.csv", "utf8").length + (process.env.CASHET_TEST_MODE ?? "").length; }\n`,
    });
    const run = (env: Record<string, string> = {}) => cashetIn(data, ["run", "load.mjs#load", "--json"], env);
    const explain = (env: Record<string, string> = {}) => cashetIn(data, ["explain", "load.mjs#load", "--json"], env);
    const first = JSON.parse((await run()).out);
    assert.equal(JSON.parse((await explain()).out).hit, true);

    writeFiles(data, { "data.csv": "a,b\n1,2\n3,4\n" });
    const changed = JSON.parse((await explain()).out);
    assert.equal(changed.hit, false);
    assert.deepEqual(changed.differences.map((d: { kind: string; name: string; change: string }) => [d.kind, d.name, d.change]), [["file", "data.csv", "changed"]]);
    const rerun = JSON.parse((await run()).out);
    assert.equal(rerun.cached, false);
    assert.match(rerun.reason, /data\.csv/);

    writeFiles(data, { "data.csv": "a,b\n1,2\n" });
    const restored = JSON.parse((await explain()).out);
    assert.equal(restored.hit, true, "the first run's inputs match again: it is served");
    assert.equal(restored.commit.id, first.commit);

    const env = JSON.parse((await explain({ CASHET_TEST_MODE: "fast" })).out);
    assert.equal(env.hit, false);
    // compared with the head (the run of the three-line file): the file differs from it too
    assert.deepEqual(env.differences.map((d: { kind: string; name: string; change: string }) => [d.kind, d.name, d.change]), [["file", "data.csv", "changed"], ["env", "CASHET_TEST_MODE", "added"]]);
  });
});
