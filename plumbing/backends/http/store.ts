// HttpStore: another machine's `cashet serve` as a store (SPEC §7, the remote cache). Objects and
// refs travel over the server's endpoints on one keep-alive connection pool; the server verifies
// what it is sent and this side verifies what it receives (ObjectDb, above every backend), so
// neither end has to trust the other or the wire. What a cache never needs remotely — deleting,
// listing, the index's queries — stays on the server (`cashet gc`, `log` there) and is refused
// here with EUNSUPPORTED rather than half done.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { LocalClaims } from "../../claims.js";
import { ConflictError, errorFromCode, InvalidInputError, isErrorCode, MissingObjectError, StoreUnavailableError, UnsupportedError, type CashetError, type ErrorCode } from "../../errors.js";
import { assertId } from "../../ids.js";
import { assertRefName } from "../../refs.js";
import type { Index, IndexStats, LogQuery, ObjectStorage, ObjectWriter, Ref, RefStorage, Store, StoredObject } from "../../store.js";

export interface HttpStoreOptions {
  /** Bearer token (read-write, or read-only: then every write is refused with EFORBIDDEN). */
  token?: string;
  /** Give up on a request after this long (default 60 s; large objects get longer by size). */
  timeoutMs?: number;
}

/** A response, its body read whole. */
interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

/** The wire: requests to one server, kept alive between calls. */
class Remote {
  readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly auth: string | null;
  private readonly timeoutMs: number;

