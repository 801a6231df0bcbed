// Function identity at run time: a function object passed from code hashes exactly as
// `cashet hash-fn file#export` does, and what it captures from enclosing scopes counts.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { hashExportedFunction } from "../../plumbing/hash/function.js";
import { hashFunctionObject } from "../../plumbing/hash/runtime.js";
import { cashet } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";

// Closure values are hashed by a stand-in for the argument hasher: JSON, and a TypeError for
// what JSON cannot say (as the real one does for Symbols).
const hashValue = async (v: unknown): Promise<string> => {
  if (typeof v === "symbol") throw new TypeError("a Symbol");
  return JSON.stringify(v) ?? "undefined";
};

const MODULE = `
const LR = 0.01;
function helper(x) { return x * LR; }
export function train(xs) { return xs.map((x) => helper(x)); }
function hidden(x) { return helper(x) + 1; }
export const getHidden = () => hidden;
export function make(k) { const cfg = { k }; return function inner(x) { return helper(x) + cfg.k; }; }
export function makeWithSymbol() { const tag = Symbol("t"); return function tagged() { return tag; }; }
export default train;
`;

describe("runtime function hashing", () => {
  const t = tempDir();
  after(() => t.remove());
  const write = (dir: string, lr: string): string => {
    const file = join(dir, "pipeline.mjs");
    writeFileSync(file, MODULE.replace("0.01", lr));
    return file;
  };
  const a = join(t.dir, "a");
  const b = join(t.dir, "b");
  mkdirSync(a);
  mkdirSync(b);
  const fileA = write(a, "0.01");
  const fileB = write(b, "0.02");
  const load = async (file: string): Promise<Record<string, (...args: never[]) => unknown>> => import(pathToFileURL(file).href);

  test("an imported exported function hashes as hash-fn does, in this process and from the CLI", async () => {
    const mod = await load(fileA);
    const runtime = await hashFunctionObject(mod.train!, { hashValue });
    assert.equal(runtime.via, "export");
    assert.equal(runtime.hash, hashExportedFunction(fileA, "train").hash);
    const cli = await cashet(["hash-fn", `${fileA}#train`]);
    assert.equal(cli.code, 0);
    assert.equal(cli.out.trim(), runtime.hash);
    assert.equal((await hashFunctionObject(mod.default!, { hashValue })).hash, runtime.hash, "default export of the same function");
  });

  test("a module constant the function reads changes the runtime hash", async () => {
    const [ma, mb] = [await load(fileA), await load(fileB)];
    assert.notEqual((await hashFunctionObject(ma.train!, { hashValue })).hash, (await hashFunctionObject(mb.train!, { hashValue })).hash);
  });

  test("a non-exported top-level function is found by its declaration, with its helpers", async () => {
    const mod = await load(fileA);
    const r = await hashFunctionObject((mod.getHidden as () => (...a: never[]) => unknown)(), { hashValue });
    assert.equal(r.via, "declaration");
    assert.deepEqual(r.components.map((c) => c.key).sort(), [".#LR", ".#helper", ".#hidden"]);
  });

  test("captured closure values are part of the hash", async () => {
    const make = (await load(fileA)).make as unknown as (k: number) => (...a: never[]) => unknown;
    const five = await hashFunctionObject(make(5), { hashValue });
    const six = await hashFunctionObject(make(6), { hashValue });
    const fiveAgain = await hashFunctionObject(make(5), { hashValue });
    assert.equal(five.via, "module-source");
    assert.deepEqual(five.closure, ["cfg"]);
    assert.notEqual(five.hash, six.hash);
    assert.equal(five.hash, fiveAgain.hash);
    assert.ok(five.components.some((c) => c.key === ".#helper"), "module helpers of a nested function are tracked");
  });

  test("a closure value that cannot be hashed is named in a one-time warning", async () => {
    const mk = (await load(fileA)).makeWithSymbol as unknown as () => (...a: never[]) => unknown;
    const seen: string[] = [];
    const onWarning = (w: Error): void => void seen.push(w.message);
    process.on("warning", onWarning);
    try {
      const r1 = await hashFunctionObject(mk(), { hashValue });
      await hashFunctionObject(mk(), { hashValue });
      await new Promise((r) => setImmediate(r));
      assert.match(r1.warnings.join("\n"), /closure variable "tag" of function tagged/);
      assert.equal(seen.filter((m) => m.includes('"tag"')).length, 1, "warned once");
    } finally {
      process.off("warning", onWarning);
    }
  });

  test("a function without a source file hashes from its text with a warning; native functions are refused", async () => {
    const f1 = await hashFunctionObject(new Function("x", "return x + 1") as (...a: never[]) => unknown, { hashValue });
    const f2 = await hashFunctionObject(new Function("x", "return x + 1") as (...a: never[]) => unknown, { hashValue });
    const f3 = await hashFunctionObject(new Function("x", "return x + 2") as (...a: never[]) => unknown, { hashValue });
    assert.equal(f1.via, "text");
    assert.match(f1.warnings.join("\n"), /no source file/);
    assert.equal(f1.hash, f2.hash);
    assert.notEqual(f1.hash, f3.hash);
    await assert.rejects(hashFunctionObject(Math.max as (...a: never[]) => unknown, { hashValue }), TypeError);
  });
});

