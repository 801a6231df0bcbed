// The examples in examples/ work as their READMEs say.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { CLI } from "./helpers/cli.js";
import { tempDir } from "./helpers/fixtures.js";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

test("examples/makefile: make -j4 runs four memoized calls; a forced remake or a comment edit executes nothing; an input edit re-runs", async () => {
  const t = tempDir();
  const dir = join(t.dir, "makefile");
  cpSync(join(EXAMPLES, "makefile"), dir, { recursive: true });
  const make = (...args: string[]): string =>
    execFileSync("make", ["-j4", `CASHET=${process.execPath} ${CLI}`, ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, CASHET_DAEMON_IDLE_MS: "1000" },
    });
  try {
    make();
    const read = (): Record<string, string> =>
      Object.fromEntries(readdirSync(join(dir, "out")).map((f) => [f, readFileSync(join(dir, "out", f), "utf8")]));
    assert.deepEqual(read(), { "cairo.json": "32\n", "lima.json": "20\n", "nuuk.json": "-6\n", "oslo.json": "4\n" });
    const store = new FsStore(join(dir, ".cashet"), { create: false });
    const runs = async (): Promise<number> => (await store.index.stats()).totalCommits;
    assert.equal(await runs(), 4);
    make("-B");
    assert.equal(await runs(), 4, "a forced remake is all cache hits");
    appendFileSync(join(dir, "tasks.ts"), "// a comment changes nothing\n");
    make("-B");
    assert.equal(await runs(), 4, "a comment edit is still a hit");
    appendFileSync(join(dir, "temps.csv"), "oslo,10\n");
    make("-B");
    assert.equal(await runs(), 8, "every call that reads the edited file ran again");
    assert.equal(read()["oslo.json"], "6\n");
    await store.stopDaemon();
    await store.close();
  } finally {
    t.remove();
  }
});

test("examples/pipeline: the sweep runs every step once, then nothing; a new learning rate runs only its model and what reads it", async () => {
  const t = tempDir();
  const store = join(t.dir, "store");
  // Run in place: `import … from "cashet"` resolves to this package by its own name.
  const sweep = (rates?: string): { best: { lr: number }; scores: number[]; ran: string[] } =>
    JSON.parse(
      execFileSync(process.execPath, ["--import", "tsx", join(EXAMPLES, "pipeline", "pipeline.ts")], {
        cwd: join(EXAMPLES, "pipeline"),
        encoding: "utf8",
        env: { ...process.env, CASHET_DIR: store, CASHET_DAEMON_IDLE_MS: "1000", ...(rates ? { RATES: rates } : {}) },
      }),
    );
  try {
    const first = sweep();
    assert.deepEqual(first.ran, ["data", "features", "lr=0.01", "lr=0.03", "lr=0.1", "best", "score 1", "score 2", "score 3"]);
    assert.equal(first.best.lr, 0.1);
    const fs = new FsStore(store, { create: false });
    const commits = async (): Promise<number> => (await fs.index.stats()).totalCommits;
    assert.equal(await commits(), 9);

    const second = sweep();
    assert.deepEqual(second.ran, [], "the second run executes nothing");
    assert.deepEqual(second.scores, first.scores);
    assert.equal(await commits(), 9);

    const third = sweep("0.01,0.03,0.3");
    assert.deepEqual(third.ran, ["lr=0.3", "best", "score 1", "score 2", "score 3"]);
    assert.equal(await commits(), 14);
    await fs.stopDaemon();
    await fs.close();
  } finally {
    t.remove();
  }
});

test("examples/ci-warmup: job 2, in another checkout with only job 1's archive, imports it, executes nothing and writes identical outputs", async () => {
  const t = tempDir();
  const job = (name: string): string => {
    const dir = join(t.dir, name);
    cpSync(join(EXAMPLES, "ci-warmup"), dir, { recursive: true });
    return dir;
  };
  const run = (dir: string): string =>
    execFileSync("sh", ["ci.sh"], { cwd: dir, encoding: "utf8", env: { ...process.env, CASHET: `${process.execPath} ${CLI}`, CASHET_DAEMON_IDLE_MS: "1000" } });
  const outputs = (dir: string): Record<string, string> =>
    Object.fromEntries(readdirSync(join(dir, "out")).map((f) => [f, readFileSync(join(dir, "out", f), "utf8")]));
  try {
    const one = job("job-1");
    assert.match(run(one), /exported 3 commits/);
    const first = new FsStore(join(one, ".cashet"), { create: false });
    assert.equal((await first.index.stats()).totalCommits, 3);
    await first.stopDaemon();
    await first.close();

    const two = job("job-2");
    cpSync(join(one, "cache.tar.zst"), join(two, "cache.tar.zst")); // what actions/cache restores: the archive only
    assert.match(run(two), /imported 3 commits/);
    const second = new FsStore(join(two, ".cashet"), { create: false });
    assert.equal((await second.index.stats()).totalCommits, 3, "all three steps were hits");
    assert.deepEqual(outputs(two), outputs(one));
    assert.match(outputs(two)["report.txt"]!, /words checked against 5000 fixtures/);

    appendFileSync(join(two, "README.md"), "\nOne more line of docs.\n");
    run(two);
    assert.equal((await second.index.stats()).totalCommits, 4, "only the step that reads the edited file ran");
    await second.stopDaemon();
    await second.close();
  } finally {
    t.remove();
  }
});

