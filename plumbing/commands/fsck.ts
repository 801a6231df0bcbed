// fsck: verify every object, ref and index entry; with repair, remove what is corrupt or
// dangling so no normal operation trips over it, and bring the index back in line.
import { commitBlobs, inlineBlob, type Commit } from "../commit.js";
import { ObjectDb } from "../objects.js";
import type { Store } from "../store.js";

export type FsckProblemKind =
  | "corrupt-object" // stored bytes do not verify or do not parse
  | "missing-blob" // a commit references a blob that is gone or corrupt
  | "dangling-ref" // a ref points at a missing or corrupt commit
  | "unindexed-commit" // a commit the index does not know
  | "stale-index-entry" // the index knows a commit that is gone
  | "stray-file"; // a leftover temp file from a crashed writer

export interface FsckProblem {
  kind: FsckProblemKind;
  /** The object id, ref name or file the problem is about. */
  subject: string;
  detail: string;
  /** What --repair did about it. */
  repair?: string;
}

export interface FsckOptions {
  /** Remove what is corrupt or dangling and fix the index. */
  repair?: boolean;
  /** Rebuild the whole index from the objects first. */
  reindex?: boolean;
}

export interface FsckResult {
  objects: number;
  commits: number;
  blobs: number;
  refs: number;
  problems: FsckProblem[];
  /** Problems left unrepaired: zero means the store is sound. */
  remaining: number;
}

/** Verifies the store. Reads every object once. */
export async function fsck(store: Store, options: FsckOptions = {}): Promise<FsckResult> {
  const db = new ObjectDb(store.objects);
  const repair = options.repair ?? false;
  if (options.reindex) await store.index.reindex();
  const problems: FsckProblem[] = [];
  const commits = new Map<string, Commit>();
  const blobs = new Set<string>();
  let objects = 0;

  for await (const { id } of store.objects.list()) {
    objects++;
    const read = await db.read(id);
    if (read.kind === "commit") commits.set(id, read.commit);
    else if (read.kind === "blob") blobs.add(id);
    else if (read.kind === "corrupt") {
      const p: FsckProblem = { kind: "corrupt-object", subject: id, detail: read.reason };
      if (repair) {
        await store.index.removeCommit(id);
        await store.index.removeBlob(id);
        await store.objects.delete(id);
        p.repair = "removed";
      }
      problems.push(p);
    }
  }

  // A commit whose blobs are gone cannot serve a hit; it is dangling.
  for (const [id, commit] of [...commits]) {
    const missing = commitBlobs(commit).filter((b) => !(b.inline ? inlineBlob(commit, b.id) : blobs.has(b.id)));
    if (!missing.length) continue;
    const p: FsckProblem = {
      kind: "missing-blob",
      subject: id,
      detail: `references missing blob${missing.length > 1 ? "s" : ""} ${missing.map((b) => b.id.slice(0, 12)).join(", ")}`,
    };
    if (repair) {
      await store.index.removeCommit(id);
      await store.objects.delete(id);
      commits.delete(id);
      p.repair = "removed the commit";
    }
    problems.push(p);
  }

  const refs = await store.refs.list();
  for (const ref of refs) {
    if (commits.has(ref.id)) continue;
    const p: FsckProblem = { kind: "dangling-ref", subject: ref.name, detail: `points at missing commit ${ref.id.slice(0, 12)}` };
    if (repair) {
      // The broken commit's parent is unknowable; fall back to the newest sound commit of the
      // same fingerprint, else drop the ref.
      const fallback = newestOfFingerprint(ref.name, commits);
      await store.refs.update(ref.name, fallback, ref.id);
      p.repair = fallback ? `moved to ${fallback.slice(0, 12)}` : "deleted";
    }
    problems.push(p);
  }

  const indexed = new Set((await store.index.log({})).map((e) => e.id));
  for (const id of indexed) {
    if (commits.has(id)) continue;
    const p: FsckProblem = { kind: "stale-index-entry", subject: id, detail: "indexed but not stored" };
    if (repair) {
      await store.index.removeCommit(id);
      p.repair = "dropped from the index";
    }
    problems.push(p);
  }
  for (const id of commits.keys()) {
    if (indexed.has(id)) continue;
    const p: FsckProblem = { kind: "unindexed-commit", subject: id, detail: "stored but not indexed" };
    if (repair) {
      await store.index.addCommit(id);
      p.repair = "indexed";
    }
    problems.push(p);
  }

  if (store.objects.strays) {
    for (const name of await store.objects.strays()) {
      const p: FsckProblem = { kind: "stray-file", subject: name, detail: "leftover temp file of a crashed writer" };
      if (repair) {
        await store.objects.removeStray!(name);
        p.repair = "removed";
      }
      problems.push(p);
    }
  }

  return {
    objects,
    commits: commits.size,
    blobs: blobs.size,
    refs: refs.length,
    problems,
    remaining: problems.filter((p) => !p.repair).length,
  };
}

/** For `fp/<fingerprint>`: the newest sound commit of that fingerprint, if any survives. */
function newestOfFingerprint(ref: string, sound: Map<string, Commit>): string | null {
  if (!ref.startsWith("fp/")) return null;
  const fp = ref.slice(3);
  let best: Commit | null = null;
  for (const c of sound.values()) {
    if (c.fingerprint === fp && (!best || c.createdAt > best.createdAt)) best = c;
  }
  return best?.id ?? null;
}
