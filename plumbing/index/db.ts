// The index: everything log, gc and stats need, kept in any abstract-level database (LevelDB on
// disk, memory-level in memory). It is rebuilt from the objects on demand, so it is only a cache.
// One IndexDb is the only writer of its database (the daemon hosts the fs store's), and writes
// run one at a time, so counters are kept in memory and updated without read-modify-write races.
import { commitBlobs, type Commit } from "../commit.js";
import { storedKind, type ObjectDb } from "../objects.js";
import type { Index, IndexEntry, IndexStats, LogQuery } from "../store.js";
import { USAGE_KEY_PREFIX } from "./usage.js";

/*
 * Key layout (all keys are utf8 strings; "·" below is the separator \x00):
 *   c·<commit>                    → IndexEntry (JSON)
 *   t·<created>·<commit>          → ""   by time          (<created>: 15-digit ms since epoch)
 *   f·<func>·<created>·<commit>   → ""   by function name
 *   s·<status>·<created>·<commit> → ""   by status
 *   g·<k>=<v>·<created>·<commit>  → ""   by tag and value
 *   G·<k>·<created>·<commit>      → ""   by tag key
 *   e·<expires>·<commit>          → ""   by expiry (TTL)
 *   r·<blob>·<commit>             → ""   blob referenced by commit (reference count = key count)
 *   b·<blob>                      → {stored} blob object known to the index
 *   a·<commit>                    → last access, ms since epoch
 *   n·<counter>                   → number (see IndexStats)
 *   m·version                     → index format version; absent means "rebuild me"
 * Keys starting with "u" are the usage counts (./usage.ts): not derived from the objects, so
 * `reindex` keeps them.
 */
const SEP = "\x00";
const END = "\uffff";
export const INDEX_VERSION = "2"; // 2: the by-fingerprint key `p`

export type Op = { type: "put"; key: string; value: string } | { type: "del"; key: string };

/** The part of abstract-level's API the index uses (classic-level and memory-level both fit). */
export interface KvDb {
  /** Synchronous point reads: ≈1 µs against ≈40 µs for an awaited get on LevelDB here. */
  getSync(key: string): string | undefined;
  put(key: string, value: string): Promise<void>;
  batch(ops: Op[]): Promise<void>;
  keys(options: { gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number }): KeyIterator;
  /** Deletes the keys in a range (all when none is given). */
  clear(range?: { gte?: string; lt?: string }): Promise<void>;
}

export interface KeyIterator {
  /** Up to `size` keys; an empty array at the end. */
  nextv(size: number): Promise<string[]>;
  close(): Promise<void>;
}

export const COUNTERS: Array<keyof IndexStats> = [
  "totalCommits",
  "completedCommits",
  "failedCommits",
  "commitBytes",
  "blobObjects",
  "blobBytes",
  "inlineObjects",
  "inlineBytes",
];

const pad = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(15, "0");
const key = (...parts: string[]): string => parts.join(SEP);

/** What an index keeps of `commit` (stored in `stored` bytes): one entry, the same in every backend. */
export function indexEntryOf(commit: Commit, stored: number): IndexEntry {
  return {
    id: commit.id,
    fingerprint: commit.fingerprint,
    func: commit.func.name,
    status: commit.status,
    tags: commit.tags,
    createdAt: Date.parse(commit.createdAt),
    expiresAt: commit.expiresAt === null ? null : Date.parse(commit.expiresAt),
    durationMs: commit.durationMs,
    outputSize: commit.output?.size ?? null,
    bytes: stored,
    blobs: commitBlobs(commit).map((b) => ({
      id: b.id,
      inline: b.inline,
      size: b.inline ? Buffer.from(commit.inline![b.id]!, "base64").length : b.size,
    })),
  };
}

/** Index over an abstract-level database, reading commits from `objects` to learn about them. */
export class IndexDb implements Index {
  private queue: Promise<unknown> = Promise.resolve();
  /** The counters, read once: this object is the database's only writer, so they stay true. */
  private counters: IndexStats | null = null;

