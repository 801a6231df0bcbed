// `cashet run` processes SIGKILLed at random moments, the index daemon SIGKILLed at random too:
// no claim outlives its holder (SPEC §8 "no hang"), every call answers afterwards with its value,
// fsck is clean and no temp file is left behind. Real processes and real signals only.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { after, test } from "node:test";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { CLI } from "../helpers/cli.js";
import { seeded, tempDir } from "../helpers/fixtures.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const temps: { dir: string; remove: () => void }[] = [];
const storeDirs: string[] = [];

after(async () => {
  for (const dir of storeDirs) await new FsStore(dir, { create: false }).stopDaemon().catch(() => undefined);
  for (const t of temps) t.remove();
});

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We SIGKILLed it (before it exited on its own). */
  killed: boolean;
  /** It was still running at `limitMs` and was SIGKILLed for that. */
  hung: boolean;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

interface Running {
  /** SIGKILLs it now (if it still runs); true if the signal was sent. */
  kill(): boolean;
  done: Promise<Outcome>;
}

/** `cashet <args>` in a child process, SIGKILLed after `killAfterMs` if given, and as hung after `limitMs`. */
function start(args: string[], env: Record<string, string>, opts: { killAfterMs?: number; limitMs?: number } = {}): Running {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let stderr = "";
  let killed = false;
  let hung = false;
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  const signal = (): boolean => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL");
  const kill = (): boolean => (killed = signal() || killed);
  const killTimer = opts.killAfterMs === undefined ? undefined : setTimeout(kill, opts.killAfterMs);
  const limitTimer = setTimeout(() => (hung = signal()), opts.limitMs ?? 30_000);
  const done = new Promise<Outcome>((resolve) => {
    child.on("close", (code, sig) => {
      clearTimeout(killTimer);
      clearTimeout(limitTimer);
      resolve({ code, signal: sig, killed, hung, stdout: Buffer.concat(out), stderr, ms: Date.now() - started });
    });
  });
  return { kill, done };
}

const cashet = (args: string[], env: Record<string, string>, limitMs?: number): Promise<Outcome> =>
  start(args, env, limitMs === undefined ? {} : { limitMs }).done;

