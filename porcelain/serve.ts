// The HTTP server (SPEC §7): the porcelain over JSON with Koa — a small core of middleware (errors,
// auth, body limits) and one route per porcelain function. It runs only tasks registered in the
// server process, by name; no request can make it run code the request carries.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import Router from "@koa/router";
import Koa, { type Context, type Next } from "koa";
import getRawBody from "raw-body";
import { commitBlobs, inlineBlob, type Commit } from "../plumbing/commit.js";
import { CashetError, CorruptObjectError, InvalidInputError, NotFoundError } from "../plumbing/errors.js";
import { createDecompressStream, isZstdFrame } from "../plumbing/compress.js";
import { isId } from "../plumbing/ids.js";
import { decodeObject, writeVerifiedBlob } from "../plumbing/objects.js";
import { assertRefName } from "../plumbing/refs.js";
import type { Store } from "../plumbing/store/types.js";
import { diff } from "./diff.js";
import { gc } from "./gc.js";
import { get, resultJson } from "./get.js";
import { history } from "./history.js";
import { log } from "./log.js";
import { watchTaskModules } from "./run-file.js";
import { run, TaskError, type RunOptions, type TaskSpec } from "./run.js";
import { show } from "./show.js";
import { stats } from "./stats.js";
import { webRoutes } from "./web.js";

/** Makes the TaskSpec of registered task `name` with these arguments, or null when no task has that name. */
export type TaskResolver = (name: string, args: unknown[]) => Promise<TaskSpec | null>;

export interface ServeOptions {
  store: Store;
  /** The tasks `POST /submit` may run, by name. */
  tasks: TaskResolver;
  /** Options a registered task carries (`client.task(fn, { cache: false })`); a request's own win. */
  taskOptions?: (name: string) => RunOptions;
  /** Bearer token for every endpoint but /healthz (read-write). */
  token?: string;
  /** A second token that may only read (GET and HEAD). */
  readToken?: string;
  /** Largest JSON request body read, in bytes (default 1 MiB); 413 beyond, counted on the bytes actually read. */
  bodyLimit?: number;
  /** Largest object upload (`PUT /objects/:id`), in bytes (default 1 GiB). */
  objectLimit?: number;
}

