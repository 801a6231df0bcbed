// `cashet stats` as a user runs it: hits and misses counted by separate `cashet run` processes
// add up (fs and Redis), per function; a store with no counts (older than them) still answers.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { RedisStore } from "../../plumbing/backends/redis/store.js";
import { CLI, cashet, exec } from "../helpers/cli.js";
import { tempDir } from "../helpers/fixtures.js";
import { REDIS_URL, redisOrSkip, uniquePrefix } from "../helpers/redis.js";
import { recordRun, tempFsStore } from "../helpers/runs.js";

const TASKS = `export function slow(x) {
  const until = Date.now() + 40;
  while (Date.now() < until);
  return x * 3;
}
export function quick(x) {
  return x + 1;
}
`;

interface Json {
  hits: number;
  misses: number;
  savedMs: number;
  countedSince: string | null;
  totalCommits: number;
  functions: Array<{ name: string; module: string; hits: number; misses: number; savedMs: number }>;
}

describe("cashet stats", () => {
  test("counts from separate cashet run processes add up: hits, misses and time saved, per function", async () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, "tasks.mjs"), TASKS);
      const s = ["--store", join(t.dir, ".cashet")];
      const run = async (...args: string[]): Promise<{ commit: string; durationMs: number }> => {
        const r = await exec(process.execPath, [CLI, "run", "--json", `tasks.mjs#${args[0]}`, ...args.slice(1), ...s], { cwd: t.dir, env: { CASHET_DAEMON_IDLE_MS: "3000" } });
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.out) as { commit: string; durationMs: number };
      };
      const ran = await run("slow", "2");
      await run("slow", "2");
      await run("slow", "2");
      await run("quick", "2");
      await run("quick", "2");
      const shown = JSON.parse((await cashet(["show", "--json", ran.commit, ...s])).out) as { durationMs: number };
      const json = JSON.parse((await cashet(["stats", "--json", ...s])).out) as Json;
      assert.deepEqual([json.hits, json.misses, json.totalCommits], [3, 2, 2]);
      assert.ok(json.savedMs >= 2 * shown.durationMs && json.savedMs >= 80, String(json.savedMs));
      assert.ok(json.countedSince !== null && Date.parse(json.countedSince) <= Date.now());
      assert.deepEqual(
        json.functions.map((f) => [f.name, f.module, f.hits, f.misses]),
        [
          ["slow", "tasks.mjs", 2, 1],
          ["quick", "tasks.mjs", 1, 1],
        ],
      );
      assert.ok(Math.abs(json.functions[0]!.savedMs - 2 * shown.durationMs) < 1e-6);

      const text = await cashet(["stats", ...s]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.out, /^commits +2 \(2 completed, 0 failed\)$/m, "the existing lines stay");
      assert.match(text.out, /^calls +hits 3 · misses 2 · hit rate 60\.0% · saved \d+ ms \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/m);
      assert.match(text.out, /^FUNCTION +MODULE +HITS +MISSES +HIT RATE +SAVED$/m);
      assert.match(text.out, /^slow +tasks\.mjs +2 +1 +66\.7% +\d+ ms$/m);
      assert.match(text.out, /^quick +tasks\.mjs +1 +1 +50\.0% +[\d.]+ ms$/m);
    } finally {
      t.remove();
    }
  });

  test("a store with no counts (older than them) still answers: zeros, and says none were counted", async () => {
    const t = await tempFsStore();
    try {
      await recordRun(t.store, { seed: "old" });
      await t.store.stopDaemon();
      const json = JSON.parse((await cashet(["stats", "--json", "--store", t.dir])).out) as Json;
      assert.deepEqual([json.totalCommits, json.hits, json.misses, json.savedMs, json.countedSince, json.functions], [1, 0, 0, 0, null, []]);
      const text = await cashet(["stats", "--store", t.dir]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.out, /^calls +hits 0 · misses 0 · none counted yet$/m);
      assert.doesNotMatch(text.out, /FUNCTION/);
    } finally {
      await t.dispose();
    }
  });

  test("on a Redis store, each cashet run's counts are added in the store", async (tc) => {
    if (!(await redisOrSkip())) return tc.skip("no Redis");
    const t = tempDir();
    const prefix = uniquePrefix("stats");
    const env = { CASHET_REDIS: REDIS_URL, CASHET_REDIS_PREFIX: prefix };
    try {
      writeFileSync(join(t.dir, "tasks.mjs"), TASKS);
      for (let i = 0; i < 3; i++) {
        const r = await cashet(["run", join(t.dir, "tasks.mjs#quick"), "5"], { env });
        assert.equal(r.code, 0, r.stderr);
      }
      const json = JSON.parse((await cashet(["stats", "--json"], { env })).out) as Json;
      assert.deepEqual([json.hits, json.misses], [2, 1]);
      assert.deepEqual(json.functions.map((f) => [f.name, f.hits, f.misses]), [["quick", 2, 1]]);
    } finally {
      const store = new RedisStore(REDIS_URL, { prefix });
      await store.destroy();
      await store.close();
      t.remove();
    }
  });
});
