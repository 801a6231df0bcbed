// show: one commit, everything in it — how a result was produced.
import { publicCommit } from "../plumbing/commands/cat-object.js";
import type { Commit } from "../plumbing/commit.js";
import { ObjectDb } from "../plumbing/objects.js";
import type { Store } from "../plumbing/store.js";

/**
 * The commit `idOrPrefix` names (a full id or a unique prefix of ≥ 4 hex characters), verified,
 * in its public shape (SPEC §5). Throws NotFoundError (no commit matches), AmbiguousIdError,
 * InvalidInputError (not an id) or CorruptObjectError.
 */
export async function show(store: Store, idOrPrefix: string): Promise<Commit> {
  const db = new ObjectDb(store.objects);
  const id = await db.resolve(idOrPrefix, "commit");
  const read = await db.readOrThrow(id, "commit");
  if (read.kind !== "commit") throw new Error("unreachable: readOrThrow checked the kind");
  return publicCommit(read.commit);
}