/** The Koa application (for tests and embedding); `serve` listens with it. */
export function createApp(options: ServeOptions, hits = new HitReader(options.store)): Koa {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();
  const { store } = options;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const objectLimit = options.objectLimit ?? 1024 ** 3;

  // Failures are logged here (never sent); a client that went away or ran out of time is not one.
  app.on("error", (err: NodeJS.ErrnoException) => {
    if (app.silent || err.code === "ECONNRESET" || err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_STREAM_PREMATURE_CLOSE") return;
    process.stderr.write(`cashet serve: ${err.stack ?? err.message}\n`);
  });
  app.use(errors);
  app.use(auth(authorizer(options.token, options.readToken)));

  router.get("/healthz", (ctx) => {
    ctx.body = { ok: true };
  });

  router.post("/submit", async (ctx) => {
    const body = await jsonBody(ctx, bodyLimit);
    const name = body.task;
    if (typeof name !== "string" || name === "") throw new InvalidInputError(`"task" must be the name of a registered task`);
    const args = body.args ?? [];
    if (!Array.isArray(args)) throw new InvalidInputError(`"args" must be a JSON array`);
    const task = await options.tasks(name, args);
    if (!task) throw new NotFoundError(`no task named ${JSON.stringify(name)} is registered in this server`);
    const runOptions: RunOptions = { ...(options.taskOptions?.(name) ?? {}) };
    for (const key of ["force", "cache"] as const) if (body[key] !== undefined) runOptions[key] = bool(body[key], key);
    for (const key of ["retries", "timeout", "ttl"] as const) if (body[key] !== undefined) runOptions[key] = num(body[key], key);
    if (body.tags !== undefined) runOptions.tags = tags(body.tags);
    const result = await run(store, task, runOptions);
    const value = "value" in result ? result.value : (await get(store, result.commit.id)).value;
    ctx.body = { commit: result.commit.id, output: result.commit.output!.hash, cached: result.cached, durationMs: result.durationMs, result: resultJson(value) };
  });

  router.get("/result/:id", async (ctx) => {
    const { value } = await get(store, ctx.params.id!);
    if (value instanceof Uint8Array) {
      ctx.type = "application/octet-stream";
      ctx.body = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    } else {
      ctx.body = { result: resultJson(value) };
    }
  });

  router.get("/commit/:id", async (ctx) => {
    ctx.body = await show(store, ctx.params.id!);
  });

  router.get("/history/:id", async (ctx) => {
    ctx.body = await history(store, ctx.params.id!);
  });

  router.get("/diff/:a/:b", async (ctx) => {
    ctx.body = await diff(store, ctx.params.a!, ctx.params.b!);
  });

  router.get("/log", async (ctx) => {
    const q = ctx.query;
    const one = (k: string): string | undefined => (Array.isArray(q[k]) ? (q[k] as string[])[0] : (q[k] as string | undefined));
    const tagList = q.tag === undefined ? [] : Array.isArray(q.tag) ? q.tag : [q.tag];
    const limit = one("limit");
    const status = one("status");
    ctx.body = await log(store, {
      ...(one("func") !== undefined ? { func: one("func") } : {}),
      ...(status !== undefined ? { status: status as "completed" | "failed" } : {}),
      tags: tagList,
      ...(limit !== undefined ? { limit: wholeNumber(limit, "limit") } : {}),
    });
  });

  router.get("/stats", async (ctx) => {
    ctx.body = await stats(store);
  });

  router.post("/gc", async (ctx) => {
    const body = await jsonBody(ctx, bodyLimit);
    const olderThan = body.olderThan;
    const maxSize = body.maxSize;
    if (olderThan !== undefined && typeof olderThan !== "string" && typeof olderThan !== "number") throw new InvalidInputError(`"olderThan" must be a duration like "7d"`);
    if (maxSize !== undefined && typeof maxSize !== "string" && typeof maxSize !== "number") throw new InvalidInputError(`"maxSize" must be a size like "500MB"`);
    ctx.body = await gc(store, {
      ...(olderThan !== undefined ? { olderThan } : {}),
      ...(maxSize !== undefined ? { maxSize } : {}),
      dryRun: body.dryRun === undefined ? false : bool(body.dryRun, "dryRun"),
    });
  });

  // --- the remote cache: another machine's store reads and writes objects and refs here ---

  router.head("/objects/:id", async (ctx) => {
    const size = await store.objects.size(objectId(ctx.params.id!));
    if (size === null) throw new NotFoundError(`no object ${ctx.params.id}`);
    ctx.status = 200;
    ctx.length = size;
  });

  router.get("/objects/:id", async (ctx) => {
    const id = objectId(ctx.params.id!);
    const size = store.objects.stream ? await store.objects.size(id) : null;
    const streamed = size !== null && size > STREAM_OVER ? await store.objects.stream!(id) : null;
    if (streamed) {
      // A large blob leaves a piece at a time, verified as it goes (flat memory); the last piece is
      // held back until the whole has verified, and a mismatch cuts the connection instead.
      const { first, rest } = await peek(streamed.chunks, 4);
      if (isZstdFrame(first)) {
        const body = Readable.from(verifiedPieces(id, first, rest));
        body.once("error", () => ctx.res.destroy()); // Koa reports the error; the reader must see the cut
        ctx.type = "application/octet-stream";
        ctx.set("x-cashet-kind", "blob");
        ctx.length = streamed.size;
        ctx.body = body;
        return;
      }
      for await (const _ of rest) void _;
    }
    const stored = await store.objects.read(id);
    const read = stored && decodeObject(id, stored);
    // Verified before it leaves: a damaged object is not served (and fsck will report it).
    if (!read || read.kind === "missing" || read.kind === "corrupt") throw new NotFoundError(`no sound object ${id}`);
    if (read.kind === "commit") await hits.used(id); // remote use counts for the server's LRU gc
    ctx.type = "application/octet-stream";
    ctx.set("x-cashet-kind", read.kind);
    ctx.body = Buffer.from(stored!);
  });

  router.put("/objects/:id", async (ctx) => {
    const id = objectId(ctx.params.id!);
    const { first, rest } = await peek(limitedBody(ctx, objectLimit), 4);
    if (isZstdFrame(first) && (await store.objects.size(id)) === null) {
      // A new blob streams into place, verified on the way: any size in flat memory.
      let created: boolean;
      try {
        ({ created } = await writeVerifiedBlob(store.objects, id, prepend(first, rest)));
      } catch (err) {
        if (err instanceof InvalidInputError) throw new InvalidInputError(`the uploaded bytes are not object ${id}: ${err.message}`);
        throw err;
      }
      ctx.status = created ? 201 : 200;
      ctx.body = { id, created };
      return;
    }
    const bytes = Buffer.concat([first, ...(await collectAll(rest))]);
    const read = decodeObject(id, bytes);
    if (read.kind === "corrupt" || read.kind === "missing") throw new InvalidInputError(`the uploaded bytes are not object ${id}: ${read.kind === "corrupt" ? read.reason : "empty"}`);
    // `?ref=fp/<fingerprint>`: a finished run published in one request — the commit, then the
    // call's ref moved to it (the ref a completed run of that very call may have).
    const run = ctx.query.ref === undefined ? null : refName(String(ctx.query.ref));
    if (run && (read.kind !== "commit" || !run.startsWith("fp/") || read.commit.fingerprint !== run.slice(3) || read.commit.status !== "completed")) {
      throw new InvalidInputError(`?ref=${run} names no completed run of this call`);
    }
    if (read.kind === "commit") {
      // A commit lands only with everything it names: the store never references what it lacks.
      for (const b of commitBlobs(read.commit)) {
        if (!b.inline && (await store.objects.size(b.id)) === null) throw new HttpError("ECONFLICT", `commit ${id.slice(0, 12)} needs object ${b.id.slice(0, 12)}: upload it first`);
      }
    }
    const existing = await store.objects.read(id);
    if (existing) {
      const same = Buffer.from(existing).equals(bytes);
      const sound = same || decodeObject(id, existing).kind === read.kind;
      if (sound) {
        // Write-once: the same bytes again are fine, different bytes under a stored id are refused.
        if (!same) throw new HttpError("ECONFLICT", `object ${id.slice(0, 12)} is already stored with other bytes`);
        if (read.kind === "commit" && run) await store.refs.update(run, id);
        ctx.status = 200;
        ctx.body = { id, created: false };
        return;
      }
      // The stored copy no longer verifies (a damaged disk): verified bytes replace it.
      await store.objects.delete(id);
    }
    const created = await store.objects.write(id, bytes);
    if (read.kind === "commit") await store.index.addCommit(id);
    if (read.kind === "commit" && run) await store.refs.update(run, id);
    ctx.status = created ? 201 : 200;
    ctx.body = { id, created };
  });

  // A remote cache hit in one round trip: the ref's commit and, unless it rides inline, its output
  // blob, as stored (the client verifies both). The commit's length is in a header; the blob follows.
  router.get("/hit/fp/:fingerprint", async (ctx) => {
    const hit = await hits.hit(ctx.params.fingerprint!);
    if (!hit) throw new NotFoundError(`no completed run at fp/${ctx.params.fingerprint}`);
    ctx.set(hitHeaders(hit));
    // Two writes rather than one copy of the blob into a new buffer.
    ctx.body = hit.blob ? Readable.from([Buffer.from(hit.commit), Buffer.from(hit.blob.buffer, hit.blob.byteOffset, hit.blob.byteLength)], { objectMode: false }) : Buffer.from(hit.commit);
    ctx.length = hit.commit.length + (hit.blob?.length ?? 0);
  });

  router.post("/objects/have", async (ctx) => {
    const body = await jsonBody(ctx, bodyLimit);
    const ids = body.ids;
    if (!Array.isArray(ids) || ids.length > 10_000 || !ids.every((x) => typeof x === "string" && isId(x))) throw new InvalidInputError(`"ids" must be a list of at most 10000 object ids`);
    const have: string[] = [];
    for (const id of ids as string[]) if ((await store.objects.size(id)) !== null) have.push(id);
    ctx.body = { have };
  });

  router.get("/refs/:kind/:name", async (ctx) => {
    const name = refName(`${ctx.params.kind}/${ctx.params.name}`);
    const id = await store.refs.read(name);
    if (!id) throw new NotFoundError(`no ref ${name}`);
    ctx.body = { name, id };
  });

  router.put("/refs/:kind/:name", async (ctx) => {
    const name = refName(`${ctx.params.kind}/${ctx.params.name}`);
    const body = await jsonBody(ctx, bodyLimit);
    const id = body.id;
    if (typeof id !== "string" || !isId(id)) throw new InvalidInputError(`"id" must be a commit id`);
    const commit = (await hits.commitById(id))?.commit;
    if (!commit) throw new HttpError("ECONFLICT", `commit ${id.slice(0, 12)} is not stored here: upload it first`);
    if (name.startsWith("fp/") && commit.fingerprint !== name.slice(3)) throw new InvalidInputError(`commit ${id.slice(0, 12)} is a run of another call than ${name}`);
    const expected = body.expected === undefined ? undefined : body.expected === null ? null : String(body.expected);
    if (expected && !isId(expected)) throw new InvalidInputError(`"expected" must be a commit id or null`);
    const updated = await store.refs.update(name, id, expected);
    if (!updated) throw new HttpError("ECONFLICT", `ref ${name} moved meanwhile`);
    ctx.body = { name, id };
  });

  webRoutes(router, store);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true })); // a known path with another method: 405
  return app;
}

