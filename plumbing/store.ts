// The store interface: four small parts every backend (fs, memory, Redis, remote HTTP) provides.
// Backends move bytes and names; encoding, hashing and verification live above them in ObjectDb,
// so a new backend cannot weaken them.
import type { Commit } from "./commit.js";

/** Content-addressed bytes. `id` is the sha256 of the *decoded* content; backends never check it. */
export interface ObjectStorage {
  /** The stored bytes of `id` (only the first `maxBytes` when given), or null when absent. */
  read(id: string, maxBytes?: number): Promise<Uint8Array | null>;
  /** Stores `bytes` under `id` atomically (readers see all of it or nothing). False if it existed. */
  write(id: string, bytes: Uint8Array): Promise<boolean>;
  /** A writer for bytes whose id is known only after the last chunk (streamed blobs). */
  writer(): Promise<ObjectWriter>;
  /** Removes `id`. False if it was absent. */
  delete(id: string): Promise<boolean>;
  /** Stored size in bytes, or null when absent. */
  size(id: string): Promise<number | null>;
  /** Every stored object whose id starts with `prefix` (all when omitted). */
  list(prefix?: string): AsyncIterable<StoredObject>;
  /** Optional: the stored bytes of `id` a piece at a time (export of large objects in flat memory), or null when absent. */
  stream?(id: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> } | null>;
  /** Records that `id` was just used (a cache hit). Cheap; never touches the index. */
  touch(id: string): Promise<void>;
  /** When `id` was last touched or written (ms since epoch), or null. */
  accessedAt(id: string): Promise<number | null>;
  /** Leftovers of writers that crashed mid-write (temp files), old enough to be dead. Optional. */
  strays?(): Promise<string[]>;
  removeStray?(name: string): Promise<void>;
}

export interface StoredObject {
  id: string;
  /** Stored (encoded) size in bytes. */
  size: number;
}

/** Streams one object into place; `finish` names it, `abort` leaves nothing behind. */
export interface ObjectWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Moves the bytes into place as `id`. False if `id` already existed (the new copy is dropped). */
  finish(id: string): Promise<boolean>;
  abort(): Promise<void>;
}

/** Mutable names → commit ids: `fp/<fingerprint>`, `pin/<name>`. */
export interface RefStorage {
  read(name: string): Promise<string | null>;
  /**
   * Atomic compare-and-swap. With `expected` given (null = "must not exist"), the ref moves to
   * `next` (null = delete) only if it currently equals `expected`; returns whether it did.
   * A retried update that finds the ref already at `next` reports success.
   */
  update(name: string, next: string | null, expected?: string | null): Promise<boolean>;
  /** All refs whose name starts with `prefix`, sorted by name. */
  list(prefix?: string): Promise<Ref[]>;
}

export interface Ref {
  name: string;
  id: string;
}