function daemonPid(store: string): number | null {
  try {
    const pid = Number(readFileSync(join(store, "index", "daemon.pid"), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function killDaemon(store: string): number | null {
  const pid = daemonPid(store);
  if (pid === null) return null;
  try {
    process.kill(pid, "SIGKILL");
    return pid;
  } catch {
    return null; // already gone
  }
}

function daemonLog(store: string): string {
  try {
    return readFileSync(join(store, "index", "daemon.log"), "utf8");
  } catch {
    return "";
  }
}

async function until(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Temp files under the store's tmp/, with their ages. */
function temporaries(store: string): { name: string; ageMs: number }[] {
  let names: string[];
  try {
    names = readdirSync(join(store, "tmp"));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      return [{ name, ageMs: Date.now() - statSync(join(store, "tmp", name)).mtimeMs }];
    } catch {
      return [];
    }
  });
}

async function withStore<T>(dir: string, fn: (store: FsStore) => Promise<T>): Promise<T> {
  const store = new FsStore(dir, { create: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function project(label: string): { dir: string; store: string } {
  const t = tempDir(label);
  temps.push(t);
  const store = join(t.dir, ".cashet");
  storeDirs.push(store);
  return { dir: t.dir, store };
}

test("a run SIGKILLed while its acquire waits out a restarted daemon's grace period leaves no claim behind", { timeout: 60_000 }, async () => {
  const { dir, store } = project("cashet-grace-kill-");
  const env = { CASHET_CLAIM_GRACE_MS: "3000", CASHET_DAEMON_IDLE_MS: "5000" };
  const task = join(dir, "t.mjs");
  writeFileSync(task, "export function f(x){return x+1}\n");
  const first = await cashet(["run", "--store", store, `${task}#f`, "1"], env);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.toString(), "2\n");

  // The daemon dies uncleanly; the next run starts another, which holds acquires back for the
  // grace period. That run is killed while its acquire waits.
  const dead = killDaemon(store);
  assert.ok(dead, "the first run left a daemon");
  await sleep(300);
  const waiting = start(["run", "--store", store, `${task}#f`, "2"], env);
  await until("the restarted daemon", () => /after an unclean exit/.test(daemonLog(store)), 20_000);
  await sleep(800); // its acquire has arrived and waits for the grace period to end
  const restarted = daemonPid(store);
  assert.ok(restarted !== null && restarted !== dead, "a new daemon serves the store");
  assert.ok(waiting.kill(), "the waiting run was still waiting");
  await waiting.done;
  await sleep(1500);

  // Its claim must have died with it: the same call answers once the grace period is over.
  const again = await cashet(["run", "--store", store, `${task}#f`, "2"], env, 20_000);
  assert.ok(!again.hung, `the call hung for ${again.ms} ms behind a dead process's claim`);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.toString(), "3\n");
  const claims = await withStore(store, (s) => s.claims.list());
  assert.deepEqual(claims, [], "no claim is left");
});

/** Pids of the index daemons serving `store` right now (from /proc: only those of this store). */
function daemonsOf(store: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.endsWith("daemon.js")) && argv.includes(store)) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

test("a run whose index daemon is SIGKILLed while it starts starts another, and answers", { timeout: 60_000, skip: process.platform !== "linux" }, async () => {
  const { dir, store } = project("cashet-start-kill-");
  const task = join(dir, "t.mjs");
  writeFileSync(task, "export function f(x){return x+1}\n");
  const run = start(["run", "--store", store, `${task}#f`, "1"], { CASHET_DAEMON_IDLE_MS: "3000" }, { limitMs: 30_000 });
  // The first two daemons die as soon as they appear, before they can say they are ready.
  const killed = new Set<number>();
  let finished = false;
  void run.done.then(() => (finished = true));
  while (killed.size < 2 && !finished) {
    for (const pid of daemonsOf(store)) {
      if (killed.has(pid)) continue;
      process.kill(pid, "SIGKILL");
      killed.add(pid);
    }
    await sleep(2);
  }
  const o = await run.done;
  assert.equal(killed.size, 2, "two starting daemons were killed");
  assert.equal(o.code, 0, o.stderr);
  assert.equal(o.stdout.toString(), "2\n");
});

test("the temp file of a writer SIGKILLed mid-write is removed by the index daemon; a live writer's is kept", { timeout: 60_000 }, async () => {
  const { dir, store } = project("cashet-dead-writer-");
  const env = { CASHET_TEMP_QUIET_MS: "500", CASHET_DAEMON_IDLE_MS: "20000" };
  const task = join(dir, "t.mjs");
  writeFileSync(task, "export function f(x){return x+1}\n");
  assert.equal((await cashet(["run", "--store", store, `${task}#f`, "1"], env)).code, 0); // the store and its daemon

  // A writer streaming a large object into the store, SIGKILLed halfway.
  const objects = pathToFileURL(fileURLToPath(new URL("../../plumbing/backends/fs/objects.js", import.meta.url))).href;
  const writer = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { FsObjects } = await import(${JSON.stringify(objects)});
       const w = await new FsObjects(${JSON.stringify(store)}).writer();
       await w.write(Buffer.alloc(1 << 20, 7));
       console.log("halfway");
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve) => writer.stdout.on("data", (d: Buffer) => d.toString().includes("halfway") && resolve()));
  const left = temporaries(store).map((f) => f.name);
  assert.equal(left.length, 1, `the writer has its temp file: ${JSON.stringify(left)}`);
  assert.ok(left[0]!.startsWith(`${writer.pid}-`));
  const exited = new Promise((r) => writer.once("close", r));
  writer.kill("SIGKILL");
  await exited;

  // This process writes too, and is alive: its temp file must stay however old it gets.
  const mine = join(store, "tmp", `${process.pid}-0123456789abcdef.tmp`);
  writeFileSync(mine, "in progress");
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(mine, past, past);

  await until("the dead writer's temp file to go", () => !existsSync(join(store, "tmp", left[0]!)), 15_000);
  assert.ok(existsSync(mine), "a live writer's temp file is kept");
  unlinkSync(mine);
});

/**
 * A run that stores its commit and is SIGKILLed before telling the index, as the child process
 * `node -e` of this script: with `claim`, holding the claim on the commit's fingerprint over the
 * daemon; without, touching files only (a run whose daemon was down). Resolves with the commit id
 * once it is stored; the child is dead by then.
 */
async function diesAfterStoring(store: string, seed: string, withClaim: boolean): Promise<string> {
  const url = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { FsStore } = await import(${url("../../plumbing/backends/fs/store.js")});
       const { FsObjects } = await import(${url("../../plumbing/backends/fs/objects.js")});
       const { ObjectDb } = await import(${url("../../plumbing/objects.js")});
       const { makeRecord } = await import(${url("../helpers/fixtures.js")});
       const seed = ${JSON.stringify(seed)};
       const record0 = makeRecord({ seed });
       let objects;
       if (${withClaim}) {
         const store = new FsStore(${JSON.stringify(store)});
         if (!(await store.claims.tryAcquire(record0.fingerprint))) throw new Error("claim taken");
         objects = store.objects;
       } else {
         objects = new FsObjects(${JSON.stringify(store)});
       }
       const db = new ObjectDb(objects);
       const blob = await db.putBlob(Buffer.alloc(5000, 3));
       const put = await db.putCommit(makeRecord({ seed, outputId: blob.id, outputSize: 5000 }));
       console.log(put.id);
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const id = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      if (out.includes("\n")) resolve(out.trim());
    });
    child.once("exit", (code) => reject(new Error(`the run exited (${code}) before storing its commit`)));
  });
  const exited = new Promise((r) => child.once("close", r));
  child.kill("SIGKILL");
  await exited;
  return id;
}

