// Reading cache hits: a call's ref → its commit, checked → its output, verified. One module for
// every reader of hits (a run's lookup, the server's /hit), so they check alike and share one
// memory per store.
//
// Commits are immutable and named by their content, so one verified on its first read stays
// valid: it is remembered by id (the newest 4096 per store and process) and later hits skip
// re-reading and re-parsing it. The ref is read every time — another process may have moved it —
// and the checks run on every hit. Last access only needs minute resolution for gc, so a use is
// recorded at most once a minute per commit and process.
//
// A commit that records observed inputs (files and environment variables its run read) answers
// only while they are what it recorded. When the head's are not, the call's earlier results are
// looked through — the head's parent, its parent, … (each an earlier head of the same call) — for
// one whose inputs all are: restoring a data file serves the result made from it, without moving
// the ref (a hit never writes a ref; the next run's parent is still the head).
import { inlineBlob, type Commit } from "./commit.js";
import { createRequire } from "node:module";
import type * as Observed from "./observed.js";
import { decodeObject, ObjectDb } from "./objects.js";
import type { ObjectStorage, Store } from "./store.js";

/** A hit: its commit and its output's bytes, verified. */
export interface Hit {
  commit: Commit;
  bytes: Buffer;
}

interface Remembered {
  commit: Commit;
  /** The commit's stored bytes, kept only for a caller that passes them on (the server). */
  stored: Uint8Array | null;
}

interface Memory {
  db: ObjectDb;
  commits: Map<string, Remembered>;
  touched: Map<string, number>;
}

/** Where a lookup checks observed inputs. */
export interface HitOptions {
  /**
   * The project root the commit's observed paths are relative to (plumbing/observed.ts
   * `projectRoot`), or how to find it — asked only of a commit that records observed inputs.
   * Without it such a commit is never a hit.
   */
  root?: string | (() => string);
}

const memories = new WeakMap<ObjectStorage, Memory>();
const REMEMBERED_COMMITS = 4096;
const TOUCH_INTERVAL_MS = 60_000;
/** How far back a call's history is looked through for a result whose observed inputs match. */
const EARLIER_RESULTS = 64;

function memoryOf(objects: ObjectStorage): Memory {
  let memory = memories.get(objects);
  if (!memory) memories.set(objects, (memory = { db: new ObjectDb(objects), commits: new Map(), touched: new Map() }));
  return memory;
}

/**
 * Whether `commit` answers a hit at `ref`: completed (a failed run is never a hit), with an
 * output, unexpired, and — a ref is a plain file anyone with write access can point anywhere —
 * for an `fp/` ref, a run of that very call.
 */
function answers(commit: Commit, ref: string): boolean {
  return whyNot(commit, ref) === null;
}

/** Why `commit` does not answer a hit at `ref` (see `answers`), or null when it does. */
function whyNot(commit: Commit, ref: string): "failed" | "other-call" | "expired" | null {
  if (commit.status !== "completed" || !commit.output) return "failed";
  if (ref.startsWith("fp/") && commit.fingerprint !== ref.slice(3)) return "other-call";
  return commit.expiresAt === null || Date.parse(commit.expiresAt) > Date.now() ? null : "expired";
}

/**
 * The hit at `ref`: the commit it names, if that answers a hit there, and its output, verified;
 * null for a miss. A corrupt output blob is a miss, and is removed so the recomputed result is
 * stored again: recompute, never serve. Records the use.
 */
export async function readHit(store: Store, ref: string, options: HitOptions = {}): Promise<Hit | null> {
  if (store.readHit) return readHitAtOnce(store, ref, options);
  const id = await store.refs.read(ref);
  if (!id) return null;
  const memory = memoryOf(store.objects);
  const commit = (await remembered(memory, id, false))?.commit;
  if (!commit || !answers(commit, ref)) return null;
  if (!inputsHold(commit, options)) return earlierHit(store, memory, commit, ref, options);
  return served(store, memory, commit);
}

/** Whether `commit`'s observed inputs (if it records any) are what it recorded. */
function inputsHold(commit: Commit, options: HitOptions): boolean {
  const observed = commit.observed;
  if (!observed || (observed.files.length === 0 && observed.env.length === 0)) return true;
  if (options.root === undefined) return false;
  return observedInputs().inputsMatch(observed, typeof options.root === "function" ? options.root() : options.root);
}

/** The output of `commit`, which answers: verified (a corrupt blob is removed, and a miss), its use recorded. */
async function served(store: Store, memory: Memory, commit: Commit): Promise<Hit | null> {
  const bytes = await memory.db.getBlob(commit.output!.hash, commit);
  if (!bytes) return null;
  await touchOnce(memory, store.objects, commit.id);
  return { commit, bytes };
}

/**
 * The newest earlier result of the call at `ref` whose observed inputs all match, looked for
 * through the parents of `head` (whose own do not). Only a commit that records observed inputs
 * qualifies: one without a record of what it read cannot be shown to fit what is there now.
 */
async function earlierHit(store: Store, memory: Memory, head: Commit, ref: string, options: HitOptions): Promise<Hit | null> {
  const older = await earlierMatch(store, head, ref, options);
  return older ? served(store, memory, older) : null;
}

/**
 * The newest earlier result of the call at `ref` — through `head`'s parents, at most 64 back —
 * that records observed inputs which all match now: what a lookup serves when the head's inputs
 * differ (a restored data file). Reads only; `explain` asks it too.
 */