export interface Listening {
  server: Server;
  url: string;
  /** Stops taking requests; in-flight ones finish. */
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0: any free one). */
export async function serve(options: ServeOptions & { host?: string; port?: number; requestTimeoutMs?: number }): Promise<Listening> {
  watchTaskModules(); // task files may change while the server runs
  const hits = new HitReader(options.store);
  const app = createApp(options, hits);
  const koa = app.callback();
  const check = authorizer(options.token, options.readToken);
  const requestTimeout = options.requestTimeoutMs ?? 300_000;
  const server = createServer(
    {
      requestTimeout, // a whole request (headers and body) must arrive within this: 408 and closed otherwise
      headersTimeout: Math.min(60_000, requestTimeout),
      // Node checks those timeouts this often (30 s by default, longer than a short timeout itself).
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, requestTimeout / 4)),
    },
    (req, res) => {
      // The remote cache's hot path skips the middleware stack (≈ a third of a small hit's server
      // time): the same token check, the same answers, written directly.
      const url = req.url ?? "";
      if (req.method === "GET" && url.startsWith("/hit/fp/") && !url.includes("?")) void answerHit(req, res, url.slice("/hit/fp/".length), hits, check, app);
      else void koa(req, res);
    },
  );
  server.listen(options.port ?? 8000, options.host ?? "127.0.0.1");
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const address = server.address() as { address: string; port: number };
  const host = address.address.includes(":") ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise((resolve, reject) => {
        // A connection kept alive after its last answer would hold close() for the keep-alive
        // timeout: drop each as soon as it is idle, while those in flight finish.
        const idle = setInterval(() => server.closeIdleConnections(), 25);
        server.close((err) => {
          clearInterval(idle);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** `GET /hit/fp/<fingerprint>` without Koa: what the route answers, errors as JSON alike. */
async function answerHit(req: IncomingMessage, res: ServerResponse, fingerprint: string, hits: HitReader, check: ReturnType<typeof authorizer>, app: Koa): Promise<void> {
  const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}): void => {
    const body = JSON.stringify({ error: { code, message } });
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  const refused = check?.(req.headers.authorization ?? "", "GET", "/hit");
  if (refused) return fail(STATUS[refused.code]!, refused.code, refused.message, refused.code === "EUNAUTHORIZED" ? { "www-authenticate": challenge("/hit") } : {});
  let hit: Hit | null;
  try {
    hit = await hits.hit(fingerprint);
  } catch (err) {
    const status = err instanceof CashetError ? STATUS[err.code] : undefined;
    if (status && status < 500) return fail(status, (err as CashetError).code, (err as Error).message);
    app.emit("error", err);
    return fail(500, "EINTERNAL", "internal error");
  }
  if (!hit) return fail(404, "ENOTFOUND", `no completed run at fp/${fingerprint.slice(0, 80)}`);
  res.writeHead(200, hitHeaders(hit));
  if (hit.blob) res.write(hit.commit);
  res.end(hit.blob ?? hit.commit);
}

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** The HTTP status of each error code (the web view answers with the same ones). */
export const STATUS: Record<string, number> = { EINVALID: 400, EAMBIGUOUS: 400, ENOTFOUND: 404, ETOOLARGE: 413, EUNAUTHORIZED: 401, EFORBIDDEN: 403, ECONFLICT: 409 };

/** Every error as JSON `{error: {code, message}}` with a status that fits, never a stack trace. */
async function errors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) throw new NotFoundError(`no endpoint ${ctx.method} ${ctx.path}`);
  } catch (err) {
    if (err instanceof TaskError) {
      ctx.status = 422; // the request was fine; the task it named failed
      ctx.body = { error: { code: "ETASK", message: err.message, commit: err.commit } };
      return;
    }
    if (err instanceof CashetError) {
      ctx.status = STATUS[err.code] ?? 500;
      ctx.body = { error: { code: err.code, message: ctx.status === 500 ? "the store cannot serve this request" : err.message } };
      if (ctx.status === 500) ctx.app.emit("error", err, ctx);
      return;
    }
    const status = (err as { status?: number; expose?: boolean }).status;
    if (status && status >= 400 && status < 500) {
      ctx.status = status;
      ctx.body = { error: { code: status === 413 ? "ETOOLARGE" : status === 405 ? "EMETHOD" : "EINVALID", message: (err as Error).message } };
      return;
    }
    ctx.status = 500;
    ctx.body = { error: { code: "EINTERNAL", message: "internal error" } };
    const code = (err as NodeJS.ErrnoException).code;
    // A client that went away, or was cut off by the request timeout (Node answered 408), is not the server's fault.
    if (code === "ECONNRESET" || code === "ERR_HTTP_REQUEST_TIMEOUT" || ctx.req.destroyed) return;
    ctx.app.emit("error", err, ctx);
  }
}