  constructor(
    private readonly db: KvDb,
    private readonly objects: ObjectDb,
  ) {}

  /** True when the database holds a complete index of this format. */
  async isCurrent(): Promise<boolean> {
    return (this.db.getSync(key("m", "version"))) === INDEX_VERSION;
  }

  addCommit(id: string): Promise<void> {
    return this.serial(async () => {
      if ((this.db.getSync(key("c", id))) !== undefined) return;
      const read = await this.objects.read(id);
      if (read.kind !== "commit") return; // a missing or corrupt commit is not indexed
      const delta = blank();
      await this.commit(await this.addOps(read.commit, read.stored, delta), delta);
    });
  }

  removeCommit(id: string): Promise<string[]> {
    return this.serial(async () => {
      const raw = this.db.getSync(key("c", id));
      if (raw === undefined) return [];
      const e = JSON.parse(raw) as IndexEntry;
      const ts = pad(e.createdAt);
      const ops: Op[] = [
        { type: "del", key: key("c", id) },
        { type: "del", key: key("a", id) },
        { type: "del", key: key("t", ts, id) },
        { type: "del", key: key("f", e.func, ts, id) },
        { type: "del", key: key("p", e.fingerprint, ts, id) },
        { type: "del", key: key("s", e.status, ts, id) },
      ];
      for (const [k, v] of Object.entries(e.tags)) {
        ops.push({ type: "del", key: key("g", `${k}=${v}`, ts, id) }, { type: "del", key: key("G", k, ts, id) });
      }
      if (e.expiresAt !== null) ops.push({ type: "del", key: key("e", pad(e.expiresAt), id) });
      const delta = blank();
      delta.totalCommits = -1;
      delta[e.status === "completed" ? "completedCommits" : "failedCommits"] = -1;
      delta.commitBytes = -e.bytes;
      const orphans: string[] = [];
      for (const b of e.blobs) {
        ops.push({ type: "del", key: key("r", b.id, id) });
        if (b.inline) {
          delta.inlineObjects -= 1;
          delta.inlineBytes -= b.size ?? 0;
        } else if (!(await this.hasReferrer(b.id, id))) {
          orphans.push(b.id);
        }
      }
      await this.commit(ops, delta);
      return orphans;
    });
  }

  addBlob(id: string): Promise<void> {
    return this.serial(async () => {
      const delta = blank();
      await this.commit(await this.blobOps(id, delta), delta);
    });
  }

  removeBlob(id: string): Promise<void> {
    return this.serial(async () => {
      const raw = this.db.getSync(key("b", id));
      if (raw === undefined) return;
      const { stored } = JSON.parse(raw) as { stored: number };
      const delta = blank();
      delta.blobObjects = -1;
      delta.blobBytes = -stored;
      await this.commit([{ type: "del", key: key("b", id) }], delta);
    });
  }

  async entry(id: string): Promise<IndexEntry | null> {
    const raw = this.db.getSync(key("c", id));
    return raw === undefined ? null : (JSON.parse(raw) as IndexEntry);
  }

  async log(query: LogQuery = {}): Promise<IndexEntry[]> {
    const limit = query.limit ?? Infinity;
    const tags = query.tags ?? [];
    const out: IndexEntry[] = [];
    if (limit <= 0) return out;
    // Walk the most selective secondary index newest-first; check the other filters per entry.
    let prefix: string;
    if (query.fingerprint !== undefined) prefix = key("p", query.fingerprint);
    else if (tags.length) prefix = tags[0]!.includes("=") ? key("g", tags[0]!) : key("G", tags[0]!);
    else if (query.func !== undefined) prefix = key("f", query.func);
    else if (query.status !== undefined) prefix = key("s", query.status);
    else prefix = "t";
    const lower = query.since !== undefined ? key(prefix, pad(query.since)) : prefix + SEP;
    // Keys come a page at a time; entries are synchronous point reads.
    const page = Math.min(Math.max(limit === Infinity ? 256 : limit, 16), 256);
    const it = this.db.keys({ gte: lower, lt: prefix + SEP + END, reverse: true });
    try {
      for (;;) {
        const keys = await it.nextv(page);
        if (keys.length === 0) return out;
        for (const k of keys) {
          const raw = this.db.getSync(key("c", k.slice(k.lastIndexOf(SEP) + 1)));
          if (raw === undefined) continue;
          const e = JSON.parse(raw) as IndexEntry;
          if (!matchesQuery(e, query, tags)) continue;
          out.push(e);
          if (out.length >= limit) return out;
        }
      }
    } finally {
      await it.close();
    }
  }

