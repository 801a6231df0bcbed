// The index on Redis: one hash of entries, sorted sets by creation time (all commits, per
// function, per call, per status, per tag and tag key) and by expiry, a referrer set per blob,
// a blob registry and exact counters — each change one Lua script (./scripts.ts). Queries walk
// the most selective sorted set newest first; nothing scans the keyspace except `reindex`.
import { storedKind } from "../../objects.js";
import { decodeObject } from "../../objects.js";
import { blank, COUNTERS, indexEntryOf, matchesQuery } from "../../index/db.js";
import type { Index, IndexEntry, IndexStats, LogQuery, ObjectStorage } from "../../store.js";
import type { RedisKeys } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

export class RedisIndex implements Index {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly objects: ObjectStorage,
  ) {}

  async addCommit(id: string): Promise<void> {
    if ((await this.redis.hexists(this.keys.entries(), id)) === 1) return;
    const stored = await this.objects.read(id);
    if (stored === null) return;
    const read = decodeObject(id, stored);
    if (read.kind !== "commit") return; // a missing or corrupt commit is not indexed
    const e = indexEntryOf(read.commit, read.stored);
    const tags = Object.entries(e.tags);
    const keys = [
      this.keys.entries(),
      this.keys.counters(),
      this.keys.blobs(),
      ...this.sortedSets(e),
      ...tags.flatMap(([k, v]) => [this.keys.byTag(k, v), this.keys.byTagKey(k)]),
      ...e.blobs.flatMap((b) => [this.keys.referrers(b.id), this.keys.object(b.id)]),
    ];
    const args = [
      id,
      JSON.stringify(e),
      String(e.createdAt),
      e.expiresAt === null ? "" : String(e.expiresAt),
      e.status,
      String(tags.length),
      String(e.blobs.length),
      String(e.bytes),
      ...e.blobs.flatMap((b) => [b.id, b.inline ? "1" : "0", String(b.size ?? 0)]),
    ];
    await this.redis.cashetIndexAdd(keys.length, ...keys, ...args);
  }

  async removeCommit(id: string): Promise<string[]> {
    const e = await this.entry(id);
    if (!e) return [];
    const tags = Object.entries(e.tags);
    const keys = [
      this.keys.entries(),
      this.keys.counters(),
      this.keys.lastAccess(),
      ...this.sortedSets(e),
      ...tags.flatMap(([k, v]) => [this.keys.byTag(k, v), this.keys.byTagKey(k)]),
      ...e.blobs.map((b) => this.keys.referrers(b.id)),
    ];
    const args = [id, e.status, String(e.bytes), String(tags.length), String(e.blobs.length), ...e.blobs.flatMap((b) => [b.id, b.inline ? "1" : "0", String(b.size ?? 0)])];
    return this.redis.cashetIndexRemove(keys.length, ...keys, ...args);
  }

  async addBlob(id: string): Promise<void> {
    await this.redis.cashetBlobAdd(this.keys.blobs(), this.keys.counters(), this.keys.object(id), id);
  }

  async removeBlob(id: string): Promise<void> {
    await this.redis.cashetBlobRemove(this.keys.blobs(), this.keys.counters(), id);
  }

  async entry(id: string): Promise<IndexEntry | null> {
    const raw = await this.redis.hget(this.keys.entries(), id);
    return raw === null ? null : (JSON.parse(raw) as IndexEntry);
  }

  async log(query: LogQuery = {}): Promise<IndexEntry[]> {
    const limit = query.limit ?? Infinity;
    const tags = query.tags ?? [];
    const out: IndexEntry[] = [];
    if (limit <= 0) return out;
    let set: string;
    if (query.fingerprint !== undefined) set = this.keys.byFingerprint(query.fingerprint);
    else if (tags.length) set = tags[0]!.includes("=") ? this.keys.byTag(tags[0]!.slice(0, tags[0]!.indexOf("=")), tags[0]!.slice(tags[0]!.indexOf("=") + 1)) : this.keys.byTagKey(tags[0]!);
    else if (query.func !== undefined) set = this.keys.byFunc(query.func);
    else if (query.status !== undefined) set = this.keys.byStatus(query.status);
    else set = this.keys.byTime();
    const min = query.since !== undefined ? String(query.since) : "-inf";
    const page = Math.min(Math.max(limit === Infinity ? 500 : limit, 16), 500);
    for (let offset = 0; ; offset += page) {
      const ids = await this.redis.zrevrangebyscore(set, "+inf", min, "LIMIT", offset, page);
      if (ids.length === 0) return out;
      const raws = await this.redis.hmget(this.keys.entries(), ...ids);
      for (const raw of raws) {
        if (raw === null) continue;
        const e = JSON.parse(raw) as IndexEntry;
        if (!matchesQuery(e, query, tags)) continue;
        out.push(e);
        if (out.length >= limit) return out;
      }
      if (ids.length < page) return out;
    }
  }

  async blobReferrers(id: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.referrers(id))).sort();
  }

  async expired(now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.byExpiry(), "-inf", String(now));
  }

  async lastAccess(id: string): Promise<number | null> {
    const v = await this.redis.hget(this.keys.lastAccess(), id);
    return v === null ? null : Number(v);
  }

  async touch(id: string, at: number): Promise<void> {
    await this.redis.cashetTouch(this.keys.entries(), this.keys.lastAccess(), id, String(at));
  }

  async stats(): Promise<IndexStats> {
    const raw = await this.redis.hgetall(this.keys.counters());
    const s = blank();
    for (const name of COUNTERS) s[name] = Number(raw[name] ?? 0);
    return s;
  }

  /** Drops every index key and indexes what the objects hold again. */
  async reindex(): Promise<{ commits: number; blobs: number }> {
    const pattern = this.keys.indexPattern().replace(/[?[\]\\]/g, "\\$&");
    for await (const batch of this.redis.scanStream({ match: pattern, count: 1000 })) {
      if ((batch as string[]).length) await this.redis.unlink(...(batch as string[]));
    }
    let commits = 0;
    const blobs: string[] = [];
    for await (const { id } of this.objects.list()) {
      const head = await this.objects.read(id, 4);
      const kind = head && storedKind(head);
      if (kind === "blob") blobs.push(id);
      if (kind !== "commit") continue;
      await this.addCommit(id);
      if (await this.entry(id)) commits++;
    }
    for (const id of blobs) await this.addBlob(id);
    return { commits, blobs: blobs.length };
  }

  /** The sorted sets a commit is listed in: by time, function, call, status, expiry. */
  private sortedSets(e: IndexEntry): string[] {
    return [this.keys.byTime(), this.keys.byFunc(e.func), this.keys.byFingerprint(e.fingerprint), this.keys.byStatus(e.status), this.keys.byExpiry()];
  }
}
