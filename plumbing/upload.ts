// Uploading a run to a remote cache (`cashet serve`), in the order its bring-in takes it: the
// blobs it lacks, then the commit, then the call's ref. One function for both senders: the
// write-through of a run as it is published here (RemoteCachedStore) and `cashet push` of runs
// made before.
import type { HttpStore } from "./backends/http/store.js";
import { commitBlobs } from "./commit.js";
import { decodeObject } from "./objects.js";
import type { ObjectStorage } from "./store.js";

export interface UploadOptions {
  /**
   * The call's ref to move on the remote: "replace" makes the run its head there, in the same
   * request as the commit (a run just published here is the newest); "create" sets it only where
   * the remote has none (push: never moves the server's answer back to an older run).
   */
  ref?: { name: string; mode: "replace" | "create" };
  /**
   * Ids the remote is known to have (push asks once for all its runs); what is sent is added.
   * Default: the remote is asked for this run's blobs.
   */
  have?: Set<string>;
  /** Told after each object sent, with its stored size. */
  onSent?: (kind: "blob" | "commit", bytes: number) => void;
}

export type Upload =
  | { uploaded: true; refMoved: boolean }
  /** Nothing of the run was sent past blobs: `missing` is an object it needs that `local` lacks or cannot verify (gone since: gc). */
  | { uploaded: false; missing: string };

/** Uploads run `id` (a commit in `local`) to `remote`: the blobs it lacks, the commit, then `ref`. */
export async function uploadRun(local: ObjectStorage, remote: HttpStore, id: string, options: UploadOptions = {}): Promise<Upload> {
  const stored = await local.read(id);
  const read = stored && decodeObject(id, stored);
  if (!read || read.kind !== "commit") return { uploaded: false, missing: id };
  const blobs = commitBlobs(read.commit).filter((b) => !b.inline).map((b) => b.id);
  const have = options.have ?? (blobs.length ? await remote.have(blobs) : new Set<string>());
  for (const blob of blobs) {
    if (have.has(blob)) continue;
    const bytes = await local.read(blob);
    if (!bytes) return { uploaded: false, missing: blob }; // the server would refuse the commit without it
    await remote.objects.write(blob, bytes);
    have.add(blob);
    options.onSent?.("blob", bytes.length);
  }
  const { ref } = options;
  let refMoved = false;
  if (ref?.mode === "replace") {
    await remote.objects.writeRun(id, stored!, ref.name);
    refMoved = true;
  } else {
    await remote.objects.write(id, stored!);
  }
  have.add(id);
  options.onSent?.("commit", stored!.length);
  if (ref?.mode === "create") refMoved = await remote.refs.update(ref.name, id, null);
  return { uploaded: true, refMoved };
}
