// clear: empty the store — every commit and blob — keeping pinned commits (and what they use)
// unless told to remove those too.
import { commitBlobs } from "../plumbing/commit.js";
import { ObjectDb, storedKind } from "../plumbing/objects.js";
import type { Store } from "../plumbing/store.js";
import { rm } from "./rm.js";

export interface ClearOptions {
  /** Also remove the pins and the commits they point at. */
  all?: boolean;
}

export interface ClearResult {
  /** Commits removed. */
  commits: number;
  /** Blob objects removed. */
  blobs: number;
  /** Refs deleted (fingerprint heads, and pins with `all`). */
  refs: number;
  /** Stored bytes freed. */
  bytes: number;
  /** Pinned commits kept (always 0 with `all`). */
  kept: number;
}

/**
 * Removes every commit and every blob, except — without `all` — the pinned commits, the blobs
 * they reference, and the `fp/` refs that can fall back onto them. Commits go one at a time as
 * `rm` removes them (refs first), so a crash part-way leaves a sound, smaller store. Besides what
 * the index lists, the objects are listed once, to catch what the index does not know: blobs
 * stored on their own (`hash-object --write`), orphans and unindexed commits of crashed writers.
 */
export async function clear(store: Store, options: ClearOptions = {}): Promise<ClearResult> {
  const db = new ObjectDb(store.objects);
  const result: ClearResult = { commits: 0, blobs: 0, refs: 0, bytes: 0, kept: 0 };
  const deletedRefs = new Set<string>();

  const kept = new Set<string>();
  for (const pin of await store.refs.list("pin/")) {
    if (!options.all) kept.add(pin.id);
    else if (await store.refs.update(pin.name, null, pin.id)) deletedRefs.add(pin.name);
  }
  const keptBlobs = new Set<string>();
  for (const id of kept) {
    const commit = await db.getCommit(id);
    if (commit) commitBlobs(commit).forEach((b) => keptBlobs.add(b.id));
  }

  const remove = async (id: string): Promise<void> => {
    const r = await rm(store, id);
    if (!r) return;
    result.commits++;
    result.blobs += r.blobs.length;
    result.bytes += r.bytes;
    for (const ref of r.refs) if (ref.to === null) deletedRefs.add(ref.name);
  };
  // Newest first, so a head ref steps down its chain and ends on a kept commit or is deleted.
  for (const e of await store.index.log({ limit: Infinity })) if (!kept.has(e.id)) await remove(e.id);

  const leftovers: Array<{ id: string; size: number }> = [];
  for await (const o of store.objects.list()) if (!kept.has(o.id) && !keptBlobs.has(o.id)) leftovers.push(o);
  for (const { id, size } of leftovers) {
    const head = await store.objects.read(id, 4);
    if (head === null) continue;
    if (storedKind(head) === "commit") {
      await remove(id);
    } else if ((await store.index.blobReferrers(id)).length === 0) {
      // A blob (or unreadable bytes) no commit references.
      await store.index.removeBlob(id);
      if (await store.objects.delete(id)) {
        result.blobs++;
        result.bytes += size;
      }
    }
  }

  // Heads left on commits that are gone (dangling before the clear began). A head on a commit
  // that exists was just written by a run that finished meanwhile: it stays.
  for (const ref of await store.refs.list("fp/")) {
    if (kept.has(ref.id) || (await db.getCommit(ref.id)) !== null) continue;
    if (await store.refs.update(ref.name, null, ref.id)) deletedRefs.add(ref.name);
  }
  result.refs = deletedRefs.size;
  result.kept = kept.size;
  return result;
}
