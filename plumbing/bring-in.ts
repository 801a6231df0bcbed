// Bringing in a commit made elsewhere — fetched from a remote cache, imported from an archive,
// uploaded to the server: it lands only once every blob it names is stored, so the store never
// references what it lacks; then it is indexed and a ref may move to it, in the publish order
// (plumbing/publish.ts).
import { commitBlobs, decodeCommit, type Commit } from "./commit.js";
import { publishRun, type PublishOptions } from "./publish.js";
import type { Store } from "./store.js";

/** The first blob `commit` names that is neither inline in it nor had by `has`, or null. */
export async function missingBlob(commit: Commit, has: (id: string) => boolean | Promise<boolean>): Promise<string | null> {
  for (const id of neededBlobs(commit)) if (!(await has(id))) return id;
  return null;
}

/** The blobs `commit` names that must be in the store before it (those not riding inline in it). */
export function neededBlobs(commit: Commit): string[] {
  return commitBlobs(commit)
    .filter((b) => !b.inline)
    .map((b) => b.id);
}

export interface BringInOptions {
  /** The ref to move to the commit once it is in, and how (see `publishRun`). */
  ref?: { name: string; head?: string | null } & PublishOptions;
  /** Stores a blob the store lacks (a read-through fetches it); true when the store has it now. */
  fetch?: (id: string) => Promise<boolean>;
}

export type BringIn =
  | { brought: true; commit: Commit; created: boolean; refMoved: boolean }
  /** Refused, and nothing changed: the store lacks blob `missing`, which the commit names. */
  | { brought: false; missing: string };

/**
 * Brings commit `id`, stored as `stored`, into `store`: every blob it names must be stored
 * (or inline, or fetched by `fetch`), else it is refused and nothing changes; then the commit is
 * written — a stored copy that differs from these bytes does not verify (a commit's id is the
 * sha256 of its bytes) and is replaced — indexed, and `ref` moved. The bytes are verified here
 * (CorruptObjectError when they are not commit `id`), whatever the caller checked before.
 */
export async function bringInCommit(store: Pick<Store, "objects" | "index" | "refs">, id: string, stored: Uint8Array, options: BringInOptions = {}): Promise<BringIn> {
  const commit = decodeCommit(id, stored);
  const { fetch } = options;
  const missing = await missingBlob(commit, async (blob) => (await store.objects.size(blob)) !== null || (fetch !== undefined && (await fetch(blob))));
  if (missing) return { brought: false, missing };
  let created = await store.objects.write(id, stored);
  if (!created) {
    const existing = await store.objects.read(id);
    if (!existing || !Buffer.from(existing.buffer, existing.byteOffset, existing.byteLength).equals(stored)) {
      await store.objects.delete(id);
      created = await store.objects.write(id, stored);
    }
  }
  const { ref } = options;
  const refMoved = ref ? await publishRun(store, id, ref.name, ref.head, ref) : (await publishRun(store, id, null), false);
  return { brought: true, commit, created, refMoved };
}
