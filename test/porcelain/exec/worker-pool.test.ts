// The worker-thread executor through the Client, on a real store on disk: true parallelism,
// hard timeouts, cancellation, crashes, errors and retries, TypeScript modules, and what it
// refuses.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Client } from "../../../lib/client.js";
import { InvalidInputError } from "../../../plumbing/errors.js";
import { ObjectDb } from "../../../plumbing/objects.js";
import { FsStore } from "../../../plumbing/backends/fs/store.js";
import { loadExport } from "../../../porcelain/exec/load-export.js";
import { TaskError, TaskTimeoutError } from "../../../porcelain/run.js";
import { WorkerPoolExecutor } from "../../../porcelain/exec/worker-pool.js";
import { doubleCounted, exitThread, flaky, meetPartner, refuse, refuseInput, returnsFunction, spinForever, structured, whereAmI } from "../../helpers/pool-tasks.js";
import { tempDir } from "../../helpers/fixtures.js";

const t = tempDir();
const store = new FsStore(join(t.dir, "store"));
const pool = new WorkerPoolExecutor({ size: 2 });
const client = new Client({ store, executor: pool });
const runs = (log: string): number => readFileSync(log, "utf8").split("\n").filter(Boolean).length;
let logs = 0;
const newLog = (): string => {
  const log = join(t.dir, `log-${++logs}`);
  writeFileSync(log, "");
  return log;
};
after(async () => {
  await pool.close();
  await store.stopDaemon();
  await store.close();
  t.remove();
});

test("tasks run in worker threads, not in the caller's", async () => {
  const ref = await client.submit(whereAmI, "pool");
  const where = await ref.load();
  assert.equal(where.isMainThread, false);
  assert.notEqual(where.threadId, 0);
});

test("two tasks that each hold their thread until they see the other both finish: they ran at the same time", async () => {
  const meeting = join(t.dir, "meeting");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(meeting);
  const [a, b] = await Promise.all([client.submit(meetPartner, meeting, "a", "b"), client.submit(meetPartner, meeting, "b", "a")]);
  assert.equal(await a.load(), "a met b");
  assert.equal(await b.load(), "b met a");
});

test("the second identical call is a hit and executes nothing in any thread", async () => {
  const log = newLog();
  assert.equal(await (await client.submit(doubleCounted, log, 21)).load(), 42);
  const again = await client.submit(doubleCounted, log, 21);
  assert.equal(again.cached, true);
  assert.equal(runs(log), 1);
});

test("a hard timeout stops a task that never yields; the failure is recorded and the pool runs on", async () => {
  const log = newLog();
  const started = Date.now();
  const err = await client.run(spinForever, { args: [log], timeout: 0.5 }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError, String(err));
  assert.ok(err.cause instanceof TaskTimeoutError);
  assert.equal(err.cause.hard, true);
  assert.match(err.message, /timed out after 0.5 s \(the worker running it was stopped\)/);
  assert.ok(Date.now() - started < 8000, "it did not wait for the loop");
  const failed = await new ObjectDb(store.objects).getCommit(err.commit);
  assert.equal(failed!.status, "failed");
  assert.equal(failed!.error!.name, "TaskTimeoutError");
  assert.equal(await (await client.submit(doubleCounted, newLog(), 5)).load(), 10, "the pool still works");
});

test("cancelling a call stops its thread", async () => {
  const log = newLog();
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("the user gave up")), 300);
  await assert.rejects(client.run(spinForever, { args: [log], signal: controller.signal }), /the user gave up/);
  assert.equal(runs(log), 1);
  assert.equal(await (await client.submit(doubleCounted, newLog(), 6)).load(), 12);
});

test("a task that ends its thread fails with a clear error and the pool replaces the thread", async () => {
  const log = newLog();
  const err = await client.submit(exitThread, log).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError);
  assert.match(err.message, /worker thread running exitThread .* exited with code 3/);
  assert.equal(await (await client.submit(doubleCounted, newLog(), 7)).load(), 14);
});

test("a thrown error keeps its name, message and stack in the failed commit; retries run through the pool", async () => {
  const err = await client.submit(refuse, newLog(), "no").then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError);
  assert.equal((err.cause as Error).name, "RangeError");
  const failed = await new ObjectDb(store.objects).getCommit(err.commit);
  assert.equal(failed!.error!.name, "RangeError");
  assert.equal(failed!.error!.message, "refused: no");
  assert.match(failed!.error!.stack, /at refuse \(.*pool-tasks\.js/);

  const log = newLog();
  const ok = await client.run(flaky, { args: [log, 2], retries: 3 });
  assert.equal(await ok.load(), "ok on attempt 3");
  assert.equal(runs(log), 3);
});

