// The argument tree a commit keeps for explain: one walk of the canonical encoding gives the
// argument hash and a hash per node near the root; equal values hash alike wherever they are; the
// tree stays within its bounds and holds no value beyond a short preview.
import assert from "node:assert/strict";
import { test } from "node:test";
import { hashArgs, hashArgsTree } from "../../../plumbing/hash/args.js";
import { argsTree } from "../../../plumbing/hash/args-tree.js";
import { file } from "../../../plumbing/hash/file-arg.js";

const byPath = (tree: Array<[string, string, string]>): Map<string, { hash: string; preview: string }> =>
  new Map(tree.map(([path, hash, preview]) => [path, { hash, preview }]));

test("the tree's walk gives the argument hash itself, and a node per argument, breadth first, by path", async () => {
  const args = [3, { opts: { lr: 0.01, epochs: 10 }, name: "x" }, [1, 2]];
  const { hash, tree } = await argsTree(args);
  assert.equal(hash, await hashArgs(args));
  assert.deepEqual(tree.map(([path]) => path), [
    "args[0]", "args[1]", "args[2]",
    "args[1].name", "args[1].opts", "args[2][0]", "args[2][1]",
    "args[1].opts.epochs", "args[1].opts.lr",
  ]);
  assert.equal(byPath(tree).get("args[1].opts.lr")!.preview, "0.01");
  assert.equal(byPath(tree).get("args[1].opts")!.preview, `{"lr":0.01,"epochs":10}`);
});

test("a changed leaf changes its own hash and its ancestors' only; equal values hash alike at any path", async () => {
  const was = byPath((await argsTree([3, { opts: { lr: 0.01, epochs: 10 } }, 3])).tree);
  const now = byPath((await argsTree([3, { opts: { lr: 0.02, epochs: 10 } }, 3])).tree);
  const changed = [...was.keys()].filter((p) => was.get(p)!.hash !== now.get(p)!.hash);
  assert.deepEqual(changed, ["args[1]", "args[1].opts", "args[1].opts.lr"]);
  assert.equal(was.get("args[0]")!.hash, was.get("args[2]")!.hash);
  // key order does not count, as in the argument hash
  const reordered = byPath((await argsTree([3, { opts: { epochs: 10, lr: 0.01 } }, 3])).tree);
  assert.equal(reordered.get("args[1]")!.hash, was.get("args[1]")!.hash);
});

test("keys that are not identifiers are quoted in paths; Maps, Sets, bytes and file arguments are leaves", async () => {
  const { tree } = await argsTree([{ "a b": 1 }, new Map([[1, { deep: 1 }]]), new Set([1]), new Float64Array(4), file(new URL(import.meta.url).pathname)]);
  const paths = tree.map(([p]) => p);
  assert.deepEqual(paths, ["args[0]", "args[1]", "args[2]", "args[3]", "args[4]", `args[0]["a b"]`]);
  assert.match(byPath(tree).get("args[4]")!.preview, /^<file /);
});

test("bounds: 4 levels deep, containers of at most 32 children, 64 nodes with each container's children all or none", async () => {
  const deep = { a: { b: { c: { d: { e: 1 } } } } };
  const deepPaths = (await argsTree([deep])).tree.map(([p]) => p);
  assert.ok(deepPaths.includes("args[0].a.b.c"));
  assert.ok(!deepPaths.some((p) => p.startsWith("args[0].a.b.c.")), "args[0].a.b.c.d would be 5 deep");

  const wide = Array.from({ length: 33 }, (_, i) => i);
  assert.deepEqual((await argsTree([wide])).tree.map(([p]) => p), ["args[0]"], "33 children: a leaf");

  const many = Array.from({ length: 10 }, () => Array.from({ length: 10 }, (_, i) => i));
  const { tree } = await argsTree(many);
  assert.ok(tree.length <= 64);
  const children = many.map((_, i) => tree.filter(([p]) => p.startsWith(`args[${i}][`)).length);
  assert.deepEqual(children, [10, 10, 10, 10, 10, 0, 0, 0, 0, 0], "10 arguments and 5 × 10 children fit; a sixth 10 would not");

  const longKey = "k".repeat(200);
  assert.deepEqual((await argsTree([{ [longKey]: 1 }])).tree.map(([p]) => p), ["args[0]"], "a path over 120 characters is not kept");
});

test("a node holds a short hash and a 40-character preview: no value beyond it", async () => {
  const secret = "s".repeat(10_000);
  const { tree } = await argsTree([secret]);
  const [[path, hash, preview]] = tree as [[string, string, string]];
  assert.equal(path, "args[0]");
  assert.match(hash, /^[0-9a-f]{16}$/);
  assert.ok(preview.length <= 40, preview);
});

test("a function argument is hashed through hashFunction, as in the argument hash; async identities are awaited", async () => {
  const fn = (): number => 1;
  const options = { hashFunction: async () => "fn-hash" };
  const { hash, nodes } = await hashArgsTree([fn, { cb: fn }], options);
  assert.equal(hash, await hashArgs([fn, { cb: fn }], options));
  const nodeHash = (p: string): string => nodes.find((n) => n.path === p)!.hash;
  assert.equal(nodeHash("args[0]"), nodeHash("args[1].cb"));
});
