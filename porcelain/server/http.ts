// The server's HTTP plumbing, shared by its routes: typed errors to JSON answers and statuses,
// bearer tokens, request bodies read within their limits (and drained when a route does not read
// them to the end), and path values checked into one-line 400s (body values: plumbing/validate.ts).
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable, Stream } from "node:stream";
import type { Context, Next } from "koa";
import getRawBody from "raw-body";
import {
  CashetError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  TaskError,
  TooLargeError,
  UnauthorizedError,
  type ErrorCode,
} from "../../plumbing/errors.js";
import { isId } from "../../plumbing/ids.js";
import { assertRefName } from "../../plumbing/refs.js";

/**
 * The HTTP status of each error code (the web view answers with the same ones). A 500 is answered
 * without its message ("the store cannot serve this request") and logged.
 */
export const STATUS: Record<ErrorCode, number> = {
  EINVALID: 400,
  EAMBIGUOUS: 400,
  EUNAUTHORIZED: 401,
  EFORBIDDEN: 403,
  ENOTFOUND: 404,
  EMETHOD: 405,
  ECONFLICT: 409,
  EMISSING: 409,
  ETOOLARGE: 413,
  ETASK: 422, // the request was fine; the task it named failed
  // the server's store cannot take the run (read-only, full), or a run waited past its limit: try again later
  EREADONLY: 503,
  EWAITTIMEOUT: 503,
  EFULL: 507,
  // the server's own failures
  ECORRUPT: 500,
  EUNAVAILABLE: 500,
  ECLAIMLOST: 500,
  ETIMEOUT: 500, // a task's timeout fails its run (ETASK); one that escapes is a bug
  EUNSUPPORTED: 500, // a server whose store is another server's
  EINTERNAL: 500,
};

/** The code of a status Koa or its router threw (an unknown method, a body Koa refused). */
function codeOfStatus(status: number): ErrorCode {
  return status === 413 ? "ETOOLARGE" : status === 405 ? "EMETHOD" : "EINVALID";
}

/** Every error as JSON `{error: {code, message}}` with a status that fits, never a stack trace. */
export async function errors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) throw new NotFoundError(`no endpoint ${ctx.method} ${ctx.path}`);
  } catch (err) {
    if (err instanceof CashetError) {
      ctx.status = STATUS[err.code] ?? 500; // a code from another copy of cashet
      const message = ctx.status === 500 ? "the store cannot serve this request" : err.message;
      ctx.body = { error: { code: err.code, message, ...(err instanceof TaskError ? { commit: err.commit } : {}) } };
      if (ctx.status === 500) ctx.app.emit("error", err, ctx);
      return;
    }
    const status = (err as { status?: number; expose?: boolean }).status;
    if (status && status >= 400 && status < 500) {
      ctx.status = status;
      ctx.body = { error: { code: codeOfStatus(status), message: (err as Error).message } };
      return;
    }
    ctx.status = 500;
    ctx.body = { error: { code: "EINTERNAL" satisfies ErrorCode, message: "internal error" } };
    if (clientGone(err) || ctx.req.destroyed) return;
    ctx.app.emit("error", err, ctx);
  }
}

/**
 * An error that is the client's doing, not the server's, and is never logged: it went away or cut
 * the connection, sent malformed HTTP (Node's parser errors are `HPE_…`), or was cut off by the
 * request timeout (Node answered 408).
 */
export function clientGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? "";
  return code === "ECONNRESET" || code === "EPIPE" || code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "ERR_STREAM_PREMATURE_CLOSE" || code.startsWith("HPE_");
}

/**
 * A request body the route did not read to its end — it answered before the body arrived (a 413,
 * any refusal), or it reads none (a GET that was sent one) — is read and thrown away before the
 * connection goes on or closes: at most DRAIN_BYTES, for at most DRAIN_MS. Closing a socket that
 * still has unread bytes makes the kernel send a reset, and a client still sending its body (most
 * send all of it before they read) then gets EPIPE or ECONNRESET instead of the answer.
 *
 * A refusal goes out at once with `Connection: close`, and the connection closes once the body has
 * drained; any other answer waits for the drain and keeps the connection unless it hit a bound.
 */
