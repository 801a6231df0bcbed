// The scope analysis of the function hash (plumbing/hash/scope.ts) against
// @typescript-eslint/scope-manager, the library that reads scopes for typescript-eslint: for every
// top-level declaration of real TypeScript (this project's own sources) and of tricky snippets,
// every value reference the library resolves outside the declaration must be a use we report
// (a missed one is a stale hit). We may report more (a needless re-run); the snippets pin where.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { analyze } from "@typescript-eslint/scope-manager";
import type { TSESTree } from "@typescript-eslint/types";
import { parseSync } from "oxc-parser";
import { isTypeOnly, normalize } from "../../../plumbing/hash/normalize.js";
import { analyseScope } from "../../../plumbing/hash/scope.js";

type Node = { type: string; range: [number, number]; [k: string]: unknown };

const TYPE_NODES = new Set(["TSTypeAnnotation", "TSTypeParameterInstantiation", "TSTypeParameterDeclaration", "TSInterfaceDeclaration", "TSTypeAliasDeclaration", "TSDeclareFunction"]);

/** Names each top-level statement of `source` reads from outside itself, by the library. */
function oracle(source: string, lang: "ts" | "tsx" | "js"): Array<{ stmt: Node; names: Set<string> }> {
  const program = parseSync(`x.${lang}`, source, { lang, sourceType: "module", range: true } as never).program as unknown as TSESTree.Program;
  const manager = analyze(program, { sourceType: "module", jsxPragma: null, lib: ["esnext", "dom"] });
  // `typeof x` in a type and other type positions are erased at run time: not dependencies
  const typeRanges: Array<[number, number]> = [];
  const collect = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(collect);
    if (!n || typeof n !== "object") return;
    const node = n as Node;
    if (TYPE_NODES.has(node.type) || /^TS\w*(Type|Keyword)$/.test(node.type) || node.type === "TSTypeQuery") return void typeRanges.push(node.range);
    for (const v of Object.values(node)) if (v && typeof v === "object") collect(v);
  };
  collect(program);
  const inType = (a: number): boolean => typeRanges.some(([s, e]) => a >= s && a < e);
  const out: Array<{ stmt: Node; names: Set<string> }> = [];
  for (const stmt of program.body as unknown as Node[]) {
    const [start, end] = stmt.range;
    const names = new Set<string>();
    for (const scope of manager.scopes) {
      for (const ref of scope.references) {
        if (!ref.isValueReference) continue;
        const [a, b] = ref.identifier.range;
        if (a < start || b > end || inType(a)) continue;
        const decl = ref.resolved;
        // resolved inside the statement itself: local
        const local = decl?.defs.some((d) => d.node.range[0] >= start && d.node.range[1] <= end && d.name.range[0] > start);
        if (!local || !decl) names.add(ref.identifier.name);
      }
    }
    out.push({ stmt, names });
  }
  return out;
}

/** What we report for the same statements (analysed as module.ts does: one statement at a time). */
function ours(stmt: Node): Set<string> {
  let node: Node = stmt;
  if ((stmt.type === "ExportNamedDeclaration" || stmt.type === "ExportDefaultDeclaration") && stmt.declaration) node = stmt.declaration as Node;
  return new Set(analyseScope(normalize(node)).uses.keys());
}

function sourcesOf(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourcesOf(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));