test("a cashet error thrown in a thread comes back as its own class, with its message and the thread's stack", async () => {
  const err = await client.submit(refuseInput, newLog(), "no").then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError);
  assert.ok(err.cause instanceof InvalidInputError, String(err.cause));
  assert.equal(err.cause.code, "EINVALID");
  assert.equal(err.cause.message, "bad input: no");
  assert.match(err.cause.stack!, /at refuseInput \(.*pool-tasks\.js/);
});

test("results cross threads with their types; a result that cannot is a clear failure", async () => {
  const value = await (await client.submit(structured)).load();
  assert.deepEqual(value, structured());
  const err = await client.submit(returnsFunction).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TaskError);
  assert.match(err.message, /cannot be sent back from its worker thread/);
});

test("a TypeScript module's export runs in a worker", async () => {
  const file = join(t.dir, "typed.ts");
  writeFileSync(file, `export function typed(n: number): { n: number; kind: string } {\n  const kind: string = "typed";\n  return { n: n * 3, kind };\n}\n`);
  const typed = await loadExport(file, "typed");
  const ref = await client.submit(typed, 4);
  assert.deepEqual(await ref.load(), { n: 12, kind: "typed" });
});

// A worker thread loads TypeScript as the CLI does: each module keeps its own file URL.
for (const kind of ["commonjs", "module"]) {
  test(`in a ${kind}-kind directory a worker's TypeScript task imports ./x.js lazily, and its failure's stack names task.ts:line:col`, async () => {
    const dir = join(t.dir, `ts-${kind}`);
    mkdirSync(dir);
    if (kind === "module") writeFileSync(join(dir, "package.json"), `{ "type": "module" }\n`);
    writeFileSync(join(dir, "lazy.ts"), `export const times = (n: number): number => n * 10;\n`);
    writeFileSync(
      join(dir, "task.ts"),
      `export async function viaImport(n: number): Promise<number> {\n  const { times } = await import("./lazy.js");\n  return times(n);\n}\n` +
        `export function boom(n: number): number {\n  throw new Error("boom " + n);\n}\n`,
    );
    const viaImport = await loadExport(join(dir, "task.ts"), "viaImport");
    assert.equal(await (await client.submit(viaImport, 3)).load(), 30);
    const boom = await loadExport(join(dir, "task.ts"), "boom");
    const err = await client.submit(boom, 1).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof TaskError);
    const stack = (await new ObjectDb(store.objects).getCommit(err.commit))!.error!.stack;
    assert.match(stack, /task\.ts:6:9/);
    assert.doesNotMatch(stack, /data:/);
  });
}

function notExported(x: number): number {
  return x + 1;
}

test("a function that is not a module export is refused with the reason", async () => {
  await assert.rejects(client.submit(notExported, 1), (e: unknown) => {
    const cause = e instanceof TaskError ? e.cause : e;
    return cause instanceof InvalidInputError && /runs module exports only/.test(cause.message);
  });
});

test("an idle pool does not keep the process alive, and a closed pool refuses work", async () => {
  const { execFileSync } = await import("node:child_process");
  const script = join(t.dir, "idle.mjs");
  const poolUrl = new URL("../../../porcelain/exec/worker-pool.js", import.meta.url).href;
  const tasksUrl = new URL("../../helpers/pool-tasks.js", import.meta.url).href;
  writeFileSync(
    script,
    `import { WorkerPoolExecutor } from ${JSON.stringify(poolUrl)};\n` +
      `import { doubleCounted } from ${JSON.stringify(tasksUrl)};\n` +
      `const pool = new WorkerPoolExecutor({ size: 1 });\n` +
      `const v = await pool.execute({ fn: doubleCounted, args: [${JSON.stringify(newLog())}, 4], entry: { file: new URL(${JSON.stringify(tasksUrl)}).pathname, exportName: "doubleCounted" }, attempt: 1, fingerprint: "f" });\n` +
      `console.log(v);\n`,
  );
  const out = execFileSync(process.execPath, [script], { encoding: "utf8", timeout: 20_000 });
  assert.equal(out, "8\n", "the script printed its result and exited on its own");

  const closed = new WorkerPoolExecutor({ size: 1 });
  await closed.close();
  await assert.rejects(closed.execute({ fn: doubleCounted, args: [], attempt: 1, fingerprint: "f", entry: { file: "/x.js", exportName: "x" } }), /closed/);
});
