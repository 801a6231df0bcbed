// The tsconfig half of a TypeScript function's hash: the options tsx compiles with, from the
// tsconfig tsx itself finds (nearest above the working directory, `extends` followed), for the
// files its `include` covers — and the answer kept between processes never outlives an edit.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { hashExportedFunction } from "../../../plumbing/hash/function.js";
import { setAnalysisCache } from "../../../plumbing/hash/module.js";
import { tempDir } from "../../helpers/fixtures.js";

const TASK = `class A { x = 1; }\nexport function task(): number { return new A().x; }\n`;

describe("tsconfig options in the function hash", () => {
  const t = tempDir();
  const home = process.cwd();
  after(() => {
    process.chdir(home);
    setAnalysisCache(null);
    t.remove();
  });
  const project = join(t.dir, "p");
  mkdirSync(join(project, "src", "deep"), { recursive: true });
  mkdirSync(join(project, "other"), { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(project, "src", "task.ts"), TASK);
  const base = (options: object): void => writeFileSync(join(project, "tsconfig.base.json"), JSON.stringify({ compilerOptions: options }));
  const hash = (): string => hashExportedFunction(join(project, "src", "task.ts"), "task").hash;
  const tsconfigComponent = (): string | undefined => hashExportedFunction(join(project, "src", "task.ts"), "task").components.find((c) => c.kind === "tsconfig")?.name;

  test("options that change emitted code count, through extends; others do not; target is read case-insensitively", () => {
    process.chdir(project);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ extends: "./tsconfig.base.json", include: ["src"] }));
    base({ target: "ES2020", useDefineForClassFields: false });
    const before = hash();
    assert.equal(tsconfigComponent(), "target=es2020 useDefineForClassFields=false");
    base({ target: "ES2020", useDefineForClassFields: false, noUnusedLocals: true, outDir: "dist" });
    assert.equal(hash(), before, "noUnusedLocals and outDir change no emitted code");
    base({ target: "es2020", useDefineForClassFields: false });
    assert.equal(hash(), before, "ES2020 = es2020");
    base({ target: "ES2022", useDefineForClassFields: false });
    assert.notEqual(hash(), before, "target changes what esbuild emits");
    base({ target: "ES2020", useDefineForClassFields: true });
    assert.notEqual(hash(), before);
  });

  test("a file the tsconfig does not include is compiled without its options, as tsx does", () => {
    process.chdir(project);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ extends: "./tsconfig.base.json", include: ["other"] }));
    base({ useDefineForClassFields: false });
    assert.equal(tsconfigComponent(), undefined);
  });

  test("the tsconfig is the one above the working directory, as tsx finds it", () => {
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ extends: "./tsconfig.base.json" }));
    base({ useDefineForClassFields: false });
    process.chdir(join(project, "src", "deep"));
    const fromParent = hash();
    writeFileSync(join(project, "src", "tsconfig.json"), JSON.stringify({ compilerOptions: { useDefineForClassFields: true } }));
    assert.notEqual(hash(), fromParent, "a nearer tsconfig.json is what tsx would use");
    rmSync(join(project, "src", "tsconfig.json"));
    assert.equal(hash(), fromParent);
  });

  test("the answer kept in the store is checked against every file it came from", () => {
    const cache = join(t.dir, "analyses");
    mkdirSync(cache);
    setAnalysisCache(cache);
    process.chdir(join(project, "src", "deep"));
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ extends: "./tsconfig.base.json" }));
    base({ target: "ES2020" });
    const first = hash();
    assert.ok(readdirSync(cache).some((f) => f.startsWith("tsconfig-")), "the answer is kept");
    assert.equal(hash(), first, "answered from the record");
    base({ target: "ES2022" }); // same size: only the content tells
    const edited = hash();
    assert.notEqual(edited, first, "an edit of the extended file is seen");
    writeFileSync(join(project, "src", "tsconfig.json"), JSON.stringify({}));
    assert.notEqual(hash(), edited, "a tsconfig.json appearing on the search path is seen");
    rmSync(join(project, "src", "tsconfig.json"));
    assert.equal(hash(), edited);
  });

  test("a second process answers from the kept record without loading get-tsconfig, and with the same hash", () => {
    const cache = join(t.dir, "analyses2");
    mkdirSync(cache);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ extends: "./tsconfig.base.json" }));
    base({ useDefineForClassFields: false });
    const fn = fileURLToPath(new URL("../../../plumbing/hash/function.js", import.meta.url));
    const mod = fileURLToPath(new URL("../../../plumbing/hash/module.js", import.meta.url));
    const script = `
      const M = require("node:module"); let loaded = false;
      const load = M._load; M._load = function (r, ...a) { if (r === "get-tsconfig") loaded = true; return load.call(this, r, ...a); };
      (async () => {
        (await import(${JSON.stringify(mod)})).setAnalysisCache(${JSON.stringify(cache)});
        const h = (await import(${JSON.stringify(fn)})).hashExportedFunction(${JSON.stringify(join(project, "src", "task.ts"))}, "task").hash;
        process.stdout.write(JSON.stringify({ h, loaded }));
      })();`;
    const run = (): { h: string; loaded: boolean } => {
      const r = spawnSync(process.execPath, ["-e", script], { cwd: project, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { h: string; loaded: boolean };
    };
    const one = run();
    const two = run();
    assert.equal(one.loaded, true);
    assert.equal(two.loaded, false, "the second process checked the record instead");
    assert.equal(two.h, one.h);
  });
});
