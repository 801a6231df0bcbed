// Distributed execution: two `cashet worker` processes on one Redis store take a 20-task
// submitMany batch from the queue — every task runs once, on both workers, and is answered as
// run — and a worker killed mid-task loses its task to the other, so the batch still completes.
// A call that blocks its worker keeps its job; a job BullMQ delivers twice is still "ran"; a
// SIGKILLed worker's call is re-run once its lock lapses. The CLI: naming a queue, the notice
// and --queue-timeout when no worker takes a call, the worker's log. Real Redis and BullMQ.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { Client } from "../../../lib/client.js";
import { WaitTimeoutError } from "../../../plumbing/errors.js";
import { QueueExecutor } from "../../../porcelain/exec/queue.js";
import { CLI, cashet, exec } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/fixtures.js";
import { REDIS_URL, redisOrSkip, tempRedisStore, uniquePrefix } from "../../helpers/redis.js";

const available = await redisOrSkip();

const TASKS = `import { appendFileSync, existsSync, readFileSync } from "node:fs";
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
// Blocks this thread (no timers, no I/O callbacks) until the test writes stop-<i>, or for ms.
export function hold(i, ms = 30000) {
  appendFileSync(log, process.pid + " start " + i + "\\n");
  const stop = new URL("./stop-" + i, import.meta.url).pathname;
  const end = Date.now() + ms;
  while (!existsSync(stop) && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  appendFileSync(log, process.pid + " done " + i + "\\n");
  return i;
}
`;