export async function earlierMatch(store: Pick<Store, "objects">, head: Commit, ref: string, options: HitOptions): Promise<Commit | null> {
  const memory = memoryOf(store.objects);
  const seen = new Set([head.id]);
  let commit = head;
  for (let i = 0; i < EARLIER_RESULTS && commit.parent !== null && !seen.has(commit.parent); i++) {
    seen.add(commit.parent);
    const older = (await remembered(memory, commit.parent, false))?.commit;
    if (!older) return null; // collected by gc, or not brought in: the history ends here
    commit = older;
    if (older.observed && answers(older, ref) && inputsHold(older, options)) return older;
  }
  return null;
}

/** `readHit` for a store that reads a hit in one round trip (Redis, HTTP): the same checks on what it returns. */
async function readHitAtOnce(store: Store, ref: string, options: HitOptions): Promise<Hit | null> {
  const hit = await store.readHit!(ref);
  if (!hit || !hit.commit) return null;
  const memory = memoryOf(store.objects);
  let commit = memory.commits.get(hit.id)?.commit;
  if (!commit) {
    const read = decodeObject(hit.id, hit.commit);
    if (read.kind !== "commit") return null;
    commit = read.commit;
    // Not its bytes: they may be a view of a whole reply, blob included.
    remember(memory.commits, hit.id, { commit, stored: null }, REMEMBERED_COMMITS);
  }
  if (!answers(commit, ref)) return null;
  if (!inputsHold(commit, options)) return earlierHit(store, memory, commit, ref, options);
  const hash = commit.output!.hash;
  const inline = inlineBlob(commit, hash);
  if (inline) return { commit, bytes: inline };
  if (!hit.blob) return null;
  const blob = decodeObject(hash, hit.blob);
  if (blob.kind === "blob") return { commit, bytes: blob.bytes };
  if (blob.kind === "corrupt") await store.objects.delete(hash).catch(() => undefined); // recompute, never serve
  return null; // the store recorded the use itself
}

/**
 * The commit of the hit at `ref` and its stored bytes, checked as `readHit` checks it, for a
 * caller that passes the hit on (the server's `/hit`): its output is the caller's to read and the
 * receiver's to verify. Does not record the use (`recordUse`, once the answer is ready).
 */
export async function readHitCommit(store: Pick<Store, "objects" | "refs">, ref: string): Promise<{ id: string; commit: Commit; stored: Uint8Array } | null> {
  const id = await store.refs.read(ref);
  if (!id) return null;
  const found = await remembered(memoryOf(store.objects), id, true);
  if (!found || !answers(found.commit, ref)) return null;
  return { id, commit: found.commit, stored: found.stored! };
}

/** Commit `id`, verified (remembered), whatever its status; null when missing, corrupt or not a commit. */
export async function verifiedCommit(objects: ObjectStorage, id: string): Promise<Commit | null> {
  return (await remembered(memoryOf(objects), id, false))?.commit ?? null;
}

/** Records a use of commit `id` (gc evicts the least recently used), at most once a minute per commit. */
export async function recordUse(objects: ObjectStorage, id: string): Promise<void> {
  await touchOnce(memoryOf(objects), objects, id);
}

/** Commit `id` from memory, or read, verified and remembered; with its stored bytes when `withBytes`. */
async function remembered(memory: Memory, id: string, withBytes: boolean): Promise<Remembered | null> {
  const known = memory.commits.get(id);
  if (known && (known.stored || !withBytes)) return known;
  const stored = await memory.db.storage.read(id);
  const read = stored && decodeObject(id, stored);
  if (!read || read.kind !== "commit") return null;
  const found = { commit: known?.commit ?? read.commit, stored: withBytes ? stored : null };
  remember(memory.commits, id, found, REMEMBERED_COMMITS);
  return found;
}

async function touchOnce(memory: Memory, objects: ObjectStorage, id: string): Promise<void> {
  const now = Date.now();
  if (now - (memory.touched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
  await objects.touch(id);
  remember(memory.touched, id, now, REMEMBERED_COMMITS);
}

/** Sets `key` in a map kept to `limit` entries, the oldest dropped first. */
export function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}

/** What the head at a ref is, as `readHit` would judge it (see `peekHead`). */
export interface Head {
  /**
   * `hit`: readHit would serve it; `none`: no ref, or one naming no readable commit; `failed`,
   * `other-call`, `expired`: its commit does not answer a hit; `no-output`: its output is gone.
   */
  state: "hit" | "none" | "failed" | "other-call" | "expired" | "no-output";
  commit: Commit | null;
}

/**
 * The head at `ref` judged as `readHit` judges it, for `explain`: nothing is recorded (no use) or
 * repaired, and the output is only looked up (inline, or its size), not read.
 */
export async function peekHead(store: Pick<Store, "objects" | "refs">, ref: string): Promise<Head> {
  const id = await store.refs.read(ref);
  const commit = id ? await verifiedCommit(store.objects, id) : null;
  if (!commit) return { state: "none", commit: null };
  const why = whyNot(commit, ref);
  if (why) return { state: why, commit };
  const hash = commit.output!.hash;
  const stored = inlineBlob(commit, hash) !== null || (await store.objects.size(hash)) !== null;
  return { state: stored ? "hit" : "no-output", commit };
}

/**
 * plumbing/observed.ts, loaded by the first commit that records observed inputs: a hit of one that
 * records none (and every CLI hit of such a task) never pays for it.
 */
export function observedInputs(): typeof Observed {
  return (observedModule ??= createRequire(import.meta.url)("./observed.js") as typeof Observed);
}
let observedModule: typeof Observed | undefined;
