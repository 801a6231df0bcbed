// Hit and miss counts per function, kept in the index's database beside the index (LevelDB on
// disk, memory-level in memory). Unlike the index they are not a cache of the objects — nothing
// could rebuild them — so `reindex` leaves their keys alone. Like the index, one writer at a time:
// the fs store's daemon, or the memory store's process.
import type { FunctionUsage, Usage, UsageStorage } from "../store.js";
import { allKeys, type KvDb, type Op } from "./db.js"; // allKeys is called, never read at load: the import cycle is harmless

/*
 * Key layout (utf8; "·" is \x00). Every key starts with "u", a prefix no index key uses:
 *   u·f·<name>·<module>   → {"hits","misses","savedMs"} (JSON)   one function's counts
 *   u·since               → ms since epoch                      when the first count was added
 *   u·file·<name>         → byte offset                         how much of a stats file is folded in (fs)
 */
const SEP = "\x00";
const END = "\uffff";
/** Every usage key starts with this one character; the index's `reindex` keeps the range. */
export const USAGE_KEY_PREFIX = "u";
const rowKey = (name: string, module: string): string => ["u", "f", name, module].join(SEP);
const fileKey = (name: string): string => ["u", "file", name].join(SEP);
const SINCE = ["u", "since"].join(SEP);

export class UsageDb implements UsageStorage {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: KvDb) {}

  add(batch: FunctionUsage[]): Promise<void> {
    return this.fold(batch, null);
  }

  /**
   * Adds `batch` (counted at `at`, ms; default now) and records `file` as folded up to `offset`
   * in the same atomic write, so a stats file's lines are counted once whatever stops the folder
   * in between.
   */
  fold(batch: FunctionUsage[], file: { name: string; offset: number } | null, at = Date.now()): Promise<void> {
    return this.serial(async () => {
      const summed = new Map<string, FunctionUsage>();
      for (const row of batch) {
        const k = rowKey(row.name, row.module);
        const known = summed.get(k) ?? { ...zero(row.name, row.module), ...parseCounts(this.db.getSync(k)) };
        summed.set(k, { ...known, hits: known.hits + row.hits, misses: known.misses + row.misses, savedMs: known.savedMs + row.savedMs });
      }
      const ops: Op[] = [...summed].map(([key, r]) => ({ type: "put", key, value: JSON.stringify({ hits: r.hits, misses: r.misses, savedMs: r.savedMs }) }));
      const since = this.db.getSync(SINCE);
      if (ops.length && (since === undefined || Number(since) > at)) ops.push({ type: "put", key: SINCE, value: String(at) });
      if (file) ops.push({ type: "put", key: fileKey(file.name), value: String(file.offset) });
      if (ops.length) await this.db.batch(ops);
    });
  }

  /** How far stats file `name` is folded in (0 when never). */
  folded(name: string): number {
    return Number(this.db.getSync(fileKey(name)) ?? 0);
  }

  /** Forgets stats file `name` (it was removed). */
  forget(name: string): Promise<void> {
    return this.serial(() => this.db.batch([{ type: "del", key: fileKey(name) }]));
  }

  /** The stats files with a recorded offset. */
  async files(): Promise<string[]> {
    const p = fileKey("");
    return (await allKeys(this.db, { gte: p, lt: p + END })).map((k) => k.slice(p.length));
  }

  async read(): Promise<Usage> {
    const p = ["u", "f", ""].join(SEP);
    const functions: FunctionUsage[] = [];
    for (const k of await allKeys(this.db, { gte: p, lt: p + END })) {
      const [name, module] = k.slice(p.length).split(SEP) as [string, string];
      functions.push({ ...zero(name, module ?? ""), ...parseCounts(this.db.getSync(k)) });
    }
    const since = this.db.getSync(SINCE);
    return { functions, since: since === undefined ? null : Number(since) };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function zero(name: string, module: string): FunctionUsage {
  return { name, module, hits: 0, misses: 0, savedMs: 0 };
}

function parseCounts(raw: string | undefined): Partial<FunctionUsage> {
  if (raw === undefined) return {};
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    const n = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) ? x : 0);
    return { hits: n(v.hits), misses: n(v.misses), savedMs: n(v.savedMs) };
  } catch {
    return {};
  }
}
