// RedisStore: the store on a Redis server (ioredis), shared by every machine that reaches it.
// Objects are strings under `<prefix>o:<id>`, refs strings under `<prefix>ref:<name>`; each
// change that must be atomic (compare-and-swap, publish, index updates with their counters) is
// one Lua script, so concurrent writers on many machines keep it exact. A cache hit is one
// round trip (`readHit`). Keys: ./keys.ts.
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type { RedisOptions } from "ioredis";
import { InvalidInputError, StoreUnavailableError } from "../../errors.js";
import { assertId, isId } from "../../ids.js";
import { assertRefName } from "../../refs.js";
import type { ObjectStorage, ObjectWriter, Ref, RefStorage, Store, StoredObject } from "../../store.js";
import { RedisClaims } from "./claims.js";
import { Heartbeat } from "./heartbeat.js";
import { RedisIndex } from "./index.js";
import { RedisKeys } from "./keys.js";
import { SCRIPTS, type ScriptedRedis } from "./scripts.js";
import { RedisUsage } from "./usage.js";
import { closeUsage } from "../../usage.js";

export interface RedisStoreOptions {
  /** Prepended to every key (default `$CASHET_REDIS_PREFIX`, else `cashet:`): two caches can share one Redis. */
  prefix?: string;
  /** How long a claim lives without its holder's heartbeat (ms; default $CASHET_CLAIM_TTL_MS, else 2 000): a dead runner's call is taken over after this. */
  claimTtlMs?: number;
  /** Extra ioredis options. */
  redis?: RedisOptions;
}

/**
 * A claim outlives its holder's last heartbeat this long. The heartbeat has a thread of its own
 * (./heartbeat.ts), so only a dead (or wholly frozen) process misses it: a dead runner's call is
 * taken over in ≈ 2 s (docs/decisions.md §2).
 */
const DEFAULT_CLAIM_TTL_MS = 2_000;

/** A streamed object lives this long under a temporary key if its writer dies before finishing. */
const TEMP_TTL_MS = 3_600_000;

export class RedisStore implements Store {
  readonly kind = "redis";
  readonly location: string;
  readonly objects: RedisObjects;
  readonly refs: RedisRefs;
  readonly claims: RedisClaims;
  readonly index: RedisIndex;
  readonly usage: RedisUsage;
  readonly keys: RedisKeys;
  private readonly redis: ScriptedRedis;

  constructor(url: string = process.env.CASHET_REDIS ?? "redis://127.0.0.1:6379", options: RedisStoreOptions = {}) {
    const prefix = options.prefix ?? process.env.CASHET_REDIS_PREFIX ?? "cashet:";
    this.keys = new RedisKeys(prefix);
    // A server that never answered is given up on after a few tries (the CLI exits 3); one that
    // did answer and then went away is reconnected to for as long as it takes.
    let everConnected = false;
    // ioredis (≈ 90 ms to load) is required only when a Redis store is made.
    const { Redis } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
    this.redis = new Redis(url, {
      maxRetriesPerRequest: 2,
      connectTimeout: 2000,
      retryStrategy: (times) => (everConnected || times <= 3 ? Math.min(times * 200, 2000) : null),
      ...options.redis,
    }) as ScriptedRedis;
    this.redis.on("ready", () => (everConnected = true));
    this.redis.on("error", (err: Error) => (this.lastError = err)); // reported by ready() and failing calls
    const ttl = options.claimTtlMs ?? Number(process.env.CASHET_CLAIM_TTL_MS ?? DEFAULT_CLAIM_TTL_MS);
    if (!(Number.isFinite(ttl) && ttl >= 100)) throw new InvalidInputError(`a claim ttl must be at least 100 ms, not ${ttl}`);
    for (const [name, script] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, script);
    this.location = `${redact(url)} (prefix ${JSON.stringify(prefix)})`;
    this.objects = new RedisObjects(this.redis, this.keys);
    this.refs = new RedisRefs(this.redis, this.keys);
    this.index = new RedisIndex(this.redis, this.keys, this.objects);
    this.usage = new RedisUsage(this.redis, this.keys);
    this.claims = new RedisClaims(this.redis, this.keys, this.index, ttl, new Heartbeat(url, options.redis ?? {}, ttl));
  }

  private lastError: Error | null = null;

  /** Resolves once the server answers; throws StoreUnavailableError (exit 3) when it cannot be reached. */
  async ready(): Promise<this> {
    try {
      await this.redis.ping();
      return this;
    } catch (err) {
      const why = this.lastError?.message ?? (err as Error).message;
      throw new StoreUnavailableError(`the Redis store at ${this.location} cannot be reached: ${why}`);
    }
  }

  /**
   * A cache hit's reads in one round trip: the ref, the commit it names and — unless the output
   * rides inline — the output blob; the commit's use is recorded in the same step. Nothing here
   * is trusted: the caller verifies both against their ids.
   */
  async readHit(ref: string): Promise<{ id: string; commit: Buffer | null; blob: Buffer | null } | null> {
    assertRefName(ref);
    const r = await this.redis.cashetHitBuffer(this.keys.ref(ref), this.keys.accessed(), this.keys.object(""), String(Date.now()));
    if (r === null) return null;
    const id = r[0]!.toString();
    if (!isId(id)) return null;
    return { id, commit: r[1] ?? null, blob: r[2] ?? null };
  }

