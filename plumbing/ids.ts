// Ids are lowercase hex SHA-256; users may give any unique prefix of at least 4 characters.
import { createHash } from "node:crypto";
import { InvalidInputError } from "./errors.js";

export const ID_LENGTH = 64;
export const MIN_PREFIX = 4;
const ID_RE = /^[0-9a-f]{64}$/;
const PREFIX_RE = /^[0-9a-f]+$/;

/** sha256 of `bytes` as lowercase hex. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** True when `s` is a full id (64 lowercase hex characters). */
export function isId(s: string): boolean {
  return ID_RE.test(s);
}

/** Throws InvalidInputError unless `s` is a full id. */
export function assertId(s: string, what = "id"): string {
  if (!isId(s)) throw new InvalidInputError(`${what} "${s}" is not a 64-character hex sha256`);
  return s;
}

/**
 * Normalizes a user-given id or prefix (case-insensitive) and checks its shape.
 * Throws InvalidInputError for anything that is not 4–64 hex characters.
 */
export function normalizePrefix(s: string): string {
  const p = s.trim().toLowerCase();
  if (p.length < MIN_PREFIX || p.length > ID_LENGTH || !PREFIX_RE.test(p)) {
    throw new InvalidInputError(
      `"${s}" is not an id: give ${MIN_PREFIX} to ${ID_LENGTH} hex characters`,
    );
  }
  return p;
}
