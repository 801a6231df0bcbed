// An in-memory claim table: who runs which fingerprint, and who waits for it. The memory store
// uses it directly; the fs store's index daemon hosts one for every process on the machine.
import { hostname } from "node:os";
import type { ClaimHandle, ClaimInfo, Claims } from "./store.js";

interface Holder {
  owner: string;
  info: ClaimInfo;
}

/** Claims keyed by fingerprint; an owner is any token (a handle, a connection). */
export class ClaimTable {
  private readonly held = new Map<string, Holder>();
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Takes `key` for `owner`. True if `owner` now holds it (including when it already did). */
  acquire(key: string, owner: string, who: { pid: number; hostname: string }): boolean {
    const h = this.held.get(key);
    if (h) return h.owner === owner;
    this.held.set(key, { owner, info: { key, pid: who.pid, hostname: who.hostname, since: Date.now() } });
    return true;
  }

  /** Releases `key` if `owner` holds it, waking its waiters. */
  release(key: string, owner: string): boolean {
    const h = this.held.get(key);
    if (!h || h.owner !== owner) return false;
    this.held.delete(key);
    this.wake(key);
    return true;
  }

  /** Releases everything `owner` holds (its process died or disconnected). */
  releaseAll(owner: string): string[] {
    const keys: string[] = [];
    for (const [key, h] of this.held) if (h.owner === owner) keys.push(key);
    for (const key of keys) this.release(key, owner);
    return keys;
  }

  holder(key: string): string | undefined {
    return this.held.get(key)?.owner;
  }

  /** Who holds `key`, or null. */
  info(key: string): ClaimInfo | null {
    const h = this.held.get(key);
    return h ? { ...h.info } : null;
  }

  /** Resolves when `key` is not held (at once if it is free now). */
  waitRelease(key: string, signal?: AbortSignal): Promise<void> {
    if (!this.held.has(key)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(key) ?? new Set();
      this.waiters.set(key, set);
      const done = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = (): void => {
        set.delete(done);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(done);
    });
  }

  list(): ClaimInfo[] {
    return [...this.held.values()].map((h) => ({ ...h.info }));
  }

  private wake(key: string): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const resolve of set) resolve();
  }
}

/** Claims for one process: each handle is its own owner, so two callers in a process exclude each other. */
export class LocalClaims implements Claims {
  private readonly table = new ClaimTable();
  private seq = 0;

  async tryAcquire(key: string): Promise<ClaimHandle | null> {
    const owner = `local-${++this.seq}`;
    if (!this.table.acquire(key, owner, { pid: process.pid, hostname: hostname() })) return null;
    const table = this.table;
    let released = false;
    return {
      key,
      lost: false,
      async release() {
        if (released) return;
        released = true;
        table.release(key, owner);
      },
    };
  }

  waitRelease(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.table.waitRelease(key, options?.signal);
  }

  async list(): Promise<ClaimInfo[]> {
    return this.table.list();
  }

  async holder(key: string): Promise<ClaimInfo | null> {
    return this.table.info(key);
  }
}

/** Who holds `key` in `claims` right now, or null: its own answer when it has one, else from its list. */
export async function claimHolder(claims: Claims, key: string): Promise<ClaimInfo | null> {
  if (claims.holder) return claims.holder(key);
  return (await claims.list()).find((c) => c.key === key) ?? null;
}
