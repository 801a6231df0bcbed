// The invalidation matrix for real-world setups (SPEC §3), end to end through the CLI: each case is
// a small project on disk (real files, real relative symlinks) that Node 20 + tsx runs for real.
// A semantic edit must change `hash-fn` and make `run` miss and return the new result; a cosmetic
// or type-only edit must keep the hash and hit; a `cp -a` copy elsewhere hashes the same and hits.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import type { CliResult } from "../helpers/cli.js";
import { cashetIn, copyProject, writeFiles, writeProject, type Files, type Links } from "../helpers/projects.js";

// ---------------------------------------------------------------------------------------------
// The table. Every edit is applied to a fresh copy of the base project, in the same directory.

interface Edit {
  /** What the edit does, as it reads in a test name. */
  what: string;
  /** The files it (over)writes. */
  files: Files;
}
interface SemanticEdit extends Edit {
  /** What the task returns after the edit (checked against `--no-cache` too). */
  result: unknown;
}

/** The base project of a case as a check sees it: its root, its store, and the CLI run in the root with that store. */
interface Project {
  root: string;
  store: string;
  cli: (args: string[], env?: Record<string, string>) => Promise<CliResult>;
}

interface Case {
  name: string;
  files: Files;
  links?: Links;
  /** `file#export`, relative to the project root (the working directory of every command). */
  target: string;
  args?: string[];
  /** What the task returns before any edit. */
  first: unknown;
  semantic: SemanticEdit[];
  cosmetic: Edit[];
  /** Further checks on the base project, each its own test. */
  more?: Array<{ name: string; check: (p: Project) => Promise<void> }>;
}

const ESM = { "package.json": JSON.stringify({ name: "fixture", private: true, type: "module" }) };

// 1. A pnpm workspace: the app's node_modules holds a relative link into the workspace.
const UTIL_PKG = JSON.stringify({ name: "@me/util", version: "1.0.0", type: "module", exports: "./index.js" });
const UTIL_JS = `export function u() {\n  return 1;\n}\nexport function other() {\n  return "o1";\n}\n`;
const pnpm: Case = {
  name: "workspace (pnpm-style link)",
  files: {
    "package.json": JSON.stringify({ name: "ws", private: true }),
    "pnpm-workspace.yaml": "packages:\n  - app\n  - packages/*\n",
    "packages/util/package.json": UTIL_PKG,
    "packages/util/index.js": UTIL_JS,
    "app/package.json": JSON.stringify({ name: "app", private: true, type: "module", dependencies: { "@me/util": "workspace:*" } }),
    "app/task.ts": `import { u } from "@me/util";\nexport function task(): number {\n  return u();\n}\n`,
  },
  // from app/node_modules/@me/ three levels up is the workspace root
  links: { "app/node_modules/@me/util": "../../../packages/util" },
  target: "app/task.ts#task",
  first: 1,
  semantic: [{ what: "editing the linked package's code", files: { "packages/util/index.js": UTIL_JS.replace("return 1;", "return 2;") }, result: 2 }],
  cosmetic: [{ what: "adding a comment to the linked package's code", files: { "packages/util/index.js": `// the util package\n${UTIL_JS.replace("return 1;", "return 1; // one")}` } }],
};

