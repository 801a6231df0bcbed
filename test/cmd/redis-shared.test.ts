// Two "machines" sharing a Redis store: processes in different directories, with no files in
// common, share hits; six of them racing one slow call execute it once; a runner killed while
// holding the claim is taken over; an unreachable Redis is exit 3. Real Redis, unique prefix.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cashet, spawnRunJson } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { REDIS_URL, redisOrSkip, tempRedisStore, uniquePrefix } from "../helpers/redis.js";

const available = await redisOrSkip();

// Each machine has its own copy of the task; it logs its executions into its own directory.
const TASK = `import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
const here = new URL(".", import.meta.url).pathname;
export async function slow(x, ms) {
  appendFileSync(join(here, "runs.log"), "ran " + x + "\\n");
  await new Promise((r) => setTimeout(r, ms));
  return { x, squared: x * x };
}
`;

describe("a Redis store shared by two machines", { skip: !available }, () => {
  const t = tempDir("cashet-redis-");
  const prefix = uniquePrefix("machines");
  const machines = ["machine-a", "machine-b"].map((name) => {
    const dir = join(t.dir, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "task.mjs"), TASK);
    return dir;
  });
  const env = { CASHET_REDIS: REDIS_URL, CASHET_REDIS_PREFIX: prefix, CASHET_CLAIM_TTL_MS: "1500" };
  const runs = (): number =>
    machines.reduce((n, dir) => n + (existsSync(join(dir, "runs.log")) ? readFileSync(join(dir, "runs.log"), "utf8").split("\n").filter(Boolean).length : 0), 0);
  /** `cashet run --json task.mjs#slow x ms` from a machine's directory. */
  const start = (machine: string, x: number, ms: number): ReturnType<typeof spawnRunJson> =>
    spawnRunJson(["task.mjs#slow", String(x), String(ms)], { cwd: machine, env });

  after(async () => {
    const { store, dispose } = tempRedisStore({ prefix });
    void store;
    await dispose();
    t.remove();
  });

  test("a result computed on one machine is a hit on the other", async () => {
    const first = await start(machines[0]!, 3, 10).done;
    assert.equal(first.code, 0, first.err);
    assert.equal(first.json!.cached, false);
    const second = await start(machines[1]!, 3, 10).done;
    assert.equal(second.code, 0, second.err);
    assert.equal(second.json!.cached, true);
    assert.equal(second.json!.commit, first.json!.commit);
    assert.deepEqual(second.json!.result, { x: 3, squared: 9 });
    assert.equal(runs(), 1, "the second machine executed nothing");
  });

  test("six processes across both machines race one slow uncached call: it executes once", async () => {
    const before = runs();
    const racers = Array.from({ length: 6 }, (_, i) => start(machines[i % 2]!, 7, 800));
    const results = await Promise.all(racers.map((r) => r.done));
    for (const r of results) assert.equal(r.code, 0, r.err);
    assert.equal(runs() - before, 1);
    assert.equal(new Set(results.map((r) => r.json!.commit)).size, 1, "all got the same run");
    assert.equal(results.filter((r) => !r.json!.cached).length, 1);
  });

  test("a runner killed while it holds the claim is taken over by a waiter on the other machine", async () => {
    const before = runs();
    const holder = start(machines[0]!, 11, 60_000);
    while (runs() === before) await new Promise((r) => setTimeout(r, 20)); // it is executing
    const waiter = start(machines[1]!, 11, 10);
    await new Promise((r) => setTimeout(r, 300));
    holder.child.kill("SIGKILL");
    const started = Date.now();
    const r = await waiter.done;
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json!.cached, false, "the waiter ran it itself");
    assert.deepEqual(r.json!.result, { x: 11, squared: 121 });
    assert.ok(Date.now() - started < 10_000, "taken over within seconds (claim ttl 1.5 s)");
    assert.equal(runs() - before, 2);
  });

  test("an unreachable Redis is exit 3 with one line, from any command", async () => {
    for (const args of [["log"], ["run", `${join(machines[0]!, "task.mjs")}#slow`, "1", "1"], ["stats"]]) {
      const r = await cashet([...args, "--redis", "redis://127.0.0.1:1"]);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^cashet: the Redis store at redis:\/\/127\.0\.0\.1:1 .*cannot be reached[^\n]*\n$/);
      assert.equal(r.out, "");
    }
  });
});