describe("cashet worker on BullMQ", { skip: !available }, () => {
  const t = tempDir("cashet-queue-");
  writeFileSync(join(t.dir, "tasks.mjs"), TASKS);
  const prefix = uniquePrefix("queue");
  const { store, dispose } = tempRedisStore({ prefix, claimTtlMs: 1500 });
  const env = { ...process.env, CASHET_REDIS: REDIS_URL, CASHET_REDIS_PREFIX: prefix, CASHET_CLAIM_TTL_MS: "1500", CASHET_WORKER_LOCK_MS: "2000" };
  const workers: ChildProcess[] = [];
  /** What each worker wrote on stderr, by pid. */
  const logs = new Map<number, string>();
  const startWorker = async (args: string[] = []): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [CLI, "worker", "--concurrency", "3", ...args], { cwd: t.dir, env, stdio: ["ignore", "ignore", "pipe"] });
    workers.push(child);
    logs.set(child.pid!, "");
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => {
        logs.set(child.pid!, logs.get(child.pid!) + String(d));
        if (String(d).includes("taking calls")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`worker exited with ${code}`)));
    });
    return child;
  };
  const alive = (): ChildProcess[] => workers.filter((w) => w.exitCode === null && w.signalCode === null);
  // BullMQ's record of jobs handed back to the queue because their lock lapsed ("stalled").
  const stalled: { jobId: string; at: number }[] = [];
  const eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queueEvents = new QueueEvents("cashet", { connection: eventsConnection, prefix: `${prefix}queue` });
  queueEvents.on("stalled", ({ jobId }) => stalled.push({ jobId, at: Date.now() }));
  const lines = (): string[] => (existsSync(join(t.dir, "runs.log")) ? readFileSync(join(t.dir, "runs.log"), "utf8").split("\n").filter(Boolean) : []);
  const executor = new QueueExecutor({ redis: REDIS_URL, prefix: `${prefix}queue`, root: t.dir });
  const client = new Client({ store, executor });

  after(async () => {
    for (const w of workers) w.kill("SIGKILL");
    await queueEvents.close();
    eventsConnection.disconnect(); // a connection handed to BullMQ is left open by its close()
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
    assert.deepEqual(Object.entries(results).filter(([, r]) => r.cached).map(([k]) => k), [], "each call ran: none is answered as a hit");
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

  test("a name given to a queued call is the name the worker's commit records", async () => {
    if (alive().length === 0) await startWorker();
    const { work } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { work: (i: number, ms: number) => Promise<number> };
    const ref = await client.run(work, { name: "renamed-work", args: [99, 10] });
    assert.equal(await ref.load(), 99 * 99);
    assert.equal((await client.show(ref.commit)).func.name, "renamed-work");
  });

  test("a call that blocks its worker's thread for longer than the lock keeps its job: no other worker takes it", async () => {
    while (alive().length < 2) await startWorker();
    await queueEvents.waitUntilReady();
    const { hold } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { hold: (i: number, ms?: number) => number };
    const before = stalled.length;
    // 2.6 s blocked against a 2 s lock: BullMQ's own renewal (a main-thread timer) cannot run.
    const results = await Promise.all([40, 41, 42].map((i) => client.submit(hold, i, 2600)));
    assert.deepEqual(results.map((r) => r.cached), [false, false, false], "each call is answered as run");
    assert.equal(stalled.length, before, "no job was handed back to the queue");
    for (const i of [40, 41, 42]) assert.equal(lines().filter((l) => l.endsWith(` start ${i}`)).length, 1, `call ${i} was taken and run once`);
  });

  test("a job delivered again after its lock lapsed is answered cached: false when its first take ran it", async () => {
    const { work } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { work: (i: number, ms: number) => Promise<number> };
    while (alive().length < 2) await startWorker();
    const redis = new Redis(REDIS_URL);
    try {
      const running = client.submit(work, 50, 2500);
      while (!lines().some((l) => l.endsWith(" start 50"))) await sleep(20);
      // What a worker's lock lapsing looks like to BullMQ (a frozen process, a partition): the
      // stalled check hands the job to a worker again, which waits on the first take's claim.
      const locks = await redis.keys(`${prefix}queue:cashet:*:lock`);
      assert.equal(locks.length, 1);
      await redis.del(locks[0]!);
      const jobId = locks[0]!.split(":").at(-2)!;
      const r = await running;
      assert.ok(stalled.some((s) => s.jobId === jobId), "BullMQ delivered the job again");
      assert.equal(r.cached, false, "the call ran (on the first take), so it is no hit");
      assert.equal(lines().filter((l) => l.endsWith(" start 50")).length, 1, "and it ran once");
      assert.match([...logs.values()].join(""), /cashet worker: work\(2 args\) hit [\d.]+ m?s [0-9a-f]{12} \(delivered again: its earlier take ran it\)/);
    } finally {
      redis.disconnect();
    }
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

  test("a SIGKILLed worker's call is re-run once its lock lapses: after the stalled check, within lock + check + slack", async () => {
    while (alive().length < 2) await startWorker();
    const { hold } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { hold: (i: number, ms?: number) => number };
    const since = stalled.length;
    const running = client.submit(hold, 60);
    const starts = (): string[] => lines().filter((l) => l.endsWith(" start 60"));
    while (!starts().length) await sleep(20);
    const victim = alive().find((w) => starts()[0]!.startsWith(`${w.pid} `))!;
    await sleep(3000); // longer than the lock: only the heartbeat thread keeps it, the main thread is blocked
    assert.equal(stalled.length, since, "a live worker, blocked, keeps its job");
    victim.kill("SIGKILL");
    const killedAt = Date.now();
    while (starts().length < 2) await sleep(10);
    const rerunAt = Date.now();
    writeFileSync(join(t.dir, "stop-60"), "");
    assert.equal((await running).cached, false);
    const release = stalled.slice(since);
    assert.equal(release.length, 1, "the job went back to the queue once");
    assert.ok(release[0]!.at >= killedAt && release[0]!.at <= rerunAt, "by BullMQ's stalled check, after the kill and before the re-run");
    const survivor = Number(starts()[1]!.split(" ")[0]);
    assert.match(logs.get(survivor)!, /^cashet worker: hold\(1 arg\) ran [\d.]+ m?s [0-9a-f]{12} \(delivered again\)$/m);
    // The lock (2 s here, renewed every 2/3 s by the thread) lapses ≤ 2 s after the kill and the
    // check (every 0.5 s) hands the job on: ≈ 2.5 s. Before, a 5 s lock checked every 2.5 s
    // took up to 7.5 s (measured 7.2 s), and a 10 s claim ttl 9.9 s.
    assert.ok(rerunAt - killedAt < 5000, `re-run ${rerunAt - killedAt} ms after the kill`);
  });

  test("`run --queue=NAME` (before or after the target) runs on that queue's worker, which logs one line per call", async () => {
    const w = await startWorker(["--queue", "gpu"]);
    for (const args of [["--queue=gpu", "tasks.mjs#work", "78", "1"], ["tasks.mjs#work", "79", "1", "--queue=gpu"]]) {
      const r = await exec(process.execPath, [CLI, "run", "--json", ...args], { cwd: t.dir, env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.out).cached, false);
    }
    assert.ok(lines().includes(`${w.pid} done 78`) && lines().includes(`${w.pid} done 79`), "the gpu worker ran both");
    assert.match(logs.get(w.pid!)!, /^cashet worker: work\(2 args\) ran [\d.]+ m?s [0-9a-f]{12}$/m);
    assert.equal(logs.get(w.pid!)!.match(/^cashet worker: /gm)!.length, 2, "one line per call");
    const eaten = await exec(process.execPath, [CLI, "run", "--queue", "gpu", "tasks.mjs#work", "80", "1"], { cwd: t.dir, env });
    assert.equal(eaten.code, 2, "a bare --queue takes no name: gpu is the target");
    assert.match(eaten.stderr, /gpu does not exist \(to name a queue, write --queue=gpu\)/);
  });

  test("a QueueExecutor whose call no worker takes reports the wait, then gives up with WaitTimeoutError", async () => {
    const waits: { queue: string; name: string }[] = [];
    let ended = 0;
    const lonely = new QueueExecutor({
      redis: REDIS_URL,
      prefix: `${prefix}queue`,
      root: t.dir,
      queue: "empty",
      waitNotice: 0.2,
      queueTimeout: 0.6,
      onQueueWait: ({ queue, name }) => {
        waits.push({ queue, name });
        return () => ended++;
      },
    });
    try {
      const { work } = (await import(pathToFileURL(join(t.dir, "tasks.mjs")).href)) as { work: (i: number, ms: number) => Promise<number> };
      const err = await new Client({ store, executor: lonely }).submit(work, 82, 1).then(
        () => assert.fail("no worker runs queue empty"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WaitTimeoutError, String(err));
      assert.match(err.message, /no worker took work from queue "empty"/);
      assert.deepEqual(waits, [{ queue: "empty", name: "work" }]);
      assert.equal(ended, 1, "the wait's end was reported");
    } finally {
      await lonely.close();
    }
  });

  test("with no worker on its queue, `run --queue` says so on stderr after 3 s, and --queue-timeout gives up (exit 4) and takes the call off the queue", async () => {
    const r = await exec(process.execPath, [CLI, "run", "--queue=nobody", "--queue-timeout", "3.5", "tasks.mjs#work", "81", "1"], { cwd: t.dir, env });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^cashet: waiting for a worker on queue "nobody" \(start one with: cashet worker --queue nobody/m);
    assert.match(r.stderr, /gave up after 3.5 s: no worker took work from queue "nobody".*removed from the queue/);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue("nobody", { connection, prefix: `${prefix}queue` });
    try {
      const counts = await queue.getJobCounts();
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 0, "no job is left for a worker started later");
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
