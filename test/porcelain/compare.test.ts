// compareCalls: what differs between two recorded calls of one function, component by component,
// on records built by hand — every kind of component, the arguments by path (and by preview for
// commits without a tree), and two commits' observed files and environment variables.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CommitRecord, Json } from "../../plumbing/commit.js";
import { compareCalls, describeDifference, type CallRecord, type Difference } from "../../porcelain/compare.js";

const H = (c: string): string => c.repeat(64);

function call(over: { hash?: string; deps?: Json[]; source?: string; args?: Partial<CallRecord["args"]>; observed?: CommitRecord["observed"]; module?: string } = {}): CallRecord {
  return {
    func: { name: "train", module: over.module ?? "src/pipeline.ts", hash: over.hash ?? H("f"), source: over.source ?? "function train() {}", deps: over.deps ?? [] },
    args: { hash: H("a"), preview: "[1]", ...over.args },
    ...(over.observed ? { observed: over.observed } : {}),
  };
}

const fn = (hash: string): Json => ({ kind: "function", key: ".#train", hash });
const decl = (key: string, hash: string, declares?: string): Json => ({ kind: "declaration", key, hash, ...(declares ? { declares } : {}) });

function only(ds: Difference[]): Difference {
  assert.equal(ds.length, 1, JSON.stringify(ds));
  return ds[0]!;
}

test("the same function hash and arguments: nothing differs, whatever else the records hold", () => {
  assert.deepEqual(compareCalls(call({ deps: [fn(H("1"))] }), call({ deps: [fn(H("1")), decl(".#x", H("2"))] })), []);
});

test("the function's own code: a source difference, named by the function and its file", () => {
  const d = only(compareCalls(call({ hash: H("1"), deps: [fn(H("1"))] }), call({ hash: H("2"), deps: [fn(H("2"))] })));
  assert.deepEqual(d, { kind: "source", name: "train", file: "src/pipeline.ts", change: "changed" });
  assert.equal(describeDifference(d), "source of train (src/pipeline.ts) changed");
});

test("helpers, constants and classes by name and file (relative to the working directory), changed, added or removed", () => {
  const was = call({ hash: H("1"), deps: [fn(H("9")), decl("helpers.ts#scale", H("1"), "function"), decl(".#LR", H("1"), "value"), decl("../lib/model.ts#Model", H("1"), "class")] });
  const now = call({ hash: H("2"), deps: [fn(H("9")), decl("helpers.ts#scale", H("2"), "function"), decl(".#EPOCHS", H("1"), "value"), decl("../lib/model.ts#Model", H("1"), "class"), decl("helpers.ts#clip", H("3"), "function")] });
  const ds = compareCalls(was, now);
  assert.deepEqual(ds, [
    { kind: "helper", name: "scale", file: "src/helpers.ts", change: "changed" },
    { kind: "constant", name: "EPOCHS", file: "src/pipeline.ts", change: "added" },
    { kind: "helper", name: "clip", file: "src/helpers.ts", change: "added" },
    { kind: "constant", name: "LR", file: "src/pipeline.ts", change: "removed" },
  ]);
  assert.equal(describeDifference(ds[0]!), "helper scale (src/helpers.ts) changed");
  const cls = only(compareCalls(call({ hash: H("1"), deps: [decl("../lib/model.ts#Model", H("1"), "class")] }), call({ hash: H("2"), deps: [decl("../lib/model.ts#Model", H("2"), "class")] })));
  assert.deepEqual(cls, { kind: "class", name: "Model", file: "lib/model.ts", change: "changed" });
  // a commit from before `declares` was recorded
  assert.equal(only(compareCalls(call({ hash: H("1"), deps: [decl(".#x", H("1"))] }), call({ hash: H("2"), deps: [decl(".#x", H("2"))] }))).kind, "declaration");
});

