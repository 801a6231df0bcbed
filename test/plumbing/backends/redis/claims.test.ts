// Redis claims with real `cashet run` processes and the default claim ttl: a SIGKILLed holder is
// taken over within seconds, a failing call runs once for all its waiters, and a holder whose
// main thread is busy in a long synchronous loop keeps its claim (its heartbeat beats in a thread
// of its own). Real Redis, unique prefix.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { spawnRunJson } from "../../../helpers/cli.js";
import { tempDir } from "../../../helpers/fixtures.js";
import { REDIS_URL, redisOrSkip, tempRedisStore, uniquePrefix } from "../../../helpers/redis.js";

const available = await redisOrSkip();

const TASKS = `import { appendFileSync, existsSync, readFileSync } from "node:fs";
const log = (name, line) => appendFileSync(new URL(name, import.meta.url), line + "\\n");
// The first runner hangs; a runner that finds it already started finishes at once.
export async function stuck(x) {
  const first = !existsSync(new URL("stuck.log", import.meta.url));
  log("stuck.log", "start " + Date.now());
  if (first) await new Promise((r) => setTimeout(r, 600000));
  return "finished by a later runner " + x;
}
export async function failing(x) {
  log("failing.log", "start " + Date.now());
  await new Promise((r) => setTimeout(r, 1500));
  throw new RangeError("failed on purpose " + x);
}
// Ten seconds of a main thread that never yields: no timer of it can fire.
export function busy(x) {
  log("busy.log", "start " + Date.now());
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10000);
  return "done " + x;
}
`;

describe("Redis claims across processes", { skip: !available }, () => {
  const t = tempDir("cashet-redis-claims-");
  writeFileSync(join(t.dir, "tasks.mjs"), TASKS);
  const prefix = uniquePrefix("claims");
  const env: NodeJS.ProcessEnv = { ...process.env, CASHET_REDIS: REDIS_URL, CASHET_REDIS_PREFIX: prefix };
  delete env.CASHET_CLAIM_TTL_MS; // the default ttl is what is under test
  const starts = (name: string): number[] => {
    const file = join(t.dir, name);
    return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => Number(l.split(" ")[1])) : [];
  };
  const until = async (what: string, ok: () => boolean, ms = 30_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const children = new Set<ChildProcess>();
  const run = (target: string) => {
    const r = spawnRunJson([join(t.dir, target), "1"], { env });
    children.add(r.child);
    return r;
  };

  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    const { dispose } = tempRedisStore({ prefix });
    await dispose();
    t.remove();
  });

  test("a SIGKILLed holder's claim is taken over within 3 s", async (ctx) => {
    const holder = run("tasks.mjs#stuck");
    await until("the holder to start", () => starts("stuck.log").length === 1);
    const waiter = run("tasks.mjs#stuck");
    await new Promise((r) => setTimeout(r, 1000)); // the waiter is waiting on the claim
    assert.equal(starts("stuck.log").length, 1, "the waiter waits instead of running");
    const killedAt = Date.now();
    holder.child.kill("SIGKILL");
    await until("the waiter to take over", () => starts("stuck.log").length === 2, 15_000);
    const takeover = starts("stuck.log")[1]! - killedAt;
    ctx.diagnostic(`takeover ${takeover} ms after SIGKILL`);
    assert.ok(takeover < 4000, `taken over ${takeover} ms after the holder died`);
    const r = await waiter.done;
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json!.result, "finished by a later runner 1");
  });

  test("5 processes running one failing call execute it once, and all get that run's failed commit", async () => {
    const racers = Array.from({ length: 5 }, () => run("tasks.mjs#failing"));
    const results = await Promise.all(racers.map((r) => r.done));
    assert.equal(starts("failing.log").length, 1, "executed once");
    const commits = results.map((r) => {
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /^cashet: failing failed: failed on purpose 1 \(commit [0-9a-f]{12}\)\nRangeError: failed on purpose 1\n/);
      return /\(commit ([0-9a-f]{12})\)/.exec(r.err)![1];
    });
    assert.equal(new Set(commits).size, 1, `all got the same failed commit: ${commits.join(" ")}`);
  });

  test("a holder busy for 10 s in a synchronous loop keeps its claim: the call executes once", async () => {
    const holder = run("tasks.mjs#busy");
    await until("the holder to start", () => starts("busy.log").length === 1);
    const waiter = run("tasks.mjs#busy");
    const [h, w] = await Promise.all([holder.done, waiter.done]);
    assert.equal(h.code, 0, h.err);
    assert.equal(w.code, 0, w.err);
    assert.equal(starts("busy.log").length, 1, "executed once");
    assert.equal(h.json!.cached, false);
    assert.equal(w.json!.cached, true, "the waiter got the holder's run");
    assert.equal(w.json!.commit, h.json!.commit);
    assert.equal(w.json!.result, "done 1");
  });
});