class HttpError extends CashetError {}

/**
 * Bearer tokens: the read-write one for everything, the read-only one for reads; /healthz needs
 * none. Null when the server has no token; else a check giving the refusal, or null to let pass.
 */
function authorizer(token?: string, readToken?: string): ((header: string, method: string, path: string) => HttpError | null) | null {
  const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
  const rw = token ? digest(token) : null;
  const ro = readToken ? digest(readToken) : null;
  if (!rw && !ro) return null;
  return (header, method, path) => {
    if (path === "/healthz") return null;
    // Browsers cannot send a bearer header, but they ask for Basic credentials themselves: the web
    // view takes the token as the password (any user name).
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header)?.[1];
    const given = /^Bearer (.+)$/.exec(header)?.[1] ?? (basic ? Buffer.from(basic, "base64").toString("utf8").replace(/^[^:]*:/, "") : undefined);
    if (!given) return new HttpError("EUNAUTHORIZED", "missing bearer token");
    const d = digest(given); // equal-length digests: the comparison takes the same time whatever was sent
    if (rw && timingSafeEqual(d, rw)) return null;
    if (ro && timingSafeEqual(d, ro)) {
      // Reads: GET and HEAD, and the batch question "which of these do you have" (a POST only for its body).
      if (method === "GET" || method === "HEAD" || (method === "POST" && path === "/objects/have")) return null;
      return new HttpError("EFORBIDDEN", "this token may only read");
    }
    return new HttpError("EUNAUTHORIZED", "wrong bearer token");
  };
}