test("top-level statements, captured values and unresolved imports", () => {
  const ds = compareCalls(
    call({ hash: H("1"), deps: [{ kind: "statement", key: "helpers.ts#statement:0", hash: H("1") }, decl("closure#k", H("1")), { kind: "unresolved", key: "unresolved:./gone.js", hash: "?" }] }),
    call({ hash: H("2"), deps: [{ kind: "statement", key: "helpers.ts#statement:0", hash: H("2") }, decl("closure#k", H("2"))] }),
  );
  assert.deepEqual(ds.map(describeDifference), [
    "a top-level statement of src/helpers.ts changed",
    "captured variable k changed",
    `unresolved import "./gone.js" removed`,
  ]);
});

test("a package: its version; at the same version, its lockfile integrity when both commits record one", () => {
  const pkg = (name: string, version: string, integrity?: string): Json => ({ kind: "package", key: `npm:${name}@${version}`, hash: version, ...(integrity ? { integrity } : {}) });
  const bumped = only(compareCalls(call({ hash: H("1"), deps: [pkg("@scope/db", "1.2.0")] }), call({ hash: H("2"), deps: [pkg("@scope/db", "1.3.0")] })));
  assert.deepEqual(bumped, { kind: "package", name: "@scope/db", change: "changed", was: "1.2.0", now: "1.3.0" });
  assert.equal(describeDifference(bumped), "package @scope/db 1.2.0 → 1.3.0");
  const repacked = only(compareCalls(call({ hash: H("1"), deps: [pkg("db", "1.2.0", "sha512-AAAAAAAAAAAAAAAAAAAAAAAA")] }), call({ hash: H("2"), deps: [pkg("db", "1.2.0", "sha512-BBBBBBBBBBBBBBBBBBBBBBBB")] })));
  assert.deepEqual(repacked, { kind: "package", name: "db", change: "changed", was: "1.2.0 sha512-AAAAAAAAAAAAAAAAAAAAAAAA", now: "1.2.0 sha512-BBBBBBBBBBBBBBBBBBBBBBBB" });
  assert.equal(describeDifference(repacked), "package db 1.2.0 (sha512-AAAAAAAAA…) → 1.2.0 (sha512-BBBBBBBBB…)");
  assert.equal(only(compareCalls(call({ hash: H("1") }), call({ hash: H("2"), deps: [pkg("db", "1.0.0")] }))).change, "added");
  // an older commit without the integrity cannot tell: what differs is not recorded
  assert.equal(only(compareCalls(call({ hash: H("1"), deps: [pkg("db", "1.2.0")] }), call({ hash: H("2"), deps: [pkg("db", "1.2.0", "sha512-B")] }))).kind, "function");
});

test("tsconfig options, by their names", () => {
  const ts = (hash: string, name: string): Json => ({ kind: "tsconfig", key: `tsconfig:${hash.slice(0, 16)}`, hash, name });
  const d = only(compareCalls(call({ hash: H("1"), deps: [ts(H("1"), "target=es2020")] }), call({ hash: H("2"), deps: [ts(H("2"), "target=es2022")] })));
  assert.deepEqual(d, { kind: "tsconfig", name: "tsconfig options", change: "changed", was: "target=es2020", now: "target=es2022" });
  assert.equal(describeDifference(d), "tsconfig options target=es2020 → target=es2022");
});

test("a function hash that differs with no recorded component differing says so", () => {
  const d = only(compareCalls(call({ hash: H("1"), deps: [fn(H("1"))] }), call({ hash: H("2"), deps: [fn(H("1"))] })));
  assert.equal(d.kind, "function");
  assert.match(describeDifference(d), /no component its run recorded did/);
});

