// An fs store on a disk that refuses writes, for real: a tmpfs remounted read-only, a store owned
// by another user, a tmpfs that fills up. Hits are served; what cannot be recorded fails with one
// line naming the store and exit 3; no failed write leaves a temp file behind.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { StoreFullError } from "../../../../plumbing/errors.js";
import { FsObjects } from "../../../../plumbing/backends/fs/objects.js";
import { FsStore } from "../../../../plumbing/backends/fs/store.js";
import { sha256 } from "../../../../plumbing/ids.js";
import { CLI, exec, type CliResult } from "../../../helpers/cli.js";
import { tempDir } from "../../../helpers/fixtures.js";
import { writeFiles } from "../../../helpers/projects.js";

const isRoot = process.getuid?.() === 0;
const NEEDS_ROOT = isRoot ? false : "SKIPPED: needs root (mounts a tmpfs, runs the CLI as the user nobody) — run this file as root";
const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/** A task project: a TypeScript module importing a helper and a package (so hashing keeps an analysis, a tsconfig record and a lockfile index under the store). */
const PROJECT = {
  "tasks.ts": `import { randomBytes } from "node:crypto";
import dep from "dep";
import { scale } from "./helper.ts";
export function mul(a: number, b: number): number { return scale(a) * b + dep.zero; }
export function big(mib: number): Uint8Array { return randomBytes(mib << 20); }
`,
  "helper.ts": `export const scale = (x: number): number => x * 1;\n`,
  "tsconfig.json": `{ "compilerOptions": { "target": "ES2022", "strict": true } }\n`,
  "node_modules/dep/package.json": `{ "name": "dep", "version": "1.0.0", "main": "index.js" }\n`,
  "node_modules/dep/index.js": `module.exports = { zero: 0 };\n`,
  "package.json": `{ "name": "proj", "version": "1.0.0", "dependencies": { "dep": "1.0.0" } }\n`,
  "package-lock.json": JSON.stringify({
    name: "proj",
    version: "1.0.0",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "proj", version: "1.0.0", dependencies: { dep: "1.0.0" } },
      "node_modules/dep": { version: "1.0.0", resolved: "https://registry.npmjs.org/dep/-/dep-1.0.0.tgz", integrity: `sha512-${Buffer.alloc(64, 7).toString("base64")}` },
    },
  }),
};

/** `cashet <args>` in `cwd` (as `user` "nobody" when asked). */
function cashet(cwd: string, args: string[], as: "root" | "nobody" = "root"): Promise<CliResult> {
  const env = { CASHET_DAEMON_IDLE_MS: "3000", CASHET_DIR: "", CASHET_REDIS: "", CASHET_REMOTE: "" };
  if (as === "nobody") return exec("setpriv", [...NOBODY, process.execPath, CLI, ...args], { cwd, env });
  return exec(process.execPath, [CLI, ...args], { cwd, env });
}

