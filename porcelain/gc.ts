// gc: evict commits that expired, that nobody used for a while, and — given a size budget — the
// least recently used until the store fits; then remove the blobs no commit references any more.
import { storedKind } from "../plumbing/objects.js";
import type { IndexEntry, Store } from "../plumbing/store.js";
import { checkDuration, checkSize } from "../plumbing/validate.js";
import { rm } from "./rm.js";

export type GcReason = "expired" | "stale" | "size";

export interface GcOptions {
  /** Evict commits not accessed within this long: `30d`, `12h`, `90m`, `45s`, or ms (default `30d`). */
  olderThan?: string | number;
  /** Then evict least-recently-used commits until the store is at most this big: `500MB`, `1GiB`, or bytes. */
  maxSize?: string | number;
  /** Change nothing; report what would be removed. */
  dryRun?: boolean;
  /**
   * An unreferenced blob written or touched within this long (ms, default one hour) is kept: a
   * run in another process may have just stored or deduplicated against it and not yet
   * recorded the commit that uses it.
   */
  blobGraceMs?: number;
  /** The present (ms since epoch); for tests. */
  now?: number;
  /** Told how far gc is: `scan` (reading last-access times), then `remove` (commits, then blobs). */
  onProgress?: (phase: "scan" | "remove", done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface GcResult {
  /** The commits removed (or, with dryRun, that would be), in the order gc took them. */
  removed: Array<{ id: string; reason: GcReason }>;
  /** How many commits were removed: `removed.length`. */
  commits: number;
  /** Blob objects removed: those only evicted commits used, and older orphans. */
  blobs: number;
  /** Stored bytes freed (commit objects and blobs). */
  bytes: number;
  dryRun: boolean;
}

const HOUR = 3_600_000;

/**
 * Collects garbage in four passes: (1) commits whose TTL ran out; (2) commits not accessed within
 * `olderThan` — last access is the latest of the commit object's access time (touched by every
 * hit), the index's record and its creation; (3) with `maxSize`, least-recently-used commits until
 * the store's size (commit and blob bytes, after the other passes) is at or under it; (4) blobs no
 * commit references, past the grace period. Pinned commits (`pin/*`) and commits whose
 * fingerprint a running claim holds are never evicted; failed commits are treated like any other.
 *
 * Each commit goes as `rm` removes it: refs first (an `fp/` head falls back to the parent when
 * that survives, else is deleted), then the index entry, the object and the blobs only it used.
 * Bad `olderThan` / `maxSize` throw InvalidInputError before anything is touched.
 */
export async function gc(store: Store, options: GcOptions = {}): Promise<GcResult> {
  const olderThan = checkDuration(options.olderThan ?? "30d", "olderThan");
  const maxSize = options.maxSize === undefined ? null : checkSize(options.maxSize, "maxSize");
  const graceMs = options.blobGraceMs ?? HOUR;
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? Date.now();
  const signal = options.signal;

  const keep = await protectedCommits(store);
  const entries = await store.index.log({ limit: Infinity });
  const byId = new Map(entries.map((e) => [e.id, e]));
  const access = new Map<string, number>();
  const progress = options.onProgress ?? (() => undefined);
  for (const e of entries) {
    access.set(e.id, await lastAccess(store, e));
    if (access.size % 256 === 0 || access.size === entries.length) progress("scan", access.size, entries.length);
  }

  // The plan, worked out against the index before anything changes, so a dry run reports the
  // same thing a real run does and the size pass knows what the earlier passes free.
  const plan: Array<{ id: string; reason: GcReason }> = [];
  const planned = new Set<string>();
  const add = (id: string, reason: GcReason): void => {
    if (planned.has(id) || keep.has(id) || !byId.has(id)) return;
    planned.add(id);
    plan.push({ id, reason });
  };
  for (const id of await store.index.expired(now)) add(id, "expired");
  const cutoff = now - olderThan;
  for (const e of [...entries].reverse()) if (access.get(e.id)! < cutoff) add(e.id, "stale");

  const orphans = await orphanBlobs(store, now - graceMs, signal);
  const sizes = new BlobSizes(store, entries);
  let estimate = 0; // bytes the plan frees
  for (const { id } of plan) estimate += await sizes.release(byId.get(id)!);
  for (const o of orphans) estimate += o.size;

  if (maxSize !== null) {
    const s = await store.index.stats();
    let size = s.blobBytes + s.commitBytes - estimate;
    const lru = entries.filter((e) => !planned.has(e.id) && !keep.has(e.id)).sort((a, b) => access.get(a.id)! - access.get(b.id)!);
    for (const e of lru) {
      if (size <= maxSize) break;
      add(e.id, "size");
      const freed = await sizes.release(e);
      size -= freed;
      estimate += freed;
    }
  }

  if (dryRun) {
    const blobs = sizes.freed + orphans.length;
    return { removed: plan, commits: plan.length, blobs, bytes: estimate, dryRun };
  }

  const result: GcResult = { removed: [], commits: 0, blobs: 0, bytes: 0, dryRun };
  const work = plan.length + orphans.length;
  let done = 0;
  const step = (): void => {
    done++;
    if (done % 64 === 0 || done === work) progress("remove", done, work);
  };
  for (const { id, reason } of plan) {
    signal?.throwIfAborted();
    step();
    // A hit since planning saves a commit evicted for disuse.
    if (reason !== "expired" && (await lastAccess(store, byId.get(id)!)) > access.get(id)!) continue;
    const r = await rm(store, id);
    if (!r) continue; // removed meanwhile by someone else
    result.removed.push({ id, reason });
    result.blobs += r.blobs.length;
    result.bytes += r.bytes;
  }
  for (const o of orphans) {
    signal?.throwIfAborted();
    step();
    // Checked again just before deleting: a run may have come to use it meanwhile.
    if ((await store.index.blobReferrers(o.id)).length > 0) continue;
    if (((await store.objects.accessedAt(o.id)) ?? 0) >= now - graceMs) continue;
    await store.index.removeBlob(o.id);
    if (await store.objects.delete(o.id)) {
      result.blobs++;
      result.bytes += o.size;
    }
  }
  result.commits = result.removed.length;
  return result;
}

/** Pinned commits, and every commit of a fingerprint a running claim holds. */
async function protectedCommits(store: Store): Promise<Set<string>> {
  const keep = new Set((await store.refs.list("pin/")).map((r) => r.id));
  const claimed = new Set((await store.claims.list()).map((c) => c.key));
  if (claimed.size) for (const e of await store.index.log({ limit: Infinity })) if (claimed.has(e.fingerprint)) keep.add(e.id);
  return keep;
}

async function lastAccess(store: Store, e: IndexEntry): Promise<number> {
  const [object, indexed] = await Promise.all([store.objects.accessedAt(e.id), store.index.lastAccess(e.id)]);
  return Math.max(object ?? 0, indexed ?? 0, e.createdAt);
}

/** Stored blobs no indexed commit references, untouched since `before`. */
async function orphanBlobs(store: Store, before: number, signal?: AbortSignal): Promise<Array<{ id: string; size: number }>> {
  const out: Array<{ id: string; size: number }> = [];
  for await (const o of store.objects.list()) {
    signal?.throwIfAborted();
    const head = await store.objects.read(o.id, 4);
    if (head === null || storedKind(head) !== "blob") continue;
    if ((await store.index.blobReferrers(o.id)).length > 0) continue;
    if (((await store.objects.accessedAt(o.id)) ?? 0) >= before) continue;
    out.push(o);
  }
  return out;
}

/** Reference counts of stored blobs over the indexed commits, to tell what evicting one frees. */
class BlobSizes {
  private readonly refs = new Map<string, number>();
  /** Blobs whose last referrer the plan evicts. */
  freed = 0;

  constructor(
    private readonly store: Store,
    entries: IndexEntry[],
  ) {
    for (const e of entries) for (const b of stored(e)) this.refs.set(b, (this.refs.get(b) ?? 0) + 1);
  }

  /** Drops `e`'s references; returns the bytes its eviction frees (its object and its last-used blobs). */
  async release(e: IndexEntry): Promise<number> {
    let bytes = e.bytes;
    for (const b of stored(e)) {
      const n = (this.refs.get(b) ?? 1) - 1;
      this.refs.set(b, n);
      if (n > 0) continue;
      const size = await this.store.objects.size(b);
      if (size === null) continue;
      bytes += size;
      this.freed++;
    }
    return bytes;
  }
}

/** The ids of the blobs `e` keeps as objects of their own (inline ones live in the commit). */
function stored(e: IndexEntry): string[] {
  return [...new Set(e.blobs.filter((b) => !b.inline).map((b) => b.id))];
}
