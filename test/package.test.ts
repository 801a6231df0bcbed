// The package as a user gets it: `npm pack`ed, installed from the tarball into a fresh project
// (offline, from the npm cache), its CLI run there with npx, its README's JavaScript example run
// as written, and its declarations type-checked by a strict consumer without skipLibCheck.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { FsStore } from "../plumbing/backends/fs/store.js";
import { exec, type CliResult } from "./helpers/cli.js";
import { tempDir } from "./helpers/fixtures.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

interface LockEntry {
  version?: string;
  dev?: boolean;
  [key: string]: unknown;
}

/**
 * The installed project's lockfile: cashet from the tarball, and every package it needs at the
 * version the repository's own lockfile pins (plus @types/node for the consumer). The npm cache
 * holds those packages' tarballs but not their version lists, so `npm install` of the bare
 * tarball stops with ENOTCACHED; with a lockfile, `npm ci --offline` needs only the tarballs.
 */
function consumerLock(tarball: string, integrity: string, dependencies: Record<string, string>): object {
  const repo = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const typesNode = new Set(["node_modules/@types/node", "node_modules/undici-types"]);
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies },
    "node_modules/cashet": {
      version: pkg.version,
      resolved: tarball,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(repo.packages)) {
    if (path === "" || (entry.dev && !typesNode.has(path))) continue;
    const { dev: _dev, ...rest } = entry;
    packages[path] = rest;
  }
  return { name: "consumer", lockfileVersion: 3, requires: true, packages };
}

const TASK = `export function double(n) {
  return n * 2;
}
`;

// Uses Client, submit, task and submitMany, and relies on the value types they infer: the two
// expected errors fail the check if a result or argument type is lost (any) or wrong.
const CONSUMER = `import { Client, TaskRef, type ResultRef } from "cashet";

export function double(n: number): number {
  return n * 2;
}

export function label(n: number, name: string): string {
  return name + "=" + n;
}

const client = new Client({ storeDir: ".cashet" });
try {
  const ref: ResultRef<number> = await client.submit(double, 2);
  const four: number = await ref.load();
  // @ts-expect-error the result of double is a number
  const wrong: string = await ref.load();
  // @ts-expect-error double takes a number
  await client.submit(double, "2");
  const labelled = client.task(label, { tags: { kind: "label" } });
  const text: string = await (await labelled(four, "four")).load();
  const [a, b] = await client.submitMany([[double, [3]], [label, [TaskRef(0), "six"]]]);
  const six: number = await a.load();
  const named: string = await b.load();
  const { big } = await client.submitMany({ big: [double, [100]] }, { maxWorkers: 2 });
  const hundreds: number = await big.load();
  console.log(four, wrong, text, six, named, hundreds, ref.commit, ref.cached);
} finally {
  await client.close();
}
`;

describe("the npm package, installed from its tarball into a fresh project", { timeout: 300_000 }, () => {
  const t = tempDir("cashet-package-");
  const project = join(t.dir, "project");
  const env = { CASHET_DAEMON_IDLE_MS: "1000", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
  const ok = (r: CliResult, what: string): CliResult => {
    assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stderr}${r.out}`);
    return r;
  };
  let files: string[] = [];

  before(async () => {
    mkdirSync(join(t.dir, "pack"));
    mkdirSync(project);
    // --ignore-scripts: `prepare` would rebuild the very dist/ this test runs from; `npm test`
    // has just built it.
    const packed = ok(await exec("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", join(t.dir, "pack")], { cwd: ROOT, env }), "npm pack");
    const [info] = JSON.parse(packed.out) as Array<{ filename: string; integrity: string; files: Array<{ path: string }> }>;
    files = info!.files.map((f) => f.path);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { allowScripts: Record<string, boolean> };
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
    const dependencies = { cashet: `file:../pack/${info!.filename}`, "@types/node": lock.packages["node_modules/@types/node"]!.version! };
    // The consumer allows install scripts exactly as the README's Install section says, which is
    // also what cashet's own package.json says.
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies, allowScripts: pkg.allowScripts }, null, 2));
    writeFileSync(join(project, "package-lock.json"), JSON.stringify(consumerLock(dependencies.cashet, info!.integrity, dependencies), null, 2));
    // --prefix as well as cwd: under `npm test` the environment carries the repository as
    // npm_config_local_prefix, and an `npm ci` that took it for the project would replace the
    // repository's node_modules.
    ok(await exec("npm", ["ci", "--offline", "--prefix", project, "--foreground-scripts=false", "--loglevel=error"], { cwd: project, env }), "npm ci --offline");
    writeFileSync(join(project, "task.mjs"), TASK);
    writeFileSync(join(project, "consumer.ts"), CONSUMER);
  });

  after(async () => {
    const store = new FsStore(join(project, ".cashet"), { create: false });
    await store.stopDaemon().catch(() => {});
    await store.close();
    t.remove();
  });

  test("the tarball holds dist/ without tests, benchmarks, examples or the CLI's declarations, and the LICENSE", () => {
    assert.ok(files.includes("LICENSE") && files.includes("README.md") && files.includes("dist/lib/index.d.ts"), files.join("\n"));
    assert.deepEqual(files.filter((f) => /^dist\/(test|bench|examples)\//.test(f) || /^dist\/cmd\/.*\.d\.ts$/.test(f)), []);
    const map = JSON.parse(readFileSync(join(project, "node_modules", "cashet", "dist", "lib", "client.js.map"), "utf8")) as { sourcesContent?: string[] };
    assert.ok(map.sourcesContent?.[0]?.includes("export class Client"), "source maps carry their sources");
  });

  test("npx cashet run executes a task, and the same call again is a cache hit", async () => {
    const first = ok(await exec("npx", ["--no", "cashet", "run", "task.mjs#double", "21"], { cwd: project, env }), "cashet run");
    assert.equal(first.out, "42\n");
    const again = ok(await exec("npx", ["--no", "cashet", "run", "--json", "task.mjs#double", "21"], { cwd: project, env }), "cashet run --json");
    const json = JSON.parse(again.out) as { cached: boolean; result: unknown };
    assert.equal(json.cached, true);
    assert.equal(json.result, 42);
  });

  test("the README's JavaScript library example runs on this Node as written, the second time from the cache", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const example = /^```js\n([\s\S]*?)^```$/m.exec(readme)?.[1];
    assert.ok(example, "README.md has a ```js block");
    writeFileSync(join(project, "sweep.mjs"), example);
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(ok(await exec(process.execPath, ["sweep.mjs"], { cwd: project, env }), "node sweep.mjs").out);
    assert.match(runs[0]!, /\{ lr: 0\.01, loss: 0\.366\d+ \} false\n$/);
    assert.match(runs[1]!, /\{ lr: 0\.01, loss: 0\.366\d+ \} true\n$/);
  });

  test("a consumer using Client, submit, task and submitMany type-checks with --strict and no skipLibCheck", async () => {
    const r = await exec(process.execPath, [TSC, "--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext", "consumer.ts"], { cwd: project, env });
    assert.equal(r.code, 0, `tsc found errors in the published types or the consumer:\n${r.out}${r.stderr}`);
  });
});
