// lockedIntegrity / lockfileLookup (SPEC §3): an installed package's lockfile integrity, read from
// real npm, pnpm and yarn lockfiles (test/fixtures/lockfiles/README.md says how each was made, and
// two tests run npm itself), found from the package's real directory, never machine-specific.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import { lockedIntegrity, lockfileLookup, type LockfileAnswer, type LockfileKind } from "../../../plumbing/hash/lockfile.js";

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL("../../../../test/fixtures/lockfiles/", import.meta.url));
const MODULE = fileURLToPath(new URL("../../../plumbing/hash/lockfile.js", import.meta.url));

// What the registry serves for these versions (the same in every fixture that records an integrity).
const IS_NUMBER_7 = "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==";
const IS_NUMBER_6 = "sha512-Wu1VHeILBK8KAWJUAiSZQX94GmOE45Rg6/538fKwiloUu21KncEkYGPqob2oSZ5mUT73vLGrHQjKw3KMPwfDzg==";
const IS_ODD = "sha512-CQpnWPrDwmP1+SMHXZhtLtJv90yiyVfluGsX5iNCVkrhQtU3TQHsUWPG9wkdk9Lgd5yNpAg9jQEo90CBaXgWMA==";
const USE_SYNC = "sha512-eEgnFxGQ1Ife9bzYs6VLi8/4X6CObHMw9Qr9tPY43iKwsPw8xE8+EFsf/2cFZ5S3esXgpWgtSCtLNS41F+sKPA==";
const GIT = "git:f9dcdf7cb30092fe14557305bc20abc86ed3a48d";

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "cashet-lock-")));
  made.push(dir);
  return dir;
}

/** A project: `lockfiles` maps a path in it to a fixture's name; `packages` are installed dirs. */
function project(lockfiles: Record<string, string>, packages: Record<string, string> = {}): string {
  const root = tempDir();
  for (const [at, fixture] of Object.entries(lockfiles)) write(root, at, readFileSync(join(FIXTURES, fixture), "utf8"));
  for (const [at, version] of Object.entries(packages)) installed(root, at, version);
  return root;
}

