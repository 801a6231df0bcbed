// The commit: the immutable record of one finished run, stored as canonical JSON and named by
// the sha256 of those bytes. The stored record is the public JSON shape (SPEC §5) minus `id`,
// plus `inline`: small blobs carried inside the commit instead of costing a file of their own.
import { canonicalJson } from "./canonical.js";
import { CorruptObjectError, InvalidInputError } from "./errors.js";
import { isId, sha256 } from "./ids.js";

/** Blobs smaller than this many bytes live inside the commit that references them. */
export const INLINE_LIMIT = 1024;

export type CommitStatus = "completed" | "failed";

/** A JSON value, as stored inside commits (dependency lists, provenance). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface CommitRecord {
  fingerprint: string;
  status: CommitStatus;
  func: { name: string; module: string; hash: string; source: string; deps: Json[] };
  /**
   * `tree` (optional; commits before it lack it): `[path, hash, preview]` of the argument nodes
   * nearest the root (plumbing/hash/args-tree.ts), so `explain` can name a changed argument by its path.
   */
  args: { hash: string; preview: string; blob: string | null; tree?: Array<[string, string, string]> };
  output: { hash: string; size: number; serializer: string; preview: string } | null;
  error: { name: string; message: string; stack: string } | null;
  parent: string | null;
  /** ISO-8601 UTC. */
  createdAt: string;
  durationMs: number;
  attempts: number;
  tags: Record<string, string>;
  /** ISO-8601 UTC, or null for no TTL. */
  expiresAt: string | null;
  provenance: { [key: string]: Json };
  /** Blob id → base64 bytes, for referenced blobs under INLINE_LIMIT. */
  inline?: Record<string, string>;
  /**
   * What the run read that the key cannot see (plumbing/observed.ts): absent when nothing was
   * recorded (a run with `track: false`, or by an older cashet).
   */
  observed?: ObservedInputs;
}

/**
 * The files and environment variables a run read, sorted (files by path, env by name). A file's
 * `path` is relative to the project root (`/`-separated) when inside it, else absolute; its `hash`
 * is the sha256 of its bytes ("file"), of its entry names sorted and joined by "\n" ("dir"), or ""
 * ("missing": the read found nothing — creating it is a change too). An empty hash on a file or a
 * dir means it changed while the run read it: it matches nothing. An env `hash` is the sha256 of
 * the value, null when unset; two names are not variables: "=cwd" (the working directory relative
 * to the root, read when the run used a relative path) and "=names" (the names of all variables,
 * read when the run listed them).
 */
export interface ObservedInputs {
  files: Array<{ path: string; kind: "file" | "dir" | "missing"; hash: string }>;
  env: Array<{ name: string; hash: string | null }>;
}

/** A commit with its id, as every reader returns it. */
export interface Commit extends CommitRecord {
  id: string;
}

/** A blob a commit refers to, and whether its bytes are carried inline. */
export interface BlobRef {
  id: string;
  inline: boolean;
  /** Uncompressed size, when the commit knows it (the output does; args blobs do not). */
  size: number | null;
}

/** Canonical bytes and id of a record. */
export function encodeCommit(record: CommitRecord): { id: string; bytes: Buffer } {
  validateRecord(record, (reason) => new InvalidInputError(`invalid commit: ${reason}`));
  const bytes = Buffer.from(canonicalJson(record), "utf8");
  return { id: sha256(bytes), bytes };
}

/** Parses stored commit bytes, verifying the id and the shape. Throws CorruptObjectError. */
export function decodeCommit(id: string, bytes: Uint8Array): Commit {
  if (sha256(bytes) !== id) throw new CorruptObjectError(id, "content does not match its id");
  let record: CommitRecord;
  try {
    record = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    throw new CorruptObjectError(id, "not valid JSON");
  }
  validateRecord(record, (reason) => new CorruptObjectError(id, reason));
  return { id, ...record };
}

/** The blobs a commit references (arguments and output), inline or not. */
export function commitBlobs(record: CommitRecord): BlobRef[] {
  const refs: BlobRef[] = [];
  const inline = record.inline ?? {};
  if (record.args.blob) refs.push({ id: record.args.blob, inline: record.args.blob in inline, size: null });
  if (record.output && !refs.some((r) => r.id === record.output!.hash)) {
    refs.push({ id: record.output.hash, inline: record.output.hash in inline, size: record.output.size });
  }
  return refs;
}