export async function unreadBodies(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.req.complete) return;
  const bytes = inMemory(ctx.body);
  if (ctx.status >= 400 && bytes && ctx.method !== "HEAD") {
    ctx.set("Connection", "close");
    // Node closes the connection as soon as the answer ends: all of it is sent now, its end waits for the drain.
    ctx.body = Readable.from(answerThenDrain(bytes, ctx.req), { objectMode: false });
    ctx.length = bytes.length;
    return;
  }
  if (!(await drain(ctx.req))) ctx.set("Connection", "close");
}

/** An answer's bytes when it is held whole (JSON, text, a buffer); null for a stream or no body. */
function inMemory(body: unknown): Buffer | null {
  if (typeof body === "string") return Buffer.from(body);
  if (body === null || typeof body !== "object" || body instanceof Stream) return null;
  return Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
}

const DRAIN_BYTES = 16 * 1024 * 1024;
const DRAIN_MS = 5_000;

async function* answerThenDrain(answer: Buffer, req: IncomingMessage): AsyncGenerator<Buffer> {
  yield answer;
  await drain(req);
}

/** Reads and discards what is left of `req`: true once it has all arrived, false at DRAIN_BYTES or DRAIN_MS. */
function drain(req: IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    if (req.complete || req.destroyed) return resolve(req.complete);
    let left = DRAIN_BYTES;
    const done = (): void => {
      clearTimeout(timer);
      req.off("data", discard).off("end", done).off("close", done);
      resolve(req.complete);
    };
    const discard = (chunk: Buffer): void => {
      left -= chunk.length;
      if (left < 0) done();
    };
    const timer = setTimeout(done, DRAIN_MS);
    req.on("data", discard).once("end", done).once("close", done);
    req.resume(); // a body reader that gave up (raw-body on a 413) leaves the request paused
  });
}

/**
 * Bearer tokens: the read-write one for everything, the read-only one for reads; /healthz needs
 * none. Null when the server has no token; else a check giving the refusal, or null to let pass.
 */
export function authorizer(token?: string, readToken?: string): ((header: string, method: string, path: string) => UnauthorizedError | ForbiddenError | null) | null {
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
    if (!given) return new UnauthorizedError("missing bearer token");
    const d = digest(given); // equal-length digests: the comparison takes the same time whatever was sent
    if (rw && timingSafeEqual(d, rw)) return null;
    if (ro && timingSafeEqual(d, ro)) {
      // Reads: GET and HEAD, and the batch question "which of these do you have" (a POST only for its body).
      if (method === "GET" || method === "HEAD" || (method === "POST" && path === "/objects/have")) return null;
      return new ForbiddenError("this token may only read");
    }
    return new UnauthorizedError("wrong bearer token");
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
    if (refused instanceof UnauthorizedError) ctx.set("WWW-Authenticate", challenge(ctx.path));
    throw refused;
  };
}

/** The request body a piece at a time, refusing more than `limit` bytes (declared or actually sent): 413. */
export async function* limitedBody(ctx: Context, limit: number): AsyncIterable<Buffer> {
  const tooLarge = (): TooLargeError => new TooLargeError(`the request body is over the ${limit}-byte limit`);
  if (Number(ctx.get("content-length") || 0) > limit) throw tooLarge();
  let n = 0;
  // Left whole when reading stops early (over the limit, bytes refused): the rest is drained
  // (unreadBodies) rather than the connection cut.
  const chunks = { [Symbol.asyncIterator]: () => ctx.req.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer> };
  for await (const chunk of chunks) {
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
    if (e.type === "entity.too.large") throw new TooLargeError(`the request body is over the ${limit}-byte limit`);
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
