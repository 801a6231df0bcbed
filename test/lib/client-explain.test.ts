// client.explain(fn, ...args): the library's explanation, keyed as submit keys the call (the
// runtime path) — a hit, an argument by its path, a captured value, a function never stored.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "../../lib/client.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";

function make(k: number) {
  return function scaled(x: number, o: { f: number }): number {
    return x * k * o.f;
  };
}

export function transform(x: number): number {
  return x + 1;
}

export function transfrom(x: number): number {
  return x - 1;
}

test("client.explain: a hit, the argument that differs by its path, a captured value; nothing runs", async () => {
  const client = new Client({ store: new MemoryStore() });
  const two = make(2);
  const ref = await client.submit(two, 2, { f: 1 });
  const hit = await client.explain(two, 2, { f: 1 });
  assert.deepEqual([hit.hit, hit.commit!.id], [true, ref.commit]);
  const arg = await client.explain(two, 2, { f: 5 });
  assert.deepEqual(arg.differences, [{ kind: "argument", name: "args[1].f", change: "changed", was: "1", now: "5" }]);
  const captured = await client.explain(make(3), 2, { f: 1 });
  assert.deepEqual(captured.differences, [{ kind: "captured", name: "k", change: "changed" }]);
  assert.equal(captured.reason, "captured variable k changed");
  assert.equal((await client.log()).length, 1, "explain stored nothing");
  await client.close();
});

test("client.explain of a function never stored names the nearest stored one", async () => {
  const client = new Client({ store: new MemoryStore() });
  await client.submit(transform, 1);
  const e = await client.explain(transfrom, 1);
  assert.equal(e.hit, false);
  assert.equal(e.suggestion, "transform");
  assert.equal(e.reason, "nothing named transfrom was ever stored; did you mean transform?");
  await client.close();
});