/** What a 401 asks for: a browser on the web view's pages is asked for Basic credentials. */
function challenge(path: string): string {
  return path === "/" || path.startsWith("/ui/") ? 'Basic realm="cashet", charset="UTF-8"' : 'Bearer realm="cashet"';
}

function auth(check: ReturnType<typeof authorizer>): (ctx: Context, next: Next) => Promise<void> {
  return async (ctx, next) => {
    const refused = check?.(ctx.get("authorization"), ctx.method, ctx.path);
    if (!refused) return next();
    if (refused.code === "EUNAUTHORIZED") ctx.set("WWW-Authenticate", challenge(ctx.path));
    throw refused;
  };
}

/** A verified run at a call's ref, as `/hit` sends it. */
interface Hit {
  id: string;
  commit: Uint8Array;
  /** The output blob's stored bytes, or null when inline or left out. */
  blob: Uint8Array | null;
  /** The output was too large to ride along. */
  omitted: boolean;
}

/**
 * Reads hits for `/hit`. Commits never change: one verified here is remembered (by id) instead of
 * read and checked on every hit; and a use is recorded at most once a minute per commit (gc needs
 * no finer).
 */
class HitReader {
  private readonly commits = new Map<string, { bytes: Uint8Array; commit: Commit }>();
  private readonly touched = new Map<string, number>();
  constructor(private readonly store: Store) {}