/** The bytes of a blob carried inline in `record`, or null. Verified against the id. */
export function inlineBlob(record: CommitRecord, blobId: string): Buffer | null {
  const b64 = record.inline?.[blobId];
  if (b64 === undefined) return null;
  const bytes = Buffer.from(b64, "base64");
  return sha256(bytes) === blobId ? bytes : null;
}

/** The record without its id (what is hashed). */
export function toRecord(commit: Commit): CommitRecord {
  const { id: _id, ...record } = commit;
  return record;
}

function validateRecord(r: CommitRecord, fail: (reason: string) => Error): void {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const need = (ok: boolean, reason: string): void => {
    if (!ok) throw fail(reason);
  };
  need(isObj(r), "not an object");
  need(typeof r.fingerprint === "string" && isId(r.fingerprint), "fingerprint is not an id");
  need(r.status === "completed" || r.status === "failed", "status is not completed|failed");
  need(isObj(r.func) && typeof r.func.name === "string" && typeof r.func.hash === "string", "func is malformed");
  need(typeof r.func.module === "string" && typeof r.func.source === "string" && Array.isArray(r.func.deps), "func is malformed");
  need(isObj(r.args) && typeof r.args.hash === "string" && typeof r.args.preview === "string", "args is malformed");
  need(r.args.blob === null || (typeof r.args.blob === "string" && isId(r.args.blob)), "args.blob is not an id");
  need(
    r.args.tree === undefined ||
      (Array.isArray(r.args.tree) && r.args.tree.every((n) => Array.isArray(n) && n.length === 3 && n.every((x) => typeof x === "string"))),
    "args.tree is malformed",
  );
  need(
    r.output === null ||
      (isObj(r.output) && isId(r.output.hash) && Number.isSafeInteger(r.output.size) && r.output.size >= 0 &&
        typeof r.output.serializer === "string" && typeof r.output.preview === "string"),
    "output is malformed",
  );
  need(r.status !== "completed" || r.output !== null, "a completed commit has no output");
  need(
    r.error === null ||
      (isObj(r.error) && typeof r.error.name === "string" && typeof r.error.message === "string" &&
        typeof r.error.stack === "string"),
    "error is malformed",
  );
  need(r.parent === null || (typeof r.parent === "string" && isId(r.parent)), "parent is not an id");
  need(typeof r.createdAt === "string" && !Number.isNaN(Date.parse(r.createdAt)), "createdAt is not a date");
  need(typeof r.durationMs === "number" && r.durationMs >= 0, "durationMs is not a duration");
  need(Number.isSafeInteger(r.attempts) && r.attempts >= 1, "attempts is not a positive integer");
  need(isObj(r.tags) && Object.values(r.tags).every((v) => typeof v === "string"), "tags are not strings");
  need(r.expiresAt === null || (typeof r.expiresAt === "string" && !Number.isNaN(Date.parse(r.expiresAt))), "expiresAt is not a date");
  need(isObj(r.provenance), "provenance is not an object");
  if (r.observed !== undefined) {
    const o = r.observed as unknown;
    need(isObj(o) && Array.isArray(o.files) && Array.isArray(o.env), "observed is malformed");
    const { files, env } = o as { files: unknown[]; env: unknown[] };
    const hashOk = (h: unknown): boolean => h === "" || (typeof h === "string" && isId(h));
    let last: string | null = null;
    for (const f of files) {
      need(isObj(f) && typeof f.path === "string" && f.path !== "" && hashOk(f.hash), "observed.files is malformed");
      const { path, kind, hash } = f as { path: string; kind: unknown; hash: string };
      need(kind === "file" || kind === "dir" || kind === "missing", "observed.files is malformed");
      need(kind !== "missing" || hash === "", "observed.files: a missing file has a hash");
      need(last === null || last < path, "observed.files are not sorted by path");
      last = path;
    }
    last = null;
    for (const e of env) {
      need(isObj(e) && typeof e.name === "string" && e.name !== "" && (e.hash === null || hashOk(e.hash)), "observed.env is malformed");
      const { name } = e as { name: string };
      need(last === null || last < name, "observed.env is not sorted by name");
      last = name;
    }
  }
  if (r.inline !== undefined) {
    need(isObj(r.inline), "inline is not an object");
    for (const [id, b64] of Object.entries(r.inline)) {
      need(isId(id) && typeof b64 === "string", "inline is malformed");
      need(sha256(Buffer.from(b64 as string, "base64")) === id, `inline blob ${id.slice(0, 12)} does not match its id`);
    }
  }
}
