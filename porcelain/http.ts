// The server's HTTP plumbing, shared by its routes: typed errors to JSON answers and statuses,
// bearer tokens, request bodies read within their limits, and path and body values checked
// into one-line 400s.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import getRawBody from "raw-body";
import { CashetError, InvalidInputError, NotFoundError } from "../plumbing/errors.js";
import { isId } from "../plumbing/ids.js";
import { assertRefName } from "../plumbing/refs.js";
import { TaskError } from "./run.js";

/** The HTTP status of each error code (the web view answers with the same ones). */
export const STATUS: Record<string, number> = { EINVALID: 400, EAMBIGUOUS: 400, ENOTFOUND: 404, ETOOLARGE: 413, EUNAUTHORIZED: 401, EFORBIDDEN: 403, ECONFLICT: 409, EMISSING: 409 };

/** Every error as JSON `{error: {code, message}}` with a status that fits, never a stack trace. */
export async function errors(ctx: Context, next: Next): Promise<void> {
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

export class HttpError extends CashetError {}

/**
 * Bearer tokens: the read-write one for everything, the read-only one for reads; /healthz needs
 * none. Null when the server has no token; else a check giving the refusal, or null to let pass.
 */
export function authorizer(token?: string, readToken?: string): ((header: string, method: string, path: string) => HttpError | null) | null {
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
export function challenge(path: string): string {
  return path === "/" || path.startsWith("/ui/") ? 'Basic realm="cashet", charset="UTF-8"' : 'Bearer realm="cashet"';
}

export function auth(check: ReturnType<typeof authorizer>): (ctx: Context, next: Next) => Promise<void> {
  return async (ctx, next) => {
    const refused = check?.(ctx.get("authorization"), ctx.method, ctx.path);
    if (!refused) return next();
    if (refused.code === "EUNAUTHORIZED") ctx.set("WWW-Authenticate", challenge(ctx.path));
    throw refused;
  };
}

/** The request body a piece at a time, refusing more than `limit` bytes (declared or actually sent): 413. */
export async function* limitedBody(ctx: Context, limit: number): AsyncIterable<Buffer> {
  const tooLarge = (): HttpError => new HttpError("ETOOLARGE", `the request body is over the ${limit}-byte limit`);
  if (Number(ctx.get("content-length") || 0) > limit) throw tooLarge();
  let n = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw tooLarge();
    yield chunk;
  }
}

/** The request body's bytes, read up to `limit` (chunked bodies included); 413 beyond. */
export async function rawBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get("content-length") || undefined });
  } catch (err) {
    const e = err as { type?: string; message: string };
    if (e.type === "entity.too.large") throw new HttpError("ETOOLARGE", `the request body is over the ${limit}-byte limit`);
    throw new InvalidInputError(`the request body could not be read: ${e.message}`);
  }
}

/** The JSON object of the request body, read up to `limit` bytes (chunked bodies included). */
export async function jsonBody(ctx: Context, limit: number): Promise<Record<string, unknown>> {
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

export function objectId(s: string): string {
  if (!isId(s)) throw new InvalidInputError(`${JSON.stringify(s.slice(0, 80))} is not an object id (64 hex digits)`);
  return s;
}

export function refName(s: string): string {
  try {
    return assertRefName(decodeURIComponent(s));
  } catch {
    throw new InvalidInputError(`${JSON.stringify(s.slice(0, 80))} is not a ref name (fp/<fingerprint> or pin/<name>)`);
  }
}

export function wholeNumber(s: string, key: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new InvalidInputError(`${key} must be a positive whole number, not ${JSON.stringify(s.slice(0, 40))}`);
  return Number(s);
}

export function bool(v: unknown, key: string): boolean {
  if (typeof v !== "boolean") throw new InvalidInputError(`"${key}" must be true or false`);
  return v;
}

export function num(v: unknown, key: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new InvalidInputError(`"${key}" must be a number`);
  return v;
}

export function tags(v: unknown): Record<string, string> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new InvalidInputError(`"tags" must be an object of strings`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== "string") throw new InvalidInputError(`tag "${k}" must be a string`);
  return v as Record<string, string>;
}
