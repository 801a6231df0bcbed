// Observed inputs end to end through the CLI, each command its own process: a task reading a data
// file by a literal path (readFileSync — also one a module took from node:fs as it loaded —,
// fs.promises.readFile, createReadStream, readdirSync)
// runs again after the file changes and is served the older commit once it is restored; the
// same for an environment variable; --no-track records nothing; recorded paths are relative to
// the project root, and a relative path read from another working directory is another input.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import type { CliResult } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { cashetIn, writeProject } from "../helpers/projects.js";

const TASKS = [
  `import { createReadStream, readdirSync, readFileSync } from "node:fs";`,
  `import { readFile } from "node:fs/promises";`,
  `export function sync() {`,
  `  return readFileSync("data.csv", "utf8").trim();`,
  `}`,
  `export async function promise() {`,
  `  return (await readFile("data.csv", "utf8")).trim();`,
  `}`,
  `export async function stream() {`,
  `  let text = "";`,
  `  for await (const chunk of createReadStream("data.csv", "utf8")) text += chunk;`,
  `  return text.trim();`,
  `}`,
  `export function listing() {`,
  `  return readdirSync("inbox").sort().join(",");`,
  `}`,
  `export function env() {`,
  `  return process.env.CASHET_OBSERVED_CLI ?? "unset";`,
  `}`,
  ``,
].join("\n");

const t = tempDir("cashet-observed-cli-");
const root = join(t.dir, "project");
const store = join(t.dir, "store");
after(async () => {
  await new FsStore(store, { create: false }).stopDaemon().catch(() => undefined);
  t.remove();
});

interface Ran {
  cached: boolean;
  result: unknown;
  commit: string;
}
const cli = (args: string[], env: Record<string, string> = {}, cwd = root): Promise<CliResult> => cashetIn(cwd, args, { CASHET_DIR: store, ...env });
async function run(target: string, options: { env?: Record<string, string>; cwd?: string; flags?: string[] } = {}): Promise<Ran> {
  const r = await cli(["run", target, "--json", ...(options.flags ?? [])], options.env, options.cwd);
  assert.equal(r.code, 0, r.stderr);
  const { cached, result, commit } = JSON.parse(r.out) as Ran;
  return { cached, result, commit };
}
async function observedOf(commit: string): Promise<{ files: Array<{ path: string; kind: string }>; env: Array<{ name: string }> } | undefined> {
  const shown = await cli(["show", commit, "--json"]);
  assert.equal(shown.code, 0, shown.stderr);
  return (JSON.parse(shown.out) as { observed?: { files: Array<{ path: string; kind: string }>; env: Array<{ name: string }> } }).observed;
}

before(() => {
  writeProject(root, {
    "package.json": JSON.stringify({ name: "observed-cli", private: true, type: "module" }),
    "task.mjs": TASKS,
    // a function taken from node:fs when the module loads, before the task runs
    "early.mjs": `import fs from "node:fs";\nconst { readFileSync } = fs;\nexport function early() {\n  return readFileSync("data.csv", "utf8").trim();\n}\n`,
    "data.csv": "v1\n",
    "inbox/a": "",
  });
});

describe("a data file read by a literal path, across cashet run processes", () => {
  for (const target of ["task.mjs#sync", "task.mjs#promise", "task.mjs#stream", "early.mjs#early"]) {
    test(`${target}: changed → runs again; restored → the older commit is served`, async () => {
      writeFileSync(join(root, "data.csv"), "v1\n");
      const first = await run(target);
      assert.equal(first.result, "v1");
      assert.deepEqual((await observedOf(first.commit))?.files.map((f) => [f.path, f.kind]), [["data.csv", "file"]], "recorded relative to the project root");
      assert.deepEqual(await run(target), { ...first, cached: true }, "unchanged: a hit");
      writeFileSync(join(root, "data.csv"), "v2\n");
      const second = await run(target);
      assert.deepEqual([second.cached, second.result], [false, "v2"]);
      writeFileSync(join(root, "data.csv"), "v1\n");
      assert.deepEqual(await run(target), { ...first, cached: true }, "restored: the first commit again");
    });
  }

  test("task.mjs#listing: a new entry → runs again; removed → the older commit is served", async () => {
    const first = await run("task.mjs#listing");
    assert.equal(first.result, "a");
    assert.deepEqual((await observedOf(first.commit))?.files.map((f) => [f.path, f.kind]), [["inbox", "dir"]]);
    writeFileSync(join(root, "inbox", "b"), "");
    assert.deepEqual((await run("task.mjs#listing")).result, "a,b");
    rmSync(join(root, "inbox", "b"));
    assert.deepEqual(await run("task.mjs#listing"), { ...first, cached: true });
  });

  test("the same call from another working directory reads another file: it runs there", async () => {
    writeFileSync(join(root, "data.csv"), "v1\n");
    const here = await run("task.mjs#sync");
    assert.equal(here.result, "v1");
    const sub = join(root, "sub");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "data.csv"), "sub\n");
    const there = await run("../task.mjs#sync", { cwd: sub });
    assert.deepEqual([there.cached, there.result], [false, "sub"]);
    assert.deepEqual(await run("task.mjs#sync"), { ...here, cached: true });
  });

  test("--no-track records nothing: a changed file is then a stale hit, as documented", async () => {
    writeFileSync(join(root, "data.csv"), "untracked\n");
    const first = await run("task.mjs#sync", { flags: ["--no-track", "--force"] });
    assert.equal(first.result, "untracked");
    assert.equal(await observedOf(first.commit), undefined);
    writeFileSync(join(root, "data.csv"), "changed\n");
    assert.deepEqual(await run("task.mjs#sync", { flags: ["--no-track"] }), { ...first, cached: true });
    const tracked = await run("task.mjs#sync", { flags: ["--force"] });
    assert.equal(tracked.result, "changed");
  });
});

describe("an environment variable the task reads, across cashet run processes", () => {
  test("unset → set runs again; changed runs again; restored serves the older commit", async () => {
    const unset = await run("task.mjs#env");
    assert.equal(unset.result, "unset");
    assert.deepEqual((await observedOf(unset.commit))?.env.map((e) => e.name), ["CASHET_OBSERVED_CLI"]);
    const a = await run("task.mjs#env", { env: { CASHET_OBSERVED_CLI: "a" } });
    assert.deepEqual([a.cached, a.result], [false, "a"]);
    assert.deepEqual(await run("task.mjs#env", { env: { CASHET_OBSERVED_CLI: "a" } }), { ...a, cached: true });
    const b = await run("task.mjs#env", { env: { CASHET_OBSERVED_CLI: "b" } });
    assert.deepEqual([b.cached, b.result], [false, "b"]);
    assert.deepEqual(await run("task.mjs#env", { env: { CASHET_OBSERVED_CLI: "a" } }), { ...a, cached: true });
    assert.deepEqual(await run("task.mjs#env"), { ...unset, cached: true });
  });
});
