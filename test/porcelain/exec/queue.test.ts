// Distributed execution: two `cashet worker` processes on one Redis store take a 20-task
// submitMany batch from the queue — every task runs once, on both workers — and a worker killed
// mid-task loses its task to the other, so the batch still completes. Real Redis and BullMQ.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { Client } from "../../../lib/client.js";
import { QueueExecutor } from "../../../porcelain/exec/queue.js";
import { CLI, cashet } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/fixtures.js";
import { REDIS_URL, redisOrSkip, tempRedisStore, uniquePrefix } from "../../helpers/redis.js";

const available = await redisOrSkip();

const TASKS = `import { appendFileSync, readFileSync } from "node:fs";
const log = new URL("./runs.log", import.meta.url).pathname;
export function readData(path) {
  appendFileSync(log, process.pid + " read " + path + "\\n");
  return readFileSync(path, "utf8");
}
export async function work(i, ms) {
  appendFileSync(log, process.pid + " start " + i + "\\n");
  await new Promise((r) => setTimeout(r, ms));
  appendFileSync(log, process.pid + " done " + i + "\\n");
  return i * i;
}
`;

describe("cashet worker on BullMQ", { skip: !available }, () => {
  const t = tempDir("cashet-queue-");
  writeFileSync(join(t.dir, "tasks.mjs"), TASKS);
  const prefix = uniquePrefix("queue");
  const { store, dispose } = tempRedisStore({ prefix, claimTtlMs: 1500 });
  const env = { ...process.env, CASHET_REDIS: REDIS_URL, CASHET_REDIS_PREFIX: prefix, CASHET_CLAIM_TTL_MS: "1500", CASHET_WORKER_LOCK_MS: "2000" };
  const workers: ChildProcess[] = [];
  const startWorker = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [CLI, "worker", "--concurrency", "3"], { cwd: t.dir, env, stdio: ["ignore", "ignore", "pipe"] });
    workers.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => (String(d).includes("taking calls") ? resolve() : undefined));
      child.on("exit", (code) => reject(new Error(`worker exited with ${code}`)));
    });
    return child;
  };
  const lines = (): string[] => (existsSync(join(t.dir, "runs.log")) ? readFileSync(join(t.dir, "runs.log"), "utf8").split("\n").filter(Boolean) : []);
  const executor = new QueueExecutor({ redis: REDIS_URL, prefix: `${prefix}queue`, root: t.dir });
  const client = new Client({ store, executor });

  after(async () => {
    for (const w of workers) w.kill("SIGKILL");
    await executor.close();
    await dispose();
    t.remove();
  });

  test("a 20-task batch runs each task once, spread over two workers, and a second batch is all hits", async () => {
    const [a, b] = [await startWorker(), await startWorker()];
    const { work } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { work: (i: number, ms: number) => Promise<number> };
    const batch = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`w${i}`, [work, [i, 150]] as const]));
    const results = await client.submitMany(batch, { maxWorkers: 20 });
    for (let i = 0; i < 20; i++) assert.equal(await results[`w${i}`]!.load(), i * i);
    const done = lines().filter((l) => l.includes(" done "));
    const perTask = new Map<string, number>();
    for (const l of done) perTask.set(l.split(" ")[2]!, (perTask.get(l.split(" ")[2]!) ?? 0) + 1);
    assert.equal(perTask.size, 20);
    assert.ok([...perTask.values()].every((n) => n === 1), "each task executed once");
    const byWorker = new Set(done.map((l) => Number(l.split(" ")[0])));
    assert.deepEqual([...byWorker].sort(), [a.pid, b.pid].sort(), "both workers took tasks");
    const again = await client.submitMany(batch, { maxWorkers: 20 });
    assert.ok(Object.values(again).every((r) => r.cached), "all hits, answered without the queue");
    assert.equal(lines().filter((l) => l.includes(" done ")).length, 20);
  });

  test("a worker killed mid-task loses the task to the other worker; the batch completes", async () => {
    const { work } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { work: (i: number, ms: number) => Promise<number> };
    const batch = Array.from({ length: 12 }, (_, i) => [work, [100 + i, 400]] as const);
    const running = client.submitMany(batch, { maxWorkers: 12 });
    // Wait until the first worker is in the middle of a task, then kill it outright.
    const victim = workers[0]!;
    const started = (l: string): boolean => l.startsWith(`${victim.pid} start `) && Number(l.split(" ")[2]) >= 100;
    while (!lines().some(started)) await new Promise((r) => setTimeout(r, 20));
    victim.kill("SIGKILL");
    const results = await running;
    for (let i = 0; i < 12; i++) assert.equal(await results[i]!.load(), (100 + i) ** 2);
    const done = new Set(lines().filter((l) => l.split(" ")[1] === "done").map((l) => Number(l.split(" ")[2])).filter((i) => i >= 100 && i < 112));
    assert.equal(done.size, 12, "every task finished somewhere");
    const survivor = workers[1]!.pid;
    const ofVictim = (what: string): Set<string> => new Set(lines().filter((l) => l.startsWith(`${victim.pid} ${what} `)).map((l) => l.split(" ")[2]!));
    const lost = [...ofVictim("start")].filter((i) => Number(i) >= 100 && !ofVictim("done").has(i));
    assert.ok(lost.length > 0, "the killed worker was in the middle of a task");
    for (const i of lost) assert.ok(lines().includes(`${survivor} done ${i}`), `task ${i} was taken over by the other worker`);
  });

  test("a worker records what a queued call read: a change runs it again there, restoring it serves the older commit", async () => {
    const { readData } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { readData: (path: string) => string };
    const data = join(t.dir, "data.txt");
    writeFileSync(data, "q1");
    const first = await client.submit(readData, data);
    assert.deepEqual([first.cached, await first.load()], [false, "q1"]);
    assert.deepEqual((await client.show(first.commit)).observed?.files.map((f) => f.path), ["data.txt"], "relative to the project root (the module's directory: no package.json)");
    assert.equal((await client.submit(readData, data)).cached, true);
    writeFileSync(data, "q2");
    const second = await client.submit(readData, data);
    assert.deepEqual([second.cached, await second.load()], [false, "q2"]);
    writeFileSync(data, "q1");
    const third = await client.submit(readData, data);
    assert.deepEqual([third.cached, third.commit], [true, first.commit]);
    assert.equal(lines().filter((l) => l.includes(" read ")).length, 2, "the worker ran it twice");
  });

  test("`cashet run --queue` without Redis is a usage error; with it, the worker's result is printed", async () => {
    const r = await cashet(["run", "--queue", `${join(t.dir, "tasks.mjs")}#work`, "7", "1"], { env: { CASHET_REDIS: "" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--queue needs the Redis store/);
    const q = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, "run", "--queue", "--json", "tasks.mjs#work", "77", "1"], { cwd: t.dir, env });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.on("close", (code) => resolve({ code, out }));
    });
    assert.equal(q.code, 0);
    assert.equal(JSON.parse(q.out).result, 77 * 77);
    assert.ok(lines().some((l) => l.endsWith(" done 77") && !l.startsWith(`${process.pid} `)), "a worker ran it, not the command");
  });
});
