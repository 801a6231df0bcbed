// The heartbeat of this process's Redis claims, beating in a worker thread on a connection of its
// own (./heartbeat-thread.ts). A task that keeps the main thread busy — a long synchronous loop —
// cannot stop it, so a live holder's claim never lapses and the claim's ttl can be short: a dead
// holder's threads die with it, its claim expires within one ttl and a waiter takes the call over.
import { Worker } from "node:worker_threads";
import type { RedisOptions } from "ioredis";

/** What the thread needs to reach Redis and how often to beat. */
export interface HeartbeatConfig {
  url: string;
  /** The store's ioredis options that survive being copied to a thread (functions do not). */
  options: Partial<RedisOptions>;
  ttlMs: number;
}

/** Main → thread: renew `hold` with `value` until told to `drop` it. Thread → main: `lost`. */
export type HeartbeatMessage = { hold: string; value: string } | { drop: string } | { lost: string; value: string };

const ENTRY = new URL("./heartbeat-thread.js", import.meta.url);

export class Heartbeat {
  private worker: Worker | null = null;
  private startedAt = 0;
  private readonly held = new Map<string, { value: string; onLost: () => void }>();
  private readonly config: HeartbeatConfig;

  constructor(url: string, options: RedisOptions, ttlMs: number) {
    this.config = { url, options: cloneable(options), ttlMs };
  }

  /** Keeps the claim at `key` (holding `value`) alive; `onLost` if Redis says it is no longer ours. */
  hold(key: string, value: string, onLost: () => void): void {
    this.held.set(key, { value, onLost });
    this.thread().postMessage({ hold: key, value } satisfies HeartbeatMessage);
  }

  /** Stops renewing `key` (released, or published). */
  drop(key: string, value: string): void {
    if (this.held.get(key)?.value !== value) return;
    this.held.delete(key);
    this.worker?.postMessage({ drop: key } satisfies HeartbeatMessage);
  }

  /** Ends the thread; claims still held then expire after their ttl. */
  async stop(): Promise<void> {
    this.held.clear();
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(ENTRY, { workerData: this.config });
    w.unref(); // never what keeps a process alive
    w.on("message", (m: HeartbeatMessage) => {
      if (!("lost" in m)) return;
      const h = this.held.get(m.lost);
      if (h?.value !== m.value) return;
      this.held.delete(m.lost);
      h.onLost();
    });
    w.on("error", () => undefined); // its exit follows
    w.on("exit", () => {
      if (this.worker !== w) return; // stopped on purpose
      this.worker = null;
      // A thread that died young would die again: its claims will lapse, so say so now.
      if (Date.now() - this.startedAt < 1000) {
        const lost = [...this.held.values()];
        this.held.clear();
        for (const h of lost) h.onLost();
        return;
      }
      for (const [key, h] of this.held) this.thread().postMessage({ hold: key, value: h.value } satisfies HeartbeatMessage);
    });
    this.worker = w;
    this.startedAt = Date.now();
    return w;
  }
}

/** The options that can be copied to another thread: functions (retryStrategy, …) stay behind. */
function cloneable(options: RedisOptions): Partial<RedisOptions> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    try {
      out[k] = structuredClone(v);
    } catch {
      // not copyable: the thread's connection goes without it
    }
  }
  return out as Partial<RedisOptions>;
}
