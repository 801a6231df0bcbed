// The publish order: how a stored commit becomes visible. Every writer that makes a commit
// visible — a run's claim, the fs daemon, Redis's claim, a run brought in from elsewhere — goes
// through `publishRun`, so the order is written once.
import type { Index, RefStorage } from "./store.js";

/** What publishing needs of a store: its index and its refs (a daemon or a claim passes its own). */
export interface PublishParts {
  index: Pick<Index, "addCommit">;
  refs: Pick<RefStorage, "update">;
}

export interface PublishOptions {
  /**
   * When the ref no longer names `head` (someone moved it meanwhile): "ours" (default) moves it to
   * our commit all the same; "theirs" leaves it where it is — for a run fetched from elsewhere,
   * which must not replace one made here meanwhile.
   */
  onConflict?: "ours" | "theirs";
}

/**
 * Makes stored commit `id` visible. The index first: then every commit a ref reaches is indexed,
 * and a writer that dies before the ref moves leaves only an unreferenced commit (`fsck`
 * reports it; `--repair` and the fs daemon index it). Then, when `ref` is given, the ref moves to
 * `id` by compare-and-swap from `head`, the head the writer saw before it ran (null: none) — or
 * straight over whatever it names when `head` is undefined (a run uploaded from elsewhere, whose
 * writer saw no head here).
 *
 * When the swap fails, someone moved the ref meanwhile (another machine's run of the same call
 * through a remote store, an import, a read-through fetch), and ours replaces that head all the
 * same: an `fp/` ref names the newest run of its call (SPEC §2; `force` replaces the head), ours
 * is the run that finished last, and the head it replaces is not lost — it stays in the index,
 * in `log` and `history`. Only a holder that may have lost its claim must not overwrite: a
 * claim's own `refs` part refuses the unconditional update then (fencing; Redis's claim does).
 * Returns whether the ref now names `id` (true without a ref).
 */
export async function publishRun(parts: PublishParts, id: string, ref: string | null, head?: string | null, options: PublishOptions = {}): Promise<boolean> {
  await parts.index.addCommit(id);
  if (ref === null) return true;
  if (await parts.refs.update(ref, id, head)) return true;
  if (head === undefined || options.onConflict === "theirs") return false;
  return parts.refs.update(ref, id);
}
