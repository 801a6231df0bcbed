// show-ref, update-ref and rev-list: refs and the history chain behind them.
import type { Commit } from "../commit.js";
import { InvalidInputError, NotFoundError } from "../errors.js";
import { ObjectDb } from "../objects.js";
import { assertRefName } from "../refs.js";
import type { Ref, Store } from "../store.js";

/** Refs under `prefix` (all when omitted), sorted by name. */
export function showRef(store: Store, prefix = ""): Promise<Ref[]> {
  return store.refs.list(prefix);
}

export interface UpdateRefOptions {
  /** Commit id or unique prefix to point at; null deletes the ref. */
  target: string | null;
  /** Only update if the ref currently holds this commit (id or prefix); "" means "must not exist". */
  expected?: string;
}

/**
 * Points ref `name` at a commit (which must exist and verify), atomically. With `expected`,
 * a compare-and-swap: returns false (and changes nothing) when the ref moved meanwhile.
 */
export async function updateRef(store: Store, name: string, options: UpdateRefOptions): Promise<{ name: string; id: string | null; updated: boolean }> {
  assertRefName(name);
  const db = new ObjectDb(store.objects);
  const id = options.target === null ? null : await db.resolve(options.target, "commit");
  if (id !== null && !(await db.getCommit(id))) throw new NotFoundError(`commit ${id.slice(0, 12)} does not verify`);
  let expected: string | null | undefined;
  if (options.expected === undefined) expected = undefined;
  else if (options.expected === "") expected = null;
  else expected = await db.resolve(options.expected, "commit");
  const updated = await store.refs.update(name, id, expected);
  return { name, id, updated };
}

/** The chain of commits from `idOrPrefix` through its parents, newest first. Stops at a missing parent. */
export async function revList(store: Store, idOrPrefix: string, options: { limit?: number } = {}): Promise<Commit[]> {
  const db = new ObjectDb(store.objects);
  const limit = options.limit ?? Infinity;
  if (!(limit > 0)) throw new InvalidInputError(`limit must be a positive number`);
  const out: Commit[] = [];
  const seen = new Set<string>();
  let id: string | null = await db.resolve(idOrPrefix, "commit");
  while (id && out.length < limit && !seen.has(id)) {
    seen.add(id);
    const commit = await db.getCommit(id);
    if (!commit) break;
    out.push(commit);
    id = commit.parent;
  }
  return out;
}
