// Claims on Redis: `SET <claim> <holder> NX PX ttl`, kept alive by a heartbeat that renews it
// only while the holder still owns it — from a thread of its own (./heartbeat.ts), so a holder
// whose main thread is busy keeps it. A holder that dies stops renewing and its claim expires
// (ttl, default 2 s): a waiter then takes the call over. A holder whose claim was taken (its whole
// process paused past the ttl) sees `lost` and its release or publish leaves the new holder's claim alone.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { publishRun } from "../../publish.js";
import type { ClaimHandle, ClaimInfo, Claims } from "../../store.js";
import type { Heartbeat } from "./heartbeat.js";
import type { RedisIndex } from "./index.js";
import type { RedisKeys } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

interface Holder {
  token: string;
  pid: number;
  hostname: string;
  since: number;
}

export class RedisClaims implements Claims {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
    private readonly index: RedisIndex,
    private readonly ttlMs: number,
    private readonly heartbeat: Heartbeat,
  ) {}

  async tryAcquire(key: string): Promise<ClaimHandle | null> {
    const holder: Holder = { token: randomBytes(12).toString("hex"), pid: process.pid, hostname: hostname(), since: Date.now() };
    const value = JSON.stringify(holder);
    const claimKey = this.keys.claim(key);
    if ((await this.redis.set(claimKey, value, "PX", this.ttlMs, "NX")) !== "OK") return null;
    let lost = false;
    let done = false;
    this.heartbeat.hold(claimKey, value, () => {
      if (!done) lost = true;
    });
    const finish = (): void => {
      done = true;
      this.heartbeat.drop(claimKey, value);
    };
    return {
      key,
      get lost() {
        return lost;
      },
      release: async () => {
        if (done) return;
        finish();
        await this.redis.cashetRelease(claimKey, value);
      },
      complete: async (commit, ref, expected) => {
        if (done) throw new TypeError(`the claim on ${key} was already released`);
        // The claim's own refs: a move that releases the claim once it lands, fenced (a lost
        // claim may only move the ref from the head it saw).
        let released = false;
        const refs = {
          update: async (name: string, next: string | null, head?: string | null): Promise<boolean> => {
            const moved = (await this.redis.cashetPublishRef(claimKey, this.keys.ref(name), this.keys.refNames(), value, name, next ?? "", head === undefined ? "0" : "1", head ?? "")) === 1;
            released ||= moved;
            return moved;
          },
        };
        await publishRun({ index: this.index, refs }, commit, ref, expected);
        finish();
        if (!released) await this.redis.cashetRelease(claimKey, value);
      },
    };
  }

  /** Resolves once nobody holds `key` (released, or expired because its holder died). */
  async waitRelease(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const claimKey = this.keys.claim(key);
    let delay = 10;
    for (;;) {
      options.signal?.throwIfAborted();
      if ((await this.redis.exists(claimKey)) === 0) return;
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, 100);
    }
  }

  async holder(key: string): Promise<ClaimInfo | null> {
    const raw = await this.redis.get(this.keys.claim(key));
    const h = raw === null ? null : parseHolder(raw);
    return h && { key, pid: h.pid, hostname: h.hostname, since: h.since };
  }

  async list(): Promise<ClaimInfo[]> {
    const out: ClaimInfo[] = [];
    const prefix = this.keys.claim("");
    for await (const batch of this.redis.scanStream({ match: `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`, count: 1000 })) {
      const keys = batch as string[];
      if (!keys.length) continue;
      const values = await this.redis.mget(keys);
      keys.forEach((k, i) => {
        const h = values[i] === null ? null : parseHolder(values[i]!);
        if (h) out.push({ key: k.slice(prefix.length), pid: h.pid, hostname: h.hostname, since: h.since });
      });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** Stops the heartbeat (the store is closing; unreleased claims then expire). */
  stop(): Promise<void> {
    return this.heartbeat.stop();
  }
}

function parseHolder(raw: string): Holder | null {
  try {
    return JSON.parse(raw) as Holder;
  } catch {
    return null; // not ours: ignore
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
