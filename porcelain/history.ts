// history: every run of one function+arguments (one fingerprint), newest first.
import { publicCommit } from "../plumbing/commands/cat-object.js";
import type { Commit } from "../plumbing/commit.js";
import { ObjectDb } from "../plumbing/objects.js";
import { fingerprintRef } from "../plumbing/refs.js";
import type { Store } from "../plumbing/store.js";
import { show } from "./show.js";

/**
 * The runs of the function+arguments that commit `idOrPrefix` ran, newest first, in the public
 * shape. The chain is walked from the fingerprint's head (`fp/<fingerprint>`; from the commit
 * itself when the ref is gone) through the parents. Runs of the same fingerprint that the index
 * knows but the chain no longer reaches are included too: `rm` of a middle run breaks the chain
 * (its child's parent is gone), and two processes forcing a re-run at once can fork it, yet those
 * runs are still history. Order is by creation time, newest first; runs created in the same
 * millisecond keep the chain's order. Throws like `show` for a bad, unknown or ambiguous id.
 */
export async function history(store: Store, idOrPrefix: string): Promise<Commit[]> {
  const start = await show(store, idOrPrefix);
  const db = new ObjectDb(store.objects);
  const found = new Map<string, Commit>();

  const walk = async (from: string | null): Promise<void> => {
    for (let id = from; id !== null && !found.has(id); ) {
      const commit = await db.getCommit(id);
      if (!commit) return; // a missing or corrupt parent ends the chain
      found.set(id, commit);
      id = commit.parent;
    }
  };
  await walk(await store.refs.read(fingerprintRef(start.fingerprint)));
  await walk(start.id);

  for (const e of await store.index.log({ fingerprint: start.fingerprint, limit: Infinity })) {
    if (!found.has(e.id)) await walk(e.id);
  }

  const chainOrder = [...found.values()];
  return chainOrder
    .map((commit, i) => ({ commit, i, at: Date.parse(commit.createdAt) }))
    .sort((x, y) => y.at - x.at || x.i - y.i)
    .map(({ commit }) => publicCommit(commit));
}
