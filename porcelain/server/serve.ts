// The HTTP server (SPEC §7): the porcelain over JSON with Koa — a small core of middleware (errors,
// auth; http.ts), one route per porcelain function, the remote-cache routes (remote-cache.ts) and
// the web view (web.ts). It runs only tasks registered in the server process, by name; no request
// can make it run code the request carries.
import { createServer, type Server } from "node:http";
import Router from "@koa/router";
import Koa from "koa";
import { InvalidInputError, NotFoundError } from "../../plumbing/errors.js";
import type { Store } from "../../plumbing/store.js";
import { checkBoolean, checkDuration, checkSeconds, checkSize, checkTagFilters, checkTags, parseWholeNumber, wholeNumber } from "../../plumbing/validate.js";
import { diff } from "../diff.js";
import { gc } from "../gc.js";
import { get, resultJson } from "../get.js";
import { history } from "../history.js";
import { auth, authorizer, clientGone, errors, jsonBody, unreadBodies } from "./http.js";
import { log } from "../log.js";
import { answerHit, HitReader, remoteCacheRoutes } from "./remote-cache.js";
import { watchTaskModules } from "../run-file.js";
import { run, type RunOptions, type TaskSpec } from "../run.js";
import { show } from "../show.js";
import { stats } from "../stats.js";
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
    if (app.silent || clientGone(err)) return;
    process.stderr.write(`cashet serve: ${err.stack ?? err.message}\n`);
  });
  app.use(unreadBodies);
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
    for (const key of ["force", "cache"] as const) if (body[key] !== undefined) runOptions[key] = checkBoolean(body[key], `"${key}"`);
    if (body.retries !== undefined) runOptions.retries = wholeNumber(body.retries, `"retries"`);
    for (const key of ["timeout", "ttl"] as const) if (body[key] !== undefined) runOptions[key] = checkSeconds(body[key], `"${key}"`);
    if (body.tags !== undefined) runOptions.tags = checkTags(body.tags, `"tags"`);
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
      tags: checkTagFilters(tagList, "tag"),
      ...(limit !== undefined ? { limit: parseWholeNumber(limit, "limit", { min: 1 }) } : {}),
    });
  });

  router.get("/stats", async (ctx) => {
    ctx.body = await stats(store);
  });

  router.post("/gc", async (ctx) => {
    const body = await jsonBody(ctx, bodyLimit);
    ctx.body = await gc(store, {
      ...(body.olderThan !== undefined ? { olderThan: checkDuration(body.olderThan, `"olderThan"`) } : {}),
      ...(body.maxSize !== undefined ? { maxSize: checkSize(body.maxSize, `"maxSize"`) } : {}),
      dryRun: checkBoolean(body.dryRun, `"dryRun"`) ?? false,
    });
  });

  remoteCacheRoutes(router, store, hits, { bodyLimit, objectLimit });
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
      // time): the same token check, the same answers, written directly. A request that carries a
      // body (which /hit never reads) takes the stack, which drains it (unreadBodies).
      const url = req.url ?? "";
      const bodyless = (req.headers["content-length"] ?? "0") === "0" && req.headers["transfer-encoding"] === undefined;
      if (req.method === "GET" && url.startsWith("/hit/fp/") && !url.includes("?") && bodyless) void answerHit(req, res, url.slice("/hit/fp/".length), hits, check, app);
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

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
