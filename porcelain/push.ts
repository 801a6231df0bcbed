// push: uploads runs a store already holds to a remote cache (`cashet serve`), so a server set up
// after the fact starts with them. Runs made later travel by themselves (write-through); push is
// for what came before. Only what the server lacks is sent: one question for all ids first.
import type { HttpStore } from "../plumbing/backends/http/store.js";
import { fingerprintRef } from "../plumbing/refs.js";
import type { Store } from "../plumbing/store.js";
import { uploadRun } from "../plumbing/upload.js";
import { chosenRuns, type RunFilters } from "./log.js";

export interface PushFilters extends RunFilters {
  /** Told after each object sent: sent so far and the total to send. */
  onProgress?: (done: number, total: number) => void;
}

export interface PushCounts {
  /** Commits and blobs uploaded. */
  commits: number;
  blobs: number;
  /** Calls whose ref on the server was set to a pushed run (where it had none). */
  refs: number;
  /** Bytes of objects uploaded. */
  bytes: number;
  /** Objects the server already had. */
  skipped: number;
}

/**
 * Uploads the chosen completed runs of `store` to `remote`, each by `uploadRun`
 * (plumbing/upload.ts): the blobs and commits it lacks, then, for each run that is its call's head
 * here, the call's ref — only where the server has none, so a push never moves the server's
 * answer for a call back to an older run. A run whose objects left this store since the plan (gc)
 * is skipped.
 */
export async function push(store: Store, remote: HttpStore, filters: PushFilters = {}): Promise<PushCounts> {
  const entries = await chosenRuns(store, filters, "completed");
  const blobIds = [...new Set(entries.flatMap((e) => e.blobs.filter((b) => !b.inline).map((b) => b.id)))];
  // One question for every id; each upload then adds what it sent.
  const have = await remote.have([...blobIds, ...entries.map((e) => e.id)]);
  const counts: PushCounts = { commits: 0, blobs: 0, refs: 0, bytes: 0, skipped: have.size };
  const total = blobIds.length + entries.length - have.size;
  const onSent = (kind: "blob" | "commit", bytes: number): void => {
    if (kind === "blob") counts.blobs++;
    else counts.commits++;
    counts.bytes += bytes;
    filters.onProgress?.(counts.blobs + counts.commits, total);
  };
  for (const e of entries) {
    if (have.has(e.id)) continue; // there already, with what it names, and its ref with it when it was a head
    const ref = fingerprintRef(e.fingerprint);
    const head = (await store.refs.read(ref)) === e.id;
    const sent = await uploadRun(store.objects, remote, e.id, { have, onSent, ...(head ? { ref: { name: ref, mode: "create" as const } } : {}) });
    if (sent.uploaded && sent.refMoved) counts.refs++;
  }
  return counts;
}
