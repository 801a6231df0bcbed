// invalidate: remove every commit carrying the given tags, so the next call recomputes.
import { InvalidInputError } from "../plumbing/errors.js";
import type { Store } from "../plumbing/store.js";
import { checkTagFilters } from "../plumbing/validate.js";
import { rm } from "./rm.js";

export interface InvalidateOptions {
  /** `k=v` (that value) or `k` (any value of that tag); a commit must match every one. */
  tags: readonly string[];
}

/**
 * Removes every commit matching all `tags` (found through the index), each as `rm` removes one:
 * blobs no other commit uses go with it, and a ref on it moves back to its parent — so when a
 * newer run of a function is invalidated, the previous run becomes the cached result again,
 * unless it matches too. Pinned commits are removed as well (their pin moves or goes): an
 * invalidated result must not be served. Returns the number of commits removed.
 * Throws InvalidInputError without tags or for a malformed one.
 */
export async function invalidate(store: Store, options: InvalidateOptions): Promise<number> {
  const tags = checkTagFilters(options.tags ?? [], "tags");
  if (tags.length === 0) throw new InvalidInputError("invalidate needs at least one tag (k=v or k)");
  // Newest first, so a ref walks down the chain one removed commit at a time.
  const entries = await store.index.log({ tags, limit: Infinity });
  let removed = 0;
  for (const e of entries) if (await rm(store, e.id)) removed++;
  return removed;
}