// 2. An npm workspace: links in the root node_modules, a root lockfile that records them.
const npmLock = JSON.stringify(
  {
    name: "ws",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "ws", workspaces: ["packages/*"] },
      "node_modules/@me/app": { resolved: "packages/app", link: true },
      "node_modules/@me/util": { resolved: "packages/util", link: true },
      "packages/app": { name: "@me/app", version: "1.0.0", dependencies: { "@me/util": "1.0.0" } },
      "packages/util": { name: "@me/util", version: "1.0.0" },
    },
  },
  null,
  2,
);
const npmWorkspace: Case = {
  name: "workspace (npm workspaces)",
  files: {
    "package.json": JSON.stringify({ name: "ws", private: true, type: "module", workspaces: ["packages/*"] }),
    "package-lock.json": npmLock,
    "packages/util/package.json": UTIL_PKG,
    "packages/util/index.js": UTIL_JS,
    "packages/app/package.json": JSON.stringify({ name: "@me/app", version: "1.0.0", type: "module", dependencies: { "@me/util": "1.0.0" } }),
    "packages/app/task.ts": `import { u } from "@me/util";\nexport function task(): number {\n  return u();\n}\n`,
  },
  links: { "node_modules/@me/util": "../../packages/util", "node_modules/@me/app": "../../packages/app" },
  target: "packages/app/task.ts#task",
  first: 1,
  semantic: [{ what: "editing the workspace package's code", files: { "packages/util/index.js": UTIL_JS.replace("return 1;", "return 2;") }, result: 2 }],
  cosmetic: [
    { what: "adding a comment to the workspace package's code", files: { "packages/util/index.js": `/* util */\n${UTIL_JS}` } },
    { what: "editing an export of the workspace package the task does not use", files: { "packages/util/index.js": UTIL_JS.replace(`"o1"`, `"o2"`) } },
  ],
};

// 3. Barrels: re-exports of a module of the project, and of an installed package.
const V_TS = `export function v(): number {\n  return 1;\n}\nexport function w(): string {\n  return "w1";\n}\n`;
const USES_V = `import { v } from "./barrel.js";\nexport function task() {\n  return v();\n}\n`;
const USES_NS = `import { ns } from "./barrel.js";\nexport function task() {\n  return ns.v();\n}\n`;
function localBarrel(kind: string, barrel: string, task: string, otherExportHits: boolean): Case {
  const cosmetic: Edit[] = [{ what: "adding comments to the re-exported module and the barrel", files: { "v.ts": `// values\n${V_TS}`, "barrel.ts": `// the barrel\n${barrel}` } }];
  if (otherExportHits) cosmetic.push({ what: "editing another export of the re-exported module the task does not use", files: { "v.ts": V_TS.replace(`"w1"`, `"w2"`) } });
  return {
    name: `barrel (${kind})`,
    files: { ...ESM, "v.ts": V_TS, "barrel.ts": barrel, "task.ts": task },
    target: "task.ts#task",
    first: 1,
    semantic: [{ what: "editing the re-exported function", files: { "v.ts": V_TS.replace("return 1;", "return 2;") }, result: 2 }],
    cosmetic,
  };
}
const kit = (version: string, value: number): Files => ({
  "node_modules/kit/package.json": JSON.stringify({ name: "kit", version, type: "module", exports: "./index.js" }),
  "node_modules/kit/index.js": `export function v() {\n  return ${value};\n}\nexport function w() {\n  return "w";\n}\n`,
});
function packageBarrel(kind: string, barrel: string, task: string): Case {
  return {
    name: `barrel of a package (${kind})`,
    files: { ...ESM, ...kit("1.0.0", 1), "barrel.ts": barrel, "task.ts": task },
    target: "task.ts#task",
    first: 1,
    semantic: [{ what: "upgrading the re-exported package 1.0.0 → 2.0.0", files: kit("2.0.0", 2), result: 2 }],
    cosmetic: [{ what: "adding comments to the barrel and the task", files: { "barrel.ts": `// the barrel\n${barrel}`, "task.ts": `// the task\n${task}` } }],
  };
}
const barrels: Case[] = [
  localBarrel("export { v } from", `export { v } from "./v.js";\n`, USES_V, true),
  localBarrel("export * from", `export * from "./v.js";\n`, USES_V, true),
  localBarrel("export * as ns from", `export * as ns from "./v.js";\n`, USES_NS, false),
  packageBarrel("export { v } from", `export { v } from "kit";\n`, USES_V),
  packageBarrel("export * from", `export * from "kit";\n`, USES_V),
  packageBarrel("export * as ns from", `export * as ns from "kit";\n`, USES_NS),
];

