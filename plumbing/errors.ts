// Typed errors with stable codes. Plumbing and porcelain throw these; only cmd/ maps them to
// exit codes and only the server maps them to HTTP statuses, each in one table typed
// Record<ErrorCode, …>, so a new code without a row in both is a compile error.
import type { ClaimInfo } from "./store.js";

/** Every code cashet's errors carry, one class each (below). The union is derived from this list. */
export const ERROR_CODES = [
  "EINVALID",
  "ENOTFOUND",
  "EAMBIGUOUS",
  "ECORRUPT",
  "EUNAVAILABLE",
  "EREADONLY",
  "EFULL",
  "ECLAIMLOST",
  "EWAITTIMEOUT",
  "ETASK",
  "ETIMEOUT",
  "EUNSUPPORTED",
  "EUNAUTHORIZED",
  "EFORBIDDEN",
  "ETOOLARGE",
  "ECONFLICT",
  "EMISSING",
  "EMETHOD",
  "EINTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether `code` (read off the wire: a JSON body, the index daemon's socket) is one of cashet's. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && CODES.has(code);
}

/** Base class of every error cashet throws on purpose. `code` is stable; match on the class or on it. */
export class CashetError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input from the user: an argument, an id, a size, a ref name. (CLI exit 2, HTTP 400.) */
export class InvalidInputError extends CashetError {
  constructor(message: string) {
    super("EINVALID", message);
  }
}

/** Nothing matches the id, prefix or name asked for. (CLI exit 1, HTTP 404.) */
export class NotFoundError extends CashetError {
  constructor(message: string) {
    super("ENOTFOUND", message);
  }
}

/** A prefix matches more than one object. (CLI exit 1, HTTP 400.) */
export class AmbiguousIdError extends CashetError {
  readonly candidates: string[];
  constructor(prefix: string, candidates: string[]) {
    super(
      "EAMBIGUOUS",
      `id prefix "${prefix}" matches ${candidates.length} objects (${candidates
        .slice(0, 3)
        .map((c) => c.slice(0, 12))
        .join(", ")}${candidates.length > 3 ? ", …" : ""}); give more characters`,
    );
    this.candidates = candidates;
  }
}

/** Stored bytes do not hash to their id, or do not parse. Never returned as data. (CLI exit 3.) */
export class CorruptObjectError extends CashetError {
  readonly id: string;
  constructor(id: string, reason: string) {
    super("ECORRUPT", `object ${id.slice(0, 12)} is corrupt: ${reason}`);
    this.id = id;
  }
}

/** The store cannot be reached or opened (index daemon, Redis, permissions). (CLI exit 3.) */
export class StoreUnavailableError extends CashetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EUNAVAILABLE", message, options);
  }
}

/**
 * The store cannot be written: a read-only mount (EROFS) or a store this user may not write
 * (EACCES, EPERM). Its hits are still served; nothing can be recorded. (CLI exit 3, HTTP 503.)
 */
export class StoreReadOnlyError extends CashetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EREADONLY", message, options);
  }
}

/** The disk holding the store is full (ENOSPC, EDQUOT). Earlier results still hit. (CLI exit 3, HTTP 507.) */
export class StoreFullError extends CashetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EFULL", message, options);
  }
}

/** A claim was taken from its holder (its connection to the claim table was lost). */
export class ClaimLostError extends CashetError {
  constructor(key: string) {
    super("ECLAIMLOST", `claim on ${key.slice(0, 12)} was lost`);
  }
}

/**
 * A call gave up waiting for another runner of the very same call (its wait limit ran out). The
 * task did not fail: the other run may still finish. `holder` is who held the claim, when known.
 * (CLI exit 4, HTTP 503.)
 */
export class WaitTimeoutError extends CashetError {
  readonly holder: ClaimInfo | null;
  readonly waitedMs: number;
  constructor(message: string, holder: ClaimInfo | null, waitedMs: number) {
    super("EWAITTIMEOUT", message);
    this.holder = holder;
    this.waitedMs = waitedMs;
  }
}

/** A task failed (after its retries). `cause` is the original error; the failed commit is recorded. (CLI exit 1, HTTP 422.) */
export class TaskError extends CashetError {
  readonly commit: string;
  constructor(message: string, commit: string, cause: unknown) {
    super("ETASK", message, { cause });
    this.commit = commit;
  }
}

