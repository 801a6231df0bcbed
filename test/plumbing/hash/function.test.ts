// The static function hash (SPEC §3): edits that cannot change behaviour keep it, edits that can
// change it; it does not depend on where the code lives, which process computes it, or by which
// route the function is reached; and `components` says what went into it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { after, describe, test } from "node:test";
import { InvalidInputError } from "../../../plumbing/errors.js";
import { hashExportedFunction, hashTopLevelFunction, type FunctionHash } from "../../../plumbing/hash/function.js";

// ---------------------------------------------------------------------------------------------
// Fixture projects: a map of relative path → content, written into a fresh temp dir.

type Files = Record<string, string>;

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` into a fresh temp directory and returns it. */
function project(files: Files): string {
  const dir = mkdtempSync(join(tmpdir(), "cashet-fn-"));
  made.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** An installed package: node_modules/<name>/package.json with `version`. */
function pkg(name: string, version: string): Files {
  return {
    [`node_modules/${name}/package.json`]: JSON.stringify({ name, version, main: "index.js" }),
    [`node_modules/${name}/index.js`]: "module.exports = function () {};\n",
  };
}

/** Which function a row hashes: an export of a file, or a top-level binding (CommonJS has no exports). */
type Target = { file: string; export?: string; topLevel?: string };
const MAIN: Target = { file: "main.ts", export: "f" };

function hashIn(dir: string, target: Target): FunctionHash {
  const file = join(dir, target.file);
  return target.topLevel !== undefined ? hashTopLevelFunction(file, target.topLevel) : hashExportedFunction(file, target.export ?? "default");
}

// ---------------------------------------------------------------------------------------------
// The invalidation matrix. `before` is a whole project; `after` lists only the files the edit
// touches (a file mapped to the same text is left as is). Each side lives in its own directory.

interface Row {
  edit: string;
  expect: "same" | "different";
  before: Files;
  after: Files;
  target?: Target;
}

const UTIL = `export function h(x: number): number {\n  return x + 1;\n}\nexport function unused(): string {\n  return "u1";\n}\n`;

const KEEPS: Row[] = [
  {
    edit: "adding line and block comments inside and around the function",
    expect: "same",
    before: { "main.ts": `export function f(x: number): number {\n  const y = x * 2;\n  return y + 1;\n}\n` },
    after: {
      "main.ts": `// entry point\nexport function f(x: number): number {\n  // double it\n  const y = x * 2; /* then */\n  return y + 1; // plus one\n}\n/* trailing */\n`,
    },
  },
  {
    edit: "adding JSDoc to the function and its helper",
    expect: "same",
    before: { "main.ts": `function g(x: number) { return x * 2; }\nexport function f(x: number) { return g(x); }\n` },
    after: {
      "main.ts": `/**\n * Doubles.\n * @param x the input\n */\nfunction g(x: number) { return x * 2; }\n/** Entry. @returns g(x) */\nexport function f(x: number) { return g(x); }\n`,
    },
  },
  {
    edit: "reformatting: whitespace, indentation, line breaks",
    expect: "same",
    before: { "main.ts": `export function f(x:number):number{const y=x*2;if(y>3){return y}else{return y+1}}\n` },
    after: {
      "main.ts": `export   function f (\n    x : number\n) : number\n{\n\n\tconst y  =  x * 2;\n\tif (y > 3) {\n\t\treturn y;\n\t} else {\n\t\treturn y + 1;\n\t}\n}\n`,
    },
  },
  {
    edit: "switching quote style of string literals and import specifiers",
    expect: "same",
    before: { "main.ts": `import { h } from "./util.js";\nexport function f(x: number) { return "a" + h(x) + "it's"; }\n`, "util.ts": UTIL },
    after: { "main.ts": `import { h } from './util.js';\nexport function f(x: number) { return 'a' + h(x) + "it's"; }\n` },
  },
  {
    edit: "dropping semicolons (ASI)",
    expect: "same",
    before: { "main.ts": `const K = 3;\nexport function f(x: number) {\n  const y = x * K;\n  return y;\n}\n` },
    after: { "main.ts": `const K = 3\nexport function f(x: number) {\n  const y = x * K\n  return y\n}\n` },
  },
  {
    edit: "adding trailing commas to parameters, arguments, arrays and objects",
    expect: "same",
    before: { "main.ts": `function g(a: number, b: number) { return [a, b]; }\nexport function f(x: number, y: number) { return { v: g(x, y), w: [1, 2] }; }\n` },
    after: {
      "main.ts": `function g(a: number, b: number,) { return [a, b,]; }\nexport function f(x: number, y: number,) { return { v: g(x, y,), w: [1, 2,], }; }\n`,
    },
  },
  {
    edit: "adding redundant parentheses",
    expect: "same",
    before: { "main.ts": `export function f(x: number) { const y = x * 2 + 1; return y > 2 ? y : -y; }\n` },
    after: { "main.ts": `export function f(x: number) { const y = ((x * 2) + (1)); return ((y > 2) ? (y) : (-y)); }\n` },
  },
  {
    edit: "adding type annotations on parameters and return type (and an optional-parameter marker)",
    expect: "same",
    before: { "main.ts": `export function f(x, opts) { return x * opts.k; }\n` },
    after: { "main.ts": `export function f(x: number, opts?: { k: number }): number { return x * opts!.k; }\n` },
  },
  {
    edit: "adding type annotations on local and module variables",
    expect: "same",
    before: { "main.ts": `const LR = 0.1;\nexport function f(x) { const y = x * LR; let acc = []; acc.push(y); return acc; }\n` },
    after: {
      "main.ts": `const LR: number = 0.1;\nexport function f(x: number) { const y: number = x * LR; let acc: number[] = []; acc.push(y); return acc; }\n`,
    },
  },
  {
    edit: "changing an interface the function's parameters use",
    expect: "same",
    before: { "main.ts": `interface Opts { k: number }\nexport function f(o: Opts) { return o.k * 2; }\n` },
    after: { "main.ts": `interface Opts { k: number; label?: string; extra: Array<string> }\nexport function f(o: Opts) { return o.k * 2; }\n` },
  },
  {
    edit: "changing a type alias the function uses",
    expect: "same",
    before: { "main.ts": `type Vec = number[];\nexport function f(v: Vec): Vec { return v.map((x) => x * 2); }\n` },
    after: { "main.ts": `type Vec = ReadonlyArray<number> | Float64Array;\nexport function f(v: Vec): Vec { return v.map((x) => x * 2); }\n` },
  },
  {
    edit: "adding `as`, `satisfies`, non-null `!` and an angle-bracket-free cast chain",
    expect: "same",
    before: { "main.ts": `export function f(m: Map<string, number>, x: unknown) { const o = { k: 1 }; return m.get("a") + x + o.k; }\n` },
    after: {
      "main.ts": `export function f(m: Map<string, number>, x: unknown) { const o = { k: 1 } satisfies Record<string, number>; return m.get("a")! + (x as number) + (o as unknown as { k: number }).k; }\n`,
    },
  },
  {
    edit: "adding generics: type parameters and explicit type arguments",
    expect: "same",
    before: { "main.ts": `function id(v) { return v; }\nexport function f(x) { return id(x); }\n` },
    after: { "main.ts": `function id<T extends number>(v: T): T { return v; }\nexport function f<U extends number>(x: U): U { return id<U>(x); }\n` },
  },
  {
    edit: "adding an `import type` (and an inline `type` specifier) the function uses only in annotations",
    expect: "same",
    before: { "main.ts": `import { h } from "./util.js";\nexport function f(x, o, p) { return h(x); }\n`, "util.ts": UTIL, "types.ts": `export interface Opts { k: number }\n` },
    after: {
      "main.ts": `import type { Opts } from "./types.js";\nimport { type Opts as O2, h } from "./util.js";\nexport function f(x: number, o?: Opts, p?: O2): number { return h(x); }\n`,
      "util.ts": UTIL + `export interface Opts { k: number }\n`,
    },
  },
  {
    edit: "changing the declarations of a module imported only with `import type`",
    expect: "same",
    before: { "main.ts": `import type { Opts } from "./types.js";\nexport function f(o: Opts) { return o.k; }\n`, "types.ts": `export interface Opts { k: number }\n` },
    after: { "types.ts": `export interface Opts { k: number; j: string }\nexport type Alias = Opts[];\n` },
  },
  {
    edit: "moving helpers and constants from below the function to above it",
    expect: "same",
    before: { "main.ts": `export function f(x: number) { return g(x) * K; }\nfunction g(x: number) { return x + 1; }\nconst K = 2;\n` },
    after: { "main.ts": `const K = 2;\nfunction g(x: number) { return x + 1; }\nexport function f(x: number) { return g(x) * K; }\n` },
  },
  {
    edit: "editing an unrelated function in the same module",
    expect: "same",
    before: { "main.ts": `function g(x: number) { return x + 1; }\nexport function other() { return "o1"; }\nexport function f(x: number) { return g(x); }\n` },
    after: { "main.ts": `function g(x: number) { return x + 1; }\nexport function other() { return "o2" + Math.random(); }\nexport function f(x: number) { return g(x); }\n` },
  },
  {
    edit: "editing an unused export of an imported module",
    expect: "same",
    before: { "main.ts": `import { h } from "./util.js";\nexport function f(x: number) { return h(x); }\n`, "util.ts": UTIL },
    after: { "util.ts": UTIL.replace(`"u1"`, `"u2"`) },
  },
  {
    edit: "adding unrelated top-level declarations (const, function, class, enum, declare)",
    expect: "same",
    before: { "main.ts": `const K = 2;\nexport function f(x: number) { return x * K; }\n` },
    after: {
      "main.ts": `const K = 2;\nconst UNRELATED = { a: 1 };\nfunction helper2() { return UNRELATED; }\nclass Thing { go() { return 1; } }\nenum Color { Red, Green }\ndeclare const GLOBAL_FLAG: boolean;\nexport function f(x: number) { return x * K; }\n`,
    },
  },
  {
    edit: "changing an unrelated top-level statement (one that does not mention the closure)",
    expect: "same",
    before: { "main.ts": `const K = 2;\nconsole.log("loaded");\nexport function f(x: number) { return x * K; }\n` },
    after: { "main.ts": `const K = 2;\nconsole.log("ready", Date.now());\nexport function f(x: number) { return x * K; }\n` },
  },
  {
    edit: "changing how the script calls the task (`await client.submit(f, 1)` → `(f, 2)`, a new call site)",
    expect: "same",
    before: { "main.ts": `import { Client } from "cashet";\nconst client = new Client();\nexport function f(x: number) { return x * 2; }\nawait client.submit(f, 1);\n` },
    after: { "main.ts": `import { Client } from "cashet";\nconst client = new Client({ maxWorkers: 2 });\nexport function f(x: number) { return x * 2; }\nawait client.submit(f, 2);\nconsole.log(f(3));\n` },
  },
  {
    edit: "respelling number literals (1000 → 1e3, 0.5 → .5, 255 → 0xff, 1000000 → 1_000_000)",
    expect: "same",
    before: { "main.ts": `export function f(x: number) { return [x * 1000, 0.5, 255, 1000000]; }\n` },
    after: { "main.ts": `export function f(x: number) { return [x * 1e3, .5, 0xff, 1_000_000]; }\n` },
  },
  {
    edit: "adding TypeScript-only class modifiers (private, readonly, override, implements)",
    expect: "same",
    before: { "main.ts": `class Base { rate = 1; }\nclass Model extends Base { rate = 2; predict(x) { return x * this.rate; } }\nexport function f(x) { return new Model().predict(x); }\n` },
    after: {
      "main.ts": `interface P { predict(x: number): number }\nclass Base { rate = 1; }\nclass Model extends Base implements P { override readonly rate: number = 2; public predict(x: number): number { return x * this.rate; } }\nexport function f(x: number) { return new Model().predict(x); }\n`,
    },
  },
  {
    edit: "adding a `declare` class field (no runtime field is emitted)",
    expect: "same",
    before: { "main.ts": `class Model { predict(x: number) { return x; } }\nexport function f(x: number) { return new Model().predict(x); }\n` },
    after: { "main.ts": `class Model { declare scale: number; predict(x: number) { return x; } }\nexport function f(x: number) { return new Model().predict(x); }\n` },
  },
  {
    edit: "adding overload signatures to a helper",
    expect: "same",
    before: { "main.ts": `function g(x) { return x; }\nexport function f(x: number) { return g(x); }\n` },
    after: { "main.ts": `function g(x: number): number;\nfunction g(x: string): string;\nfunction g(x: any) { return x; }\nexport function f(x: number) { return g(x); }\n` },
  },
  {
    edit: "reformatting an imported JSON file",
    expect: "same",
    before: { "main.ts": `import data from "./data.json" with { type: "json" };\nexport function f() { return data.lr; }\n`, "data.json": `{"lr":0.01,"tags":["a"]}` },
    after: { "data.json": `{\n  "lr": 0.01,\n  "tags": [\n    "a"\n  ]\n}\n` },
  },
  {
    edit: "mentioning a helper only in a type position (`typeof g`) and changing that helper",
    expect: "same",
    before: { "main.ts": `function g(x: number) { return x + 1; }\nexport function f(x: number, cb?: typeof g) { return x; }\n` },
    after: { "main.ts": `function g(x: number) { return x + 2; }\nexport function f(x: number, cb?: typeof g) { return x; }\n` },
  },
  {
    edit: "exporting a helper that was private",
    expect: "same",
    before: { "main.ts": `function g(x: number) { return x + 1; }\nexport function f(x: number) { return g(x); }\n` },
    after: { "main.ts": `export function g(x: number) { return x + 1; }\nexport function f(x: number) { return g(x); }\n` },
  },
  {
    edit: "respelling characters in a template literal as escapes (`a\\u0062c${x}` → `abc${x}`)",
    expect: "same",
    before: { "main.ts": "export function f(x: number) { return `a\\u0062c\\x20${x}\\n`; }\n" },
    after: { "main.ts": "export function f(x: number) { return `abc ${x}\n`; }\n" },
  },
  {
    edit: "switching a string literal to backticks (a template without substitutions)",
    expect: "same",
    before: { "main.ts": `export function f(x: number) { const s = "it's"; return [s, 'a', x]; }\n` },
    after: { "main.ts": "export function f(x: number) { const s = `it's`; return [s, `a`, x]; }\n" },
  },
  {
    edit: "respelling escapes in string literals (`\"\\x41\"` → `\"A\"`, `'\\u00e9'` → `'é'`)",
    expect: "same",
    before: { "main.ts": `export function f(x: number) { return ["\\x41", '\\u00e9', "\\u{1F600}", x]; }\n` },
    after: { "main.ts": `export function f(x: number) { return ["A", 'é', "😀", x]; }\n` },
  },
  {
    edit: "switching the quotes of a \"use strict\" directive",
    expect: "same",
    before: { "main.ts": `export function f(x: number) {\n  "use strict";\n  return x;\n}\n` },
    after: { "main.ts": `export function f(x: number) {\n  'use strict'\n  return x;\n}\n` },
  },
  {
    edit: "writing properties in shorthand (`{ a }` ↔ `{ a: a }`, also `{ __proto__: x }` ↔ `{ \"__proto__\": x }`)",
    expect: "same",
    before: { "main.ts": `export function f(a: number, b: number, x: object) { return { a: a, b, c: { __proto__: x } }; }\n` },
    after: { "main.ts": `export function f(a: number, b: number, x: object) { return { a, b: b, c: { "__proto__": x } }; }\n` },
  },
  {
    edit: "writing destructuring in shorthand (`const { a } = o` ↔ `{ a: a }`, `{ a = 1 }` ↔ `{ a: a = 1 }`)",
    expect: "same",
    before: { "main.ts": `export function f(o: any) { const { a, b = 1, c: c } = o; return [a, b, c]; }\n` },
    after: { "main.ts": `export function f(o: any) { const { a: a, b: b = 1, c } = o; return [a, b, c]; }\n` },
  },
  {
    edit: "quoting property keys, or spelling a numeric key as a string (`{ a: 1, 1: x }` → `{ \"a\": 1, \"1\": x }`)",
    expect: "same",
    before: { "main.ts": `export function f(x: number) { const { "k": k } = { k: 0 }; return { a: 1, 1: x, 0x10: 2, 1e3: 3, "b-c": 4, 2n: k }; }\n` },
    after: { "main.ts": `export function f(x: number) { const { k: k } = { "k": 0 }; return { "a": 1, "1": x, 16: 2, "1000": 3, 'b-c': 4, "2": k }; }\n` },
  },
  {
    edit: "quoting class member keys (methods, fields, accessors, `\"constructor\"`)",
    expect: "same",
    before: { "main.ts": `class M { constructor() {} m() { return 1; } f = 2; static s = 3; get g() { return 4; } 5() { return 6; } }\nexport function f() { return new M(); }\n` },
    after: { "main.ts": `class M { "constructor"() {} 'm'() { return 1; } "f" = 2; static "s" = 3; get "g"() { return 4; } "5"() { return 6; } }\nexport function f() { return new M(); }\n` },
  },
  {
    edit: "writing member access with a string literal (`o[\"b\"]` → `o.b`, `o?.[\"c\"]` → `o?.c`, `o[0]` → `o[\"0\"]`)",
    expect: "same",
    before: { "main.ts": `export function f(o: any) { o["b"] = 1; return [o["b"], o?.["c"](), o[0], o[\`d\`], o["x-y"]]; }\n` },
    after: { "main.ts": `export function f(o: any) { o.b = 1; return [o.b, o?.c(), o["0"], o.d, o['x-y']]; }\n` },
  },
  {
    edit: "writing member access with a string literal in a .js file",
    expect: "same",
    before: { "main.js": `export function f(o) { return o["b"] + o.c; }\n` },
    after: { "main.js": `export function f(o) { return o.b + o["c"]; }\n` },
    target: { file: "main.js", export: "f" },
  },
  {
    edit: "quoting TypeScript enum member names",
    expect: "same",
    before: { "main.ts": `enum Mode { Fast = 1, Slow = 2 }\nexport function f() { return Mode.Fast; }\n` },
    after: { "main.ts": `enum Mode { "Fast" = 1, 'Slow' = 2 }\nexport function f() { return Mode["Fast"]; }\n` },
  },
  {
    edit: "respelling bigint literals (16n → 0x10n, 1000n → 1_000n)",
    expect: "same",
    before: { "main.ts": `export function f(x: bigint) { return [x * 16n, 1000n]; }\n` },
    after: { "main.ts": `export function f(x: bigint) { return [x * 0x10n, 1_000n]; }\n` },
  },
  {
    edit: "reordering regular expression flags (`/a/gi` → `/a/ig`)",
    expect: "same",
    before: { "main.ts": `export function f(s: string) { return /a+/gi.test(s) && /b/dimsuy.test(s); }\n` },
    after: { "main.ts": `export function f(s: string) { return /a+/ig.test(s) && /b/yusmid.test(s); }\n` },
  },
  {
    edit: "adding stray semicolons (empty statements in a statement list)",
    expect: "same",
    before: { "main.ts": `export function f(x: number) { const y = x * 2; if (y) { return y; } return 0; }\n` },
    after: { "main.ts": `export function f(x: number) { ; const y = x * 2;; if (y) { return y;; }; return 0; };\n` },
  },
  {
    edit: "adding or dropping braces around a single statement (`if (x) return y;` → `if (x) { return y; }`)",
    expect: "same",
    before: {
      "main.ts": `export function f(x: number) { let n = 0; if (x > 1) n++; else if (x < 0) n--; for (let i = 0; i < x; i++) n += i; while (n > 9) n -= 9; if (n) {} return n; }\n`,
    },
    after: {
      "main.ts": `export function f(x: number) { let n = 0; if (x > 1) { n++; } else { if (x < 0) { n--; } } for (let i = 0; i < x; i++) { n += i; } while (n > 9) { { n -= 9; } } if (n); return n; }\n`,
    },
  },
  {
    edit: "writing an arrow function's returned expression as a block with `return`",
    expect: "same",
    before: { "main.ts": `export function f(xs: number[]) { return xs.map((x) => x * 2).map((x) => ({ x })); }\n` },
    after: { "main.ts": `export function f(xs: number[]) { return xs.map((x) => { return x * 2; }).map((x) => { return { x }; }); }\n` },
  },
  {
    edit: "changing an interface merged with a class (types only)",
    expect: "same",
    before: { "main.ts": `interface Box { w: number }\nclass Box { w = 1; }\nexport function f() { return new Box().w; }\n` },
    after: { "main.ts": `interface Box { w: number; h?: number }\nclass Box { w = 1; }\nexport function f() { return new Box().w; }\n` },
  },
  {
    edit: "changing a top-level statement that only calls the task (`await submit(train, data)`): a call site is not identity",
    expect: "same",
    before: { "main.ts": `const LR = 0.1;\nexport function f(x: number) { return x * LR; }\nconst run = (g: (x: number) => number, v: number) => g(v);\nrun(f, 1);\n` },
    after: { "main.ts": `const LR = 0.1;\nexport function f(x: number) { return x * LR; }\nconst run = (g: (x: number) => number, v: number) => g(v);\nrun(f, 2);\n` },
  },
  {
    edit: "changing a top-level statement that touches nothing the task reads",
    expect: "same",
    before: { "main.ts": `const LR = 0.1;\nconst registry = new Map<string, number>();\nregistry.set("a", 1);\nexport function f(x: number) { return x * LR; }\n` },
    after: { "main.ts": `const LR = 0.1;\nconst registry = new Map<string, number>();\nregistry.set("a", 2);\nexport function f(x: number) { return x * LR; }\n` },
  },
];