// 4. Module state set by a top-level call, in the task's module and through another module.
const INIT = `let LIMIT = 1;\nfunction init() {\n  LIMIT = 10;\n}\ninit();\nexport function task() {\n  return LIMIT;\n}\n`;
const CONFIG = `let level = 1;\nexport function configure(n: number) {\n  level = n;\n}\nexport function getLevel() {\n  return level;\n}\n`;
const CONFIGURED = `import { configure, getLevel } from "./config.js";\nconfigure(2);\nexport function task() {\n  return getLevel();\n}\n`;
const state: Case[] = [
  {
    name: "top-level call sets module state",
    files: { ...ESM, "task.ts": INIT },
    target: "task.ts#task",
    first: 10,
    semantic: [{ what: "editing the function the top-level call runs", files: { "task.ts": INIT.replace("LIMIT = 10;", "LIMIT = 20;") }, result: 20 }],
    cosmetic: [{ what: "reformatting the module", files: { "task.ts": `let LIMIT=1\nfunction init(){ LIMIT=10 }\ninit()\n\nexport function task(){ return LIMIT }\n` } }],
  },
  {
    name: "top-level call into another module sets its state",
    files: { ...ESM, "config.ts": CONFIG, "task.ts": CONFIGURED },
    target: "task.ts#task",
    first: 2,
    semantic: [{ what: "changing the argument of the top-level call", files: { "task.ts": CONFIGURED.replace("configure(2)", "configure(3)") }, result: 3 }],
    cosmetic: [
      { what: "reformatting and commenting the top-level call", files: { "task.ts": CONFIGURED.replace("configure(2);", "configure( 2 ) // level two") } },
      { what: "adding a type annotation in the configured module", files: { "config.ts": CONFIG.replace("let level = 1;", "let level: number = 1;") } },
    ],
  },
];

// 5. A side-effect import sets a global the task reads.
const SETUP = `(globalThis as any).RATE = 2;\n`;
const sideEffect: Case = {
  name: "side-effect import",
  files: { ...ESM, "setup.ts": SETUP, "task.ts": `import "./setup.js";\nexport function task(): number {\n  return (globalThis as any).RATE * 10;\n}\n` },
  target: "task.ts#task",
  first: 20,
  semantic: [{ what: "editing the value the imported-for-effect module sets", files: { "setup.ts": SETUP.replace("= 2", "= 3") }, result: 30 }],
  cosmetic: [
    { what: "adding a comment to the imported-for-effect module", files: { "setup.ts": `// sets the rate\n${SETUP}` } },
    { what: "changing a cast in the imported-for-effect module (type-only)", files: { "setup.ts": `(globalThis as { RATE?: number }).RATE = 2;\n` } },
  ],
};

// 6. tsconfig `extends`: a base file's option that changes the emitted class fields. tsx prints 5
// with useDefineForClassFields false (B's field is an assignment: A's setter runs) and 0 with true
// (B's field is defined on the instance, shadowing the setter) — checked by hand with --no-cache.
const CLASSES = `class A {\n  seen = 0;\n  set x(v: number) {\n    this.seen = v;\n  }\n}\nclass B extends A {\n  x = 5;\n}\nexport function task() {\n  return new B().seen;\n}\n`;
const tsBase = (options: Record<string, unknown>): string => JSON.stringify({ compilerOptions: options }, null, 2);
const tsconfigExtends: Case = {
  name: "tsconfig extends",
  files: { ...ESM, "tsconfig.json": JSON.stringify({ extends: "./tsconfig.base.json" }), "tsconfig.base.json": tsBase({ useDefineForClassFields: false }), "task.ts": CLASSES },
  target: "task.ts#task",
  first: 5,
  semantic: [{ what: "flipping useDefineForClassFields in the extended tsconfig", files: { "tsconfig.base.json": tsBase({ useDefineForClassFields: true }) }, result: 0 }],
  cosmetic: [{ what: "adding noUnusedLocals (no effect on emitted JS) to the extended tsconfig", files: { "tsconfig.base.json": tsBase({ useDefineForClassFields: false, noUnusedLocals: true }) } }],
};

