// log: what ran, newest first, answered from the index (never a scan of the objects); each listed
// commit is then read from the objects in its public shape.
import { publicCommit } from "../plumbing/commands/cat-object.js";
import type { Commit, CommitStatus } from "../plumbing/commit.js";
import { InvalidInputError } from "../plumbing/errors.js";
import { ObjectDb } from "../plumbing/objects.js";
import type { IndexEntry, Store } from "../plumbing/store.js";
import { checkTagFilters, parseDuration, wholeNumber } from "../plumbing/validate.js";

export interface LogOptions {
  /** Only runs of the function with this name. */
  func?: string;
  status?: CommitStatus;
  /** `k=v` (that value) or `k` (any value of that tag); every one must match. */
  tags?: readonly string[];
  /** At most this many commits (default 20; `Infinity` for all). */
  limit?: number;
  /** Only commits created at or after this time (ms since epoch). */
  since?: number;
}

export const DEFAULT_LOG_LIMIT = 20;
const STATUSES: readonly CommitStatus[] = ["completed", "failed"];

/**
 * The commits matching every filter, newest first, in the public shape (SPEC §5). A commit the
 * index lists but the objects no longer hold (or that fails verification) is left out: the index
 * is a cache, and `cashet fsck` reports the stale entry.
 */
export async function log(store: Store, options: LogOptions = {}): Promise<Commit[]> {
  const limit = options.limit ?? DEFAULT_LOG_LIMIT;
  if (limit !== Infinity) wholeNumber(limit, "limit", { min: 1 });
  if (options.status !== undefined && !STATUSES.includes(options.status)) {
    throw new InvalidInputError(`status must be completed or failed, not "${String(options.status)}"`);
  }
  if (options.since !== undefined && !Number.isFinite(options.since)) {
    throw new InvalidInputError(`since must be a time in ms since the epoch`);
  }
  const tags = checkTagFilters(options.tags ?? [], "tags");
  const entries = await store.index.log({ func: options.func, status: options.status, tags, since: options.since, limit });
  const db = new ObjectDb(store.objects);
  const commits = await Promise.all(entries.map((e) => db.getCommit(e.id)));
  return commits.filter((c): c is Commit => c !== null).map(publicCommit);
}

/** Which runs a bulk operation (export, push) takes: every filter must match. */
export interface RunFilters {
  /** Only runs of this function. */
  func?: string;
  /** `k=v` or `k`; every one must match. */
  tags?: readonly string[];
  /** Only runs created within this long (`7d`, `12h`) or since this time (ms since epoch). */
  since?: string | number;
}

/** The index entries of every run the filters choose (optionally of one status), newest first. */
export async function chosenRuns(store: Store, filters: RunFilters, status?: CommitStatus): Promise<IndexEntry[]> {
  const tags = checkTagFilters(filters.tags ?? [], "tags");
  const since = filters.since === undefined ? undefined : typeof filters.since === "number" ? filters.since : Date.now() - parseDuration(filters.since, "since");
  return store.index.log({ ...(status ? { status } : {}), ...(filters.func !== undefined ? { func: filters.func } : {}), tags, ...(since !== undefined ? { since } : {}), limit: Infinity });
}