  async commitById(id: string): Promise<{ bytes: Uint8Array; commit: Commit } | null> {
    const known = this.commits.get(id);
    if (known) return known;
    const bytes = await this.store.objects.read(id);
    const read = bytes && decodeObject(id, bytes);
    if (!read || read.kind !== "commit") return null;
    const found = { bytes, commit: read.commit };
    remember(this.commits, id, found);
    return found;
  }

  async used(id: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < 60_000) return;
    remember(this.touched, id, now);
    await this.store.objects.touch(id);
  }

  /** The completed run at `fp/<fingerprint>`, or null. */
  async hit(fingerprint: string): Promise<Hit | null> {
    const ref = refName(`fp/${fingerprint}`);
    const id = await this.store.refs.read(ref);
    const found = id ? await this.commitById(id) : null;
    if (!found || found.commit.fingerprint !== fingerprint || !found.commit.output) return null;
    const output = found.commit.output.hash;
    const size = inlineBlob(found.commit, output) ? null : await this.store.objects.size(output);
    // A large output is left out (the client fetches it with GET /objects, streamed): one round trip
    // must not mean one buffer of any size.
    const blob = size !== null && size <= STREAM_OVER ? await this.store.objects.read(output) : null;
    await this.used(id!);
    return { id: id!, commit: found.bytes, blob, omitted: size !== null && !blob };
  }
}

/** The headers of a `/hit` answer. */
function hitHeaders(hit: Hit): Record<string, string> {
  return {
    "content-type": "application/octet-stream",
    "content-length": String(hit.commit.length + (hit.blob?.length ?? 0)),
    "x-cashet-commit": hit.id,
    "x-cashet-commit-length": String(hit.commit.length),
    ...(hit.omitted ? { "x-cashet-blob": "omitted" } : {}),
  };
}

/** Sets `key` in a map kept to 4096 entries, the oldest dropped first. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > 4096) map.delete(map.keys().next().value!);
}

/** Objects larger than this are streamed rather than read whole (GET /objects, the blob of /hit). */
const STREAM_OVER = 8 * 1024 * 1024;