function write(root: string, at: string, text: string): string {
  const path = join(root, at);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** An installed package's directory with its package.json; returns the directory. */
function installed(root: string, at: string, version: string): string {
  const name = at.split("/node_modules/").pop()!.replace(/^node_modules\//, "");
  write(root, `${at}/package.json`, JSON.stringify({ name, version }));
  return join(root, at);
}

/** pnpm's layout: the package in node_modules/.pnpm/<dir>/node_modules/<name>, linked from node_modules/<name>; returns its real path. */
function pnpmInstalled(root: string, storeDir: string, name: string, version: string): string {
  const real = installed(root, `node_modules/.pnpm/${storeDir}/node_modules/${name}`, version);
  mkdirSync(dirname(join(root, "node_modules", name)), { recursive: true });
  symlinkSync(real, join(root, "node_modules", name));
  return realpathSync(join(root, "node_modules", name));
}

/** Rewrites a lockfile and moves its mtime on, as an install that changed it would. */
function edit(path: string, change: (text: string) => string): void {
  writeFileSync(path, change(readFileSync(path, "utf8")));
  const later = new Date(Date.now() + 5000);
  utimesSync(path, later, later);
}

/** Every answer is free of anything that names this machine. */
function portable(answer: LockfileAnswer): LockfileAnswer {
  assert.ok(!/\/tmp|file:|^\//.test(answer.integrity ?? ""), `machine-specific answer ${answer.integrity}`);
  return answer;
}

const noRegistry = { npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };

async function npmInstall(dir: string, cache: string): Promise<void> {
  await run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", cache], {
    cwd: dir,
    env: { ...process.env, ...noRegistry },
  });
}

describe("npm", () => {
  test("package-lock.json v3: a package and a nested second version of its name each get their own integrity", () => {
    const root = project({ "package-lock.json": "npm-v3.package-lock.json" });
    const top = installed(root, "node_modules/is-number", "7.0.0");
    const nested = installed(root, "node_modules/is-odd/node_modules/is-number", "6.0.0");
    assert.deepEqual(lockfileLookup(top, "is-number", "7.0.0"), { integrity: IS_NUMBER_7, lockfile: "npm", unreadable: [] });
    assert.equal(lockedIntegrity(nested, "is-number", "6.0.0"), IS_NUMBER_6);
    assert.equal(lockedIntegrity(installed(root, "node_modules/is-odd", "3.0.1"), "is-odd", "3.0.1"), IS_ODD);
  });

  test("node_modules/.package-lock.json, nearer than package-lock.json, answers first", () => {
    const root = project({ "package-lock.json": "npm-v3.package-lock.json", "node_modules/.package-lock.json": "npm-hidden.package-lock.json" });
    edit(join(root, "package-lock.json"), (t) => t.replace(IS_NUMBER_6, "sha512-stale"));
    const nested = installed(root, "node_modules/is-odd/node_modules/is-number", "6.0.0");
    assert.deepEqual(lockfileLookup(nested, "is-number", "6.0.0"), { integrity: IS_NUMBER_6, lockfile: "npm-hidden", unreadable: [] });
  });

  test("package-lock.json v1: the nested `dependencies` tree is the layout on disk", () => {
    const root = project({ "package-lock.json": "npm-v1.package-lock.json" });
    assert.equal(lockedIntegrity(installed(root, "node_modules/is-number", "7.0.0"), "is-number", "7.0.0"), IS_NUMBER_7);
    assert.equal(lockedIntegrity(installed(root, "node_modules/is-odd/node_modules/is-number", "6.0.0"), "is-number", "6.0.0"), IS_NUMBER_6);
  });

  test("a workspace package's dependency is keyed by its path from the root lockfile", () => {
    const root = tempDir();
    write(root, "package-lock.json", JSON.stringify({
      lockfileVersion: 3,
      packages: { "": {}, "packages/app/node_modules/is-number": { version: "7.0.0", integrity: IS_NUMBER_7 } },
    }));
    assert.equal(lockedIntegrity(installed(root, "packages/app/node_modules/is-number", "7.0.0"), "is-number", "7.0.0"), IS_NUMBER_7);
  });

  test("a git dependency from GitHub is its commit", () => {
    const root = project({ "package-lock.json": "git-npm-github.package-lock.json" });
    assert.equal(portable(lockfileLookup(installed(root, "node_modules/gdep", "1.0.0"), "gdep", "1.0.0")).integrity, GIT);
  });

  test("a tarball re-published at the same version is a different answer: each tarball's own sha512", async () => {
    const work = tempDir();
    const cache = join(work, "npm-cache");
    const answers: string[] = [];
    for (const [i, body] of ["module.exports = 1;\n", "module.exports = 2;\n"].entries()) {
      const src = join(work, `src${i}`);
      write(src, "package.json", JSON.stringify({ name: "repub", version: "1.0.0", main: "index.js" }));
      write(src, "index.js", body);
      const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", work, "--cache", cache], { cwd: src, env: { ...process.env, ...noRegistry } });
      const tarball = join(work, `v${i}.tgz`);
      writeFileSync(tarball, readFileSync(join(work, stdout.trim().split("\n").pop()!)));
      const app = join(work, `app${i}`);
      write(app, "package.json", JSON.stringify({ name: "app", version: "1.0.0", dependencies: { repub: `file:../v${i}.tgz` } }));
      await npmInstall(app, cache);
      const answer = portable(lockfileLookup(realpathSync(join(app, "node_modules/repub")), "repub", "1.0.0"));
      assert.equal(answer.integrity, `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`);
      answers.push(answer.integrity!);
    }
    assert.notEqual(answers[0], answers[1]);
  });

  test("a git dependency installed by npm is its commit, never the path it was cloned from", async () => {
    const work = tempDir();
    const repo = join(work, "gdep");
    write(repo, "package.json", JSON.stringify({ name: "gdep", version: "1.0.0", main: "index.js" }));
    write(repo, "index.js", "module.exports = 1;\n");
    const git = (...args: string[]): Promise<{ stdout: string }> =>
      run("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main", ...args], { cwd: repo });
    await git("init", "-q");
    await git("add", ".");
    await git("commit", "-qm", "gdep 1.0.0");
    const commit = (await git("rev-parse", "HEAD")).stdout.trim();
    const app = join(work, "app");
    write(app, "package.json", JSON.stringify({ name: "app", version: "1.0.0", dependencies: { gdep: `git+file://${repo}` } }));
    await npmInstall(app, join(work, "npm-cache"));
    assert.match(readFileSync(join(app, "package-lock.json"), "utf8"), /"resolved": "git\+file:\/\//); // no integrity, a local URL
    const answer = portable(lockfileLookup(realpathSync(join(app, "node_modules/gdep")), "gdep", "1.0.0"));
    assert.equal(answer.integrity, `git:${commit}`);
  });
});

describe("pnpm", () => {
  for (const [fixture, peerDir] of [
    ["pnpm-v5.4.pnpm-lock.yaml", "use-sync-external-store@1.2.0_react@18.2.0"],
    ["pnpm-v6.pnpm-lock.yaml", "use-sync-external-store@1.2.0_react@18.2.0"],
    ["pnpm-v9.pnpm-lock.yaml", "use-sync-external-store@1.2.0_react@18.2.0"],
  ] as const) {
    test(`${fixture}: a package's real path in node_modules/.pnpm finds the root lockfile, by name and version`, () => {
      const root = project({ "pnpm-lock.yaml": fixture });
      const seven = pnpmInstalled(root, "is-number@7.0.0", "is-number", "7.0.0");
      const six = installed(root, "node_modules/.pnpm/is-number@6.0.0/node_modules/is-number", "6.0.0");
      const peered = pnpmInstalled(root, peerDir, "use-sync-external-store", "1.2.0");
      assert.match(seven, /\.pnpm/);
      assert.deepEqual(lockfileLookup(seven, "is-number", "7.0.0"), { integrity: IS_NUMBER_7, lockfile: "pnpm", unreadable: [] });
      assert.equal(lockedIntegrity(six, "is-number", "6.0.0"), IS_NUMBER_6);
      assert.equal(lockedIntegrity(peered, "use-sync-external-store", "1.2.0"), USE_SYNC); // keyed with its peer in v5/v6
    });
  }

  test("an alias (`\"n\": \"npm:is-number@7.0.0\"`) is found by the name it is stored under in .pnpm", () => {
    const root = project({ "pnpm-lock.yaml": "pnpm-v9.pnpm-lock.yaml" });
    const real = installed(root, "node_modules/.pnpm/is-number@7.0.0/node_modules/is-number", "7.0.0");
    symlinkSync(real, join(root, "node_modules/n"));
    assert.equal(lockedIntegrity(realpathSync(join(root, "node_modules/n")), "n", "7.0.0"), IS_NUMBER_7);
  });

  test("node_modules/.pnpm/lock.yaml, what was installed, answers before pnpm-lock.yaml", () => {
    const root = project({ "pnpm-lock.yaml": "pnpm-v9.pnpm-lock.yaml", "node_modules/.pnpm/lock.yaml": "pnpm-v9.pnpm-lock.yaml" });
    edit(join(root, "pnpm-lock.yaml"), (t) => t.replace(IS_ODD, "sha512-stale"));
    const odd = pnpmInstalled(root, "is-odd@3.0.1", "is-odd", "3.0.1");
    assert.deepEqual(lockfileLookup(odd, "is-odd", "3.0.1"), { integrity: IS_ODD, lockfile: "pnpm-hidden", unreadable: [] });
  });

  test("a git dependency is its commit (v9 `resolution: {commit, repo}`) or its tarball URL (v6 `github.com/…` key)", () => {
    const v9 = project({ "pnpm-lock.yaml": "git-pnpm-v9.pnpm-lock.yaml" });
    const dir9 = pnpmInstalled(v9, "gdep@git+file++++tmp+lf+git.git#f9dcdf7cb30092fe14557305bc20abc86ed3a48d", "gdep", "1.0.0");
    assert.equal(portable(lockfileLookup(dir9, "gdep", "1.0.0")).integrity, GIT);
    const v6 = project({ "pnpm-lock.yaml": "git-pnpm-v6.pnpm-lock.yaml" });
    const dir6 = pnpmInstalled(v6, "github.com+example+gdep@f9dcdf7cb30092fe14557305bc20abc86ed3a48d", "gdep", "1.0.0");
    assert.equal(lockedIntegrity(dir6, "gdep", "1.0.0"), `https://codeload.github.com/example/gdep/tar.gz/${GIT.slice(4)}`);
  });
});

describe("yarn", () => {
  test("yarn.lock v1: `\"name@range\":` blocks, the entry of the installed version", () => {
    const root = project({ "yarn.lock": "yarn-v1.yarn.lock" });
    const nested = installed(root, "node_modules/is-odd/node_modules/is-number", "6.0.0");
    assert.deepEqual(lockfileLookup(nested, "is-number", "6.0.0"), { integrity: IS_NUMBER_6, lockfile: "yarn-v1", unreadable: [] });
    assert.equal(lockedIntegrity(installed(root, "node_modules/is-number", "7.0.0"), "is-number", "7.0.0"), IS_NUMBER_7);
  });

  test("yarn.lock berry: the checksum of the entry of the installed version", () => {
    const root = project({ "yarn.lock": "yarn-berry.yarn.lock" });
    const text = readFileSync(join(FIXTURES, "yarn-berry.yarn.lock"), "utf8");
    const checksum = (spec: string): string => new RegExp(`^"${spec}":\\n(?:  .*\\n)*?  checksum: (\\S+)`, "m").exec(text)![1]!;
    const seven = installed(root, "node_modules/is-number", "7.0.0");
    const six = installed(root, "node_modules/is-odd/node_modules/is-number", "6.0.0");
    assert.deepEqual(lockfileLookup(seven, "is-number", "7.0.0"), { integrity: checksum("is-number@npm:7.0.0"), lockfile: "yarn-berry", unreadable: [] });
    assert.equal(lockedIntegrity(six, "is-number", "6.0.0"), checksum("is-number@npm:\\^6.0.0"));
    assert.notEqual(checksum("is-number@npm:7.0.0"), checksum("is-number@npm:\\^6.0.0"));
  });

  test("a git dependency is its commit: v1 `resolved …#<sha>`, berry `resolution: …#commit=<sha>`", () => {
    for (const fixture of ["git-yarn-v1.yarn.lock", "git-yarn-berry.yarn.lock"]) {
      const root = project({ "yarn.lock": fixture });
      assert.equal(portable(lockfileLookup(installed(root, "node_modules/gdep", "1.0.0"), "gdep", "1.0.0")).integrity, GIT, fixture);
    }
  });
});

describe("answers", () => {
  const formats = [
    ["package-lock.json", "npm-v3.package-lock.json"],
    ["package-lock.json", "npm-v1.package-lock.json"],
    ["pnpm-lock.yaml", "pnpm-v9.pnpm-lock.yaml"],
    ["pnpm-lock.yaml", "pnpm-v5.4.pnpm-lock.yaml"],
    ["yarn.lock", "yarn-v1.yarn.lock"],
  ] as const;

  test("a changed integrity at the same version is a different answer, also in a process that read the old one", () => {
    for (const [file, fixture] of formats) {
      const root = project({ [file]: fixture });
      const dir = installed(root, "node_modules/is-number", "7.0.0");
      assert.equal(lockedIntegrity(dir, "is-number", "7.0.0"), IS_NUMBER_7, fixture);
      const republished = `sha512-${createHash("sha512").update("republished").digest("base64")}`;
      edit(join(root, file), (t) => t.replace(IS_NUMBER_7, republished));
      assert.equal(lockedIntegrity(dir, "is-number", "7.0.0"), republished, fixture);
    }
  });

  test("a package no lockfile records, or records at another version, is null", () => {
    for (const [file, fixture] of formats) {
      const root = project({ [file]: fixture });
      assert.deepEqual(lockfileLookup(installed(root, "node_modules/left-pad", "1.3.0"), "left-pad", "1.3.0"), { integrity: null, lockfile: null, unreadable: [] });
      assert.equal(lockedIntegrity(installed(root, "node_modules/is-odd", "3.0.2"), "is-odd", "3.0.2"), null, fixture);
    }
    assert.equal(lockedIntegrity(installed(tempDir(), "node_modules/is-number", "7.0.0"), "is-number", "7.0.0"), null);
  });

  test("a damaged lockfile is null, and is named in `unreadable`; a farther lockfile still answers", () => {
    const conflict = (t: string): string =>
      t.replace("is-number@7.0.0:", "<<<<<<< HEAD\nis-number@7.0.0:").replace("is-number@^6", '=======\nis-number@7.0.0:\n  version "7.0.0"\n>>>>>>> theirs\nis-number@^6');
    const damage: Array<[string, string, LockfileKind, (t: string) => string]> = [
      ["package-lock.json", "npm-v3.package-lock.json", "npm", (t) => t.slice(0, t.length / 2)],
      ["pnpm-lock.yaml", "pnpm-v9.pnpm-lock.yaml", "pnpm", (t) => t.replace("packages:\n", "packages:\n  is-number@7.0.0: {resolution: {integrity: x}\n")],
      ["yarn.lock", "yarn-v1.yarn.lock", "yarn-v1", (t) => t.replace("is-number@7.0.0:", "is-number@7.0.0: {{")],
      ["yarn.lock", "yarn-v1.yarn.lock", "yarn-v1", conflict],
      ["yarn.lock", "yarn-berry.yarn.lock", "yarn-berry", (t) => t.replace("__metadata:\n", "__metadata:\n\t- [\n")],
      ["yarn.lock", "yarn-v1.yarn.lock", "yarn-v1", (t) => t.replace("# yarn lockfile v1", "# who knows")],
    ];
    for (const [file, fixture, kind, spoil] of damage) {
      const root = project({ [file]: fixture });
      edit(join(root, file), spoil);
      const answer = lockfileLookup(installed(root, "node_modules/is-number", "7.0.0"), "is-number", "7.0.0");
      assert.equal(answer.integrity, null, fixture);
      assert.equal(answer.unreadable.length, 1, fixture);
      assert.equal(answer.unreadable[0]!.path, join(root, file));
      assert.equal(answer.unreadable[0]!.kind, kind);
      assert.ok(answer.unreadable[0]!.reason.length > 0 && !answer.unreadable[0]!.reason.includes("\n"));
    }
    const outer = project({ "package-lock.json": "npm-v3.package-lock.json", "node_modules/.package-lock.json": "npm-hidden.package-lock.json" });
    write(outer, "node_modules/.package-lock.json", "{ not json");
    const answer = lockfileLookup(installed(outer, "node_modules/is-number", "7.0.0"), "is-number", "7.0.0");
    assert.equal(answer.integrity, IS_NUMBER_7);
    assert.equal(answer.lockfile, "npm");
    assert.deepEqual(answer.unreadable.map((u) => u.kind), ["npm-hidden"]);
  });

  test("a package's own package-lock.json or yarn.lock (published with it) is not read; its npm-shrinkwrap.json is", () => {
    const root = tempDir();
    const dep = installed(root, "node_modules/a/node_modules/b", "1.0.0");
    write(root, "node_modules/a/yarn.lock", `# yarn lockfile v1\n\nb@^1.0.0:\n  version "1.0.0"\n  integrity ${IS_NUMBER_6}\n`);
    write(root, "node_modules/a/package-lock.json", JSON.stringify({ lockfileVersion: 3, packages: { "node_modules/b": { version: "1.0.0", integrity: IS_NUMBER_6 } } }));
    assert.deepEqual(lockfileLookup(dep, "b", "1.0.0"), { integrity: null, lockfile: null, unreadable: [] });
    write(root, "node_modules/a/npm-shrinkwrap.json", JSON.stringify({ lockfileVersion: 3, packages: { "node_modules/b": { version: "1.0.0", integrity: IS_ODD } } }));
    assert.deepEqual(lockfileLookup(dep, "b", "1.0.0"), { integrity: IS_ODD, lockfile: "npm-shrinkwrap", unreadable: [] });
  });

  test("a parser is loaded only when its kind of lockfile is found", async () => {
    const npm = project({ "package-lock.json": "npm-v3.package-lock.json" }, { "node_modules/is-number": "7.0.0" });
    const pnpm = project({ "pnpm-lock.yaml": "pnpm-v9.pnpm-lock.yaml" }, { "node_modules/is-number": "7.0.0" });
    const loaded = async (root: string): Promise<string[]> => {
      const script = `
        import { createRequire } from "node:module";
        const { lockedIntegrity } = await import(${JSON.stringify(MODULE)});
        lockedIntegrity(${JSON.stringify(join(root, "node_modules/is-number"))}, "is-number", "7.0.0");
        const cache = createRequire(import.meta.url).cache;
        console.log(JSON.stringify(["js-yaml", "@yarnpkg/lockfile"].filter((p) => Object.keys(cache).some((k) => k.includes("/node_modules/" + p + "/")))));`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
      return JSON.parse(stdout) as string[];
    };
    assert.deepEqual(await loaded(npm), []);
    assert.deepEqual(await loaded(pnpm), ["js-yaml"]);
  });

  test("with setLockfileCache, the next process reads the kept index instead of parsing, until the lockfile changes", async () => {
    const root = project({ "pnpm-lock.yaml": "pnpm-v9.pnpm-lock.yaml" }, { "node_modules/is-number": "7.0.0" });
    const kept = tempDir();
    const lookup = async (): Promise<string> => {
      const script = `
        const { lockedIntegrity, setLockfileCache } = await import(${JSON.stringify(MODULE)});
        setLockfileCache(${JSON.stringify(kept)});
        console.log(lockedIntegrity(${JSON.stringify(join(root, "node_modules/is-number"))}, "is-number", "7.0.0"));`;
      return (await run(process.execPath, ["--input-type=module", "-e", script])).stdout.trim();
    };
    assert.equal(await lookup(), IS_NUMBER_7);
    const [index] = readdirSync(kept);
    assert.ok(index?.endsWith(".json"));
    // Doctor the kept index: a process that answers from it proves it did not parse the lockfile.
    edit(join(kept, index!), (t) => t.replace(IS_NUMBER_7, "sha512-from-the-kept-index"));
    assert.equal(await lookup(), "sha512-from-the-kept-index");
    edit(join(root, "pnpm-lock.yaml"), (t) => `# reinstalled\n${t}`);
    assert.equal(await lookup(), IS_NUMBER_7);
  });
});