  constructor(url: string, options: HttpStoreOptions) {
    let base: URL;
    try {
      base = new URL(url);
    } catch {
      throw new InvalidInputError(`${JSON.stringify(url)} is not a URL (expected http://host:port)`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new InvalidInputError(`the remote cache must be an http:// or https:// URL, not ${base.protocol}`);
    this.base = new URL(base.pathname.endsWith("/") ? base.href : `${base.href}/`);
    const https = base.protocol === "https:";
    // Keep-alive with few sockets: a cache hit is a handful of small requests, and a new TCP (or
    // TLS) connection for each would cost more than the request.
    // Idle sockets are dropped after 4 s, before a Node server's 5 s keep-alive timeout closes them.
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 8, timeout: 4000 }) : new HttpAgent({ keepAlive: true, maxSockets: 8, timeout: 4000 });
    this.send = https ? (httpsRequest as typeof httpRequest) : httpRequest;
    this.auth = options.token ? `Bearer ${options.token}` : null;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /**
   * One request; network failures become StoreUnavailableError, 401/403 typed errors. A connection
   * reset before any answer is retried once on a new connection: a kept-alive socket may be closed
   * by the server just as it is reused, and every request here is safe to repeat (objects are
   * write-once, refs move by compare-and-swap, the rest only read).
   */
  async request(method: string, path: string, body?: Uint8Array | string, headers: Record<string, string> = {}): Promise<Reply> {
    try {
      return await this.once(method, path, body, headers);
    } catch (err) {
      const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (!(err instanceof StoreUnavailableError) || !(code === "ECONNRESET" || code === "EPIPE")) throw err;
      return this.once(method, path, body, headers);
    }
  }

  private once(method: string, path: string, body?: Uint8Array | string, headers: Record<string, string> = {}): Promise<Reply> {
    const url = new URL(path, this.base);
    const timeout = this.timeoutMs + (body ? Math.ceil(body.length / 10_000) : 0); // ≥ 10 MB/s before giving up
    return new Promise((resolve, reject) => {
      const options: RequestOptions = {
        method,
        agent: this.agent,
        headers: {
          ...headers,
          ...(this.auth ? { authorization: this.auth } : {}),
          ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}),
        },
      };
      const req = this.send(url, options, (res) => {
        // Into one buffer of the announced size (no copy at the end); pieces only when none is announced.
        const length = Number(res.headers["content-length"]);
        const whole = method !== "HEAD" && Number.isSafeInteger(length) && length > 0 ? Buffer.allocUnsafe(length) : null;
        const chunks: Buffer[] = [];
        let filled = 0;
        res.on("data", (c: Buffer) => {
          if (whole && filled + c.length <= whole.length) c.copy(whole, filled);
          else chunks.push(c);
          filled += c.length;
        });
        res.on("error", (err) => reject(this.unreachable(err)));
        res.on("end", () => {
          if (whole && filled !== whole.length) return reject(this.unreachable(new Error(`the answer was cut at ${filled} of ${whole.length} bytes`)));
          const reply = { status: res.statusCode ?? 0, headers: res.headers, body: whole ?? Buffer.concat(chunks) };
          const failure = this.failure(reply, method, url.pathname);
          if (failure) reject(failure);
          else resolve(reply);
        });
      });
      req.setTimeout(timeout, () => req.destroy(new Error(`no answer within ${timeout} ms`)));
      req.on("error", (err) => reject(this.unreachable(err)));
      req.end(body);
    });
  }

  /**
   * Statuses every caller treats alike; 404 and 409 are left to the caller. A refusal (400, 401,
   * 403, 413) comes back as the class of the code the server named (EAMBIGUOUS is a 400 too), or
   * of its status when the answer names none; anything else means the remote store failed.
   */
  private failure(reply: Reply, method: string, path: string): CashetError | null {
    const { status } = reply;
    if (status < 400 || status === 404 || status === 409) return null;
    const { code, message = `HTTP ${status}` } = serverError(reply);
    const where = `${method} ${this.base.origin}${path}`;
    const refusal = REFUSALS[status];
    if (!refusal) return new StoreUnavailableError(`the remote cache failed ${where}: ${message}`);
    return errorFromCode(code ?? refusal.code, `${refusal.says(where)}: ${message}`);
  }

  private unreachable(err: Error): StoreUnavailableError {
    return new StoreUnavailableError(`cannot reach the remote cache at ${this.base.origin}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The refusals that are the caller's to fix: the code a status means when the answer names none, and how it is told. */
const REFUSALS: Partial<Record<number, { code: ErrorCode; says: (where: string) => string }>> = {
  400: { code: "EINVALID", says: (where) => `the remote cache refused ${where}` },
  401: { code: "EUNAUTHORIZED", says: (where) => `the remote cache refused the token (${where})` },
  403: { code: "EFORBIDDEN", says: (where) => `the remote cache only lets this token read (${where})` },
  413: { code: "ETOOLARGE", says: (where) => `the remote cache refused the size (${where})` },
};

/** The `{error: {code, message}}` of a JSON error answer; a code that is not cashet's counts as none. */
function serverError(reply: Reply): { code?: ErrorCode; message?: string } {
  try {
    const { error } = JSON.parse(reply.body.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
    return { ...(isErrorCode(error?.code) ? { code: error.code } : {}), ...(typeof error?.message === "string" ? { message: error.message } : {}) };
  } catch {
    return {};
  }
}

function serverMessage(reply: Reply): string | null {
  return serverError(reply).message ?? null;
}

/** A 409 that means "send what this names first" (EMISSING): the caller's to fix, never "already there". */
function missingFirst(reply: Reply, what: string): CashetError | null {
  const { code, message } = serverError(reply);
  return code === "EMISSING" ? new MissingObjectError(`the remote cache refused ${what}: ${message ?? "send its objects first"}`) : null;
}

class HttpObjects implements ObjectStorage {
  constructor(private readonly remote: Remote) {}

  async read(id: string, maxBytes?: number): Promise<Uint8Array | null> {
    const reply = await this.remote.request("GET", `objects/${assertId(id)}`);
    if (reply.status === 404) return null;
    return maxBytes === undefined ? reply.body : reply.body.subarray(0, maxBytes);
  }

  /** Uploads `bytes`; false when the server had `id` already (409: stored with other bytes that verify too). */
  async write(id: string, bytes: Uint8Array): Promise<boolean> {
    const reply = await this.remote.request("PUT", `objects/${assertId(id)}`, bytes, { "content-type": "application/octet-stream" });
    if (reply.status === 409) {
      // The server verified its copy when it took it; a 409 for a commit that names a blob it lacks is ours to fix.
      const missing = missingFirst(reply, id.slice(0, 12));
      if (missing) throw missing;
      return false;
    }
    return reply.status === 201;
  }

  /** Uploads a finished run's commit and moves the call's ref `fp/…` to it, in one request. */
  async writeRun(id: string, bytes: Uint8Array, ref: string): Promise<void> {
    const reply = await this.remote.request("PUT", `objects/${assertId(id)}?ref=${encodeURIComponent(assertRefName(ref))}`, bytes, { "content-type": "application/octet-stream" });
    if (reply.status === 409) throw new ConflictError(`the remote cache refused ${id.slice(0, 12)}: ${serverMessage(reply) ?? "conflict"}`);
  }

  /** Streamed blobs learn their id at the end, and a PUT names it first: the bytes wait in memory. */
  async writer(): Promise<ObjectWriter> {
    const chunks: Uint8Array[] = [];
    return {
      write: async (chunk) => void chunks.push(Uint8Array.from(chunk)),
      finish: async (id) => this.write(id, Buffer.concat(chunks)),
      abort: async () => void (chunks.length = 0),
    };
  }

  async delete(_id: string): Promise<boolean> {
    throw new UnsupportedError("deleting an object");
  }

  async size(id: string): Promise<number | null> {
    const reply = await this.remote.request("HEAD", `objects/${assertId(id)}`);
    if (reply.status === 404) return null;
    return Number(reply.headers["content-length"]);
  }

  // biome-ignore lint/correctness/useYield: refused before the first object
  async *list(): AsyncIterable<StoredObject> {
    throw new UnsupportedError("listing objects");
  }

  /** The server records a use when a commit is read from it. */
  async touch(): Promise<void> {}

  async accessedAt(): Promise<number | null> {
    return null;
  }
}

class HttpRefs implements RefStorage {
  constructor(private readonly remote: Remote) {}

  async read(name: string): Promise<string | null> {
    const reply = await this.remote.request("GET", `refs/${refPath(name)}`);
    if (reply.status === 404) return null;
    return (JSON.parse(reply.body.toString("utf8")) as { id: string }).id;
  }

  async update(name: string, next: string | null, expected?: string | null): Promise<boolean> {
    if (next === null) throw new UnsupportedError("deleting a ref");
    const body = JSON.stringify({ id: assertId(next), ...(expected !== undefined ? { expected } : {}) });
    const reply = await this.remote.request("PUT", `refs/${refPath(name)}`, body, { "content-type": "application/json" });
    if (reply.status === 409) {
      const missing = missingFirst(reply, name);
      if (missing) throw missing;
      return (await this.read(name)) === next; // moved meanwhile: a retry that already landed counts
    }
    return true;
  }

  async list(): Promise<Ref[]> {
    throw new UnsupportedError("listing refs");
  }
}

/** `fp/<hex>` → `fp/<hex>`; a pin's name is one path segment, escaped. */
function refPath(name: string): string {
  const [kind, ...rest] = assertRefName(name).split("/");
  return `${kind}/${encodeURIComponent(rest.join("/"))}`;
}

/** The server indexes what it is sent; queries of its index are its own endpoints (log, stats). */
class HttpIndex implements Index {
  async addCommit(): Promise<void> {} // PUT /objects/:id of a commit indexes it there
  async removeCommit(): Promise<string[]> {
    throw new UnsupportedError("removing a commit");
  }
  async addBlob(): Promise<void> {}
  async removeBlob(): Promise<void> {
    throw new UnsupportedError("removing a blob");
  }
  async entry(): Promise<null> {
    throw new UnsupportedError("reading the index");
  }
  async log(_query?: LogQuery): Promise<never[]> {
    throw new UnsupportedError("log");
  }
  async blobReferrers(): Promise<string[]> {
    throw new UnsupportedError("reading the index");
  }
  async expired(): Promise<string[]> {
    throw new UnsupportedError("gc");
  }
  async lastAccess(): Promise<number | null> {
    return null;
  }
  async touch(): Promise<void> {}
  async stats(): Promise<IndexStats> {
    throw new UnsupportedError("stats");
  }
  async reindex(): Promise<{ commits: number; blobs: number }> {
    throw new UnsupportedError("reindex");
  }
}

/**
 * A `cashet serve` server as a store. `run` works against it directly (lookup, then claim, run
 * and publish); claims are this process's own — the server holds no locks for its clients, so
 * two machines missing the same call at once both run it, and the second upload is a no-op.
 * Usually it is the remote half of a local store: see `RemoteCachedStore` and `CASHET_REMOTE`.
 */
export class HttpStore implements Store {
  readonly kind = "http";
  readonly location: string;
  readonly objects: HttpObjects;
  readonly refs: HttpRefs;
  readonly claims = new LocalClaims();
  readonly index = new HttpIndex();
  private readonly remote: Remote;

  constructor(url: string, options: HttpStoreOptions = {}) {
    this.remote = new Remote(url, options);
    this.location = this.remote.base.href.replace(/\/$/, "");
    this.objects = new HttpObjects(this.remote);
    this.refs = new HttpRefs(this.remote);
  }

  /** A cache hit in one round trip: the commit at `ref` and its output blob (unless inline), unverified. */
  async readHit(ref: string): Promise<{ id: string; commit: Uint8Array | null; blob: Uint8Array | null } | null> {
    if (!ref.startsWith("fp/")) return null;
    const reply = await this.remote.request("GET", `hit/${refPath(ref)}`);
    if (reply.status === 404) return null;
    const id = String(reply.headers["x-cashet-commit"] ?? "");
    const length = Number(reply.headers["x-cashet-commit-length"]);
    if (!/^[0-9a-f]{64}$/.test(id) || !Number.isSafeInteger(length) || length < 0 || length > reply.body.length) return null;
    const commit = reply.body.subarray(0, length);
    let blob: Uint8Array | null = reply.body.subarray(length);
    if (reply.headers["x-cashet-blob"] === "omitted") {
      // Too large to ride along: fetched on its own (streamed by the server). Its id is the commit's output.
      let output: unknown;
      try {
        output = (JSON.parse(commit.toString("utf8")) as { output?: { hash?: unknown } }).output?.hash;
      } catch {
        return null; // not a commit: the caller would refuse it anyway
      }
      blob = typeof output === "string" && /^[0-9a-f]{64}$/.test(output) ? await this.objects.read(output) : null;
    }
    return { id, commit, blob: blob && blob.length ? blob : null };
  }

  /** Which of `ids` the server has (one request per 10 000). */
  async have(ids: readonly string[]): Promise<Set<string>> {
    const have = new Set<string>();
    for (let i = 0; i < ids.length; i += 10_000) {
      const body = JSON.stringify({ ids: ids.slice(i, i + 10_000) });
      const reply = await this.remote.request("POST", "objects/have", body, { "content-type": "application/json" });
      for (const id of (JSON.parse(reply.body.toString("utf8")) as { have: string[] }).have) have.add(id);
    }
    return have;
  }

  async close(): Promise<void> {
    this.remote.close();
  }
}