async function untilIndexed(store: string, id: string, timeoutMs: number): Promise<number> {
  const began = Date.now();
  await withStore(store, async (s) => {
    while ((await s.index.entry(id)) === null) {
      if (Date.now() - began > timeoutMs) throw new Error(`commit ${id.slice(0, 12)} was not indexed within ${timeoutMs} ms`);
      await sleep(100);
    }
  });
  return Date.now() - began;
}

test("a commit stored by a claim holder SIGKILLed before completing is indexed by the daemon", { timeout: 60_000 }, async () => {
  const { store } = project("cashet-stray-holder-");
  const id = await diesAfterStoring(store, "holder", true);
  await untilIndexed(store, id, 10_000);
  const fsck = await cashet(["fsck", "--json", "--store", store], {}, 30_000);
  assert.equal(fsck.code, 0, fsck.stdout.toString() + fsck.stderr);
});

test("a commit stored while the daemon was down, by a run SIGKILLed with the daemon, is indexed by the next daemon", { timeout: 60_000 }, async () => {
  const { store } = project("cashet-stray-both-");
  const env = { CASHET_CLAIM_GRACE_MS: "500", CASHET_DAEMON_IDLE_MS: "5000" };
  await new FsStore(store).close(); // an empty store
  assert.equal((await cashet(["log", "--store", store], env)).code, 0); // a daemon
  const first = daemonPid(store);
  const id = await diesAfterStoring(store, "no-daemon", false);
  assert.ok(first !== null && killDaemon(store) === first);
  await sleep(200);
  assert.equal((await cashet(["log", "--store", store], env)).code, 0); // the next daemon
  assert.notEqual(daemonPid(store), first);
  await untilIndexed(store, id, 10_000);
  const fsck = await cashet(["fsck", "--json", "--store", store], env, 30_000);
  assert.equal(fsck.code, 0, fsck.stdout.toString() + fsck.stderr);
});


// Each key's result: incompressible bytes derived from the key, 100 KB to 2 MB, so its blob goes
// to the store through a temp file of that size (once per key: equal results share one blob).
const STORM_TASK = `export const SIZES = [100000, 400000, 800000, 1200000, 1600000, 2000000];
export async function blob(k) {
  await new Promise((r) => setTimeout(r, 100 + 60 * k)); // kills land mid-task too
  const out = Buffer.allocUnsafe(SIZES[k]);
  let x = (0x9e3779b9 * (k + 1)) >>> 0;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}
`;

