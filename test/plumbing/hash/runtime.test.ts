// Function identity at run time: a function object passed from code hashes exactly as
// `cashet hash-fn file#export` does, and what it captures from enclosing scopes counts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { hashExportedFunction } from "../../../plumbing/hash/function.js";
import { hashFunctionObject } from "../../../plumbing/hash/runtime.js";
import { loadExport } from "../../../porcelain/exec/load-export.js";
import { cashet } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/fixtures.js";

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

});

const RUNTIME = new URL("../../../plumbing/hash/runtime.js", import.meta.url).href;

/**
 * Runs `body` as main.mjs in `dir` in a child process, after importing hashFunctionObject: what it
 * writes to stdout (JSON), and the CASHET_FUNCTION_HASH warnings on its stderr — so a test sees
 * exactly which warnings a process prints, and the suite's own output carries none.
 */
function inChild(dir: string, body: string): { result: Record<string, unknown>; warnings: string[] } {
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "main.mjs");
  writeFileSync(script, `import { hashFunctionObject } from ${JSON.stringify(RUNTIME)};\n${body}`);
  const child = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(child.status, 0, child.stderr);
  return { result: JSON.parse(child.stdout) as Record<string, unknown>, warnings: child.stderr.split("\n").filter((l) => l.includes("CASHET_FUNCTION_HASH")) };
}

