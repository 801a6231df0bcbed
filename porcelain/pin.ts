// pin / unpin: name a commit with a `pin/<name>` ref, which gc never evicts and clear keeps.
import { NotFoundError } from "../plumbing/errors.js";
import { ObjectDb } from "../plumbing/objects.js";
import { assertRefName } from "../plumbing/refs.js";
import type { Store } from "../plumbing/store.js";

export interface PinResult {
  /** The pin's name, without `pin/`. */
  name: string;
  /** The ref (`pin/<name>`). */
  ref: string;
  /** Full id of the pinned commit. */
  id: string;
  /** The commit the pin named before this call, or null when it is new. */
  previous: string | null;
}

/**
 * Pins commit `idOrPrefix` as `name` (letters, digits, `.`, `_`, `-`; a leading `pin/` is
 * accepted). An existing pin of that name moves to the commit, like `git tag -f`. Throws
 * InvalidInputError for a bad name or id, NotFoundError / AmbiguousIdError, CorruptObjectError.
 */
export async function pin(store: Store, idOrPrefix: string, name: string): Promise<PinResult> {
  const ref = pinRef(name);
  const db = new ObjectDb(store.objects);
  const id = await db.resolve(idOrPrefix, "commit");
  await db.readOrThrow(id, "commit"); // only a commit that verifies can be pinned
  const previous = await store.refs.read(ref);
  await store.refs.update(ref, id);
  return { name: ref.slice(4), ref, id, previous };
}

/**
 * Removes pin `name`; returns the id it named. The commit stays (gc may now evict it).
 * Throws InvalidInputError for a bad name, NotFoundError when no such pin exists.
 */
export async function unpin(store: Store, name: string): Promise<{ name: string; ref: string; id: string }> {
  const ref = pinRef(name);
  for (;;) {
    const id = await store.refs.read(ref);
    if (id === null) throw new NotFoundError(`no pin named "${ref.slice(4)}" (try \`cashet show-ref pin/\`)`);
    // Compare-and-swap: if another process moved the pin meanwhile, remove what it holds now.
    if (await store.refs.update(ref, null, id)) return { name: ref.slice(4), ref, id };
  }
}

function pinRef(name: string): string {
  return assertRefName(`pin/${name.startsWith("pin/") ? name.slice(4) : name}`);
}