  async blobReferrers(id: string): Promise<string[]> {
    const ids: string[] = [];
    const p = key("r", id) + SEP;
    for (const k of await allKeys(this.db, { gte: p, lt: p + END })) ids.push(k.slice(p.length));
    return ids;
  }

  /** Every indexed commit id whose expiry is at or before `now` (ms). */
  async expired(now: number): Promise<string[]> {
    const ids: string[] = [];
    for (const k of await allKeys(this.db, { gte: key("e", ""), lte: key("e", pad(now)) + SEP + END })) {
      ids.push(k.slice(k.lastIndexOf(SEP) + 1));
    }
    return ids;
  }

  /** Records a last-access time (folded in from the objects' own access times by gc). */
  touch(id: string, at: number): Promise<void> {
    return this.serial(async () => {
      if ((this.db.getSync(key("c", id))) === undefined) return;
      await this.db.put(key("a", id), String(at));
    });
  }

  async lastAccess(id: string): Promise<number | null> {
    const raw = this.db.getSync(key("a", id));
    return raw === undefined ? null : Number(raw);
  }

  async stats(): Promise<IndexStats> {
    return { ...(await this.loadCounters()) };
  }

  reindex(): Promise<{ commits: number; blobs: number }> {
    return this.serial(async () => {
      // Everything but the usage counts (keys starting with "u"), which no object could give back.
      await this.db.clear({ lt: USAGE_KEY_PREFIX });
      await this.db.clear({ gte: String.fromCharCode(USAGE_KEY_PREFIX.charCodeAt(0) + 1) });
      this.counters = blank();
      let ops: Op[] = [];
      let delta = blank();
      const flush = async (): Promise<void> => {
        await this.commit(ops, delta);
        ops = [];
        delta = blank();
      };
      let commits = 0;
      const blobs = new Map<string, number>();
      for await (const { id, size } of this.objects.storage.list()) {
        // The first bytes tell the kind: blobs are registered without being read whole
        // (verifying them is fsck's job); commits are read and verified.
        const head = await this.objects.storage.read(id, 4);
        const kind = head && storedKind(head);
        if (kind === "blob") blobs.set(id, size);
        if (kind !== "commit") continue;
        const read = await this.objects.read(id);
        if (read.kind !== "commit") continue;
        ops.push(...(await this.addOps(read.commit, read.stored, delta, false)));
        commits++;
        if (ops.length > 1000) await flush();
      }
      for (const [id, stored] of blobs) {
        ops.push({ type: "put", key: key("b", id), value: JSON.stringify({ stored }) });
        delta.blobObjects += 1;
        delta.blobBytes += stored;
        if (ops.length > 1000) await flush();
      }
      ops.push({ type: "put", key: key("m", "version"), value: INDEX_VERSION });
      await flush();
      return { commits, blobs: blobs.size };
    });
  }

  /** Applies `ops` and the counter changes in `delta` as one atomic batch. */
  private async commit(ops: Op[], delta: IndexStats): Promise<void> {
    const now = await this.loadCounters();
    const next = { ...now };
    for (const name of COUNTERS) {
      if (!delta[name]) continue;
      next[name] = now[name] + delta[name];
      ops.push({ type: "put", key: key("n", name), value: String(next[name]) });
    }
    if (ops.length) await this.db.batch(ops);
    this.counters = next;
  }

