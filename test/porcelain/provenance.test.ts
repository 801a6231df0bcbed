// Provenance: a run records the git commit, branch and dirty state of its task's source closure
// (its own file and the files it imports), naming the files that differ from HEAD.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { Client } from "../../lib/client.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { cashet } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

const git = (cwd: string, ...args: string[]): string =>
  execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" } }).trim();

test("a run records the repository's HEAD, branch and whether the task's file was dirty; outside a repository, none", async () => {
  const t = tempDir();
  const store = join(t.dir, "store");
  try {
    const repo = join(t.dir, "repo");
    execFileSync("mkdir", ["-p", repo]);
    git(repo, "init", "-q", "-b", "main");
    const task = join(repo, "task.mjs");
    writeFileSync(task, "export function f(x) { return x + 1; }\n");
    git(repo, "add", "task.mjs");
    git(repo, "commit", "-q", "-m", "task");
    const head = git(repo, "rev-parse", "HEAD");

    const clean = await cashet(["run", "--json", "--store", store, `${task}#f`, "1"]);
    assert.equal(clean.code, 0, clean.stderr);
    const shown = JSON.parse((await cashet(["show", "--json", "--store", store, JSON.parse(clean.out).commit])).out);
    assert.deepEqual(shown.provenance.git, { commit: head, branch: "main", dirty: false });
    assert.equal(shown.provenance.node, process.version);

    appendFileSync(task, "// an uncommitted edit\n");
    const dirty = await cashet(["run", "--json", "--force", "--store", store, `${task}#f`, "1"]);
    const shownDirty = JSON.parse((await cashet(["show", "--json", "--store", store, JSON.parse(dirty.out).commit])).out);
    assert.equal(shownDirty.provenance.git.dirty, true);

    const outside = join(t.dir, "plain.mjs");
    writeFileSync(outside, "export function g() { return 2; }\n");
    const o = await cashet(["run", "--json", "--store", store, `${outside}#g`]);
    const shownOutside = JSON.parse((await cashet(["show", "--json", "--store", store, JSON.parse(o.out).commit])).out);
    assert.equal("git" in shownOutside.provenance, false);
  } finally {
    await new FsStore(store, { create: false }).stopDaemon().catch(() => undefined);
    t.remove();
  }
});

test("in one long-lived process, provenance follows edits, staging, commits and branch switches", async () => {
  const { gitProvenance } = await import("../../porcelain/provenance.js");
  const t = tempDir();
  try {
    const repo = join(t.dir, "repo");
    execFileSync("mkdir", ["-p", repo]);
    git(repo, "init", "-q", "-b", "main");
    const task = join(repo, "task.mjs");
    writeFileSync(task, "export function f(x) { return x + 1; }\n");
    git(repo, "add", "task.mjs");
    git(repo, "commit", "-q", "-m", "one");
    const first = git(repo, "rev-parse", "HEAD");
    assert.deepEqual(await gitProvenance(task), { commit: first, branch: "main", dirty: false });
    assert.deepEqual(await gitProvenance(task), { commit: first, branch: "main", dirty: false }, "asked again, unchanged");

    appendFileSync(task, "// edit\n");
    assert.equal((await gitProvenance(task))!.dirty, true, "an edit makes it dirty");
    git(repo, "add", "task.mjs");
    assert.equal((await gitProvenance(task))!.dirty, true, "staged is still not committed");
    git(repo, "commit", "-q", "-m", "two");
    const second = git(repo, "rev-parse", "HEAD");
    assert.deepEqual(await gitProvenance(task), { commit: second, branch: "main", dirty: false }, "a commit moves HEAD");

    git(repo, "checkout", "-q", "-b", "feature");
    assert.deepEqual(await gitProvenance(task), { commit: second, branch: "feature", dirty: false }, "a branch switch");
    git(repo, "checkout", "-q", "--detach", first);
    assert.deepEqual(await gitProvenance(task), { commit: first, branch: null, dirty: false }, "a detached checkout");
  } finally {
    t.remove();
  }
});

/** A repository with src/task.mjs importing src/helper.mjs, both committed, and an unrelated file. */
function closureRepo(root: string): { repo: string; task: string; helper: string; head: string } {
  const repo = join(root, "repo");
  mkdirSync(join(repo, "src"), { recursive: true });
  git(repo, "init", "-q", "-b", "main");
  const task = join(repo, "src", "task.mjs");
  const helper = join(repo, "src", "helper.mjs");
  writeFileSync(helper, "export function scale(x) { return x * 3; }\n");
  writeFileSync(task, 'import { scale } from "./helper.mjs";\nexport function f(x) { return scale(x) + 1; }\n');
  writeFileSync(join(repo, "notes.mjs"), "export const unrelated = 1;\n");
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "task");
  return { repo, task, helper, head: git(repo, "rev-parse", "HEAD") };
}

test("dirty means any file of the task's closure differs from HEAD, and the commit names which", async () => {
  const t = tempDir();
  const store = join(t.dir, "store");
  const gitOf = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await cashet(["run", "--json", "--force", "--store", store, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse((await cashet(["show", "--json", "--store", store, JSON.parse(r.out).commit])).out).provenance.git;
  };
  try {
    const { repo, task, helper, head } = closureRepo(t.dir);
    assert.deepEqual(await gitOf([`${task}#f`, "1"]), { commit: head, branch: "main", dirty: false }, "a clean tree");

    appendFileSync(join(repo, "notes.mjs"), "// not part of f\n");
    assert.deepEqual(await gitOf([`${task}#f`, "1"]), { commit: head, branch: "main", dirty: false }, "an edit outside the closure");

    appendFileSync(helper, "// an uncommitted edit of an imported helper\n");
    assert.deepEqual(await gitOf([`${task}#f`, "1"]), { commit: head, branch: "main", dirty: true, dirtyFiles: ["src/helper.mjs"] });

    appendFileSync(task, "// and of the task's own file\n");
    assert.deepEqual((await gitOf([`${task}#f`, "1"])).dirtyFiles, ["src/helper.mjs", "src/task.mjs"]);

    git(repo, "add", "src/helper.mjs");
    git(repo, "commit", "-q", "-m", "helper");
    assert.deepEqual((await gitOf([`${task}#f`, "1"])).dirtyFiles, ["src/task.mjs"], "the helper committed, the task's own file still edited");
  } finally {
    await new FsStore(store, { create: false }).stopDaemon().catch(() => undefined);
    t.remove();
  }
});

test("a library call records the same closure provenance as the command line", async () => {
  const t = tempDir();
  const store = new MemoryStore();
  try {
    const { helper, task, head } = closureRepo(t.dir);
    appendFileSync(helper, "// edited\n");
    const { f } = (await import(pathToFileURL(task).href)) as { f: (x: number) => number };
    const client = new Client({ store });
    const ref = await client.submit(f, 2);
    assert.equal(await ref.load(), 7);
    assert.deepEqual((await client.show(ref.commit)).provenance.git, { commit: head, branch: "main", dirty: true, dirtyFiles: ["src/helper.mjs"] });
  } finally {
    await store.close();
    t.remove();
  }
});