describe("runtime hashing: warnings, and code that is not the user's", () => {
  const t = tempDir();
  after(() => t.remove());

  test("a closure value that cannot be hashed is named in a warning printed once per process", () => {
    const { result, warnings } = inChild(
      join(t.dir, "symbol"),
      `function makeWithSymbol() { const tag = Symbol("t"); return function tagged() { return tag; }; }\n` +
        `const r1 = await hashFunctionObject(makeWithSymbol());\nawait hashFunctionObject(makeWithSymbol());\n` +
        `function lookups() { const wm = new WeakMap(); return [1, 2, 3].map((i) => () => wm.get({ i })); }\n` +
        `for (const f of lookups()) await hashFunctionObject(f);\n` +
        `process.stdout.write(JSON.stringify({ warnings: r1.warnings }));\n`,
    );
    assert.match((result.warnings as string[]).join("\n"), /closure variable "tag" of function tagged cannot be hashed by value \(.*a Symbol\)/);
    assert.equal(warnings.filter((w) => w.includes('"tag"')).length, 1, "the same variable of the same function: warned once");
    assert.equal(warnings.filter((w) => w.includes('"wm"')).length, 1, "one WeakMap captured by three closures: warned once");
    assert.equal(warnings.length, 2);
  });

  test("a function without a source file hashes from its text, warned of once per name; native functions are refused", () => {
    const { result, warnings } = inChild(
      join(t.dir, "text"),
      `const text = (body) => hashFunctionObject(new Function("x", body));\n` +
        `const [f1, f2, f3] = [await text("return x + 1"), await text("return x + 1"), await text("return x + 2")];\n` +
        `const refused = await hashFunctionObject(Math.max).then(() => false, (e) => e instanceof TypeError);\n` +
        `process.stdout.write(JSON.stringify({ via: f1.via, warnings: f1.warnings, same: f1.hash === f2.hash, differs: f1.hash !== f3.hash, refused }));\n`,
    );
    assert.equal(result.via, "text");
    assert.match((result.warnings as string[]).join("\n"), /no source file/);
    assert.deepEqual([result.same, result.differs, result.refused], [true, true, true]);
    assert.equal(warnings.length, 1, "three functions named anonymous: one warning");
  });

  // A package defines a function and a class whose instances hold what the argument hasher refuses
  // (a Symbol) or cannot finish (a cycle): walking them is what went wrong.
  const packageProgram = (dir: string, version: string, integrity?: string): { result: Record<string, unknown>; warnings: string[] } => {
    const pkg = join(dir, "node_modules", "fake-db");
    mkdirSync(pkg, { recursive: true });
    if (integrity) {
      const lock = { lockfileVersion: 3, packages: { "node_modules/fake-db": { version, integrity } } };
      writeFileSync(join(dir, "node_modules", ".package-lock.json"), JSON.stringify({ name: "p", ...lock }));
    }
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "fake-db", version, type: "module", exports: "./index.js" }));
    writeFileSync(
      join(pkg, "index.js"),
      `export function deprecate(f) { return f; }\n` +
        `export class Conn {\n  constructor(n) { this.n = n; this.self = this; this.tag = Symbol("conn"); }\n  query(x) { return x + this.n; }\n}\n`,
    );
    return inChild(
      dir,
      `import { Conn, deprecate } from "fake-db";\n` +
        `function make(conn, wrap) { return function run(x) { return wrap(conn.query(x)); }; }\n` +
        `const a = await hashFunctionObject(make(new Conn(1), deprecate));\n` +
        `const b = await hashFunctionObject(make(new Conn(2), deprecate));\n` +
        `const c = await hashFunctionObject(make(new Conn(1), (f) => f));\n` +
        `const inList = await hashFunctionObject(((xs) => () => xs.length)([new Conn(1), new Conn(2)]));\n` +
        `const pkg = await hashFunctionObject(deprecate);\n` +
        `process.stdout.write(JSON.stringify({ a: a.hash, b: b.hash, c: c.hash, closure: a.closure, inList: inList.closure, pkg: { via: pkg.via, components: pkg.components } }));\n`,
    );
  };

  test("a captured package function counts as name@version, a package object as its class — never walked into", () => {
    const one = packageProgram(join(t.dir, "pkg-1"), "1.2.3");
    const two = packageProgram(join(t.dir, "pkg-2"), "1.2.4");
    assert.deepEqual(one.result.closure, ["conn", "wrap"]);
    assert.deepEqual(one.result.inList, ["xs"], "a package object inside an array is stood in for too");
    assert.equal(one.result.a, one.result.b, "the connection's state is not part of the key");
    assert.notEqual(one.result.a, one.result.c, "a user function in its place is");
    assert.notEqual(one.result.a, two.result.a, "the package's version is");
    assert.deepEqual(one.result.pkg, { via: "package", components: [{ kind: "package", key: "npm:fake-db@1.2.3", name: "fake-db", hash: "1.2.3" }] });
    assert.equal(one.warnings.length, 1, one.warnings.join("\n"));
    const locked = packageProgram(join(t.dir, "pkg-3"), "1.2.3", "sha512-AAAA");
    const relocked = packageProgram(join(t.dir, "pkg-4"), "1.2.3", "sha512-BBBB");
    assert.notEqual(locked.result.a, relocked.result.a, "a re-published tarball at the same version is other code (its lockfile integrity)");
    assert.deepEqual(locked.result.pkg, { via: "package", components: [{ kind: "package", key: "npm:fake-db@1.2.3", name: "fake-db", hash: "1.2.3", integrity: "sha512-AAAA" }] });
    assert.match(one.warnings[0]!, /closure variable "conn" of function run holds a Conn of fake-db@1\.2\.3: it counts as that class, not by its state/);
  });

  test("Node's own functions and objects count by their names, built-ins too", () => {
    const { result, warnings } = inChild(
      join(t.dir, "node"),
      `import { EventEmitter } from "node:events";\nimport { format, inspect } from "node:util";\n` +
        `function make(emitter, fmt, pick) { return function run(x) { emitter.emit("x"); return pick(fmt(x).length, 1); }; }\n` +
        `const busy = new EventEmitter();\nbusy.on("x", () => {});\n` +
        `const h = async (...a) => (await hashFunctionObject(make(...a))).hash;\n` +
        `const base = await h(new EventEmitter(), format, Math.max);\n` +
        `process.stdout.write(JSON.stringify({\n` +
        `  sameState: base === (await h(busy, format, Math.max)),\n` +
        `  otherFn: base !== (await h(busy, inspect, Math.max)),\n` +
        `  otherBuiltin: base !== (await h(busy, format, Math.min)),\n` +
        `  via: (await hashFunctionObject(format)).via,\n` +
        `}));\n`,
    );
    assert.deepEqual(result, { sameState: true, otherFn: true, otherBuiltin: true, via: "builtin" });
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0]!, /holds a EventEmitter of node:events/);
  });
});