  /** Deletes every key under this store's prefix (tests; `clear` does not need it). */
  async destroy(): Promise<void> {
    for await (const batch of this.redis.scanStream({ match: `${escapeGlob(this.keys.prefix)}*`, count: 1000 })) {
      if ((batch as string[]).length) await this.redis.unlink(...(batch as string[]));
    }
  }

  async close(): Promise<void> {
    await closeUsage(this.usage).catch(() => undefined); // the counts this process still holds: one MULTI
    await this.claims.stop();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export class RedisObjects implements ObjectStorage {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  async read(id: string, maxBytes?: number): Promise<Uint8Array | null> {
    const key = this.keys.object(assertId(id));
    if (maxBytes === undefined) return this.redis.getBuffer(key);
    if (maxBytes <= 0) return (await this.redis.exists(key)) ? Buffer.alloc(0) : null;
    const head = await this.redis.getrangeBuffer(key, 0, maxBytes - 1);
    return head.length > 0 || (await this.redis.exists(key)) ? head : null;
  }

  async write(id: string, bytes: Uint8Array): Promise<boolean> {
    assertId(id);
    const r = await this.redis
      .multi()
      .set(this.keys.object(id), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), "NX")
      .zadd(this.keys.objectIds(), 0, id)
      .hset(this.keys.accessed(), id, Date.now()) // a write is a use, also when it found the bytes stored
      .exec();
    return r?.[0]?.[1] === "OK";
  }

  async writer(): Promise<ObjectWriter> {
    const temp = this.keys.temp(randomBytes(12).toString("hex"));
    const redis = this.redis;
    const keys = this.keys;
    let done = false;
    return {
      async write(chunk) {
        if (done) throw new Error("writer already finished");
        if (chunk.length === 0) return;
        await redis.multi().append(temp, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)).pexpire(temp, TEMP_TTL_MS).exec();
      },
      async finish(id) {
        assertId(id);
        done = true;
        const created = await redis.cashetFinish(temp, keys.object(id), keys.objectIds(), keys.accessed(), id, String(Date.now()));
        return created === 1;
      },
      async abort() {
        done = true;
        await redis.unlink(temp);
      },
    };
  }

  async delete(id: string): Promise<boolean> {
    assertId(id);
    const r = await this.redis.multi().del(this.keys.object(id)).zrem(this.keys.objectIds(), id).hdel(this.keys.accessed(), id).exec();
    return r?.[0]?.[1] === 1;
  }

  async size(id: string): Promise<number | null> {
    const key = this.keys.object(assertId(id));
    const [[, exists], [, len]] = (await this.redis.multi().exists(key).strlen(key).exec()) as [[null, number], [null, number]];
    return exists ? len : null;
  }

  async *list(prefix = ""): AsyncIterable<StoredObject> {
    if (!/^[0-9a-f]*$/.test(prefix)) return;
    // Ids in order from the id set (lexicographic range: a prefix lookup never scans the keyspace).
    let from = `[${prefix}`;
    for (;;) {
      const ids = await this.redis.zrangebylex(this.keys.objectIds(), from, `[${prefix}\xff`, "LIMIT", 0, 500);
      if (ids.length === 0) return;
      const pipe = this.redis.pipeline();
      for (const id of ids) pipe.strlen(this.keys.object(id));
      const sizes = (await pipe.exec()) ?? [];
      for (let i = 0; i < ids.length; i++) {
        const size = sizes[i]?.[1] as number;
        if (size > 0) yield { id: ids[i]!, size };
      }
      from = `(${ids[ids.length - 1]}`;
    }
  }

  async touch(id: string): Promise<void> {
    await this.redis.hset(this.keys.accessed(), assertId(id), Date.now());
  }

  async accessedAt(id: string): Promise<number | null> {
    const v = await this.redis.hget(this.keys.accessed(), assertId(id));
    return v === null ? null : Number(v);
  }
}

export class RedisRefs implements RefStorage {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  async read(name: string): Promise<string | null> {
    const v = await this.redis.get(this.keys.ref(assertRefName(name)));
    return v !== null && isId(v) ? v : null;
  }

  async update(name: string, next: string | null, expected?: string | null): Promise<boolean> {
    assertRefName(name);
    if (next !== null) assertId(next);
    if (expected) assertId(expected);
    const ok = await this.redis.cashetRefUpdate(
      this.keys.ref(name),
      this.keys.refNames(),
      name,
      next ?? "",
      expected === undefined ? "0" : "1",
      expected ?? "",
    );
    return ok === 1;
  }

  async list(prefix = ""): Promise<Ref[]> {
    const names = await this.redis.zrangebylex(this.keys.refNames(), `[${prefix}`, `[${prefix}\xff`);
    if (names.length === 0) return [];
    const ids = await this.redis.mget(names.map((n) => this.keys.ref(n)));
    return names.flatMap((name, i) => (ids[i] && isId(ids[i]!) ? [{ name, id: ids[i]! }] : []));
  }
}

/** The URL without its password, for messages and `stats`. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