test("examples/provenance: show records the repository's commit, branch and dirty state; diff shows the edit as written", async () => {
  const t = tempDir();
  const git = (...args: string[]): string =>
    execFileSync("git", args, { cwd: t.dir, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" } }).trim();
  try {
    const out = execFileSync("sh", [join(EXAMPLES, "provenance", "walkthrough.sh")], {
      cwd: t.dir,
      encoding: "utf8",
      env: { ...process.env, CASHET: `${process.execPath} ${CLI}`, CASHET_DAEMON_IDLE_MS: "1000", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" },
    });
    const head = git("rev-parse", "HEAD");
    const branch = git("rev-parse", "--abbrev-ref", "HEAD");
    const gitLines = out.split("\n").filter((l) => /^\s+git\s/.test(l)).map((l) => JSON.parse(l.trim().replace(/^git\s+/, "")) as { commit: string; branch: string; dirty: boolean; dirtyFiles?: string[] });
    assert.deepEqual(gitLines, [
      { branch, commit: head, dirty: false },
      { branch, commit: head, dirty: true, dirtyFiles: ["tasks.ts"] },
    ]);
    assert.match(out, /^-  return \{ city, days, temps: Array\.from\(\{ length: days \}, \(_, d\) => base \+ \(d % 3\)\) \};$/m);
    assert.match(out, /^\+  return \{ city, days, temps: Array\.from\(\{ length: days \}, \(_, d\) => base \+ \(d % 5\)\) \};$/m);
    assert.match(out, /^ function forecast\(city: string, days: number\)/m, "the source as written, types included");
    const ids = [...out.matchAll(/^commit\s+([0-9a-f]{64})$/gm)].map((m) => m[1]!);
    const diff = JSON.parse(execFileSync(process.execPath, [CLI, "diff", "--json", ids[0]!, ids[1]!], { cwd: t.dir, encoding: "utf8", env: { ...process.env, CASHET_DAEMON_IDLE_MS: "1000" } }));
    assert.equal(diff.funcChanged, true);
    assert.equal(diff.argsChanged, false);
    assert.equal(diff.outputChanged, false, "d % 3 and d % 5 agree for 3 days");
  } finally {
    t.remove();
  }
});

test("examples/remote-cache: two store directories share a result through cashet serve; a read-only token uploads nothing", async () => {
  const t = tempDir();
  try {
    const run = spawnSync("sh", [join(EXAMPLES, "remote-cache", "walkthrough.sh")], {
      cwd: t.dir,
      encoding: "utf8",
      env: { ...process.env, CASHET: `${process.execPath} ${CLI}`, CASHET_DAEMON_IDLE_MS: "1000" },
    });
    assert.equal(run.status, 0, run.stderr);
    const answers = run.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { commit: string; cached: boolean; result: { frames: number } });
    assert.deepEqual(
      answers.map((a) => [a.cached, a.result.frames]),
      [[false, 24], [true, 24], [false, 48], [true, 24], [true, 24]],
    );
    const shared = answers[0]!.commit;
    assert.deepEqual([answers[1], answers[3], answers[4]].map((a) => a!.commit), [shared, shared, shared], "one run, served everywhere");
    assert.match(run.stderr, /^cashet: the remote cache at http:\/\/127\.0\.0\.1:\d+ is read-only for this token: results stay local$/m);
    const server = new FsStore(join(t.dir, "server", ".cashet"), { create: false });
    assert.ok(await server.objects.size(shared), "A's run is on the server");
    assert.equal(await server.objects.size(answers[2]!.commit), null, "B's own run is not");
    await server.stopDaemon();
    await server.close();
  } finally {
    t.remove();
  }
});