/**
 * A task ran past its timeout. `hard` when its work was stopped; soft when only its signal
 * aborted, or — `endedAfterMs` — when it held the thread past its deadline and returned late.
 */
export class TaskTimeoutError extends CashetError {
  readonly hard: boolean;
  constructor(seconds: number, hard = false, endedAfterMs?: number) {
    super(
      "ETIMEOUT",
      hard
        ? `timed out after ${seconds} s (the worker running it was stopped)`
        : endedAfterMs !== undefined
          ? `timed out after ${seconds} s (it ended after ${(endedAfterMs / 1000).toFixed(2)} s; in-process timeouts cannot interrupt synchronous code: use WorkerPoolExecutor for a hard stop)`
          : `timed out after ${seconds} s (in-process timeouts are soft: the task's signal was aborted)`,
    );
    this.hard = hard;
  }
}

/** Asked of a remote store, which leaves it to the server (deleting, listing, the index's queries). */
export class UnsupportedError extends CashetError {
  constructor(what: string) {
    super("EUNSUPPORTED", `${what} is not possible on a remote store: run it on the server`);
  }
}

/** A server refused the bearer token, or none was given. (HTTP 401.) */
export class UnauthorizedError extends CashetError {
  constructor(message: string) {
    super("EUNAUTHORIZED", message);
  }
}

/** A server's read-only token asked for a write. (HTTP 403.) */
export class ForbiddenError extends CashetError {
  constructor(message: string) {
    super("EFORBIDDEN", message);
  }
}

/** A request body, or an upload, over its size limit. (HTTP 413.) */
export class TooLargeError extends CashetError {
  constructor(message: string) {
    super("ETOOLARGE", message);
  }
}

/** A write that lost to another: other bytes under a stored id, a ref that moved meanwhile. (HTTP 409.) */
export class ConflictError extends CashetError {
  constructor(message: string) {
    super("ECONFLICT", message);
  }
}

/** A commit sent before an object it names: send that object first. (HTTP 409.) */
export class MissingObjectError extends CashetError {
  constructor(message: string) {
    super("EMISSING", message);
  }
}

/** A server's path asked with a method it does not answer. (HTTP 405.) */
export class MethodNotAllowedError extends CashetError {
  constructor(message: string) {
    super("EMETHOD", message);
  }
}

/** Something failed that no other code covers (a bug, an unexpected system error). (HTTP 500, without its message.) */
export class InternalError extends CashetError {
  constructor(message: string) {
    super("EINTERNAL", message);
  }
}

/**
 * Rebuilds the typed error a code and message describe, after it crossed a process boundary (the
 * index daemon's socket, a worker thread, an HTTP answer). What a class words from its parts
 * travels in the message only: a rebuilt error's other fields (a corrupt object's id, a failed
 * run's commit, a wait's holder) are empty.
 */
export function errorFromCode(code: ErrorCode, message: string): CashetError {
  const rebuilt = (err: CashetError): CashetError => {
    err.message = message;
    return err;
  };
  switch (code) {
    case "EINVALID":
      return new InvalidInputError(message);
    case "ENOTFOUND":
      return new NotFoundError(message);
    case "EAMBIGUOUS":
      return rebuilt(new AmbiguousIdError("", []));
    case "ECORRUPT":
      return rebuilt(new CorruptObjectError("", ""));
    case "EUNAVAILABLE":
      return new StoreUnavailableError(message);
    case "EREADONLY":
      return new StoreReadOnlyError(message);
    case "EFULL":
      return new StoreFullError(message);
    case "ECLAIMLOST":
      return rebuilt(new ClaimLostError(""));
    case "EWAITTIMEOUT":
      return new WaitTimeoutError(message, null, 0);
    case "ETASK":
      return new TaskError(message, "", undefined);
    case "ETIMEOUT":
      return rebuilt(new TaskTimeoutError(0));
    case "EUNSUPPORTED":
      return rebuilt(new UnsupportedError(""));
    case "EUNAUTHORIZED":
      return new UnauthorizedError(message);
    case "EFORBIDDEN":
      return new ForbiddenError(message);
    case "ETOOLARGE":
      return new TooLargeError(message);
    case "ECONFLICT":
      return new ConflictError(message);
    case "EMISSING":
      return new MissingObjectError(message);
    case "EMETHOD":
      return new MethodNotAllowedError(message);
    case "EINTERNAL":
      return new InternalError(message);
    default: {
      const unknown: never = code;
      throw new TypeError(`no error class for code ${String(unknown)}`);
    }
  }
}