describe("cashet hash-fn", () => {
  test("--explain lists the function, its helpers and package versions; bad targets exit 2", async () => {
    const t = tempDir();
    try {
      const pkgDir = join(t.dir, "node_modules", "left-pad");
      writeFileSync(join(t.dir, "m.ts"), `import pad from "left-pad";\nimport { readFileSync } from "node:fs";\nconst W: number = 4;\nexport function f(s: string): string { return pad(s, W); }\n`);
      mkdirSync(pkgDir, { recursive: true });
      writeFileSync(join(pkgDir, "package.json"), JSON.stringify({ name: "left-pad", version: "1.3.0" }));
      const r = await cashet(["hash-fn", "--json", `${join(t.dir, "m.ts")}#f`]);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.out);
      assert.deepEqual(json.components.map((c: { key: string; hash: string; kind: string }) => c.key).sort(), [".#W", ".#f", "npm:left-pad@1.3.0"]);
      const explain = await cashet(["hash-fn", "--explain", `${join(t.dir, "m.ts")}#f`]);
      assert.match(explain.out, /^[0-9a-f]{64} {2}f in /);
      assert.match(explain.out, /package\s+left-pad\s+@1\.3\.0/);
      for (const bad of [`${join(t.dir, "m.ts")}#nope`, join(t.dir, "absent.ts"), `${join(t.dir, "m.ts")}#`]) {
        const e = await cashet(["hash-fn", bad]);
        assert.equal(e.code, 2, bad);
        assert.match(e.stderr, /^cashet: [^\n]+\n$/);
      }
    } finally {
      t.remove();
    }
  });
});

describe("runtime hashing with the real argument hasher", () => {
  test("closure values are hashed as arguments are: Maps by content, captured functions by their hash, self-capture terminates", async () => {
    const make = (m: Map<string, number>) => () => m.get("k");
    const a = await hashFunctionObject(make(new Map([["k", 1], ["j", 2]])));
    const b = await hashFunctionObject(make(new Map([["j", 2], ["k", 1]])));
    const c = await hashFunctionObject(make(new Map([["k", 2]])));
    assert.equal(a.hash, b.hash, "Map insertion order does not matter");
    assert.notEqual(a.hash, c.hash);
    const outer = (g: () => number) => () => g() + 1;
    const g1 = await hashFunctionObject(outer(() => 1));
    const g2 = await hashFunctionObject(outer(() => 2));
    assert.notEqual(g1.hash, g2.hash, "a captured function counts by its own code");
    const selfRef = (): (() => unknown) => {
      const loop = (): unknown => loop;
      return loop;
    };
    const s = await hashFunctionObject(selfRef());
    assert.deepEqual(s.closure, ["loop"]);
  });
});

describe("runtime hashing from a module that is still evaluating", () => {
  test("a script hashing its own export at top level (as `await client.submit(fn)` does) finishes, with the static hash", async () => {
    const t = tempDir();
    try {
      const runtime = new URL("../../plumbing/hash/runtime.js", import.meta.url).href;
      const script = join(t.dir, "script.mjs");
      writeFileSync(
        script,
        `import { hashFunctionObject } from ${JSON.stringify(runtime)};\n` +
          `export function step(x) { return x + 1; }\n` +
          `const r = await hashFunctionObject(step);\n` +
          `process.stdout.write(r.hash + " " + r.via);\n`,
      );
      const { spawnSync } = await import("node:child_process");
      const child = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 20_000 });
      assert.equal(child.status, 0, child.stderr);
      const [hash, via] = child.stdout.split(" ");
      assert.equal(via, "export");
      assert.equal(hash, hashExportedFunction(script, "step").hash);
    } finally {
      t.remove();
    }
  });
});

test("a TypeScript module's function loaded through tsx is identified as its export, as `cashet hash-fn` hashes it", async () => {
  const t = tempDir();
  try {
    // No package.json "type": tsx compiles the module to CommonJS and evaluates it in a wrapper.
    const file = join(t.dir, "typed.ts");
    writeFileSync(file, `import { helper } from "./helper.js";\nexport function typed(n: number): number {\n  const k: number = helper(n);\n  return k * 3;\n}\n`);
    writeFileSync(join(t.dir, "helper.ts"), `export const helper = (n: number): number => n + 1;\n`);
    const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (s: string, p: string) => Promise<{ typed: (n: number) => number }> };
    const { typed } = await tsImport(pathToFileURL(file).href, import.meta.url);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on("warning", onWarning);
    const runtime = await hashFunctionObject(typed);
    await new Promise((r) => setImmediate(r));
    process.off("warning", onWarning);
    assert.equal(runtime.via, "export");
    assert.equal(runtime.exportName, "typed");
    assert.equal(runtime.file, file);
    assert.deepEqual(runtime.closure, [], "the module's wrapper is not a closure");
    assert.deepEqual(warnings, []);
    assert.equal(runtime.hash, hashExportedFunction(file, "typed").hash);
  } finally {
    t.remove();
  }
});

test("through tsx, a name shared by a nested function is never matched by name alone", async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "twins.ts");
    writeFileSync(
      file,
      `import { helper } from "./helper.js";\nexport function twice(n: number): number {\n  return helper(n) * 2;\n}\n` +
        `export function outer(): (n: number) => number {\n  function twice(n: number): number {\n    return helper(n) * 3;\n  }\n  return twice;\n}\n`,
    );
    writeFileSync(join(t.dir, "helper.ts"), `export const helper = (n: number): number => n + 1;\n`);
    const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (s: string, p: string) => Promise<{ twice: (n: number) => number; outer: () => (n: number) => number }> };
    const mod = await tsImport(pathToFileURL(file).href, import.meta.url);
    const top = await hashFunctionObject(mod.twice);
    const nested = await hashFunctionObject(mod.outer());
    assert.notEqual(top.via, "export", "ambiguous by name: not taken for the export");
    assert.notEqual(top.hash, nested.hash, "the two functions never share a key");
    assert.equal(mod.twice(1), 4);
    assert.equal(mod.outer()(1), 6);
  } finally {
    t.remove();
  }
});