// 7. package.json `imports` (subpath imports), mapped straight to .ts files.
const H_TS = `export function h(): number {\n  return 1;\n}\n`;
const subpathImports: Case = {
  name: "package.json imports (#internal/*)",
  files: {
    "package.json": JSON.stringify({ name: "fixture", private: true, type: "module", imports: { "#internal/*": "./src/internal/*.ts" } }),
    "src/internal/h.ts": H_TS,
    "task.ts": `import { h } from "#internal/h";\nexport function task() {\n  return h();\n}\n`,
  },
  target: "task.ts#task",
  first: 1,
  semantic: [{ what: "editing the module #internal/h maps to", files: { "src/internal/h.ts": H_TS.replace("return 1;", "return 2;") }, result: 2 }],
  cosmetic: [{ what: "adding a comment to the module #internal/h maps to", files: { "src/internal/h.ts": `// internal\n${H_TS}` } }],
};

// 8. tsconfig `paths` (tsx resolves them).
const MATH = `export function add(a: number, b: number): number {\n  return a + b;\n}\n`;
const tsconfigPaths: Case = {
  name: "tsconfig paths (@lib/*)",
  files: {
    ...ESM,
    "tsconfig.json": JSON.stringify({ compilerOptions: { baseUrl: ".", paths: { "@lib/*": ["src/lib/*"] } } }),
    "src/lib/math.ts": MATH,
    "task.ts": `import { add } from "@lib/math";\nexport function task(a: number, b: number) {\n  return add(a, b);\n}\n`,
  },
  target: "task.ts#task",
  args: ["2", "3"],
  first: 5,
  semantic: [{ what: "editing the module @lib/math maps to", files: { "src/lib/math.ts": MATH.replace("a + b", "a * b") }, result: 6 }],
  cosmetic: [{ what: "adding a comment to the module @lib/math maps to", files: { "src/lib/math.ts": `/** math */\n${MATH}` } }],
};