  private async loadCounters(): Promise<IndexStats> {
    if (!this.counters) {
      const counters = blank();
      for (const name of COUNTERS) counters[name] = Number(this.db.getSync(key("n", name)) ?? 0);
      this.counters = counters;
    }
    return this.counters;
  }

  /**
   * Ops that index `commit`, adding its counts to `delta`. With `registerBlobs` false (reindex),
   * blob objects are registered separately.
   */
  private async addOps(commit: Commit, stored: number, delta: IndexStats, registerBlobs = true): Promise<Op[]> {
    const e = indexEntryOf(commit, stored);
    const { id, createdAt, expiresAt, blobs } = e;
    const ts = pad(createdAt);
    const ops: Op[] = [
      { type: "put", key: key("c", id), value: JSON.stringify(e) },
      { type: "put", key: key("t", ts, id), value: "" },
      { type: "put", key: key("f", e.func, ts, id), value: "" },
      { type: "put", key: key("p", e.fingerprint, ts, id), value: "" },
      { type: "put", key: key("s", e.status, ts, id), value: "" },
    ];
    for (const [k, v] of Object.entries(e.tags)) {
      ops.push({ type: "put", key: key("g", `${k}=${v}`, ts, id), value: "" }, { type: "put", key: key("G", k, ts, id), value: "" });
    }
    if (expiresAt !== null) ops.push({ type: "put", key: key("e", pad(expiresAt), id), value: "" });
    delta.totalCommits += 1;
    delta[e.status === "completed" ? "completedCommits" : "failedCommits"] += 1;
    delta.commitBytes += stored;
    for (const b of blobs) {
      ops.push({ type: "put", key: key("r", b.id, id), value: "" });
      if (b.inline) {
        delta.inlineObjects += 1;
        delta.inlineBytes += b.size ?? 0;
      } else if (registerBlobs) {
        ops.push(...(await this.blobOps(b.id, delta)));
      }
    }
    return ops;
  }

  /** Ops that register blob `id` (if stored and not yet known), adding its counts to `delta`. */
  private async blobOps(id: string, delta: IndexStats): Promise<Op[]> {
    if ((this.db.getSync(key("b", id))) !== undefined) return [];
    const stored = await this.objects.storage.size(id);
    if (stored === null) return [];
    delta.blobObjects += 1;
    delta.blobBytes += stored;
    return [{ type: "put", key: key("b", id), value: JSON.stringify({ stored }) }];
  }

  private async hasReferrer(blob: string, except: string): Promise<boolean> {
    const p = key("r", blob) + SEP;
    return (await allKeys(this.db, { gte: p, lt: p + END, limit: 2 })).some((k) => k.slice(p.length) !== except);
  }

  /** Runs write operations one at a time, in order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Every key in a range. */
export async function allKeys(db: KvDb, range: { gte?: string; lt?: string; lte?: string; limit?: number }): Promise<string[]> {
  const it = db.keys(range);
  const out: string[] = [];
  try {
    for (let keys = await it.nextv(1000); keys.length; keys = await it.nextv(1000)) out.push(...keys);
  } finally {
    await it.close();
  }
  return out;
}

export function blank(): IndexStats {
  return Object.fromEntries(COUNTERS.map((c) => [c, 0])) as unknown as IndexStats;
}

export function matchesQuery(e: IndexEntry, q: LogQuery, tags: string[]): boolean {
  if (q.func !== undefined && e.func !== q.func) return false;
  if (q.fingerprint !== undefined && e.fingerprint !== q.fingerprint) return false;
  if (q.status !== undefined && e.status !== q.status) return false;
  if (q.since !== undefined && e.createdAt < q.since) return false;
  for (const t of tags) {
    const eq = t.indexOf("=");
    if (eq < 0 ? !(t in e.tags) : e.tags[t.slice(0, eq)] !== t.slice(eq + 1)) return false;
  }
  return true;
}
