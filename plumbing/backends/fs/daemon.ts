// The index daemon: one small process per fs store that hosts its LevelDB index, serializes ref
// updates and holds the claim table, for every process using the store. It never runs user code,
// so no caller stalls behind someone's CPU-bound function. Started on demand by FsStore
// (client.ts), it exits when idle; if it dies, the next caller starts another and everyone
// reconnects. Usage: node daemon.js <absolute store dir>
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { ClassicLevel } from "classic-level";
import { ClaimTable } from "../../claims.js";
import type { ErrorCode } from "../../errors.js";
import { IndexDb, type KvDb } from "../../index/db.js";
import { UsageDb } from "../../index/usage.js";
import { ObjectDb } from "../../objects.js";
import { publishRun } from "../../publish.js";
import { FsObjects } from "./objects.js";
import { daemonAddress, daemonLogFile, daemonPidFile, indexDir, levelDir } from "./layout.js";
import { readMessages, send, type Request } from "./protocol.js";
import { RefWriter } from "./refs.js";
import { StrayCommits, sweepDeadWriters, TEMP_QUIET_MS } from "./recover.js";
import { foldUsage } from "./usage-fold.js";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: daemon.js <store dir>\n");
  process.exit(2);
}
const IDLE_MS = Number(process.env.CASHET_DAEMON_IDLE_MS ?? 30_000);
/** After an unclean restart, claim holders get this long to re-assert their claims. */
const GRACE_MS = Number(process.env.CASHET_CLAIM_GRACE_MS ?? 1_500);
/**
 * How long before a dead holder's grant, or a dead daemon's start, its run may have stored its
 * commit: a run that lost its daemon keeps running, and stores its commit while it reconnects.
 */
const STRAY_SLACK_MS = 10_000;

function log(line: string): void {
  try {
    appendFileSync(daemonLogFile(dir!), `${new Date().toISOString()} [${process.pid}] ${line}\n`);
  } catch {}
}

function announce(word: "ready" | "locked" | "failed"): void {
  try {
    process.stdout.write(`${word}\n`);
  } catch {}
}

async function openLevel(): Promise<ClassicLevel<string, string>> {
  const db = new ClassicLevel<string, string>(levelDir(dir!));
  try {
    await db.open();
    return db;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === "LEVEL_LOCKED") throw err;
    // A corrupt index is only a cache: move it aside and rebuild from the objects.
    const aside = `${levelDir(dir!)}.corrupt-${Date.now()}`;
    log(`index did not open (${(err as Error).message}; ${cause?.code ?? ""}); moved to ${aside}, rebuilding`);
    renameSync(levelDir(dir!), aside);
    const fresh = new ClassicLevel<string, string>(levelDir(dir!));
    await fresh.open();
    return fresh;
  }
}

