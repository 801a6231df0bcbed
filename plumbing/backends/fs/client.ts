// The connection from a process to its store's index daemon. It starts the daemon when none
// answers, and if the daemon dies it reconnects (starting a new one), re-asserts the claims this
// process holds and resends every unanswered request, so callers never see the failover.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { errorFromCode, isErrorCode, StoreUnavailableError } from "../../errors.js";
import type { ClaimHandle, ClaimInfo, Claims } from "../../store.js";
import { daemonAddress, daemonLogFile } from "./layout.js";
import { readMessages, send, type Response } from "./protocol.js";

const DAEMON_SCRIPT = fileURLToPath(new URL("./daemon.js", import.meta.url));
/** How long to keep trying to reach (or start) a daemon before giving up. */
const CONNECT_TIMEOUT_MS = Number(process.env.CASHET_DAEMON_CONNECT_MS ?? 20_000);

interface Pending {
  op: string;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** A re-assertion of a held claim, made afresh on each connection. */
  reclaim?: boolean;
}

interface HeldClaim {
  key: string;
  lost: boolean;
  /** The daemon granted it. Until then a reconnect resends the plain acquire, never a reclaim. */
  granted: boolean;
}

/** One process's link to the daemon of the store at `dir` (absolute, real path). */
export class DaemonClient {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly held = new Map<string, HeldClaim>();
  private seq = 0;
  private closed = false;

  constructor(readonly dir: string) {}

  /** Calls `op` on the daemon; resent after a failover until answered. */
  call<T>(op: string, ...args: unknown[]): Promise<T> {
    return this.request<T>(op, args);
  }

