// Every key a RedisStore uses, under one prefix (default `cashet:`), so two caches can share a
// Redis. Parts that come from users (function names, tags, ref names) are joined with NUL, which
// none of them may contain: a tag `a:b=c` can never collide with `a` = `b:c`.
const SEP = "\0";

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Object bytes. */
  object = (id: string): string => `${this.prefix}o:${id}`;
  /** Sorted set (all scores 0) of every object id: prefix lookups by ZRANGEBYLEX, never a SCAN. */
  objectIds = (): string => `${this.prefix}objects`;
  /** Hash: object id → last use (ms). */
  accessed = (): string => `${this.prefix}atime`;
  /** A streamed object being written (expires on its own if its writer dies). */
  temp = (token: string): string => `${this.prefix}tmp:${token}`;

  ref = (name: string): string => `${this.prefix}ref:${name}`;
  /** Sorted set (scores 0) of every ref name. */
  refNames = (): string => `${this.prefix}refs`;

  claim = (key: string): string => `${this.prefix}claim:${key}`;
  claimPattern = (): string => `${this.prefix}claim:*`;

  /** Hash: commit id → IndexEntry JSON. */
  entries = (): string => `${this.prefix}ix:c`;
  /** Sorted sets of commit ids scored by creation time (ms). */
  byTime = (): string => `${this.prefix}ix:t`;
  byFunc = (func: string): string => `${this.prefix}ix:f${SEP}${func}`;
  byFingerprint = (fp: string): string => `${this.prefix}ix:p${SEP}${fp}`;
  byStatus = (status: string): string => `${this.prefix}ix:s${SEP}${status}`;
  byTag = (k: string, v: string): string => `${this.prefix}ix:g${SEP}${k}${SEP}${v}`;
  byTagKey = (k: string): string => `${this.prefix}ix:G${SEP}${k}`;
  /** Sorted set of commit ids scored by expiry (ms). */
  byExpiry = (): string => `${this.prefix}ix:e`;
  /** Set of the commits referencing a blob. */
  referrers = (blob: string): string => `${this.prefix}ix:r${SEP}${blob}`;
  /** Hash: registered blob id → stored size. */
  blobs = (): string => `${this.prefix}ix:b`;
  /** Hash: counter → value (kept exact by scripts). */
  counters = (): string => `${this.prefix}ix:n`;
  /** Hash: commit id → last access the index recorded (ms). */
  lastAccess = (): string => `${this.prefix}ix:a`;
  /** Hashes: `<name>␀<module>` → that function's hits, misses and saved ms (the usage counts; not index keys, so reindex keeps them). */
  usageHits = (): string => `${this.prefix}use:h`;
  usageMisses = (): string => `${this.prefix}use:m`;
  usageSaved = (): string => `${this.prefix}use:s`;
  /** String: when the first count was added (ms). */
  usageSince = (): string => `${this.prefix}use:since`;
  /** Every index key, to drop them all (reindex). */
  indexPattern = (): string => `${this.prefix}ix:*`;
}