test("arguments by path: the deepest node that differs, a node one side lacks, a leaf that became a container", () => {
  const tree = (...nodes: Array<[string, string, string]>): Array<[string, string, string]> => nodes;
  const was = call({ args: { hash: H("1"), preview: "…", tree: tree(["args[0]", "a", "3"], ["args[1]", "b", "{…}"], ["args[1].opts", "c", "{…}"], ["args[1].opts.lr", "d", "0.01"], ["args[1].opts.n", "e", "10"], ["args[2]", "f", "1"]) } });
  const now = call({ args: { hash: H("2"), preview: "…", tree: tree(["args[0]", "a", "3"], ["args[1]", "B", "{…}"], ["args[1].opts", "C", "{…}"], ["args[1].opts.lr", "D", "0.02"], ["args[1].opts.n", "e", "10"], ["args[1].seed", "g", "7"], ["args[2]", "F", "[1]"], ["args[2][0]", "h", "1"], ["args[3]", "i", `"x"`]) } });
  const ds = compareCalls(was, now);
  assert.deepEqual(ds.map(describeDifference), [
    "args[1].opts.lr: 0.01 → 0.02",
    `args[1].seed added (7)`,
    "args[2]: 1 → [1]",
    `args[3] added ("x")`,
  ]);
  assert.deepEqual(ds[0], { kind: "argument", name: "args[1].opts.lr", change: "changed", was: "0.01", now: "0.02" });
  assert.deepEqual(compareCalls(now, was).map((d) => `${d.name} ${d.change}`), ["args[1].opts.lr changed", "args[1].seed removed", "args[2] changed", "args[3] removed"]);
});

test("a node whose recorded children are all equal differs beyond the tree's bounds; commits without a tree compare previews", () => {
  const was = call({ args: { hash: H("1"), preview: "[[…]]", tree: [["args[0]", "a", "[…]"], ["args[0][0]", "b", "1"]] } });
  const now = call({ args: { hash: H("2"), preview: "[[…]]", tree: [["args[0]", "A", "[…]"], ["args[0][0]", "b", "1"]] } });
  assert.deepEqual(only(compareCalls(was, now)), { kind: "argument", name: "args[0]", change: "changed", was: "[…]", now: "[…]" });
  const old = call({ args: { hash: H("1"), preview: "[1, 2]" } });
  assert.deepEqual(only(compareCalls(old, call({ args: { hash: H("2"), preview: "[1, 3]", tree: [] } }))), { kind: "argument", name: "args", change: "changed", was: "[1, 2]", now: "[1, 3]" });
});

test("two commits' observed inputs: each file and environment variable whose hash differs, that only one run read", () => {
  const was = call({
    observed: {
      files: [{ path: "data/train.csv", kind: "file", hash: H("1") }, { path: "data", kind: "dir", hash: H("2") }, { path: "old.txt", kind: "file", hash: H("3") }, { path: "cfg.json", kind: "missing", hash: "" }],
      env: [{ name: "LR", hash: H("4") }, { name: "DEBUG", hash: null }, { name: "GONE", hash: H("5") }],
    },
  });
  const now = call({
    observed: {
      files: [{ path: "data/train.csv", kind: "file", hash: H("9") }, { path: "data", kind: "dir", hash: H("2") }, { path: "cfg.json", kind: "file", hash: H("6") }, { path: "new.txt", kind: "file", hash: H("7") }],
      env: [{ name: "LR", hash: H("8") }, { name: "DEBUG", hash: H("1") }, { name: "SEED", hash: null }],
    },
  });
  const ds = compareCalls(was, now);
  assert.deepEqual(ds.map((d) => [d.kind, d.name, d.change]), [
    ["file", "data/train.csv", "changed"],
    ["file", "cfg.json", "changed"],
    ["file", "new.txt", "added"],
    ["file", "old.txt", "removed"],
    ["env", "LR", "changed"],
    ["env", "DEBUG", "changed"],
    ["env", "SEED", "added"],
    ["env", "GONE", "removed"],
  ]);
  assert.equal(describeDifference(ds[0]!), "file data/train.csv changed (file 111111111111 → file 999999999999)");
  assert.equal(describeDifference(ds[1]!), "file cfg.json changed (missing → file 666666666666)");
  assert.equal(describeDifference(ds[5]!), "env DEBUG changed (unset → set 111111111111)");
  assert.equal(describeDifference(ds[7]!), "env GONE no longer read");
  // a run that recorded nothing observed (older, or the call about to run) compares no inputs
  assert.deepEqual(compareCalls(was, call()), []);
});