// 9. The lockfile's integrity of an installed package, at the same version (a republished tarball).
const integrity = (seed: string): string => `sha512-${createHash("sha512").update(seed).digest("base64")}`;
function lockfiles(kitIntegrity: string, padVersion: string): Files {
  const packages = {
    "node_modules/kit": { version: "1.0.0", resolved: "https://registry.npmjs.org/kit/-/kit-1.0.0.tgz", integrity: kitIntegrity },
    "node_modules/left-pad": { version: padVersion, resolved: `https://registry.npmjs.org/left-pad/-/left-pad-${padVersion}.tgz`, integrity: integrity(`left-pad@${padVersion}`) },
  };
  const root = { name: "lockapp", version: "1.0.0", dependencies: { kit: "^1.0.0", "left-pad": "^1.0.0" } };
  return {
    "package-lock.json": JSON.stringify({ name: "lockapp", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": root, ...packages } }, null, 2),
    "node_modules/.package-lock.json": JSON.stringify({ name: "lockapp", version: "1.0.0", lockfileVersion: 3, requires: true, packages }, null, 2),
    "node_modules/left-pad/package.json": JSON.stringify({ name: "left-pad", version: padVersion, main: "index.js" }),
  };
}
const lockfileIntegrity: Case = {
  name: "lockfile integrity at the same version",
  files: {
    "package.json": JSON.stringify({ name: "lockapp", version: "1.0.0", type: "module", dependencies: { kit: "^1.0.0", "left-pad": "^1.0.0" } }),
    ...kit("1.0.0", 1),
    "node_modules/left-pad/index.js": `module.exports = (s, n) => String(s).padStart(n);\n`,
    ...lockfiles(integrity("kit@1.0.0 first publish"), "1.3.0"),
    "task.ts": `import { v } from "kit";\nexport function task() {\n  return v();\n}\n`,
  },
  target: "task.ts#task",
  first: 1,
  // the code and the version are the same, so the result is too; the key must still change
  semantic: [{ what: "changing only the lockfile integrity of the imported package", files: lockfiles(integrity("kit@1.0.0 second publish"), "1.3.0"), result: 1 }],
  cosmetic: [{ what: "changing only the lockfile entry of a package the task does not import", files: lockfiles(integrity("kit@1.0.0 first publish"), "1.3.1") }],
};

// 10. A local that shadows a module-level declaration.
const SHADOW = `function helper() {\n  return 1;\n}\nexport function task() {\n  const helper = () => 2;\n  return helper();\n}\n`;
const shadowing: Case = {
  name: "shadowing local",
  files: { ...ESM, "task.ts": SHADOW },
  target: "task.ts#task",
  first: 2,
  semantic: [{ what: "editing the local that shadows the helper", files: { "task.ts": SHADOW.replace("() => 2", "() => 3") }, result: 3 }],
  cosmetic: [{ what: "editing the module-level helper the local shadows", files: { "task.ts": SHADOW.replace("return 1;", "return 100;") } }],
};

// 11. Namespace imports: only the members used count, unless the namespace object escapes.
const CORE = `export function a() {\n  return 1;\n}\nexport function b() {\n  return "b1";\n}\n`;
const editB = { "core.ts": CORE.replace(`"b1"`, `"b2"`) };
const namespaces: Case[] = [
  {
    name: "namespace import (members used)",
    files: { ...ESM, "core.ts": CORE, "task.ts": `import * as core from "./core.js";\nexport function task() {\n  return core.a();\n}\n` },
    target: "task.ts#task",
    first: 1,
    semantic: [{ what: "editing the member the task uses", files: { "core.ts": CORE.replace("return 1;", "return 2;") }, result: 2 }],
    cosmetic: [{ what: "editing a member the task does not use", files: editB }],
  },
  {
    name: "namespace import (escapes into Object.values)",
    files: { ...ESM, "core.ts": CORE, "task.ts": `import * as core from "./core.js";\nexport function task() {\n  return Object.values(core).map((f) => f()).join(",");\n}\n` },
    target: "task.ts#task",
    first: "1,b1",
    semantic: [{ what: "editing a member not named in the task", files: editB, result: "1,b2" }],
    cosmetic: [{ what: "adding a comment to the namespace's module", files: { "core.ts": `// core\n${CORE}` } }],
  },
  {
    name: "namespace import (passed to a function)",
    files: {
      ...ESM,
      "core.ts": CORE,
      "task.ts": `import * as core from "./core.js";\nfunction callAll(m: Record<string, () => unknown>): string {\n  return Object.keys(m).map((k) => String(m[k]!())).join("+");\n}\nexport function task() {\n  return callAll(core);\n}\n`,
    },
    target: "task.ts#task",
    first: "1+b1",
    semantic: [{ what: "editing a member not named in the task", files: editB, result: "1+b2" }],
    cosmetic: [{ what: "adding a comment to the namespace's module", files: { "core.ts": `// core\n${CORE}` } }],
  },
];

// 12. Spellings of the same value.
const SPELL = "export function task() {\n  const a = 1;\n  return { s: `abc`, o: { a } };\n}\n";
const spellings: Case = {
  name: "cosmetic spellings",
  files: { ...ESM, "task.ts": SPELL },
  target: "task.ts#task",
  first: { s: "abc", o: { a: 1 } },
  semantic: [{ what: "changing the template literal's text", files: { "task.ts": SPELL.replace("`abc`", "`abd`") }, result: { s: "abd", o: { a: 1 } } }],
  cosmetic: [
    { what: "spelling a template literal character as a \\u escape", files: { "task.ts": SPELL.replace("`abc`", "`\\u0061bc`") } },
    { what: "spelling a shorthand property in full", files: { "task.ts": SPELL.replace("{ a }", "{ a: a }") } },
  ],
};

// 13. A .ts file of the CommonJS kind (no package.json, as in the README's first example) with a
// relative dynamic import, and the stack a failing task stores.
const X_TS = `export function x(): number {\n  return 1;\n}\n`;
const CJS_TASK = `export async function task() {\n  const { x } = await import("./x.js");\n  return x();\n}\nexport function boom(): never {\n  throw new Error("kaboom");\n}\n`;
const commonjs: Case = {
  name: "CommonJS-kind .ts (no \"type\": \"module\")",
  files: { "x.ts": X_TS, "task.ts": CJS_TASK },
  target: "task.ts#task",
  first: 1,
  semantic: [{ what: "editing the dynamically imported module", files: { "x.ts": X_TS.replace("return 1;", "return 2;") }, result: 2 }],
  cosmetic: [{ what: "adding a comment to the dynamically imported module", files: { "x.ts": `// x\n${X_TS}` } }],
  more: [
    {
      name: "a failing task's stored stack names task.ts with its line and holds no data: URL",
      async check({ cli }) {
        const failed = await cli(["run", "task.ts#boom", "--json"]);
        assert.equal(failed.code, 1, failed.stderr);
        const log = await cli(["log", "--json", "--status", "failed"]);
        assert.equal(log.code, 0, log.stderr);
        const commit = (JSON.parse(log.out) as Array<{ id: string; func: { name: string } }>).find((c) => c.func.name === "boom");
        assert.ok(commit, `no failed commit of boom in ${log.out}`);
        const shown = await cli(["show", commit.id, "--json"]);
        assert.equal(shown.code, 0, shown.stderr);
        const stack = (JSON.parse(shown.out) as { error: { stack: string } | null }).error?.stack ?? "";
        assert.match(stack, /task\.ts:6:\d+/, "the throw is on line 6 of task.ts");
        assert.doesNotMatch(stack, /data:/);
      },
    },
  ],
};

// 14. What the key cannot see is named as such.
const UNTRACKED = `export function task() {\n  return process.env.CASHET_TEST_X ?? "unset";\n}\nexport function stamp() {\n  return Date.now();\n}\nexport function roll() {\n  return Math.random();\n}\n`;
function namesUntracked(fn: string, reads: string): { name: string; check: (p: Project) => Promise<void> } {
  return {
    name: `hash-fn names ${reads} as not in the key (--explain, and untracked in --json)`,
    async check({ cli }) {
      const explained = await cli(["hash-fn", `task.ts#${fn}`, "--explain"]);
      assert.equal(explained.code, 0, explained.stderr);
      const text = explained.out + explained.stderr;
      assert.ok(text.includes(reads), `--explain does not mention ${reads}:\n${text}`);
      assert.match(text, /not in the key/i);
      const json = await cli(["hash-fn", `task.ts#${fn}`, "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const untracked = (JSON.parse(json.out) as { untracked?: unknown }).untracked;
      assert.ok(Array.isArray(untracked), `no untracked array in ${json.out}`);
      assert.ok(untracked.some((u) => typeof u === "string" && u.includes(reads)), `untracked does not name ${reads}: ${JSON.stringify(untracked)}`);
    },
  };
}
const untracked: Case = {
  name: "untracked reads (process.env, Date.now, Math.random)",
  files: { ...ESM, "task.ts": UNTRACKED },
  target: "task.ts#task",
  first: "unset",
  semantic: [{ what: "changing the fallback value", files: { "task.ts": UNTRACKED.replace(`"unset"`, `"none"`) }, result: "none" }],
  cosmetic: [{ what: "adding a comment", files: { "task.ts": `// reads the environment\n${UNTRACKED}` } }],
  more: [
    namesUntracked("task", "process.env.CASHET_TEST_X"),
    namesUntracked("stamp", "Date.now"),
    namesUntracked("roll", "Math.random"),
    {
      // The key cannot see it, so the run observes it (SPEC §3 "Observed inputs").
      name: "a changed env var the task read misses",
      async check({ cli }) {
        const run = async (env: Record<string, string> = {}): Promise<{ cached: boolean; result: unknown }> => runJson(await cli(["run", "task.ts#task", "--json"], env));
        assert.equal((await run()).result, "unset");
        assert.deepEqual(await run({ CASHET_TEST_X: "on" }), { cached: false, result: "on" });
        assert.deepEqual(await run({ CASHET_TEST_X: "on" }), { cached: true, result: "on" });
        assert.deepEqual(await run({ CASHET_TEST_X: "off" }), { cached: false, result: "off" });
        assert.deepEqual(await run(), { cached: true, result: "unset" }, "unset again: the first result");
      },
    },
  ],
};

const CASES: Case[] = [
  pnpm,
  npmWorkspace,
  ...barrels,
  ...state,
  sideEffect,
  tsconfigExtends,
  subpathImports,
  tsconfigPaths,
  lockfileIntegrity,
  shadowing,
  ...namespaces,
  spellings,
  commonjs,
  untracked,
];

// ---------------------------------------------------------------------------------------------
// The checks each case generates.

function hashOf(r: CliResult): string {
  assert.equal(r.code, 0, `hash-fn failed: ${r.stderr}`);
  return (JSON.parse(r.out) as { hash: string }).hash;
}
function runJson(r: CliResult): { cached: boolean; result: unknown } {
  assert.equal(r.code, 0, `run failed: ${r.stderr}`);
  const { cached, result } = JSON.parse(r.out) as { cached: boolean; result: unknown };
  return { cached, result };
}
const slug = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

const top = mkdtempSync(join(tmpdir(), "cashet-soundness-"));
const stores: string[] = [];
after(async () => {
  for (const dir of stores) await new FsStore(dir).stopDaemon().catch(() => undefined);
  rmSync(top, { recursive: true, force: true });
});

for (const c of CASES) {
  describe(c.name, () => {
    const id = slug(c.name);
    const root = join(top, "projects", id);
    const store = join(top, "stores", id);
    stores.push(store);
    const cliIn = (dir: string) => (args: string[], env: Record<string, string> = {}) => cashetIn(dir, args, { CASHET_DIR: store, ...env });
    const cli = cliIn(root);
    const hashFn = (at = cli) => at(["hash-fn", c.target, "--json"]);
    const run = (at = cli, extra: string[] = []) => at(["run", c.target, ...(c.args ?? []), "--json", ...extra]);
    const base = (): void => writeProject(root, c.files, c.links);
    let h0: CliResult;
    let r0: CliResult;

    before(async () => {
      base();
      h0 = await hashFn();
      r0 = await run();
    });

    test(`${c.name}: the first run misses and returns ${JSON.stringify(c.first)}`, () => {
      hashOf(h0);
      assert.deepEqual(runJson(r0), { cached: false, result: c.first });
    });

    for (const edit of c.cosmetic) {
      describe(`${c.name}: ${edit.what}`, () => {
        let h: CliResult;
        let r: CliResult;
        before(async () => {
          base();
          writeFiles(root, edit.files);
          h = await hashFn();
          r = await run();
        });
        test(`${c.name}: ${edit.what} keeps the hash-fn hash`, () => {
          assert.equal(hashOf(h), hashOf(h0));
        });
        test(`${c.name}: ${edit.what} hits with the old result`, () => {
          assert.deepEqual(runJson(r), { cached: true, result: c.first });
        });
      });
    }

    for (const edit of c.semantic) {
      describe(`${c.name}: ${edit.what}`, () => {
        let h: CliResult;
        let r: CliResult;
        let fresh: CliResult;
        before(async () => {
          base();
          writeFiles(root, edit.files);
          h = await hashFn();
          r = await run();
          fresh = await run(cli, ["--no-cache"]);
        });
        test(`${c.name}: ${edit.what} changes the hash-fn hash`, () => {
          assert.notEqual(hashOf(h), hashOf(h0));
        });
        test(`${c.name}: ${edit.what} misses and returns the new result`, () => {
          assert.deepEqual(runJson(fresh).result, edit.result, "--no-cache returns the value the table expects");
          assert.deepEqual(runJson(r), { cached: false, result: edit.result });
        });
      });
    }

    describe(`${c.name}: a cp -a copy at another path and depth`, () => {
      const copy = join(top, "elsewhere", "one", "level", "deeper", id);
      let h: CliResult;
      let r: CliResult;
      before(async () => {
        base();
        copyProject(root, copy);
        for (const [link, target] of Object.entries(c.links ?? {})) assert.equal(readlinkSync(join(copy, link)), target, "the copy keeps relative links relative");
        h = await hashFn(cliIn(copy));
        r = await run(cliIn(copy));
      });
      test(`${c.name}: a copy at another path and depth has the same hash-fn hash`, () => {
        assert.equal(hashOf(h), hashOf(h0));
      });
      test(`${c.name}: a copy at another path and depth hits the same store`, () => {
        assert.deepEqual(runJson(r), { cached: true, result: c.first });
      });
    });

    for (const extra of c.more ?? []) {
      test(`${c.name}: ${extra.name}`, () => {
        base();
        return extra.check({ root, store, cli });
      });
    }
  });
}
