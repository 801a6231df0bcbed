// The Koa application behind `cashet serve`: a small core of middleware (errors, auth; http.ts),
// one route per porcelain function, the remote-cache routes (remote-cache.ts) and the web view
// (web.ts). serve.ts loads it on demand, so neither importing cashet nor its declarations need Koa.
import Router from "@koa/router";
import Koa from "koa";
import { InvalidInputError, NotFoundError } from "../../plumbing/errors.js";
import { diff } from "../diff.js";
import { explain } from "../explain.js";
import { gc } from "../gc.js";
import { get, resultJson } from "../get.js";
import { history } from "../history.js";
import { checkBoolean, checkDuration, checkSeconds, checkSize, checkTagFilters, checkTags, parseWholeNumber, wholeNumber } from "../../plumbing/validate.js";
import { auth, authorizer, clientGone, errors, jsonBody, unreadBodies } from "./http.js";
import { log } from "../log.js";
import { HitReader, remoteCacheRoutes } from "./remote-cache.js";
import { answerJson, call } from "../call.js";
import type { RunOptions } from "../run.js";
import type { ServeOptions } from "./serve.js";
import { show } from "../show.js";
import { stats } from "../stats.js";
import { webRoutes } from "./web.js";

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
    ctx.body = await answerJson(await call(store, task, runOptions));
  });

  // Whether a POST /submit of the same task and arguments would hit, and if not why. Runs nothing.
  router.get("/explain", async (ctx) => {
    const q = ctx.query;
    const name = typeof q.task === "string" ? q.task : "";
    if (name === "") throw new InvalidInputError(`"task" must be the name of a registered task`);
    let args: unknown = [];
    if (q.args !== undefined) {
      try {
        args = JSON.parse(String(q.args));
      } catch {
        throw new InvalidInputError(`"args" must be a JSON array`);
      }
    }
    if (!Array.isArray(args)) throw new InvalidInputError(`"args" must be a JSON array`);
    const task = await options.tasks(name, args);
    if (!task) throw new NotFoundError(`no task named ${JSON.stringify(name)} is registered in this server`);
    const recordedAs = options.taskOptions?.(name).name;
    ctx.body = await explain(store, task, recordedAs !== undefined ? { name: recordedAs } : {});
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