test("only the captured variables a closure names count, not its siblings' captures", async () => {
  const make = (v: number): [(x: number) => number, () => number] => {
    const seen = v;
    return [(x: number) => x + 1, () => seen];
  };
  const [inc1, peek1] = make(1);
  const [inc2, peek2] = make(2);
  assert.equal((await hashFunctionObject(inc1)).hash, (await hashFunctionObject(inc2)).hash);
  assert.deepEqual((await hashFunctionObject(inc1)).closure, []);
  assert.notEqual((await hashFunctionObject(peek1)).hash, (await hashFunctionObject(peek2)).hash);
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
      const runtime = new URL("../../../plumbing/hash/runtime.js", import.meta.url).href;
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

/** An export and a nested function sharing its name: only identity tells them apart. */
const TWINS =
  `import { helper } from "./helper.js";\nexport function twice(n: number): number {\n  return helper(n) * 2;\n}\n` +
  `export function outer(): (n: number) => number {\n  function twice(n: number): number {\n    return helper(n) * 3;\n  }\n  return twice;\n}\n`;

test("through tsx's tsImport (a data: URL), an export that shares its name with a nested function is found by identity, never by name", async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "twins.ts");
    writeFileSync(
      file,
      TWINS,
    );
    writeFileSync(join(t.dir, "helper.ts"), `export const helper = (n: number): number => n + 1;\n`);
    const { tsImport } = (await import("tsx/esm/api")) as { tsImport: (s: string, p: string) => Promise<{ twice: (n: number) => number; outer: () => (n: number) => number }> };
    const mod = await tsImport(pathToFileURL(file).href, import.meta.url);
    const top = await hashFunctionObject(mod.twice);
    const nested = await hashFunctionObject(mod.outer());
    assert.equal(top.via, "export", "the module's exports hold this very function");
    assert.equal(top.exportName, "twice");
    assert.equal(top.hash, hashExportedFunction(file, "twice").hash, "keyed as `cashet run twins.ts#twice`");
    assert.notEqual(nested.via, "export");
    assert.notEqual(top.hash, nested.hash, "the two functions never share a key");
    assert.equal(mod.twice(1), 4);
    assert.equal(mod.outer()(1), 6);
  } finally {
    t.remove();
  }
});

// cashet's loader (the CLI's miss, worker threads) keeps each module's file URL in both module kinds.
for (const kind of ["commonjs", "module"]) {
  test(`a ${kind}-kind TypeScript module loaded as cashet loads it: its export keys as hash-fn, a nested namesake apart`, async () => {
    const t = tempDir();
    try {
      if (kind === "module") writeFileSync(join(t.dir, "package.json"), `{ "type": "module" }\n`);
      const file = join(t.dir, "twins.ts");
      writeFileSync(
        file,
        TWINS,
      );
      writeFileSync(join(t.dir, "helper.ts"), `export const helper = (n: number): number => n + 1;\n`);
      const twice = (await loadExport(file, "twice")) as (n: number) => number;
      const outer = (await loadExport(file, "outer")) as () => (n: number) => number;
      const top = await hashFunctionObject(twice);
      assert.equal(top.file, file);
      assert.equal(top.via, "export");
      assert.equal(top.hash, hashExportedFunction(file, "twice").hash);
      assert.deepEqual(top.closure, []);
      const nested = await hashFunctionObject(outer());
      assert.equal(nested.file, file);
      assert.notEqual(nested.hash, top.hash);
    } finally {
      t.remove();
    }
  });
}