/** A tmpfs of `size` mounted on a fresh directory; `remount` changes its options; `unmount` removes it. */
function tmpfs(size: string): { dir: string; remount: (options: string) => void; unmount: () => void } {
  const dir = join(tmpdir(), `cashet-tmpfs-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  return {
    dir,
    remount: (options) => execFileSync("mount", ["-o", `remount,${options}`, dir]),
    unmount: () => {
      try {
        execFileSync("umount", [dir]);
      } catch {
        execFileSync("umount", ["-l", dir]); // a straggler still holds a file: detach now, freed when it exits
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every file under `dir` whose name says it is a temp file. */
function tempFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.tmp$|\.tmp\.|\.\d+\.[a-z0-9]+$/.test(entry.name)) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

async function stopDaemon(store: string): Promise<void> {
  const s = new FsStore(store, { create: false });
  await s.stopDaemon();
  await s.close();
}

/** The first runs, on a writable store: what later hits must serve. */
async function warm(project: string, store: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const r = await cashet(project, ["run", "--store", store, "tasks.ts#mul", "2", "3"]); // the second keeps its analyses: the store exists
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, "6\n");
  }
  const kept = readdirSync(join(store, "cache", "analysis"));
  assert.ok(kept.length >= 3, `analyses, a tsconfig record and a lockfile index are kept under the store: ${kept}`);
  await stopDaemon(store);
  // A hit must now analyse the task afresh and try to keep that (best effort).
  rmSync(join(store, "cache"), { recursive: true, force: true });
}

const READ_ONLY_LINE = (store: string, code: string): RegExp =>
  new RegExp(`^cashet: the store ${store.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is read-only[^\\n]*\\(${code}\\): hits are served, nothing can be recorded\\n$`);

describe("a store on a read-only mount", { skip: NEEDS_ROOT }, () => {
  let mount: ReturnType<typeof tmpfs>;
  let project: { dir: string; remove: () => void };
  let store: string;
  before(async () => {
    mount = tmpfs("64m");
    project = tempDir();
    writeFiles(project.dir, PROJECT);
    store = join(mount.dir, "store");
    await warm(project.dir, store);
    rmSync(join(store, "tmp"), { recursive: true }); // a restored cache may lack what it never needed
    mount.remount("ro");
  });
  after(() => {
    mount?.unmount();
    project?.remove();
  });

  test("a hit exits 0 with the stored result, re-hashing the task from scratch (its analysis cache cannot be written)", async () => {
    const r = await cashet(project.dir, ["run", "--store", store, "tasks.ts#mul", "2", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, "6\n");
    assert.equal(r.stderr, "");
    const json = await cashet(project.dir, ["run", "--store", store, "--json", "tasks.ts#mul", "2", "3"]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.out).cached, true);
  });

  test("a miss exits 3 with one line naming the read-only store, before running anything", async () => {
    const r = await cashet(project.dir, ["run", "--store", store, "tasks.ts#mul", "2", "4"]);
    assert.equal(r.code, 3);
    assert.equal(r.out, "");
    assert.match(r.stderr, READ_ONLY_LINE(store, "EROFS"));
  });

  test("log, show and stats answer from the store's index, read in the process (no daemon can run there)", async () => {
    const log = await cashet(project.dir, ["log", "--store", store, "--json"]);
    assert.equal(log.code, 0, log.stderr);
    const commits = JSON.parse(log.out) as Array<{ id: string; func: { name: string } }>;
    assert.deepEqual(commits.map((c) => c.func.name), ["mul"]);
    const show = await cashet(project.dir, ["show", "--store", store, "--json", commits[0]!.id.slice(0, 8)]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.out).id, commits[0]!.id);
    const stats = await cashet(project.dir, ["stats", "--store", store, "--json"]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(JSON.parse(stats.out).totalCommits, 1);
    assert.ok(!existsSync(join(store, "index", "daemon.pid")));
  });

  test("what would change the store (rm, gc) exits 3 with the same line", async () => {
    const log = JSON.parse((await cashet(project.dir, ["log", "--store", store, "--json"])).out) as Array<{ id: string }>;
    const rm = await cashet(project.dir, ["rm", "--store", store, log[0]!.id]);
    assert.equal(rm.code, 3);
    assert.match(rm.stderr, READ_ONLY_LINE(store, "EROFS"));
    const gc = await cashet(project.dir, ["gc", "--store", store, "--older-than", "1m", "--max-size", "1B"]);
    assert.equal(gc.code, 3, gc.stderr);
    assert.match(gc.stderr, READ_ONLY_LINE(store, "EROFS"));
  });
});

describe("a store this user cannot write (root's store, run as nobody)", { skip: NEEDS_ROOT }, () => {
  let project: { dir: string; remove: () => void };
  let store: string;
  before(async () => {
    project = tempDir();
    chmodSync(project.dir, 0o755);
    writeFiles(project.dir, PROJECT);
    store = join(project.dir, ".cashet");
    await warm(project.dir, store);
    execFileSync("chmod", ["-R", "go-w,go+rX", project.dir]);
  });
  after(() => project?.remove());

  test("a hit exits 0 with the stored result; a miss exits 3 with one line; log and stats answer", async () => {
    const hit = await cashet(project.dir, ["run", "tasks.ts#mul", "2", "3"], "nobody");
    assert.equal(hit.code, 0, hit.stderr);
    assert.equal(hit.out, "6\n");
    assert.equal(hit.stderr, "");
    const miss = await cashet(project.dir, ["run", "tasks.ts#mul", "2", "5"], "nobody");
    assert.equal(miss.code, 3);
    assert.match(miss.stderr, READ_ONLY_LINE(store, "EACCES"));
    const log = await cashet(project.dir, ["log", "--json"], "nobody");
    assert.equal(log.code, 0, log.stderr);
    assert.deepEqual((JSON.parse(log.out) as Array<{ func: { name: string } }>).map((c) => c.func.name), ["mul"]);
    const stats = await cashet(project.dir, ["stats", "--json"], "nobody");
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(JSON.parse(stats.out).totalCommits, 1);
    // nothing of nobody's is left in the store: no daemon, no temp file, no cache entry
    for (const entry of readdirSync(store, { recursive: true, withFileTypes: true })) {
      assert.notEqual(statSync(join(entry.parentPath, entry.name)).uid, 65534, `${entry.name} was written by nobody`);
    }
  });
});

describe("a store whose disk fills up", { skip: NEEDS_ROOT }, () => {
  let mount: ReturnType<typeof tmpfs>;
  let project: { dir: string; remove: () => void };
  let store: string;
  before(async () => {
    mount = tmpfs("48m");
    project = tempDir();
    writeFiles(project.dir, PROJECT);
    store = join(mount.dir, "store");
    const r = await cashet(project.dir, ["run", "--store", store, "tasks.ts#mul", "2", "3"]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    if (store && existsSync(store)) await stopDaemon(store);
    mount?.unmount();
    project?.remove();
  });

  test("a large miss fails with exit 3 and one line naming the full disk, leaving no temp file; earlier results still hit; with space freed it runs", async () => {
    writeFileSync(join(mount.dir, "filler"), Buffer.alloc(30 << 20)); // 18 MiB left: not enough for 24
    const out = join(project.dir, "big.bin");
    const full = await cashet(project.dir, ["run", "--store", store, "-o", out, "tasks.ts#big", "24"]);
    assert.equal(full.code, 3, full.stderr);
    assert.deepEqual(tempFiles(store), []);
    assert.deepEqual(readdirSync(join(store, "tmp")), []);
    assert.match(full.stderr, /^cashet: the disk holding the store \S+ is full \(ENOSPC\): [^\n]*earlier results still hit\n$/);
    assert.ok(full.stderr.includes(store), full.stderr);

    const hit = await cashet(project.dir, ["run", "--store", store, "--json", "tasks.ts#mul", "2", "3"]);
    assert.equal(hit.code, 0, hit.stderr);
    assert.equal(JSON.parse(hit.out).cached, true);

    rmSync(join(mount.dir, "filler"));
    const ran = await cashet(project.dir, ["run", "--store", store, "-o", out, "tasks.ts#big", "24"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(statSync(out).size, 24 << 20);
    const again = await cashet(project.dir, ["run", "--store", store, "--json", "tasks.ts#big", "24"]);
    assert.equal(JSON.parse(again.out).cached, true);
  });

  test("a write that does not fit, small or streamed, removes its temp file and throws StoreFullError", async () => {
    writeFileSync(join(mount.dir, "filler"), Buffer.alloc(0));
    const objects = new FsObjects(store);
    // fill what is left, then write past it
    const free = Number(execFileSync("df", ["--output=avail", "-B1", mount.dir]).toString().trim().split("\n")[1]);
    writeFileSync(join(mount.dir, "filler"), Buffer.alloc(Math.max(0, free - (64 << 10))));
    try {
      for (const size of [200 << 10, 4 << 20]) {
        const bytes = randomBytes(size);
        await assert.rejects(objects.write(sha256(bytes), bytes), (err: unknown) => err instanceof StoreFullError && err.message.includes(store));
        assert.deepEqual(readdirSync(join(store, "tmp")), [], `a ${size}-byte write left its temp file`);
      }
      const w = await objects.writer();
      await assert.rejects(w.write(randomBytes(1 << 20)), StoreFullError);
      await w.abort();
      assert.deepEqual(readdirSync(join(store, "tmp")), []);
    } finally {
      rmSync(join(mount.dir, "filler"));
    }
  });
});
