// Multi-process behaviour of the fs store: many processes writing at once, the index daemon dying
// mid-run, ref compare-and-swap under contention, and claims across processes (including holders
// and daemons that are SIGKILLed). Each test uses a fresh store in its own temp dir; the worker
// processes are test/helpers/worker.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "../../../../plumbing/ids.js";
import { ObjectDb } from "../../../../plumbing/objects.js";
import { daemonAddress } from "../../../../plumbing/backends/fs/layout.js";
import { FsStore } from "../../../../plumbing/backends/fs/store.js";
import type { WrittenItem } from "../../../helpers/worker.js";

// Daemons started from here (and by the workers, which inherit this env) exit soon when idle;
// after an unclean restart, claim holders get one second to re-assert their claims.
process.env.CASHET_DAEMON_IDLE_MS = "3000";
process.env.CASHET_CLAIM_GRACE_MS = "1000";

const WORKER = fileURLToPath(new URL("../../../helpers/worker.js", import.meta.url));
const TEST_TIMEOUT = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes

interface Line {
  text: string;
  /** When the test process received it (ms since epoch). */
  at: number;
}

class Worker {
  readonly proc: ChildProcess;
  readonly lines: Line[] = [];
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();

  constructor(args: string[], env: Record<string, string> = {}) {
    this.proc = spawn(process.execPath, [WORKER, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    running.add(this);
    createInterface({ input: this.proc.stdout! }).on("line", (text) => {
      this.lines.push({ text, at: Date.now() });
      for (const l of this.listeners) l();
    });
    this.proc.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.proc.stdin!.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      this.proc.once("exit", (code, signal) => {
        running.delete(this);
        // let the last stdout lines arrive before anyone looks at them
        setImmediate(() => {
          resolve({ code, signal });
          for (const l of this.listeners) l();
        });
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The first line matching `match`; fails if the worker exits or `timeoutMs` passes first. */
  waitFor(match: string | RegExp, timeoutMs = 30_000): Promise<Line> {
    const test = (l: Line): boolean => (typeof match === "string" ? l.text === match : match.test(l.text));
    return new Promise((resolve, reject) => {
      let exited = false;
      void this.exited.then(() => (exited = true));
      const check = (): void => {
        const hit = this.lines.find(test);
        if (hit) return finish(() => resolve(hit));
        if (exited) finish(() => reject(new Error(`worker exited before printing ${match}: ${this.describe()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no ${match} within ${timeoutMs} ms: ${this.describe()}`))),
        timeoutMs,
      );
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        fn();
      };
      this.listeners.add(check);
      check();
    });
  }

  go(): void {
    this.proc.stdin!.write("go\n");
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
  }

  /** Waits for a clean exit and returns the stdout lines (but the barrier's "ready"). */
  async finished(): Promise<string[]> {
    const { code, signal } = await this.exited;
    assert.equal(code, 0, `worker ${this.proc.spawnargs.slice(2, 4).join(" ")} failed (${signal ?? code}): ${this.describe()}`);
    return this.lines.map((l) => l.text).filter((t) => t !== "ready");
  }

  describe(): string {
    return `stdout=${JSON.stringify(this.lines.map((l) => l.text).slice(-5))} stderr=${JSON.stringify(this.stderr.slice(-2000))}`;
  }
}

/** Workers not yet exited, SIGKILLed after each test. */
const running = new Set<Worker>();

/** Starts workers with CASHET_TEST_BARRIER=1, waits until each is connected, then lets all go at once. */
async function startTogether(argsList: string[][]): Promise<Worker[]> {
  const workers = argsList.map((args) => new Worker(args, { CASHET_TEST_BARRIER: "1" }));
  await Promise.all(workers.map((w) => w.waitFor("ready")));
  for (const w of workers) w.go();
  return workers;
}

// ---------------------------------------------------------------------------------------------
// Stores

const dirs: string[] = [];
const stores: FsStore[] = [];

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cashet-mp-"));
  dirs.push(dir);
  return dir;
}

function openStore(dir: string): FsStore {
  const store = new FsStore(dir);
  stores.push(store);
  return store;
}

const pidFile = (dir: string): string => join(dir, "index", "daemon.pid");

function daemonPid(dir: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile(dir), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** True while `pid` runs (a zombie, dead but not yet reaped by its parent, does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true; // no /proc here: trust kill(0)
  }
}

async function until<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Waits until nothing listens at the store's daemon address any more. */
async function untilRefused(dir: string, timeoutMs = 30_000): Promise<void> {
  const address = daemonAddress(realpathSync(dir));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection(address);
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    if (refused) return;
    if (Date.now() > deadline) throw new Error("timed out waiting for the daemon's socket to close");
    await sleep(10);
  }
}

function refCount(dir: string): number {
  try {
    return readdirSync(join(dir, "refs", "fp")).filter((n) => !n.endsWith(".tmp")).length;
  } catch {
    return 0;
  }
}

async function cleanUp(): Promise<void> {
  for (const w of [...running]) {
    w.kill();
    await w.exited;
  }
  for (const store of stores.splice(0)) {
    await store.stopDaemon();
    await store.close();
  }
  for (const dir of dirs.splice(0)) {
    // a daemon started by a worker may still be idling here
    const pid = daemonPid(dir);
    if (pid !== null && alive(pid)) {
      const store = new FsStore(dir);
      await store.stopDaemon();
      await store.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

afterEach(cleanUp);
after(cleanUp);

// ---------------------------------------------------------------------------------------------
// Checks

/** Everything the writers reported reads back verified, is reachable by its ref, and is indexed. */
async function verifyWrites(dir: string, items: WrittenItem[]): Promise<void> {
  const store = openStore(dir);
  const db = new ObjectDb(store.objects);
  const ids = new Set(items.map((i) => i.commit));
  assert.equal(ids.size, items.length, "every commit id is distinct");

  let blobBytes = 0;
  for (const item of items) {
    const commit = await db.getCommit(item.commit);
    assert.ok(commit, `commit ${item.commit} reads back`);
    assert.equal(commit.fingerprint, item.fingerprint);
    assert.equal(commit.status, item.status);
    const bytes = await db.getBlob(item.blob, commit);
    assert.ok(bytes, `blob ${item.blob} of commit ${item.commit} reads back`);
    assert.equal(sha256(bytes), item.blob);
    assert.equal(bytes.length, item.size);
    assert.ok(bytes.toString("latin1").startsWith("worker "), "blob holds what was written");
    if (item.status === "completed") assert.equal(commit.output?.hash, item.blob);
    else assert.equal(commit.args.blob, item.blob);
    if (item.inline) {
      assert.equal(await store.objects.size(item.blob), null, "an inline blob costs no file");
    } else {
      const stored = await store.objects.size(item.blob);
      assert.ok(stored !== null && stored > 0, `blob ${item.blob} is a file`);
      blobBytes += stored;
    }
    assert.equal(await store.refs.read(`fp/${item.fingerprint}`), item.commit, `fp/${item.fingerprint} points at its commit`);
  }
  assert.equal((await store.refs.list("fp/")).length, items.length, "one ref per commit, no strays");

  const log = await store.index.log({});
  assert.equal(log.length, items.length, "log lists every commit once");
  assert.deepEqual(new Set(log.map((e) => e.id)), ids);

  const stats = await store.index.stats();
  const inline = items.filter((i) => i.inline);
  assert.deepEqual(stats, {
    totalCommits: items.length,
    completedCommits: items.filter((i) => i.status === "completed").length,
    failedCommits: items.filter((i) => i.status === "failed").length,
    commitBytes: items.reduce((n, i) => n + i.commitBytes, 0),
    blobObjects: items.length - inline.length,
    blobBytes,
    inlineObjects: inline.length,
    inlineBytes: inline.reduce((n, i) => n + i.size, 0),
  });
}

function collect(outputs: string[][]): WrittenItem[] {
  return outputs.flatMap((lines) => {
    assert.equal(lines.length, 1, `a writer prints one JSON line, got ${JSON.stringify(lines)}`);
    return (JSON.parse(lines[0]!) as { items: WrittenItem[] }).items;
  });
}

// ---------------------------------------------------------------------------------------------
// Tests

const WRITERS = 12;

test("12 processes writing distinct objects and commits into one fresh store at once lose nothing", { timeout: TEST_TIMEOUT }, async () => {
  const dir = freshDir();
  const perWorker = 25;
  const workers = Array.from({ length: WRITERS }, (_, w) => new Worker(["write", dir, String(w), String(perWorker)]));
  const outputs = await Promise.all(workers.map((w) => w.finished()));
  const items = collect(outputs);
  assert.equal(items.length, WRITERS * perWorker);
  assert.ok(items.some((i) => i.inline) && items.some((i) => !i.inline), "both small and large blobs were written");
  await verifyWrites(dir, items);
});

test("writers lose nothing when the index daemon is SIGKILLed twice mid-run", { timeout: TEST_TIMEOUT }, async (t) => {
  const dir = freshDir();
  const perWorker = 120;
  const total = WRITERS * perWorker;
  const workers = Array.from(
    { length: WRITERS },
    (_, w) => new Worker(["write", dir, String(w), String(perWorker), "3"]),
  );
  const done = Promise.all(workers.map((w) => w.finished()));
  done.catch(() => undefined); // reported when awaited below

  const killed: number[] = [];
  for (const threshold of [Math.floor(total * 0.15), Math.floor(total * 0.45)]) {
    // a daemon we have not killed yet, once enough writes went through it
    const pid = await until("a live daemon", () => {
      const p = daemonPid(dir);
      return p !== null && !killed.includes(p) && alive(p) && refCount(dir) >= threshold && p;
    });
    const written = refCount(dir);
    process.kill(pid, "SIGKILL");
    killed.push(pid);
    assert.ok(written < total, `the daemon was killed mid-run (${written} of ${total} refs written)`);
    t.diagnostic(`daemon ${pid} SIGKILLed with ${written} of ${total} refs written`);
  }

  const items = collect(await done);
  assert.equal(items.length, total);
  await verifyWrites(dir, items);
});

test("ref compare-and-swap: of many processes swapping from the same value exactly one wins", { timeout: TEST_TIMEOUT }, async () => {
  const dir = freshDir();
  const store = openStore(dir);
  const ref = "pin/contended";
  const racers = 8;

  let expected = "-"; // round 1: the ref must not exist yet
  for (const round of [1, 2]) {
    const workers = await startTogether(
      Array.from({ length: racers }, (_, i) => ["cas", dir, ref, expected, `round ${round} worker ${i}`]),
    );
    const results = (await Promise.all(workers.map((w) => w.finished()))).map(
      (lines) => JSON.parse(lines[0]!) as { mine: string; ok: boolean },
    );
    assert.equal(new Set(results.map((r) => r.mine)).size, racers, "every racer offers its own value");
    const winners = results.filter((r) => r.ok);
    assert.equal(winners.length, 1, `round ${round}: exactly one update succeeds (${JSON.stringify(results)})`);
    assert.equal(await store.refs.read(ref), winners[0]!.mine, `round ${round}: the ref holds the winner's value`);
    expected = winners[0]!.mine;
  }
});

test("ref compare-and-swap: 8 processes incrementing a counter by read/CAS/retry lose no increment", { timeout: TEST_TIMEOUT }, async () => {
  const dir = freshDir();
  const store = openStore(dir);
  const db = new ObjectDb(store.objects);
  const ref = "pin/counter";
  const procs = 8;
  const times = 25;

  const workers = await startTogether(
    Array.from({ length: procs }, (_, w) => ["incr", dir, ref, String(w), String(times)]),
  );
  const results = (await Promise.all(workers.map((w) => w.finished()))).map(
    (lines) => JSON.parse(lines[0]!) as { successes: number; failures: number },
  );
  const successes = results.reduce((n, r) => n + r.successes, 0);
  assert.equal(successes, procs * times);

  // Walk the chain back from the head: one link per successful update, none lost or repeated.
  const perWorker = new Map<number, number>();
  let cur = await store.refs.read(ref);
  let expectN = successes;
  while (cur !== null) {
    const bytes = await db.getBlob(cur);
    assert.ok(bytes, `counter value ${cur} reads back`);
    const v = JSON.parse(bytes.toString("utf8")) as { n: number; prev: string | null; by: number };
    assert.equal(v.n, expectN, "each value is one more than the one it replaced");
    perWorker.set(v.by, (perWorker.get(v.by) ?? 0) + 1);
    expectN--;
    cur = v.prev;
  }
  assert.equal(expectN, 0, "the chain reaches back to the first increment");
  assert.deepEqual(
    [...perWorker.entries()].sort(([a], [b]) => a - b),
    results.map((r, w) => [w, r.successes]),
    "every process's reported increments are in the chain",
  );
});

test("claims: of two processes racing for one key, one wins and the other waits until it releases", { timeout: TEST_TIMEOUT }, async () => {
  const dir = freshDir();
  const key = sha256("race");
  const workers = await startTogether([
    ["claim", dir, key, "1500"],
    ["claim", dir, key, "1500"],
  ]);
  const outputs = await Promise.all(workers.map((w) => w.finished()));
  const winner = outputs.find((lines) => lines[0] === "won");
  const loser = outputs.find((lines) => lines[0] === "lost");
  assert.ok(winner && loser, `one won and one lost: ${JSON.stringify(outputs)}`);
  assert.match(winner[1] ?? "", /^releasing \d+$/);
  assert.match(loser[1] ?? "", /^released \d+$/);
  const releasedAt = Number(winner[1]!.split(" ")[1]);
  const wokenAt = Number(loser[1]!.split(" ")[1]);
  assert.ok(wokenAt >= releasedAt, "the waiter is woken only after the winner lets go");
});

test("claims: a SIGKILLed holder's claim is taken over within a few seconds", { timeout: TEST_TIMEOUT }, async () => {
  const dir = freshDir();
  const key = sha256("takeover");
  const holder = new Worker(["hold", dir, key]);
  await holder.waitFor("held");
  const waiter = new Worker(["claim", dir, key, "0"]);
  await waiter.waitFor("lost");

  const killedAt = Date.now();
  holder.kill();
  const released = await waiter.waitFor(/^released /, 10_000);
  assert.ok(released.at - killedAt <= 5_000, `the waiter was released ${released.at - killedAt} ms after the holder died`);
  await waiter.finished();

  const store = openStore(dir);
  const handle = await store.claims.tryAcquire(key);
  assert.ok(handle, "the key can be claimed again");
  await handle.release();
});

test("claims: a holder keeps its claim when the daemon is SIGKILLed and restarted", { timeout: TEST_TIMEOUT }, async () => {
  const dir = freshDir();
  const key = sha256("survives");
  const holder = new Worker(["hold", dir, key]);
  await holder.waitFor("held");
  const first = await until("the daemon's pid", () => daemonPid(dir));

  // The holder is busy (stopped) when the daemon dies, so this process restarts the daemon and
  // asks for the key first; the holder, resumed, re-asserts its claim within the grace period.
  holder.proc.kill("SIGSTOP");
  process.kill(first, "SIGKILL");
  await untilRefused(dir); // the dead daemon's socket is gone (not just its main thread)
  const store = openStore(dir);
  const competing = store.claims.tryAcquire(key);
  competing.catch(() => undefined); // awaited below
  // answered after the new daemon has read our acquire (one connection, in order)
  const second = (await store.daemonInfo()).pid;
  assert.notEqual(second, first);
  holder.proc.kill("SIGCONT");
  assert.equal(await competing, null, "a competing acquire after the restart fails");

  // A runner starting later loses too.
  const rival = new Worker(["claim", dir, key, "0"]);
  const rivalSays = await rival.waitFor(/^(won|lost)$/);
  assert.equal(rivalSays.text, "lost", "a new process cannot take the claim after the restart");
  const claims = await store.claims.list();
  assert.deepEqual(
    claims.map((c) => [c.key, c.pid]),
    [[key, holder.pid]],
    "the claim is still the holder's",
  );
  assert.equal((await store.daemonInfo()).pid, second, "the restarted daemon serves the store");
  assert.ok(!holder.lines.some((l) => l.text === "claim lost"), "the holder was never told it lost the claim");

  // and it is a real claim: once the holder dies, it is free
  holder.kill();
  await rival.waitFor(/^released /, 10_000);
  await rival.finished();
  const handle = await store.claims.tryAcquire(key);
  assert.ok(handle, "the key can be claimed once the holder is gone");
  await handle.release();
});