/** One lock per fingerprint: only one runner executes it; the rest wait for its commit. */
export interface Claims {
  /** Takes the claim on `key` if nobody holds it. Null when another holder has it. */
  tryAcquire(key: string): Promise<ClaimHandle | null>;
  /** Resolves once `key` is free: released, or its holder died. */
  waitRelease(key: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** The claims held right now. */
  list(): Promise<ClaimInfo[]>;
  /** Optional: who holds `key` right now, or null — for stores where `list()` is costly (it scans). */
  holder?(key: string): Promise<ClaimInfo | null>;
}

export interface ClaimHandle {
  readonly key: string;
  /** True once the claim was taken away (its holder's liveness could not be proven). */
  readonly lost: boolean;
  release(): Promise<void>;
  /**
   * Optional: publishes a finished run and releases the claim as one step — `publishRun`
   * (plumbing/publish.ts: indexes `commit`, then, when `ref` is given, moves `ref` to it from
   * `expected`, else over it) over the store's own parts, then releases — so a store behind a
   * socket answers a miss in one round trip instead of three. A later `release()` does nothing.
   * Without it, callers do the same with `publishRun` and `release`.
   */
  complete?(commit: string, ref: string | null, expected: string | null): Promise<void>;
}

export interface ClaimInfo {
  key: string;
  pid: number;
  hostname: string;
  /** ms since epoch. */
  since: number;
}

/** What the index knows of one commit: enough for log, gc and stats without reading it. */
export interface IndexEntry {
  id: string;
  fingerprint: string;
  func: string;
  status: Commit["status"];
  tags: Record<string, string>;
  /** ms since epoch. */
  createdAt: number;
  expiresAt: number | null;
  durationMs: number;
  /** Uncompressed size of the output, or null for a failed run. */
  outputSize: number | null;
  /** Stored size of the commit itself. */
  bytes: number;
  blobs: Array<{ id: string; inline: boolean; size: number | null }>;
}

export interface LogQuery {
  func?: string;
  /** Only runs of this one call (function + arguments): its history. */
  fingerprint?: string;
  status?: Commit["status"];
  /** `k=v` matches that value; a bare `k` matches any value of that tag. All must match. */
  tags?: string[];
  /** Only commits created at or after this time (ms). */
  since?: number;
  limit?: number;
}

export interface IndexStats {
  totalCommits: number;
  completedCommits: number;
  failedCommits: number;
  commitBytes: number;
  blobObjects: number;
  blobBytes: number;
  inlineObjects: number;
  inlineBytes: number;
}

/**
 * Everything a query needs without scanning objects. A cache of what the objects say:
 * `reindex` rebuilds it, so losing it never loses a result.
 */
export interface Index {
  /**
   * Indexes a stored commit (read back from the objects). Idempotent. A commit is indexed before
   * a ref moves to it — `publishRun` (plumbing/publish.ts) is that order, for every writer.
   */
  addCommit(id: string): Promise<void>;
  /** Drops a commit from the index. Returns its non-inline blobs that no commit references now. */
  removeCommit(id: string): Promise<string[]>;
  /** Registers a stored blob no commit references yet (hash-object --write). Idempotent. */
  addBlob(id: string): Promise<void>;
  removeBlob(id: string): Promise<void>;
  entry(id: string): Promise<IndexEntry | null>;
  /** Newest first. */
  log(query?: LogQuery): Promise<IndexEntry[]>;
  /** Ids of commits that reference blob `id`. */
  blobReferrers(id: string): Promise<string[]>;
  /** Ids of indexed commits whose TTL ran out at or before `now` (ms since epoch). For gc. */
  expired(now: number): Promise<string[]>;
  /**
   * The last access the index recorded for commit `id` (ms), or null. Hits record theirs on the
   * commit object (`ObjectStorage.touch`); gc takes the later of the two.
   */
  lastAccess(id: string): Promise<number | null>;
  /** Records an access of indexed commit `id` at `at` (ms); ignored for an unknown commit. */
  touch(id: string, at: number): Promise<void>;
  stats(): Promise<IndexStats>;
  /** Rebuilds the index from the objects. */
  reindex(): Promise<{ commits: number; blobs: number }>;
}

/** One function's call counts. */
export interface UsageCounts {
  /** Calls served from the cache. */
  hits: number;
  /** Calls that ran (completed or failed). */
  misses: number;
  /** Run time the hits did not spend: the recorded duration of each commit served (ms). */
  savedMs: number;
}

/** A function's counts: by the name its calls record (the `name` option, else the function's own) and its module. */
export interface FunctionUsage extends UsageCounts {
  name: string;
  module: string;
}

/** Every function's counts, summed over every process that recorded any. */
export interface Usage {
  /** One row per function (name and module), in no particular order. */
  functions: FunctionUsage[];
  /** When the first count was recorded (ms since epoch), or null when none was. */
  since: number | null;
}

/**
 * Hit and miss counts per function. Processes add them in batches (plumbing/usage.ts holds them
 * in memory and adds them every few seconds and at exit), so a cache hit never waits for this
 * part; `read` sums what every process added. Optional: a store without it counts nothing.
 */
export interface UsageStorage {
  /** Adds a batch of counts to what is recorded. */
  add(batch: FunctionUsage[]): Promise<void>;
  /**
   * Optional: `add`, done synchronously — the only kind of work left to a process in its `exit`
   * event. `final`: this process adds nothing more through this object; the store may fold and
   * drop what it wrote once read.
   */
  addSync?(batch: FunctionUsage[], final?: boolean): void;
  /** Every function's summed counts. */
  read(): Promise<Usage>;
}

/** A store: objects, refs, claims and the index behind one location. */
export interface Store {
  /** "fs", "memory", "redis", "http". */
  readonly kind: string;
  /** A directory, URL or "memory". */
  readonly location: string;
  readonly objects: ObjectStorage;
  readonly refs: RefStorage;
  readonly claims: Claims;
  readonly index: Index;
  /**
   * Optional: a cache hit's reads in one round trip — the ref's commit id, the commit's stored
   * bytes and (unless it rides inline) the stored bytes of its output blob, recording the use.
   * For stores behind a network; callers verify everything it returns.
   */
  readHit?(ref: string): Promise<{ id: string; commit: Uint8Array | null; blob: Uint8Array | null } | null>;
  /** Optional: hit and miss counts per function (`cashet stats`). Without it, calls are not counted. */
  readonly usage?: UsageStorage;
  /** Closes the store; counts this process still holds for it are added first. */
  close(): Promise<void>;
}
