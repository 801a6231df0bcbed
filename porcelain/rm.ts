// rm: remove one commit — its index entry, the blobs only it used, the commit object — and move
// the refs that pointed at it back to its parent, so no ref is ever left on a missing commit.
import { commitBlobs, type Commit } from "../plumbing/commit.js";
import { NotFoundError } from "../plumbing/errors.js";
import { isId, normalizePrefix } from "../plumbing/ids.js";
import { ObjectDb, storedKind } from "../plumbing/objects.js";
import { fingerprintRef } from "../plumbing/refs.js";
import type { Ref, Store } from "../plumbing/store.js";

export interface RmResult {
  /** Full id of the removed commit. */
  commit: string;
  /** Blob objects deleted because no other commit references them. */
  blobs: string[];
  /** Refs that pointed at the commit: moved to its parent (`to`), or deleted (`to` null). */
  refs: Array<{ name: string; to: string | null }>;
  /** Stored bytes freed (the commit object and the deleted blobs). */
  bytes: number;
}

/**
 * Removes the commit `idOrPrefix` names (full id or unique prefix). Returns what it removed, or
 * null when no commit matches. Throws AmbiguousIdError / InvalidInputError for a bad id.
 *
 * Order matters for a crash at any point: refs move first (no ref may name a missing commit),
 * then the index entry goes (which tells which blobs are now unreferenced), then the commit
 * object, then those blobs. A crash between leaves at most an unindexed commit or an orphan
 * blob, which `fsck --repair` and `gc` clean up. Any ref on the commit — `fp/<fingerprint>` or a
 * pin — moves to the parent when the parent is stored and sound (the parent is an earlier run of
 * the same function and arguments, so it stands for the same thing); otherwise it is deleted.
 * A blob another commit still references is kept; one carried inline needs nothing.
 */
export async function rm(store: Store, idOrPrefix: string): Promise<RmResult | null> {
  const db = new ObjectDb(store.objects);
  const prefix = normalizePrefix(idOrPrefix);
  let id = prefix; // a full id needs no prefix search (bulk callers give full ids)
  if (!isId(prefix)) {
    try {
      id = await db.resolve(prefix, "commit");
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  const read = await db.read(id);
  const entry = await store.index.entry(id);
  if (read.kind === "blob" || (read.kind === "missing" && !entry)) return null;
  if (read.kind === "corrupt" && !entry && !(await looksLikeCommit(store, id))) return null;
  // A corrupt commit is removed all the same; what its bytes no longer tell, the index does.
  const commit: Commit | null = read.kind === "commit" ? read.commit : null;
  const fingerprint = commit?.fingerprint ?? entry?.fingerprint ?? null;
  const parent = commit?.parent ?? null;
  const to = parent !== null && (await db.getCommit(parent)) !== null ? parent : null;

  const refs: RmResult["refs"] = [];
  const candidates: Ref[] = fingerprint === null ? await store.refs.list() : await store.refs.list("pin/");
  if (fingerprint !== null) {
    const name = fingerprintRef(fingerprint);
    const head = await store.refs.read(name);
    if (head !== null) candidates.push({ name, id: head });
  }
  for (const ref of candidates) {
    // Compare-and-swap: a ref another process moved meanwhile no longer names this commit.
    if (ref.id === id && (await store.refs.update(ref.name, to, id))) refs.push({ name: ref.name, to });
  }

  let orphans = await store.index.removeCommit(id);
  if (!entry && commit) {
    // Never indexed (a writer died before indexing it): its blobs' other users are still known.
    orphans = [];
    for (const b of commitBlobs(commit)) {
      if (!b.inline && (await store.index.blobReferrers(b.id)).length === 0) orphans.push(b.id);
    }
  }
  let bytes = (await store.objects.size(id)) ?? 0;
  await store.objects.delete(id);

  const blobs: string[] = [];
  for (const blob of orphans) {
    // Checked again just before deleting: a run finishing meanwhile may have come to use it.
    if ((await store.index.blobReferrers(blob)).length > 0) continue;
    const size = await store.objects.size(blob);
    await store.index.removeBlob(blob);
    if (size !== null && (await store.objects.delete(blob))) {
      bytes += size;
      blobs.push(blob);
    }
  }
  return { commit: id, blobs, refs, bytes };
}

/** Whether a stored object that fails verification was meant to be a commit (its first byte says). */
async function looksLikeCommit(store: Store, id: string): Promise<boolean> {
  const head = await store.objects.read(id, 4);
  return head !== null && storedKind(head) === "commit";
}
