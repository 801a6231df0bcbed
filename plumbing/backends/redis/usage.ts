// Hit and miss counts on Redis: three hashes keyed by `<name>␀<module>` (hits, misses, saved ms),
// each batch added with HINCRBY / HINCRBYFLOAT in one MULTI, so every machine's counts add up
// exactly. A batch is one round trip every few seconds, never one per hit (plumbing/usage.ts).
import type { FunctionUsage, Usage, UsageStorage } from "../../store.js";
import type { RedisKeys } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

const SEP = "\0";

export class RedisUsage implements UsageStorage {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  async add(batch: FunctionUsage[]): Promise<void> {
    if (!batch.length) return;
    const tx = this.redis.multi();
    for (const r of batch) {
      const field = `${r.name}${SEP}${r.module}`;
      if (r.hits) tx.hincrby(this.keys.usageHits(), field, r.hits);
      if (r.misses) tx.hincrby(this.keys.usageMisses(), field, r.misses);
      if (r.savedMs) tx.hincrbyfloat(this.keys.usageSaved(), field, r.savedMs);
    }
    tx.set(this.keys.usageSince(), String(Date.now()), "NX");
    await tx.exec();
  }

  async read(): Promise<Usage> {
    const replies = (await this.redis
      .multi()
      .hgetall(this.keys.usageHits())
      .hgetall(this.keys.usageMisses())
      .hgetall(this.keys.usageSaved())
      .get(this.keys.usageSince())
      .exec()) as Array<[Error | null, unknown]>;
    const [hits, misses, saved] = replies.slice(0, 3).map(([, v]) => (v ?? {}) as Record<string, string>) as [Record<string, string>, Record<string, string>, Record<string, string>];
    const since = replies[3]![1] as string | null;
    const fields = new Set([...Object.keys(hits), ...Object.keys(misses), ...Object.keys(saved)]);
    const functions = [...fields].map((field): FunctionUsage => {
      const at = field.indexOf(SEP);
      return {
        name: at < 0 ? field : field.slice(0, at),
        module: at < 0 ? "" : field.slice(at + 1),
        hits: Number(hits[field] ?? 0),
        misses: Number(misses[field] ?? 0),
        savedMs: Number(saved[field] ?? 0),
      };
    });
    return { functions, since: since === null ? null : Number(since) };
  }
}