  /** Like `call`; an aborted `signal` rejects at once and forgets the request. */
  private request<T>(op: string, args: unknown[], signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(`store ${this.dir} is closed`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = ++this.seq;
    const done = new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(id);
        this.refSocket();
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        op,
        args,
        resolve: (v) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(v as T);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
    });
    this.refSocket();
    if (this.socket) send(this.socket, { id, op, args });
    else this.reconnect();
    return done;
  }

  /** The claims of this store, held by this process and kept alive by its connection. */
  claims(): Claims {
    return {
      tryAcquire: async (key) => {
        const token = `${process.pid}-${randomBytes(8).toString("hex")}`;
        const held: HeldClaim = { key, lost: false, granted: false };
        this.held.set(token, held);
        let ok: boolean;
        try {
          ok = await this.call<boolean>("claim.acquire", key, token, false);
        } catch (err) {
          this.held.delete(token);
          throw err;
        }
        if (!ok) {
          this.held.delete(token);
          return null;
        }
        held.granted = true;
        const handle: ClaimHandle = {
          key,
          get lost() {
            return held.lost;
          },
          release: async () => {
            if (!this.held.delete(token)) return;
            if (!held.lost) await this.call("claim.release", key, token);
          },
          complete: async (commit, ref, expected) => {
            if (!this.held.has(token)) throw new TypeError(`the claim on ${key} was already released`);
            await this.call("claim.complete", key, token, commit, ref, expected);
            this.held.delete(token);
          },
        };
        return handle;
      },
      waitRelease: (key, options) => this.request<void>("claim.wait", [key], options?.signal),
      list: () => this.call<ClaimInfo[]>("claim.list"),
    };
  }

  /** Closes the connection; claims still held are released by the daemon. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new StoreUnavailableError(`store ${this.dir} was closed`));
    this.pending.clear();
    const s = this.socket;
    this.socket = null;
    // The daemon sees the connection close and frees whatever claims it still held for us.
    s?.destroy();
  }

  private reconnect(): void {
    if (this.connecting || this.closed) return;
    this.connecting = this.connect();
    this.connecting.then(
      (socket) => {
        this.connecting = null;
        this.attach(socket);
      },
      (err: Error) => {
        this.connecting = null;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      },
    );
  }

  /** Wires a fresh connection: hello, re-assert held claims, resend what is unanswered. */
  private attach(socket: Socket): void {
    this.socket = socket;
    readMessages<Response>(socket, (res) => this.answer(res));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.closed && (this.pending.size > 0 || this.held.size > 0)) this.reconnect();
    });
    send(socket, { id: 0, op: "hello", args: [process.pid, hostname()] });
    // Reclaims go first, during the new daemon's grace period, before anyone else may acquire —
    // and before a resent complete of the same claim: after it, a reclaim would take
    // the claim back for good. Those of an earlier connection are replaced, not resent.
    for (const [id, p] of this.pending) if (p.reclaim) this.pending.delete(id);
    for (const [token, held] of this.held) {
      if (held.lost || !held.granted) continue;
      const id = ++this.seq;
      const reclaim: Pending = {
        op: "claim.acquire",
        args: [held.key, token, true],
        reclaim: true,
        resolve: (ok) => {
          if (!ok) held.lost = true;
        },
        reject: () => {
          held.lost = true;
        },
      };
      this.pending.set(id, reclaim);
      send(socket, { id, op: reclaim.op, args: reclaim.args });
    }
    for (const [id, p] of [...this.pending].sort(([a], [b]) => a - b)) {
      if (!p.reclaim) send(socket, { id, op: p.op, args: p.args });
    }
    this.refSocket();
  }

  private answer(res: Response): void {
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    if (res.ok) p.resolve(res.value);
    else p.reject(remoteError(res.error));
    this.refSocket();
  }

  /** Keep the process alive only while an answer is awaited. */
  private refSocket(): void {
    if (!this.socket) return;
    if (this.pending.size > 0) this.socket.ref();
    else this.socket.unref();
  }

  private async connect(): Promise<Socket> {
    const address = daemonAddress(this.dir);
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    let delay = 5;
    let lastError: unknown;
    for (let attempt = 0; Date.now() < deadline && !this.closed; attempt++) {
      try {
        return await tryConnect(address);
      } catch (err) {
        lastError = err;
      }
      // Nobody answers: start a daemon (if another process starts one too, one of them wins the
      // LevelDB lock and the other exits), then try again.
      if (attempt % 20 === 0) {
        const word = await startDaemon(this.dir);
        if (word === "ready") continue;
        // Ours died of a signal before it could answer (killed, not broken): start another now.
        if (word === "killed") {
          attempt = -1;
          continue;
        }
        // "locked" means another daemon is starting: keep knocking. A failed start will fail
        // again; say so now rather than after the whole timeout.
        if (word === "failed") {
          throw new StoreUnavailableError(`the index daemon of ${this.dir} failed to start (see ${daemonLogFile(this.dir)})`);
        }
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 100);
    }
    throw new StoreUnavailableError(
      `cannot reach the index daemon of ${this.dir}: ${(lastError as Error)?.message ?? "closed"}`,
      { cause: lastError },
    );
  }
}

function tryConnect(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(address);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      socket.setNoDelay?.(true);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Spawns a detached daemon and waits for its first word: ready, locked (another one runs), failed, or killed (by a signal, before a word). */
function startDaemon(dir: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DAEMON_SCRIPT, dir], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
      cwd: dir,
      env: process.env,
    });
    let out = "";
    let settled = false;
    const finish = (word: string): void => {
      if (settled) return;
      settled = true;
      child.stdout!.destroy();
      child.unref();
      resolve(word);
    };
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) finish(out.trim().split("\n")[0]!);
    });
    child.once("error", () => finish("failed"));
    child.once("exit", (_code, signal) => finish(out.trim() || (signal ? "killed" : "failed")));
  });
}

/** The daemon's error as this side throws it: cashet's codes as their classes, a system error (EACCES, LEVEL_IO_ERROR) as Node gives one, with its code. */
function remoteError(e: { code: string; name: string; message: string }): Error {
  if (isErrorCode(e.code)) return errorFromCode(e.code, e.message);
  return Object.assign(new Error(e.message), { name: e.name, code: e.code });
}
