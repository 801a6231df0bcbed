// Typed errors with stable codes. Plumbing and porcelain throw these; only cmd/ maps them to
// exit codes and only the server maps them to HTTP statuses, each in one table.
import type { ClaimInfo } from "./store.js";

/** Base class of every error cashet throws on purpose. `code` is stable; match on it. */
export class CashetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
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

/** Stored bytes do not hash to their id, or do not parse. Never returned as data. */
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
 * (EACCES, EPERM). Its hits are still served; nothing can be recorded. (CLI exit 3.)
 */
export class StoreReadOnlyError extends CashetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EREADONLY", message, options);
  }
}

/** The disk holding the store is full (ENOSPC, EDQUOT). Earlier results still hit. (CLI exit 3.) */
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

/** Rebuilds a typed error from its code and message (errors that crossed a process boundary). */
export function errorFromCode(code: string, message: string): CashetError {
  switch (code) {
    case "EINVALID":
      return new InvalidInputError(message);
    case "ENOTFOUND":
      return new NotFoundError(message);
    case "EUNAVAILABLE":
      return new StoreUnavailableError(message);
    case "EREADONLY":
      return new StoreReadOnlyError(message);
    case "EFULL":
      return new StoreFullError(message);
    default:
      return new CashetError(code, message);
  }
}