describe("scope analysis agrees with @typescript-eslint/scope-manager", () => {
  test("no value reference the library resolves outside a declaration is missed, over this project's sources", () => {
    let statements = 0;
    let extra = 0;
    for (const dir of ["plumbing", "porcelain", "lib", "cmd"]) {
      for (const file of sourcesOf(join(ROOT, dir))) {
        const source = readFileSync(file, "utf8");
        for (const { stmt, names } of oracle(source, "ts")) {
          const inner = (stmt.declaration as Node | undefined) ?? stmt;
          // module.ts never analyses imports, re-exports or what only the type checker sees
          if (stmt.type === "ImportDeclaration" || stmt.source || isTypeOnly(stmt) || isTypeOnly(inner)) continue;
          statements++;
          const mine = ours(stmt);
          const missed = [...names].filter((n) => !mine.has(n));
          assert.deepEqual(missed, [], `${file}: statement at ${stmt.range[0]} misses ${missed.join(", ")}`);
          extra += [...mine].filter((n) => !names.has(n)).length;
        }
      }
    }
    assert.ok(statements > 500, `${statements} statements compared`);
    // extras are names we cannot rule out (a class reading itself, JSX's React): few
    assert.ok(extra < statements / 10, `${extra} extra uses over ${statements} statements`);
  });

  const SNIPPETS: Array<{ what: string; code: string; lang?: "ts" | "tsx"; uses: string[] }> = [
    { what: "a local that shadows a module name is not a use", code: `function f() { const helper = () => 2; return helper(); }`, uses: [] },
    { what: "a parameter shadows; its default value is read outside", code: `function f(helper = fallback) { return helper(); }`, uses: ["fallback"] },
    { what: "var is function-scoped, let is block-scoped", code: `function f() { { var a = 1; let b = 2; } return a + b; }`, uses: ["b"] },
    { what: "a block function declaration does not leak (strict mode)", code: `function f() { { function g() {} } return g(); }`, uses: ["g"] },
    { what: "catch parameters and loop variables are local", code: `function f(xs) { for (const x of xs) {} try {} catch (e) { return e + x; } }`, uses: ["x"] },
    { what: "a named function expression binds its name inside", code: `const f = function g() { return g; };`, uses: [] },
    { what: "class members: keys are not reads, computed keys and static initializers are", code: `class C { a = x; [k] = 1; static s = y; m() { return this.a + z; } }`, uses: ["k", "x", "y", "z"] },
    { what: "object keys and member names are not reads; shorthand values are", code: `function f() { return { a: 1, b, [c]: d }.e + o.p; }`, uses: ["b", "c", "d", "o"] },
    { what: "labels are not variables", code: `function f() { outer: for (;;) { break outer; } }`, uses: [] },
    { what: "destructuring binds; defaults and computed keys are read", code: `function f({ a = x, [k]: b }, [c, ...d]) { return a + b + c + d; }`, uses: ["k", "x"] },
    { what: "enum members refer to each other, not to module names", code: `enum E { A = 1, B = A * 2, C = LIMIT }`, uses: ["LIMIT"] },
    { what: "a namespace body's declarations are its own", code: `namespace N { export const x = 1; export function g() { return x + y; } }`, uses: ["y"] },
    { what: "types are not reads", code: `function f(a: Opts): Result<T> { const b = a as Other; return b satisfies Shape; }`, uses: [] },
    { what: "JSX: components are reads, intrinsic elements are not", code: `function App() { return <div><Button /><ui.Card /></div>; }`, lang: "tsx", uses: ["Button", "React", "ui"] },
    { what: "arguments is local to a function, not to an arrow", code: `function f() { return () => arguments; }`, uses: [] },
  ];
  for (const s of SNIPPETS) {
    test(s.what, () => {
      const program = parseSync(`x.${s.lang ?? "ts"}`, s.code, { lang: s.lang ?? "ts", sourceType: "module" } as never).program as unknown as { body: Node[] };
      assert.deepEqual([...ours(program.body[0]!)].sort(), [...s.uses].sort());
    });
  }

  test("namespace members: `ns.a` and `ns[\"b\"]` are members; passing `ns` is a whole use", () => {
    const parse = (code: string): Node => (parseSync("x.ts", code, { lang: "ts", sourceType: "module" } as never).program as unknown as { body: Node[] }).body[0]!;
    const members = analyseScope(normalize(parse(`function f() { return ns.a() + ns["b"] + ns.a.c; }`))).uses.get("ns")!;
    assert.equal(members.whole, false);
    assert.deepEqual([...members.members].sort(), ["a", "b"]);
    assert.equal(analyseScope(normalize(parse(`function f() { return Object.keys(ns).length + ns.a(); }`))).uses.get("ns")!.whole, true);
    assert.equal(analyseScope(normalize(parse(`function f(k) { return ns[k]; }`))).uses.get("ns")!.whole, true);
  });

  test("writes and what runs at evaluation: assignments, calls, await; not inside function bodies", () => {
    const parse = (code: string): Node => (parseSync("x.ts", code, { lang: "ts", sourceType: "module" } as never).program as unknown as { body: Node[] }).body[0]!;
    const init = analyseScope(normalize(parse(`function init() { LIMIT = 10; cfg.level = 2; }`)));
    assert.equal(init.uses.get("LIMIT")!.writes, true);
    assert.equal(init.uses.get("cfg")!.writes, true);
    assert.equal(init.runs, false, "a function declaration runs nothing when defined");
    assert.equal(analyseScope(normalize(parse(`init();`))).runs, true);
    assert.equal(analyseScope(normalize(parse(`const ready = await load();`))).runs, true);
    assert.equal(analyseScope(normalize(parse(`const x = () => init();`))).runs, false);
    assert.equal(analyseScope(normalize(parse(`Object.assign(globalThis, { RATE: 2 });`))).uses.get("globalThis")!.writes, true);
  });
});
