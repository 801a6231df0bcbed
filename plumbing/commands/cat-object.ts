// cat-object / cat-commit: an object's content by id or unique prefix, verified.
import { inlineBlob, toRecord, type Commit } from "../commit.js";
import { CorruptObjectError, NotFoundError } from "../errors.js";
import { isId, normalizePrefix } from "../ids.js";
import { ObjectDb, type ObjectKind } from "../objects.js";
import type { Store } from "../store.js";

export type CatObjectResult =
  | { kind: "blob"; id: string; bytes: Buffer; size: number; inline: boolean }
  | { kind: "commit"; id: string; bytes: Buffer; size: number; commit: Commit };

/**
 * The object `idOrPrefix` names: a blob's bytes or a commit's stored JSON, verified.
 * Blobs carried inline in a commit are found through the index by their full id.
 */
export async function catObject(store: Store, idOrPrefix: string, kind?: ObjectKind): Promise<CatObjectResult> {
  const db = new ObjectDb(store.objects);
  let id: string;
  try {
    id = await db.resolve(idOrPrefix, kind);
  } catch (err) {
    const full = normalizePrefix(idOrPrefix);
    if (!(err instanceof NotFoundError) || !isId(full) || kind === "commit") throw err;
    return catInline(store, db, full);
  }
  const read = await db.readOrThrow(id, kind);
  if (read.kind === "blob") return { kind: "blob", id, bytes: read.bytes, size: read.bytes.length, inline: false };
  const bytes = Buffer.from((await store.objects.read(id))!);
  return { kind: "commit", id, bytes, size: bytes.length, commit: read.commit };
}

/** The public shape of a commit (SPEC §5): inline blob bytes are storage, not part of it. */
export function publicCommit(commit: Commit): Commit {
  const { inline: _inline, ...rest } = commit;
  return rest;
}

async function catInline(store: Store, db: ObjectDb, id: string): Promise<CatObjectResult> {
  for (const holder of await store.index.blobReferrers(id)) {
    const commit = await db.getCommit(holder);
    const bytes = commit && inlineBlob(toRecord(commit), id);
    if (bytes) return { kind: "blob", id, bytes, size: bytes.length, inline: true };
  }
  if ((await store.index.blobReferrers(id)).length) throw new CorruptObjectError(id, "no verified copy left");
  throw new NotFoundError(`no object matches "${id}" (try \`cashet log\`)`);
}
