// GET /explain on `cashet serve`: a registered task and its arguments explained as POST /submit
// would key them — miss, hit, which argument differs — and the refusals of a bad request.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MemoryStore } from "../../../plumbing/backends/memory.js";
import { serve, type Listening } from "../../../porcelain/server/serve.js";
import { fileTask } from "../../../porcelain/task.js";
import { tempDir } from "../../helpers/fixtures.js";

describe("GET /explain", () => {
  const t = tempDir("cashet-serve-explain-");
  writeFileSync(join(t.dir, "tasks.mjs"), `export function add(a, b) { return a + b; }\n`);
  const store = new MemoryStore();
  let server: Listening;
  before(async () => {
    server = await serve({
      store,
      port: 0,
      readToken: "ro",
      token: "rw",
      tasks: async (name, args) => (name === "add" ? fileTask({ file: join(t.dir, "tasks.mjs"), exportName: "add", args }) : null),
    });
  });
  after(async () => {
    await server.close();
    t.remove();
  });
  const get = async (query: string, token = "ro") => {
    const res = await fetch(`${server.url}/explain?${query}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const q = (task: string, args: unknown): string => `task=${encodeURIComponent(task)}&args=${encodeURIComponent(JSON.stringify(args))}`;

  test("a registered task: never stored, then a hit on what POST /submit stored, then the argument that differs", async () => {
    const never = await get(q("add", [2, 3]));
    assert.equal(never.status, 200);
    assert.deepEqual([never.json.hit, never.json.reason], [false, "nothing named add was ever stored"]);
    const submitted = await fetch(`${server.url}/submit`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer rw" }, body: JSON.stringify({ task: "add", args: [2, 3] }) });
    const { commit } = (await submitted.json()) as { commit: string };
    const hit = await get(q("add", [2, 3]));
    assert.deepEqual([hit.json.hit, hit.json.commit.id], [true, commit]);
    const miss = await get(q("add", [2, 4]));
    assert.equal(miss.json.hit, false);
    assert.deepEqual(miss.json.differences, [{ kind: "argument", name: "args[1]", change: "changed", was: "3", now: "4" }]);
    assert.equal(miss.json.reason, "args[1]: 3 → 4");
    assert.equal((await get("task=add")).json.reason, "args[0] removed (was 2); args[1] removed (was 3)", "no args: none");
  });

  test("an unknown task is 404; a missing task name, or args that are not a JSON array, 400", async () => {
    assert.equal((await get(q("nope", []))).status, 404);
    assert.equal((await get("args=[]")).status, 400);
    const bad = await get("task=add&args=%5B1");
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /"args" must be a JSON array/);
    assert.equal((await get(q("add", { a: 1 }))).status, 400);
  });
});