test("a storm of SIGKILLed runs and daemons leaves no stuck claim, no temp file, and a clean fsck", { timeout: 180_000 }, async (t) => {
  const seed = Number(process.env.CASHET_STORM_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seeded(seed);
  const say = (what: string): string => `${what} (storm seed ${seed}: rerun with CASHET_STORM_SEED=${seed})`;
  t.diagnostic(`storm seed ${seed}`);

  const { dir, store } = project("cashet-storm-");
  const env = { CASHET_CLAIM_GRACE_MS: "1000", CASHET_DAEMON_IDLE_MS: "3000", CASHET_TEMP_QUIET_MS: "1000" };
  const task = join(dir, "storm.mjs");
  writeFileSync(task, STORM_TASK);
  const mod = (await import(pathToFileURL(task).href)) as { SIZES: number[]; blob: (k: number) => Promise<Buffer> };
  const keys = mod.SIZES.map((_, k) => k);
  const expected = await Promise.all(keys.map((k) => mod.blob(k)));
  const args = (k: number, force: boolean): string[] => ["run", "--store", store, ...(force ? ["--force"] : []), `${task}#blob`, String(k)];

  const RUNS = 240;
  const AT_ONCE = 4;
  // The last runs start just after a last daemon kill: the storm ends in its most dangerous
  // moment (acquires held back by the grace period), and nothing clears a stale claim after it.
  const FINALE = 3 * AT_ONCE;
  const started = Date.now();
  const outcomes: { k: number; o: Outcome }[] = [];
  let oldestTemp = 0;
  const watcher = setInterval(() => {
    for (const { ageMs } of temporaries(store)) oldestTemp = Math.max(oldestTemp, ageMs);
  }, 250);
  watcher.unref();

  // The daemon is SIGKILLed every 1–1.8 s until the finale, and once as it begins: no faster than
  // its grace period, or it would hold every acquire back for as long as it kept dying.
  const daemonKills: number[] = [];
  const killTheDaemon = (): void => {
    const pid = killDaemon(store);
    if (pid !== null && !daemonKills.includes(pid)) daemonKills.push(pid);
  };
  let next = 0;
  const killer = (async () => {
    for (;;) {
      await sleep(1000 + random() * 800);
      if (next >= RUNS - FINALE) break;
      killTheDaemon();
    }
  })();

  // Runs in waves of a few at a time; most are SIGKILLed at a random moment of their life.
  const lane = async (): Promise<void> => {
    while (next < RUNS) {
      if (next++ === RUNS - FINALE) killTheDaemon();
      const k = keys[Math.floor(random() * keys.length)]!;
      const force = random() < 0.7;
      // Early (starting, hashing, a hit), late (waiting, running, publishing), or never.
      const when = random();
      const killAfterMs = when < 0.6 ? 20 + random() * 230 : when < 0.95 ? 250 + random() * 750 : undefined;
      const o = await start(args(k, force), env, killAfterMs === undefined ? {} : { killAfterMs }).done;
      outcomes.push({ k, o });
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, lane));
  await killer;
  const stormMs = Date.now() - started;
  const leftByStorm = temporaries(store);

  const killed = outcomes.filter(({ o }) => o.killed).length;
  const hung = outcomes.filter(({ o }) => o.hung);
  const survivors = outcomes.filter(({ o }) => !o.killed && !o.hung);
  t.diagnostic(`${RUNS} runs in ${stormMs} ms: ${killed} SIGKILLed, ${daemonKills.length} daemons SIGKILLed, ${survivors.length} ran to the end (the slowest in ${Math.max(0, ...survivors.map(({ o }) => o.ms))} ms); ${leftByStorm.length} temp files right after`);
  assert.equal(hung.length, 0, say(`${hung.length} runs hung: ${hung.map(({ o }) => o.stderr.slice(-300)).join(" | ")}`));
  assert.ok(killed >= 0.6 * RUNS && daemonKills.length >= 10, say(`the storm killed enough (${killed} runs, ${daemonKills.length} daemons)`));
  for (const { k, o } of survivors) {
    assert.equal(o.code, 0, say(`a run of key ${k} that was not killed failed: ${o.stderr.slice(-1000)}`));
    assert.ok(o.stdout.equals(expected[k]!), say(`a run of key ${k} printed its value`));
  }

  // Every holder is dead, so no claim may be left (once the daemon has seen the last sockets close).
  const claims = await withStore(store, async (s) => {
    const settle = Date.now() + 2_000;
    for (;;) {
      const list = await s.claims.list();
      if (!list.length || Date.now() > settle) return list;
      await sleep(50);
    }
  });
  assert.deepEqual(claims, [], say("no claim outlives its holder"));

  // Every key answers, run afresh (--force needs its claim) and from the cache, with its value.
  const answerStarted = Date.now();
  let slowest = 0;
  for (const k of keys) {
    for (const force of [true, false]) {
      const o = await cashet(args(k, force), env, 10_000);
      slowest = Math.max(slowest, o.ms);
      assert.ok(!o.hung, say(`key ${k}${force ? " (--force)" : ""} answers within 10 s`));
      assert.equal(o.code, 0, say(`key ${k}: ${o.stderr.slice(-1000)}`));
      assert.ok(o.stdout.equals(expected[k]!), say(`key ${k} answers its value`));
    }
  }
  t.diagnostic(`afterwards: ${keys.length * 2} answers in ${Date.now() - answerStarted} ms, the slowest ${slowest} ms`);

  const fsck = await cashet(["fsck", "--json", "--store", store], env, 30_000);
  assert.equal(fsck.code, 0, say(`fsck is clean: ${fsck.stdout.toString()} ${fsck.stderr}`));
  assert.deepEqual((JSON.parse(fsck.stdout.toString()) as { problems: unknown[] }).problems, []);

  const recovered = (what: RegExp): number => [...daemonLog(store).matchAll(what)].reduce((n, m) => n + Number(m[1]), 0);
  t.diagnostic(
    `the daemons indexed ${recovered(/indexed (\d+) commit/g)} commits of runs killed before indexing them, ` +
      `and removed ${recovered(/removed (\d+) temp file/g)} temp files of killed writers`,
  );

  // Temp files of killed writers do not stay: none remains after a short settle.
  let left = temporaries(store);
  const settleUntil = Date.now() + 5_000;
  while (left.length && Date.now() < settleUntil) {
    await sleep(100);
    left = temporaries(store);
  }
  clearInterval(watcher);
  assert.deepEqual(left, [], say("no temp file is left under tmp/"));
  assert.ok(oldestTemp < 60_000, say(`no temp file outlived a minute (the oldest seen: ${oldestTemp} ms)`));
  t.diagnostic(`the oldest temp file seen was ${oldestTemp} ms old`);
});
