// Checking observed inputs against the disk and the environment now (plumbing/observed.ts), and
// the commit's `observed` field as the store validates it.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { encodeCommit } from "../../plumbing/commit.js";
import { InvalidInputError } from "../../plumbing/errors.js";
import { sha256 } from "../../plumbing/ids.js";
import { changedInputs, CWD, envHash, inputNow, inputPath, projectRoot, recordedPath, settled, type ObservedInputs } from "../../plumbing/observed.js";
import { makeRecord, tempDir } from "../helpers/fixtures.js";

const t = tempDir("cashet-observed-plumbing-");
after(() => t.remove());
const root = t.dir;
writeFileSync(join(root, "data.csv"), "a,b\n");
mkdirSync(join(root, "dir"));
writeFileSync(join(root, "dir", "x"), "");
const VAR = "CASHET_OBSERVED_PLUMBING_VAR";

const recorded = (): ObservedInputs => ({
  files: [
    { path: "absent.txt", kind: "missing", hash: "" },
    { path: "data.csv", kind: "file", hash: sha256("a,b\n") },
    { path: "dir", kind: "dir", hash: sha256("x") },
  ],
  env: [{ name: VAR, hash: null }],
});

test("every input as recorded: no change", async () => {
  delete process.env[VAR];
  assert.deepEqual(await changedInputs(recorded(), root), []);
});

test("a changed file, a created file, a new directory entry and a set variable are each named, with the hash recorded and the hash now", async () => {
  writeFileSync(join(root, "data.csv"), "a,c\n");
  writeFileSync(join(root, "absent.txt"), "now here");
  writeFileSync(join(root, "dir", "y"), "");
  process.env[VAR] = "on";
  try {
    assert.deepEqual(await changedInputs(recorded(), root), [
      { kind: "file", name: "absent.txt", was: null, now: sha256("now here") },
      { kind: "file", name: "data.csv", was: sha256("a,b\n"), now: sha256("a,c\n") },
      { kind: "file", name: "dir", was: sha256("x"), now: sha256("x\ny") },
      { kind: "env", name: VAR, was: null, now: sha256("on") },
    ]);
  } finally {
    writeFileSync(join(root, "data.csv"), "a,b\n");
    rmSync(join(root, "absent.txt"));
    rmSync(join(root, "dir", "y"));
    delete process.env[VAR];
  }
  assert.deepEqual(await changedInputs(recorded(), root), [], "restored: all as recorded again");
});

test("an input recorded as changed while its run read it (an empty hash) never matches", async () => {
  const observed: ObservedInputs = { files: [{ path: "data.csv", kind: "file", hash: "" }], env: [{ name: VAR, hash: "" }] };
  assert.deepEqual((await changedInputs(observed, root)).map((c) => c.name), ["data.csv", VAR]);
});

test("a file replaced by a directory of the same name is a change", async () => {
  const path = join(root, "becomes-dir");
  writeFileSync(path, "");
  const was = inputNow(path);
  rmSync(path);
  mkdirSync(path);
  const observed: ObservedInputs = { files: [{ path: "becomes-dir", kind: "file", hash: was.hash! }], env: [] };
  assert.equal((await changedInputs(observed, root)).length, 1);
});

test("the working directory entry compares where the process runs, relative to the root", async () => {
  const here: ObservedInputs = { files: [], env: [{ name: CWD, hash: envHash(recordedPath(process.cwd(), root)) }] };
  assert.deepEqual(await changedInputs(here, root), []);
  const elsewhere: ObservedInputs = { files: [], env: [{ name: CWD, hash: envHash("sub") }] };
  assert.equal((await changedInputs(elsewhere, root)).length, 1);
});

test("paths inside the root are recorded relative to it with / separators, others absolute; both resolve back", () => {
  assert.equal(recordedPath(join(root, "a", "b.txt"), root), "a/b.txt");
  assert.equal(recordedPath(root, root), ".");
  assert.equal(recordedPath("/etc/hosts", root), "/etc/hosts");
  assert.equal(recordedPath(join(root, "..", "sibling"), root), join(root, "..", "sibling"));
  assert.equal(inputPath("a/b.txt", root), join(root, "a", "b.txt"));
  assert.equal(inputPath(".", root), root);
  assert.equal(inputPath("/etc/hosts", root), "/etc/hosts");
});

test("the project root is the nearest package.json above the file, else the file's own directory, else the working directory", () => {
  const project = join(root, "project");
  mkdirSync(join(project, "src", "deep"), { recursive: true });
  writeFileSync(join(project, "package.json"), "{}");
  assert.equal(projectRoot(join(project, "src", "deep", "task.ts")), project);
  const loose = join(root, "loose");
  mkdirSync(loose);
  // t.dir is under the OS temp directory, which has no package.json above it on a test machine
  assert.equal(projectRoot(join(loose, "task.ts")), loose);
  assert.equal(projectRoot(), process.cwd());
});

test("a stat tells a later change apart only once a clock tick has passed since the last one", () => {
  const ctime = 1_700_000_000_123.5; // sub-second times: a tick of a few ms
  assert.equal(settled(ctime, ctime + 10), false);
  assert.equal(settled(ctime, ctime + 100), true);
  const whole = 1_700_000_000_000; // whole-second times: the tick may be a second or two
  assert.equal(settled(whole, whole + 1000), false);
  assert.equal(settled(whole, whole + 5000), true);
});

test("a commit's observed field: sorted and well formed, or the commit is refused", () => {
  const good = makeRecord({ observed: recorded() });
  assert.doesNotThrow(() => encodeCommit(good));
  const bad: Array<[string, unknown]> = [
    ["unsorted files", { files: [...recorded().files].reverse(), env: [] }],
    ["a missing file with a hash", { files: [{ path: "x", kind: "missing", hash: sha256("x") }], env: [] }],
    ["an unknown kind", { files: [{ path: "x", kind: "socket", hash: "" }], env: [] }],
    ["a hash that is not one", { files: [{ path: "x", kind: "file", hash: "abc" }], env: [] }],
    ["unsorted env", { files: [], env: [{ name: "B", hash: null }, { name: "A", hash: null }] }],
    ["no env list", { files: [] }],
  ];
  for (const [what, observed] of bad) {
    assert.throws(() => encodeCommit(makeRecord({ observed: observed as ObservedInputs })), InvalidInputError, what);
  }
});