async function main(): Promise<void> {
  let level: ClassicLevel<string, string>;
  try {
    level = await openLevel();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === "LEVEL_LOCKED") {
      announce("locked"); // another daemon serves this store
      process.exit(0);
    }
    log(`cannot open index: ${(err as Error).stack}`);
    announce("failed");
    process.exit(1);
  }
  // The pid file's mtime is the horizon of stray commits: every commit stored before it was
  // indexed or looked at. A daemon that died uncleanly left its own start there; we keep it until
  // we have looked (we may die first), then move it to when we began looking.
  const pidFile = daemonPidFile(dir!);
  let horizon = Date.now();
  try {
    horizon = statSync(pidFile).mtimeMs;
  } catch {}
  const unclean = existsSync(pidFile);
  writeFileSync(pidFile, `${process.pid}\n`);
  if (unclean) utimesSync(pidFile, horizon / 1000, horizon / 1000);
  const graceUntil = unclean ? Date.now() + GRACE_MS : 0;
  const objects = new ObjectDb(new FsObjects(dir!));
  const index = new IndexDb(level as unknown as KvDb, objects);
  const refs = new RefWriter(dir!);
  const claims = new ClaimTable();
  const usage = new UsageDb(level as unknown as KvDb);

  if (!(await index.isCurrent())) {
    const { commits, blobs } = await index.reindex();
    log(`index rebuilt from objects: ${commits} commits, ${blobs} blobs`);
  }
  // The processes' stats files, folded into the counts one fold at a time: when the counts are
  // read, at start, with each sweep and before we exit.
  let folding: Promise<void> = Promise.resolve();
  const fold = (): Promise<void> =>
    (folding = folding.then(() => foldUsage(dir!, usage, { remove: true })).catch((err: Error) => log(`folding stats files failed: ${err.message}`)));
  void fold();

  const connections = new Set<Socket>();
  let idleTimer: NodeJS.Timeout | undefined;
  let shuttingDown = false;
  const armIdle = (): void => {
    clearTimeout(idleTimer);
    if (connections.size === 0) idleTimer = setTimeout(() => void shutdown("idle"), IDLE_MS);
  };
  // Temp files of writers that died (SIGKILLed mid-write): removed at start, as they come of
  // age while we run, and before we exit.
  const sweep = async (): Promise<void> => {
    const removed = await sweepDeadWriters(dir!).catch(() => []);
    if (removed.length) log(`removed ${removed.length} temp file(s) of dead writers`);
  };
  const sweeper = setInterval(() => void sweep().then(fold), TEMP_QUIET_MS);
  sweeper.unref();
  // Commits stored by runs that died before the index heard of them: a claim holder SIGKILLed
  // between storing its commit and completing, perhaps while no daemon ran. Looked for after an
  // unclean start (from the horizon, once holders have re-asserted and resent) and when a
  // connection closes holding claims (from its grants), and indexed, as `fsck --repair` would.
  const strays = new StrayCommits(
    dir!,
    index,
    ({ since, began, found }) => {
      if (found.length) log(`indexed ${found.length} commit(s) stored by runs that died before indexing them`);
      if (since > horizon - STRAY_SLACK_MS || shuttingDown) return;
      horizon = began;
      try {
        if (readFileSync(pidFile, "utf8").trim() === String(process.pid)) utimesSync(pidFile, began / 1000, began / 1000);
      } catch {}
    },
    (err) => log(`looking for commits of dead runs failed: ${err.message}`),
  );
  if (unclean) strays.lookFrom(horizon - STRAY_SLACK_MS, GRACE_MS);
  const afterGrace = async (): Promise<void> => {
    const wait = graceUntil - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };

  const ops: Record<string, (conn: Conn, ...args: any[]) => unknown> = {
    hello: () => ({ pid: process.pid }),
    info: () => ({ pid: process.pid, dir, connections: connections.size, claims: claims.list() }),
    "index.addCommit": (_c, id: string) => index.addCommit(id),
    "index.removeCommit": (_c, id: string) => {
      strays.removed(id);
      return index.removeCommit(id);
    },
    "index.addBlob": (_c, id: string) => index.addBlob(id),
    "index.removeBlob": (_c, id: string) => index.removeBlob(id),
    "index.entry": (_c, id: string) => index.entry(id),
    "index.log": (_c, q) => index.log(q ?? {}),
    "index.blobReferrers": (_c, id: string) => index.blobReferrers(id),
    "index.expired": (_c, now: number) => index.expired(Number(now)),
    "index.lastAccess": (_c, id: string) => index.lastAccess(id),
    "index.touch": (_c, id: string, at: number) => index.touch(id, Number(at)),
    "index.stats": () => index.stats(),
    "index.reindex": () => index.reindex(),
    "usage.read": async () => {
      await fold();
      return usage.read();
    },
    "ref.update": (_c, name: string, next: string | null, hasExpected: boolean, expected: string | null) =>
      refs.update(name, next, hasExpected ? expected : undefined),
    "claim.acquire": async (c, key: string, token: string, reclaim: boolean) => {
      if (!reclaim) await afterGrace();
      return grant(c, key, token);
    },
    "claim.release": (c, key: string, token: string) => {
      c.tokens.delete(token);
      return claims.release(key, token);
    },
    // A finished run, published in the one order (plumbing/publish.ts) over the daemon's own
    // index and refs; the ref moved before the claim goes (a waiter woken by the release finds the result).
    "claim.complete": async (c, key: string, token: string, commit: string, ref: string | null, expected: string | null) => {
      await publishRun({ index, refs }, commit, ref, expected);
      c.tokens.delete(token);
      return claims.release(key, token);
    },
    "claim.wait": async (_c, key: string) => {
      await afterGrace();
      await claims.waitRelease(key);
    },
    "claim.list": () => claims.list(),
    shutdown: () => {
      setImmediate(() => void shutdown("asked"));
      return true;
    },
  };

  interface Conn {
    socket: Socket;
    who: { pid: number; hostname: string };
    /** The claims it holds: token → when granted. */
    tokens: Map<string, number>;
    /** Its socket closed: its claims were released, and it gets no new ones. */
    closed: boolean;
  }

  // A claim is only ever granted to a connection that is still open. An acquire may answer long
  // after it arrived (it waits out the grace period); if its process died meanwhile, the close
  // handler has already released that connection's claims, and a grant now would never be undone.
  function grant(c: Conn, key: string, token: string): boolean {
    if (c.closed) return false;
    const ok = claims.acquire(key, token, c.who);
    if (ok && !c.tokens.has(token)) c.tokens.set(token, Date.now());
    return ok;
  }

  const server = createServer((socket) => {
    connections.add(socket);
    armIdle();
    const conn: Conn = { socket, who: { pid: 0, hostname: "" }, tokens: new Map(), closed: false };
    readMessages<Request>(socket, (req) => {
      const fn = ops[req.op];
      if (req.op === "hello") conn.who = { pid: Number(req.args[0]) || 0, hostname: String(req.args[1] ?? "") };
      if (!fn) return send(socket, { id: req.id, ok: false, error: { code: "EINTERNAL" satisfies ErrorCode, name: "InternalError", message: `unknown op ${req.op}` } });
      Promise.resolve()
        .then(() => fn(conn, ...(Array.isArray(req.args) ? req.args : [])))
        .then(
          (value) => send(socket, { id: req.id, ok: true, value: value ?? null }),
          (err: Error & { code?: string }) =>
            send(socket, {
              id: req.id,
              ok: false,
              error: { code: typeof err.code === "string" ? err.code : ("EINTERNAL" satisfies ErrorCode), name: err.name, message: err.message },
            }),
        );
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      conn.closed = true;
      connections.delete(socket);
      // The holder's process is gone (or let go of us): its claims are free for the next runner,
      // and a commit its run stored but never completed is indexed.
      for (const token of conn.tokens.keys()) claims.releaseAll(token);
      if (conn.tokens.size) strays.lookFrom(Math.min(...conn.tokens.values()) - STRAY_SLACK_MS, 200);
      armIdle();
    });
  });

  async function shutdown(why: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    server.close();
    for (const s of connections) s.destroy();
    clearInterval(sweeper);
    strays.stop();
    await sweep();
    await fold();
    // The pid file goes first, and only if it is ours: once the LevelDB lock is released a
    // successor may start and write its own, which must survive us.
    try {
      if (readFileSync(daemonPidFile(dir!), "utf8").trim() === String(process.pid)) unlinkSync(daemonPidFile(dir!));
    } catch {}
    await level.close().catch(() => undefined);
    log(`exit (${why})`);
    process.exit(0);
  }

  server.on("error", (err) => {
    log(`socket error: ${err.stack}`);
    announce("failed");
    process.exit(1);
  });
  const address = daemonAddress(dir!);
  if (!address.startsWith("\0") && process.platform !== "win32") {
    try {
      unlinkSync(address); // a socket file left by a daemon that died (we hold the lock now)
    } catch {}
  }
  server.listen(address, () => {
    log(`listening${unclean ? ` (after an unclean exit; claim grace ${GRACE_MS} ms)` : ""}`);
    announce("ready");
    armIdle();
    void sweep();
  });
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

process.stdout.on("error", () => undefined); // the starter closes its end after "ready"
mkdirSync(indexDir(dir), { recursive: true });
main().catch((err) => {
  log(`fatal: ${(err as Error).stack}`);
  announce("failed");
  process.exit(1);
});
