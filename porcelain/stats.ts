// stats: what the store holds, answered from the index counters (no scan).
import type { Store } from "../plumbing/store.js";

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
}

/** Counts of commits and blobs, and where the store is. */
export async function stats(store: Store): Promise<StoreStats> {
  const s = await store.index.stats();
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
  };
}