const CHANGES: Row[] = [
  {
    edit: "changing the function's own body",
    expect: "different",
    before: { "main.ts": `export function f(x: number) { return x * 2; }\n` },
    after: { "main.ts": `export function f(x: number) { return x * 3; }\n` },
  },
  {
    edit: "renaming a parameter",
    expect: "different",
    before: { "main.ts": `export function f(x: number) { return x * 2; }\n` },
    after: { "main.ts": `export function f(y: number) { return y * 2; }\n` },
  },
  {
    edit: "renaming a local variable",
    expect: "different",
    before: { "main.ts": `export function f(x: number) { const y = x * 2; return y; }\n` },
    after: { "main.ts": `export function f(x: number) { const z = x * 2; return z; }\n` },
  },
  {
    edit: "making the function async",
    expect: "different",
    before: { "main.ts": `export function f(x: number) { return x; }\n` },
    after: { "main.ts": `export async function f(x: number) { return x; }\n` },
  },
  {
    edit: "changing a number literal into the same digits as a string (1 → \"1\")",
    expect: "different",
    before: { "main.ts": `export function f(x: number) { return x + 1; }\n` },
    after: { "main.ts": `export function f(x: number) { return x + "1"; }\n` },
  },
  {
    edit: "changing the text of a string literal (quotes are normalized, contents are not)",
    expect: "different",
    before: { "main.ts": `export function f() { return "a"; }\n` },
    after: { "main.ts": `export function f() { return 'b'; }\n` },
  },
  {
    edit: "changing a regular expression literal",
    expect: "different",
    before: { "main.ts": `export function f(s: string) { return /a+/g.test(s); }\n` },
    after: { "main.ts": `export function f(s: string) { return /a+/i.test(s); }\n` },
  },
  {
    edit: "changing the text of a template literal",
    expect: "different",
    before: { "main.ts": "export function f(x: number) { return `x=${x}`; }\n" },
    after: { "main.ts": "export function f(x: number) { return `y=${x}`; }\n" },
  },
  {
    edit: "respelling an escape in a tagged template (`String.raw` sees the text as written)",
    expect: "different",
    before: { "main.ts": "export function f() { return String.raw`a\\u0062c`; }\n" },
    after: { "main.ts": "export function f() { return String.raw`abc`; }\n" },
  },
  {
    edit: "turning a \"use strict\" directive into a template literal (no longer a directive)",
    expect: "different",
    before: { "main.ts": `export function f() {\n  "use strict";\n  return this;\n}\n` },
    after: { "main.ts": "export function f() {\n  `use strict`;\n  return this;\n}\n" },
  },
  {
    edit: "respelling a regular expression pattern (`/\\x41/` → `/A/`: its `source` differs)",
    expect: "different",
    before: { "main.ts": `export function f() { return /\\x41/.source; }\n` },
    after: { "main.ts": `export function f() { return /A/.source; }\n` },
  },
  {
    edit: "changing a number that spells Infinity into the string \"Infinity\"",
    expect: "different",
    before: { "main.ts": `export function f(x: unknown) { return x === 1e999; }\n` },
    after: { "main.ts": `export function f(x: unknown) { return x === "Infinity"; }\n` },
  },
  {
    edit: "writing `{ __proto__: __proto__ }` (sets the prototype) as shorthand `{ __proto__ }` (an own property)",
    expect: "different",
    before: { "main.ts": `export function f(__proto__: object) { return { __proto__: __proto__ }; }\n` },
    after: { "main.ts": `export function f(__proto__: object) { return { __proto__ }; }\n` },
  },
  {
    edit: "computing a `__proto__` key (`{ __proto__: x }` → `{ [\"__proto__\"]: x }`: an own property)",
    expect: "different",
    before: { "main.ts": `export function f(x: object) { return { __proto__: x }; }\n` },
    after: { "main.ts": `export function f(x: object) { return { ["__proto__"]: x }; }\n` },
  },
  {
    edit: "computing a class's `\"constructor\"` key (`[\"constructor\"]() {}` is a plain method)",
    expect: "different",
    before: { "main.ts": `class M { "constructor"() { (this as any).v = 1; } }\nexport function f() { return new M(); }\n` },
    after: { "main.ts": `class M { ["constructor"]() { (this as any).v = 1; } }\nexport function f() { return new M(); }\n` },
  },
  {
    edit: "changing a numeric key into a different string (`{ 1: x }` → `{ \"1.0\": x }`)",
    expect: "different",
    before: { "main.ts": `export function f(x: number) { return { 1: x }; }\n` },
    after: { "main.ts": `export function f(x: number) { return { "1.0": x }; }\n` },
  },
  {
    edit: "changing a literal member key into a variable one (`o[\"b\"]` → `o[b]`)",
    expect: "different",
    before: { "main.ts": `export function f(o: any, b: string) { return o["b"]; }\n` },
    after: { "main.ts": `export function f(o: any, b: string) { return o[b]; }\n` },
  },
  {
    edit: "dropping braces so that an `else` moves to the inner `if` (dangling else)",
    expect: "different",
    before: { "main.ts": `export function f(a: boolean, b: boolean) { let n = 0; if (a) { if (b) n = 1; } else n = 2; return n; }\n` },
    after: { "main.ts": `export function f(a: boolean, b: boolean) { let n = 0; if (a) if (b) n = 1; else n = 2; return n; }\n` },
  },
  {
    edit: "adding a semicolon after `if (x)` (it becomes the body)",
    expect: "different",
    before: { "main.ts": `export function f(x: number) { let n = 0; if (x) n = 1; return n; }\n` },
    after: { "main.ts": `export function f(x: number) { let n = 0; if (x); n = 1; return n; }\n` },
  },
  {
    edit: "dropping the parentheses of an arrow function's object body (`() => ({})` → `() => {}`)",
    expect: "different",
    before: { "main.ts": `export function f(xs: number[]) { return xs.map(() => ({})); }\n` },
    after: { "main.ts": `export function f(xs: number[]) { return xs.map(() => {}); }\n` },
  },
  {
    edit: "dropping the `return` of an arrow function's block body",
    expect: "different",
    before: { "main.ts": `export function f(xs: number[]) { return xs.map((x) => { return x * 2; }); }\n` },
    after: { "main.ts": `export function f(xs: number[]) { return xs.map((x) => { x * 2; }); }\n` },
  },
  {
    edit: "turning optional chaining into plain member access",
    expect: "different",
    before: { "main.ts": `export function f(o: { a?: { b: number } }) { return o.a?.b; }\n` },
    after: { "main.ts": `export function f(o: { a?: { b: number } }) { return o.a!.b; }\n` },
  },
  {
    edit: "changing a helper in the same module",
    expect: "different",
    before: { "main.ts": `function g(x: number) { return x + 1; }\nexport function f(x: number) { return g(x); }\n` },
    after: { "main.ts": `function g(x: number) { return x + 2; }\nexport function f(x: number) { return g(x); }\n` },
  },
  {
    edit: "changing a helper called only inside `.map(x => helper(x))`",
    expect: "different",
    before: { "main.ts": `function helper(x: number) { return x + 1; }\nexport function f(xs: number[]) { return xs.map((x) => helper(x)); }\n` },
    after: { "main.ts": `function helper(x: number) { return x - 1; }\nexport function f(xs: number[]) { return xs.map((x) => helper(x)); }\n` },
  },
  {
    edit: "changing a helper passed by reference (`xs.map(helper)`)",
    expect: "different",
    before: { "main.ts": `const helper = (x: number) => x + 1;\nexport function f(xs: number[]) { return xs.map(helper); }\n` },
    after: { "main.ts": `const helper = (x: number) => x + 10;\nexport function f(xs: number[]) { return xs.map(helper); }\n` },
  },
  {
    edit: "changing a transitive helper (f → g → h, change h)",
    expect: "different",
    before: { "main.ts": `function h(x: number) { return x + 1; }\nfunction g(x: number) { return h(x) * 2; }\nexport function f(x: number) { return g(x); }\n` },
    after: { "main.ts": `function h(x: number) { return x + 5; }\nfunction g(x: number) { return h(x) * 2; }\nexport function f(x: number) { return g(x); }\n` },
  },
  {
    edit: "changing a method of a class the function instantiates",
    expect: "different",
    before: { "main.ts": `class Model { predict(x: number) { return x * 2; } }\nexport function f(x: number) { return new Model().predict(x); }\n` },
    after: { "main.ts": `class Model { predict(x: number) { return x * 4; } }\nexport function f(x: number) { return new Model().predict(x); }\n` },
  },
  {
    edit: "changing a field initializer of a class the function uses",
    expect: "different",
    before: { "main.ts": `class Model { private rate = 0.1; predict(x: number) { return x * this.rate; } }\nexport function f(x: number) { return new Model().predict(x); }\n` },
    after: { "main.ts": `class Model { private rate = 0.2; predict(x: number) { return x * this.rate; } }\nexport function f(x: number) { return new Model().predict(x); }\n` },
  },
  {
    edit: "adding an uninitialized class field (ES2022 class fields make it an own property)",
    expect: "different",
    before: { "main.ts": `class Model { predict(x: number) { return x; } }\nexport function f(x: number) { return Object.keys(new Model()); }\n` },
    after: { "main.ts": `class Model { scale?: number; predict(x: number) { return x; } }\nexport function f(x: number) { return Object.keys(new Model()); }\n` },
  },
  {
    edit: "changing a module constant (const LR = 0.01 → 0.02)",
    expect: "different",
    before: { "main.ts": `const LR = 0.01;\nexport function f(x: number) { return x * LR; }\n` },
    after: { "main.ts": `const LR = 0.02;\nexport function f(x: number) { return x * LR; }\n` },
  },
  {
    edit: "changing a default parameter value",
    expect: "different",
    before: { "main.ts": `export function f(x: number, k = 2) { return x * k; }\n` },
    after: { "main.ts": `export function f(x: number, k = 3) { return x * k; }\n` },
  },
  {
    edit: "changing a helper imported as `./x.js` that resolves to x.ts",
    expect: "different",
    before: { "main.ts": `import { h } from "./x.js";\nexport function f(x: number) { return h(x); }\n`, "x.ts": UTIL },
    after: { "x.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing a helper imported as `./x.ts`",
    expect: "different",
    before: { "main.ts": `import { h } from "./x.ts";\nexport function f(x: number) { return h(x); }\n`, "x.ts": UTIL },
    after: { "x.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing a helper imported as `./x.mjs` that resolves to x.mts",
    expect: "different",
    before: { "main.mts": `import { h } from "./x.mjs";\nexport function f(x: number) { return h(x); }\n`, "x.mts": UTIL },
    after: { "x.mts": UTIL.replace("x + 1", "x + 2") },
    target: { file: "main.mts", export: "f" },
  },
  {
    edit: "changing a helper imported from a parent directory (`../lib/x.js`)",
    expect: "different",
    before: { "src/main.ts": `import { h } from "../lib/x.js";\nexport function f(x: number) { return h(x); }\n`, "lib/x.ts": UTIL },
    after: { "lib/x.ts": UTIL.replace("x + 1", "x + 2") },
    target: { file: "src/main.ts", export: "f" },
  },
  {
    edit: "changing a helper imported from a directory index (`./lib` → lib/index.ts)",
    expect: "different",
    before: { "main.ts": `import { h } from "./lib";\nexport function f(x: number) { return h(x); }\n`, "lib/index.ts": UTIL },
    after: { "lib/index.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing a helper imported under another name (`import { h as g }`)",
    expect: "different",
    before: { "main.ts": `import { h as g } from "./x.js";\nexport function f(x: number) { return g(x); }\n`, "x.ts": UTIL },
    after: { "x.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing a default-imported helper",
    expect: "different",
    before: { "main.ts": `import g from "./x.js";\nexport function f(x: number) { return g(x); }\n`, "x.ts": `export default function g(x: number) { return x + 1; }\n` },
    after: { "x.ts": `export default function g(x: number) { return x + 2; }\n` },
  },
  {
    edit: "changing a helper reached through a re-export (`export { h } from \"./impl.js\"`)",
    expect: "different",
    before: { "main.ts": `import { h } from "./api.js";\nexport function f(x: number) { return h(x); }\n`, "api.ts": `export { h } from "./impl.js";\n`, "impl.ts": UTIL },
    after: { "impl.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing a helper reached through `export * from`",
    expect: "different",
    before: { "main.ts": `import { h } from "./api.js";\nexport function f(x: number) { return h(x); }\n`, "api.ts": `export * from "./impl.js";\n`, "impl.ts": UTIL },
    after: { "impl.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing an export of a namespace import (`import * as u`)",
    expect: "different",
    before: { "main.ts": `import * as u from "./u.js";\nexport function f(x: number) { return u.h(x); }\n`, "u.ts": UTIL },
    after: { "u.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing an export of a namespace-imported module that forwards it with `export *`",
    expect: "different",
    before: { "main.ts": `import * as u from "./u.js";\nexport function f(x: number) { return u.h(x); }\n`, "u.ts": `export * from "./impl.js";\n`, "impl.ts": UTIL },
    after: { "impl.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "upgrading an imported package (node_modules/<pkg>/package.json version bump)",
    expect: "different",
    before: { "main.ts": `import pad from "left-pad";\nexport function f(s: string) { return pad(s, 4); }\n`, ...pkg("left-pad", "1.3.0") },
    after: pkg("left-pad", "1.3.1"),
  },
  {
    edit: "upgrading a scoped package imported by a subpath (`@acme/kit/sub`)",
    expect: "different",
    before: { "main.ts": `import { go } from "@acme/kit/sub";\nexport function f() { return go(); }\n`, ...pkg("@acme/kit", "2.0.0") },
    after: pkg("@acme/kit", "2.1.0"),
  },
  {
    edit: "changing a property the function reads from itself (`f.factor = 2` → 3)",
    expect: "different",
    before: { "main.ts": `export function f(x: number): number { return x * (f as any).factor; }\n(f as any).factor = 2;\n` },
    after: { "main.ts": `export function f(x: number): number { return x * (f as any).factor; }\n(f as any).factor = 3;\n` },
  },
  {
    edit: "adding a top-level statement that mutates a constant the function reads (`config.x = 1`)",
    expect: "different",
    before: { "main.ts": `const config = { x: 0 };\nexport function f() { return config.x; }\n` },
    after: { "main.ts": `const config = { x: 0 };\nconfig.x = 1;\nexport function f() { return config.x; }\n` },
  },
  {
    edit: "changing the value a top-level statement assigns (`config.x = 1` → 2)",
    expect: "different",
    before: { "main.ts": `const config = { x: 0 };\nconfig.x = 1;\nexport function f() { return config.x; }\n` },
    after: { "main.ts": `const config = { x: 0 };\nconfig.x = 2;\nexport function f() { return config.x; }\n` },
  },
  {
    edit: "reassigning a module `let` the function reads (`LR = 0.02` added)",
    expect: "different",
    before: { "main.ts": `let LR = 0.01;\nexport function f(x: number) { return x * LR; }\n` },
    after: { "main.ts": `let LR = 0.01;\nLR = 0.02;\nexport function f(x: number) { return x * LR; }\n` },
  },
  {
    edit: "adding a top-level statement that mutates an imported object the function reads",
    expect: "different",
    before: { "main.ts": `import { config } from "./config.js";\nexport function f() { return config.x; }\n`, "config.ts": `export const config = { x: 0 };\n` },
    after: { "main.ts": `import { config } from "./config.js";\nconfig.x = 1;\nexport function f() { return config.x; }\n` },
  },
  {
    edit: "swapping the order of two top-level statements that mutate what the function reads",
    expect: "different",
    before: { "main.ts": `const config = { x: 0 };\nconfig.x = 1;\nconfig.x = 2;\nexport function f() { return config.x; }\n` },
    after: { "main.ts": `const config = { x: 0 };\nconfig.x = 2;\nconfig.x = 1;\nexport function f() { return config.x; }\n` },
  },
  {
    edit: "repeating an identical top-level mutation (`items.push(1)` twice)",
    expect: "different",
    before: { "main.ts": `const items: number[] = [];\nitems.push(1);\nexport function f() { return items.length; }\n` },
    after: { "main.ts": `const items: number[] = [];\nitems.push(1);\nitems.push(1);\nexport function f() { return items.length; }\n` },
  },
  {
    edit: "changing an enum member's value",
    expect: "different",
    before: { "main.ts": `enum Mode { Fast = 1, Slow = 2 }\nexport function f() { return Mode.Fast; }\n` },
    after: { "main.ts": `enum Mode { Fast = 3, Slow = 2 }\nexport function f() { return Mode.Fast; }\n` },
  },
  {
    edit: "changing g in mutual recursion across two modules (f ↔ g)",
    expect: "different",
    before: {
      "main.ts": `import { g } from "./g.js";\nexport function f(n: number): number { return n <= 0 ? 0 : g(n - 1); }\n`,
      "g.ts": `import { f } from "./main.js";\nexport function g(n: number): number { return n <= 0 ? 1 : f(n - 1); }\n`,
    },
    after: { "g.ts": `import { f } from "./main.js";\nexport function g(n: number): number { return n <= 0 ? 2 : f(n - 1); }\n` },
  },
  {
    edit: "changing a CommonJS module loaded with `require(\"./x\")` inside the function (.cjs)",
    expect: "different",
    before: {
      "main.cjs": `function f(n) {\n  const x = require("./x");\n  return x.h(n);\n}\nmodule.exports = { f };\n`,
      "x.cjs": `function h(n) { return n + 1; }\nmodule.exports = { h };\n`,
    },
    after: { "x.cjs": `function h(n) { return n + 2; }\nmodule.exports = { h };\n` },
    target: { file: "main.cjs", topLevel: "f" },
  },
  {
    edit: "changing a module loaded with `require(\"./x.js\")` inside the function (.js, `exports.h =`)",
    expect: "different",
    before: {
      "main.js": `function f(n) { return require("./x.js").h(n); }\nexports.f = f;\n`,
      "x.js": `exports.h = (n) => n + 1;\n`,
    },
    after: { "x.js": `exports.h = (n) => n + 2;\n` },
    target: { file: "main.js", topLevel: "f" },
  },
  {
    edit: "changing the data of an imported JSON module (`import data from \"./data.json\"`)",
    expect: "different",
    before: { "main.ts": `import data from "./data.json" with { type: "json" };\nexport function f() { return data.lr; }\n`, "data.json": `{ "lr": 0.01 }\n` },
    after: { "data.json": `{ "lr": 0.02 }\n` },
  },
  {
    edit: "changing the data of a JSON file loaded with `require(\"./data.json\")`",
    expect: "different",
    before: { "main.cjs": `function f() { return require("./data.json").lr; }\nmodule.exports = { f };\n`, "data.json": `{ "lr": 0.01 }\n` },
    after: { "data.json": `{ "lr": 0.02 }\n` },
    target: { file: "main.cjs", topLevel: "f" },
  },
  {
    edit: "changing a module loaded with a dynamic `import(\"./x.js\")`",
    expect: "different",
    before: { "main.ts": `export async function f(n: number) { const x = await import("./x.js"); return x.h(n); }\n`, "x.ts": UTIL },
    after: { "x.ts": UTIL.replace("x + 1", "x + 2") },
  },
  {
    edit: "changing a JSX component the function renders (.tsx)",
    expect: "different",
    before: {
      "app.tsx": `import { Button } from "./button.js";\nexport function App(props: { label: string }) { return <div className="app"><Button label={props.label} /></div>; }\n`,
      "button.tsx": `export function Button({ label }: { label: string }) { return <button>{label}</button>; }\n`,
    },
    after: { "button.tsx": `export function Button({ label }: { label: string }) { return <button type="submit">{label}</button>; }\n` },
    target: { file: "app.tsx", export: "App" },
  },
  {
    edit: "changing a function reached only through an object-literal table (`ops[name](x)`)",
    expect: "different",
    before: { "main.ts": `function add(x: number) { return x + 1; }\nconst ops = { add };\nexport function f(name: "add", x: number) { return ops[name](x); }\n` },
    after: { "main.ts": `function add(x: number) { return x + 9; }\nconst ops = { add };\nexport function f(name: "add", x: number) { return ops[name](x); }\n` },
  },
  {
    edit: "changing a namespace merged with the function the task calls (`function util` + `namespace util`)",
    expect: "different",
    before: { "main.ts": `function util() { return 1; }\nnamespace util { export const factor = 2; }\nexport function f() { return util() * util.factor; }\n` },
    after: { "main.ts": `function util() { return 1; }\nnamespace util { export const factor = 3; }\nexport function f() { return util() * util.factor; }\n` },
  },
  {
    edit: "changing the function of a function + namespace pair (both declarations count)",
    expect: "different",
    before: { "main.ts": `function util() { return 1; }\nnamespace util { export const factor = 2; }\nexport function f() { return util() * util.factor; }\n` },
    after: { "main.ts": `function util() { return 5; }\nnamespace util { export const factor = 2; }\nexport function f() { return util() * util.factor; }\n` },
  },
  {
    edit: "changing the second declaration of a merged enum",
    expect: "different",
    before: { "main.ts": `enum E { A = 1 }\nenum E { B = 2 }\nexport function f() { return E.B; }\n` },
    after: { "main.ts": `enum E { A = 1 }\nenum E { B = 3 }\nexport function f() { return E.B; }\n` },
  },
  {
    edit: "changing the first of two `var` declarations of one name",
    expect: "different",
    before: { "main.js": `var x = 1;\nvar x = x + 1;\nexport function f() { return x; }\n` },
    after: { "main.js": `var x = 5;\nvar x = x + 1;\nexport function f() { return x; }\n` },
    target: { file: "main.js", export: "f" },
  },
  {
    edit: "changing a `var` declared inside a top-level block (`if (…) { var LR = … }`)",
    expect: "different",
    before: { "main.js": `if (true) { var LR = 0.1; }\nexport function f(x) { return x * LR; }\n` },
    after: { "main.js": `if (true) { var LR = 0.2; }\nexport function f(x) { return x * LR; }\n` },
    target: { file: "main.js", export: "f" },
  },
  {
    edit: "changing a top-level statement that calls a function that writes a global the task reads",
    expect: "different",
    before: { "main.ts": `function install(v: number) { (globalThis as any).RATE = v; }\ninstall(2);\nexport function f() { return (globalThis as any).RATE; }\n` },
    after: { "main.ts": `function install(v: number) { (globalThis as any).RATE = v; }\ninstall(3);\nexport function f() { return (globalThis as any).RATE; }\n` },
  },
  {
    edit: "changing a default import of a CommonJS module (no ESM exports)",
    expect: "different",
    before: { "main.mjs": `import lib from "./lib.cjs";\nexport function f() { return lib.v(); }\n`, "lib.cjs": `exports.v = () => 1;\n` },
    after: { "lib.cjs": `exports.v = () => 2;\n` },
    target: { file: "main.mjs", export: "f" },
  },
];

describe("function hash: invalidation matrix (SPEC §3)", () => {
  test("the matrix has at least 15 rows that keep the hash and 15 that change it", () => {
    assert.ok(KEEPS.length >= 15, `${KEEPS.length} keep rows`);
    assert.ok(CHANGES.length >= 15, `${CHANGES.length} change rows`);
    for (const row of KEEPS) assert.equal(row.expect, "same", row.edit);
    for (const row of CHANGES) assert.equal(row.expect, "different", row.edit);
  });

  for (const row of [...KEEPS, ...CHANGES]) {
    const verb = row.expect === "same" ? "keeps the hash" : "changes the hash";
    test(`${verb}: ${row.edit}`, () => {
      const target = row.target ?? MAIN;
      assert.ok(
        Object.keys(row.after).some((p) => row.before[p] !== row.after[p]),
        "the row's edit must actually change a file (a row that edits nothing proves nothing)",
      );
      const before = hashIn(project(row.before), target).hash;
      const edited = hashIn(project({ ...row.before, ...row.after }), target).hash;
      assert.equal(hashIn(project(row.before), target).hash, before, "hashing the same code twice agrees");
      checkRow(row, before, edited);
      // The check is decisive both ways: the opposite expectation fails on the same hashes.
      const flipped: Row = { ...row, expect: row.expect === "same" ? "different" : "same" };
      assert.throws(() => checkRow(flipped, before, edited), assert.AssertionError);
    });
  }
});

/** Asserts exactly what the row expects of the hashes before and after its edit. */
function checkRow(row: Row, before: string, edited: string): void {
  if (row.expect === "same") assert.equal(edited, before, `expected the same hash after: ${row.edit}`);
  else assert.notEqual(edited, before, `expected a different hash after: ${row.edit}`);
}

// ---------------------------------------------------------------------------------------------
// A realistic project used by the stability, route and components tests.

const PROJECT: Files = {
  "package.json": JSON.stringify({ name: "proj", type: "module" }),
  "src/train.ts": [
    `import { readFileSync } from "node:fs";`,
    `import path from "path";`,
    `import pad from "left-pad";`,
    `import { scale } from "./lib/math.js";`,
    `import type { Opts } from "./types.js";`,
    `const LR = 0.01;`,
    `const config = { epochs: 1 };`,
    `config.epochs = 3;`,
    `function step(x: number): number { return scale(x) * LR; }`,
    `function unrelated() { return "not used by train"; }`,
    `export function train(xs: number[], o?: Opts): string {`,
    `  const text = readFileSync(path.join("data", "x.txt"), "utf8");`,
    `  return pad(String(xs.map((x) => step(x)).length + config.epochs), 4) + text;`,
    `}`,
    `export default train;`,
    ``,
  ].join("\n"),
  "src/lib/math.ts": `export const FACTOR = 2;\nexport function scale(x: number) { return x * FACTOR; }\nexport function unusedExport() { return 42; }\n`,
  "src/types.ts": `export interface Opts { verbose: boolean }\n`,
  "src/index.ts": `export { train } from "./train.js";\nexport * from "./lib/math.js";\n`,
  "src/star.ts": `export * from "./train.js";\n`,
  "src/reexport.ts": `import { train } from "./train.js";\nexport { train };\nexport { train as fit };\n`,
  "src/nested/deeper/index.ts": `export { default as run } from "../../train.js";\n`,
  ...pkg("left-pad", "1.3.0"),
};

describe("function hash: stable across directories, processes and routes", () => {
  const dirA = project(PROJECT);
  const trainA = join(dirA, "src/train.ts");

  test("the same code in two directories (a copied tree, at another depth) has the same hash and components", () => {
    const dirB = join(project({}), "checkout", "elsewhere");
    cpSync(dirA, dirB, { recursive: true });
    const a = hashExportedFunction(trainA, "train");
    const b = hashExportedFunction(join(dirB, "src/train.ts"), "train");
    assert.equal(b.hash, a.hash);
    assert.deepEqual(b.components, a.components);
    assert.deepEqual(b.warnings, a.warnings);
  });

  test("nothing machine-specific enters the components: no absolute path, no temp dir", () => {
    const r = hashExportedFunction(trainA, "train");
    for (const c of r.components) {
      assert.ok(!isAbsolute(c.key) && !c.key.includes(dirA) && !c.key.includes(tmpdir()), c.key);
      if (c.file !== undefined) assert.ok(!isAbsolute(c.file) && !c.file.includes("\\"), c.file);
    }
    assert.ok(!JSON.stringify(r.components).includes(dirA));
  });

  test("two separate Node processes compute the same hash as this one", async () => {
    const moduleUrl = new URL("../../../plumbing/hash/function.js", import.meta.url).href;
    const script = `const { hashExportedFunction } = await import(${JSON.stringify(moduleUrl)});\nprocess.stdout.write(hashExportedFunction(${JSON.stringify(trainA)}, "train").hash);\n`;
    const run = (): Promise<string> =>
      new Promise((resolve, reject) => {
        execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 15_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        );
      });
    const [one, two] = await Promise.all([run(), run()]);
    assert.match(one, /^[0-9a-f]{64}$/);
    assert.equal(one, two);
    assert.equal(one, hashExportedFunction(trainA, "train").hash);
  });

  test("a re-export from index.ts (`export { train } from`) hashes as the defining file's export", () => {
    const direct = hashExportedFunction(trainA, "train");
    const viaIndex = hashExportedFunction(join(dirA, "src/index.ts"), "train");
    assert.equal(viaIndex.hash, direct.hash);
    assert.deepEqual(viaIndex.components, direct.components);
  });

  test("`export default train` hashes as the named export `train`", () => {
    assert.equal(hashExportedFunction(trainA).hash, hashExportedFunction(trainA, "train").hash);
    assert.equal(hashExportedFunction(trainA, "default").hash, hashExportedFunction(trainA, "train").hash);
  });

  test("every other route reaches the same hash: `export *`, import-then-export, a renamed export, `default as` from a nested dir, top-level name", () => {
    const direct = hashExportedFunction(trainA, "train").hash;
    assert.equal(hashExportedFunction(join(dirA, "src/star.ts"), "train").hash, direct, "export *");
    assert.equal(hashExportedFunction(join(dirA, "src/reexport.ts"), "train").hash, direct, "import { train }; export { train }");
    assert.equal(hashExportedFunction(join(dirA, "src/reexport.ts"), "fit").hash, direct, "export { train as fit }");
    assert.equal(hashExportedFunction(join(dirA, "src/nested/deeper/index.ts"), "run").hash, direct, "export { default as run }");
    assert.equal(hashTopLevelFunction(trainA, "train").hash, direct, "hashTopLevelFunction");
    assert.equal(hashTopLevelFunction(join(dirA, "src/reexport.ts"), "train").hash, direct, "a top-level import binding");
  });

  test("a relative path given from another working directory hashes the same as the absolute path", () => {
    const cwd = process.cwd();
    try {
      process.chdir(join(dirA, "src"));
      assert.equal(hashExportedFunction("train.ts", "train").hash, hashExportedFunction(trainA, "train").hash);
    } finally {
      process.chdir(cwd);
    }
  });

  test("hashing is deterministic: repeated calls, and a re-read after an unrelated rewrite, agree", () => {
    const first = hashExportedFunction(trainA, "train");
    assert.deepEqual(hashExportedFunction(trainA, "train"), first);
    const dir = project(PROJECT);
    const file = join(dir, "src/lib/math.ts");
    const h1 = hashExportedFunction(join(dir, "src/train.ts"), "train").hash;
    writeFileSync(file, PROJECT["src/lib/math.ts"]!.replace("return 42", "return 43"));
    assert.equal(hashExportedFunction(join(dir, "src/train.ts"), "train").hash, h1, "unused export edited in place");
    writeFileSync(file, PROJECT["src/lib/math.ts"]!.replace("FACTOR = 2", "FACTOR = 5"));
    assert.notEqual(hashExportedFunction(join(dir, "src/train.ts"), "train").hash, h1, "a used constant edited in place");
  });
});

// ---------------------------------------------------------------------------------------------

describe("function hash: components", () => {
  const dir = project(PROJECT);
  const r = hashExportedFunction(join(dir, "src/train.ts"), "train");
  const byKey = new Map(r.components.map((c) => [c.key, c]));

  test("the function itself is a `function` component in its own file", () => {
    const fn = r.components.filter((c) => c.kind === "function");
    assert.equal(fn.length, 1);
    assert.deepEqual({ ...fn[0], hash: "" }, { kind: "function", key: ".#train", name: "train", file: ".", hash: "" });
    assert.match(fn[0]!.hash, /^[0-9a-f]{64}$/);
    assert.equal(r.name, "train");
  });

  test("each referenced declaration is listed with its file relative to the function's file", () => {
    const decls = r.components.filter((c) => c.kind === "declaration").map((c) => `${c.file}#${c.name}`);
    assert.deepEqual(decls.sort(), [".#LR", ".#config", ".#step", "lib/math.ts#FACTOR", "lib/math.ts#scale"]);
    for (const c of r.components.filter((c) => c.kind === "declaration")) {
      assert.equal(c.key, `${c.file}#${c.name}`);
      assert.match(c.hash, /^[0-9a-f]{64}$/);
    }
  });

  test("a top-level statement that mutates a declaration in the closure is a `statement` component", () => {
    const stmts = r.components.filter((c) => c.kind === "statement");
    assert.equal(stmts.length, 1);
    assert.equal(stmts[0]!.file, ".");
    assert.equal(stmts[0]!.key, ".#statement:0", "keyed by rank among the module's statements in the closure");
  });

  test("each imported package is listed as `package` with its installed version as the hash", () => {
    const pkgs = r.components.filter((c) => c.kind === "package");
    assert.deepEqual(pkgs, [{ kind: "package", key: "npm:left-pad@1.3.0", name: "left-pad", hash: "1.3.0" }]);
  });

  test("an unused export of an imported module, an unrelated function and type-only imports are not components", () => {
    const names = r.components.map((c) => c.name);
    assert.ok(!names.includes("unusedExport"), "unused export");
    assert.ok(!names.includes("unrelated"), "unrelated function");
    assert.ok(!names.includes("Opts") && !r.components.some((c) => c.file === "types.ts"), "import type");
  });

  test("`node:fs` and bare builtins (`path`) contribute no component and no warning", () => {
    assert.ok(!r.components.some((c) => /(^|:)(node:)?(fs|path)$/.test(c.key) || c.name === "fs" || c.name === "path" || c.name === "readFileSync"));
    assert.deepEqual(new Set(r.components.map((c) => c.kind)), new Set(["function", "declaration", "statement", "package"]));
    assert.deepEqual(r.warnings, []);
  });

  test("files lists the closure's source files, absolute and sorted: no package, no type-only import", () => {
    const real = realpathSync(dir);
    assert.deepEqual(r.files, [join(real, "src/lib/math.ts"), join(real, "src/train.ts")]);
  });

  test("components are sorted by key, and the hash is a 64-hex sha256", () => {
    const keys = r.components.map((c) => c.key);
    assert.deepEqual(keys, [...keys].sort());
    assert.match(r.hash, /^[0-9a-f]{64}$/);
  });

  test("an import that cannot be resolved (a missing file, a package not installed) is a component with a warning", () => {
    const d = project({ "main.ts": `import { h } from "./missing.js";\nimport ghost from "ghost-pkg";\nexport function f(x: number) { return h(ghost(x)); }\n` });
    const w = hashExportedFunction(join(d, "main.ts"), "f");
    assert.deepEqual(
      w.components.filter((c) => c.kind !== "function").map((c) => [c.kind, c.name, c.hash]),
      [
        ["unresolved", "./missing.js", "?"],
        ["unresolved", "ghost-pkg", "?"],
      ],
    );
    assert.equal(w.warnings.length, 2);
    assert.ok(w.warnings.some((m) => m.includes("./missing.js")));
    assert.ok(w.warnings.some((m) => m.includes("ghost-pkg")));
  });
});

// ---------------------------------------------------------------------------------------------

describe("function hash: bad input, parsing and termination", () => {
  test("a missing export throws InvalidInputError naming the export (SPEC: a missing export exits 2)", () => {
    const d = project({ "main.ts": `export function f() { return 1; }\n` });
    assert.throws(() => hashExportedFunction(join(d, "main.ts"), "nope"), (err: unknown) => err instanceof InvalidInputError && /"nope"/.test(err.message));
    assert.throws(() => hashExportedFunction(join(d, "main.ts")), InvalidInputError, "no default export");
    assert.throws(() => hashTopLevelFunction(join(d, "main.ts"), "nope"), InvalidInputError);
  });

  test("a re-export cycle (`export *` both ways) without the name ends in InvalidInputError, not a hang", () => {
    const d = project({ "a.ts": `export * from "./b.js";\n`, "b.ts": `export * from "./a.js";\nexport const other = 1;\n` });
    assert.throws(() => hashExportedFunction(join(d, "a.ts"), "f"), InvalidInputError);
  });

  test("a missing file throws InvalidInputError naming the file", () => {
    const d = project({});
    assert.throws(() => hashExportedFunction(join(d, "absent.ts"), "f"), (err: unknown) => err instanceof InvalidInputError && err.message.includes("absent.ts"));
  });

  test("a syntax error throws InvalidInputError naming the file, also in an imported module or JSON file", () => {
    const d = project({
      "broken.ts": `export function f( {\n  return 1;\n`,
      "main.ts": `import { h } from "./bad-dep.js";\nexport function f() { return h(); }\n`,
      "bad-dep.ts": `export function h() { return 1 +; }\n`,
      "uses-json.ts": `import d from "./bad.json" with { type: "json" };\nexport function f() { return d; }\n`,
      "bad.json": `{ "a": 1, }`,
    });
    assert.throws(() => hashExportedFunction(join(d, "uses-json.ts"), "f"), (err: unknown) => err instanceof InvalidInputError && err.message.includes("bad.json"));
    assert.throws(() => hashExportedFunction(join(d, "broken.ts"), "f"), (err: unknown) => err instanceof InvalidInputError && err.message.includes("broken.ts"));
    assert.throws(() => hashExportedFunction(join(d, "main.ts"), "f"), (err: unknown) => err instanceof InvalidInputError && err.message.includes("bad-dep.ts"));
  });

  test("a module with JSX (.tsx) parses, and the components it renders are components", () => {
    const d = project({
      "app.tsx": `import { Button } from "./button.js";\ntype P = { label: string };\nexport default function App({ label }: P) { return <><Button label={label} /><span>{label as string}</span></>; }\n`,
      "button.tsx": `export function Button(p: { label: string }) { return <button>{p.label}</button>; }\n`,
    });
    const r = hashExportedFunction(join(d, "app.tsx"));
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.ok(r.components.some((c) => c.name === "Button" && c.file === "button.tsx"));
  });

  test("mutual recursion (f ↔ g across two modules, and a three-module cycle) terminates", async () => {
    const d = project({
      "main.ts": `import { g } from "./g.js";\nexport function f(n: number): number { return n <= 0 ? 0 : g(n - 1); }\n`,
      "g.ts": `import { f } from "./main.js";\nimport { k } from "./k.js";\nexport function g(n: number): number { return n <= 0 ? 1 : f(k(n)); }\n`,
      "k.ts": `import { f } from "./main.js";\nexport function k(n: number): number { return n > 100 ? f(n) : n - 1; }\nexport function self(n: number): number { return n ? self(n - 1) : 0; }\n`,
    });
    // In a child with a time limit, so a hang fails this test instead of stalling the suite.
    const moduleUrl = new URL("../../../plumbing/hash/function.js", import.meta.url).href;
    const script = `const m = await import(${JSON.stringify(moduleUrl)});\nconst r = m.hashExportedFunction(${JSON.stringify(join(d, "main.ts"))}, "f");\nconst s = m.hashExportedFunction(${JSON.stringify(join(d, "k.ts"))}, "self");\nprocess.stdout.write(JSON.stringify([r.hash, r.components.map((c) => c.key), s.hash]));\n`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 10_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`hashing a recursive closure did not finish: ${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const [hash, keys] = JSON.parse(out) as [string, string[], string];
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(keys, [".#f", "g.ts#g", "k.ts#k"]);
    assert.equal(hashExportedFunction(join(d, "main.ts"), "f").hash, hash);
  });
});
