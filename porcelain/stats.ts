// stats: what the store holds, answered from the index counters (no scan), and how its cache
// served: hits, misses and the run time saved, per function and in all.
import type { FunctionUsage, Store } from "../plumbing/store.js";
import { flushUsage } from "../plumbing/usage.js";

export interface StoreStats {
  totalCommits: number;
  completedCommits: number;
  failedCommits: number;
  /** Object files (or keys): blobs plus commits. */
  storedObjects: number;
  /** Bytes those objects take in the store. */
  diskBytes: number;
  blobObjects: number;
  blobBytes: number;
  /** Blobs carried inside commits instead of objects of their own. */
  inlineObjects: number;
  inlineBytes: number;
  kind: string;
  location: string;
  /** Calls served from the cache, by every process, since `countedSince`. */
  hits: number;
  /** Calls that ran: completed or failed, forced and uncached runs included. */
  misses: number;
  /** Run time the hits did not spend (ms): the recorded duration of each commit served. */
  savedMs: number;
  /** When the first call was counted (ISO time), or null: none yet (a store older than the counts, or one never used). */
  countedSince: string | null;
  /** Every function's counts, most time saved first. */
  functions: FunctionUsage[];
}

/** Counts of commits and blobs, where the store is, and its hits and misses (this process's included). */
export async function stats(store: Store): Promise<StoreStats> {
  await flushUsage(store); // what this process counted so far is part of the answer
  const [s, usage] = await Promise.all([store.index.stats(), store.usage ? store.usage.read() : null]);
  const functions = (usage?.functions ?? []).sort(
    (a, b) => b.savedMs - a.savedMs || b.hits - a.hits || b.misses - a.misses || a.name.localeCompare(b.name) || a.module.localeCompare(b.module),
  );
  const sum = (k: "hits" | "misses" | "savedMs"): number => functions.reduce((n, f) => n + f[k], 0);
  return {
    totalCommits: s.totalCommits,
    completedCommits: s.completedCommits,
    failedCommits: s.failedCommits,
    storedObjects: s.blobObjects + s.totalCommits,
    diskBytes: s.blobBytes + s.commitBytes,
    blobObjects: s.blobObjects,
    blobBytes: s.blobBytes,
    inlineObjects: s.inlineObjects,
    inlineBytes: s.inlineBytes,
    kind: store.kind,
    location: store.location,
    hits: sum("hits"),
    misses: sum("misses"),
    savedMs: sum("savedMs"),
    countedSince: usage?.since != null ? new Date(usage.since).toISOString() : null,
    functions,
  };
}