/** The request body a piece at a time, refusing more than `limit` bytes (declared or actually sent): 413. */
async function* limitedBody(ctx: Context, limit: number): AsyncIterable<Buffer> {
  const tooLarge = (): HttpError => new HttpError("ETOOLARGE", `the request body is over the ${limit}-byte limit`);
  if (Number(ctx.get("content-length") || 0) > limit) throw tooLarge();
  let n = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw tooLarge();
    yield chunk;
  }
}

/** At least `n` leading bytes of `chunks` (fewer only when there are no more), and an iterator over the rest. */
async function peek(chunks: AsyncIterable<Uint8Array>, n: number): Promise<{ first: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = chunks[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const next = await it.next();
    if (next.done) break;
    head.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    size += next.value.length;
  }
  const rest = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      }
    },
  };
  return { first: Buffer.concat(head), rest };
}

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield first;
  yield* rest;
}

async function collectAll(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/**
 * A stored blob's pieces, verified as they pass (decompressed into sha256). The last piece is
 * held until the whole has verified: a reader never receives every byte of a damaged object.
 */
async function* verifiedPieces(id: string, first: Buffer, rest: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const hash = createHash("sha256");
  const inflate = createDecompressStream();
  inflate.on("data", (chunk: Buffer) => hash.update(chunk));
  const drained = new Promise<void>((resolve, reject) => {
    inflate.on("end", resolve);
    inflate.on("error", reject);
  });
  drained.catch(() => undefined);
  let held: Buffer | null = null;
  for await (const chunk of prepend(first, rest)) {
    if (inflate.destroyed) await drained;
    if (!inflate.write(chunk)) await new Promise((r) => (inflate.once("drain", r), inflate.once("close", r)));
    if (held) yield held;
    held = chunk;
  }
  inflate.end();
  await drained;
  if (hash.digest("hex") !== id) throw new CorruptObjectError(id, "content does not match its id");
  if (held) yield held;
}

/** The request body's bytes, read up to `limit` (chunked bodies included); 413 beyond. */
async function rawBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get("content-length") || undefined });
  } catch (err) {
    const e = err as { type?: string; message: string };
    if (e.type === "entity.too.large") throw new HttpError("ETOOLARGE", `the request body is over the ${limit}-byte limit`);
    throw new InvalidInputError(`the request body could not be read: ${e.message}`);
  }
}

/** The JSON object of the request body, read up to `limit` bytes (chunked bodies included). */
async function jsonBody(ctx: Context, limit: number): Promise<Record<string, unknown>> {
  const raw = (await rawBody(ctx, limit)).toString("utf8");
  if (raw.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new InvalidInputError("the request body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new InvalidInputError("the request body must be a JSON object");
  return body as Record<string, unknown>;
}

function objectId(s: string): string {
  if (!isId(s)) throw new InvalidInputError(`${JSON.stringify(s.slice(0, 80))} is not an object id (64 hex digits)`);
  return s;
}

function refName(s: string): string {
  try {
    return assertRefName(decodeURIComponent(s));
  } catch {
    throw new InvalidInputError(`${JSON.stringify(s.slice(0, 80))} is not a ref name (fp/<fingerprint> or pin/<name>)`);
  }
}

function wholeNumber(s: string, key: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new InvalidInputError(`${key} must be a positive whole number, not ${JSON.stringify(s.slice(0, 40))}`);
  return Number(s);
}

function bool(v: unknown, key: string): boolean {
  if (typeof v !== "boolean") throw new InvalidInputError(`"${key}" must be true or false`);
  return v;
}

function num(v: unknown, key: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new InvalidInputError(`"${key}" must be a number`);
  return v;
}

function tags(v: unknown): Record<string, string> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new InvalidInputError(`"tags" must be an object of strings`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== "string") throw new InvalidInputError(`tag "${k}" must be a string`);
  return v as Record<string, string>;
}
