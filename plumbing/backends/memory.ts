// MemoryStore: the whole store model in one process's memory (tests, ephemeral use).
import { MemoryLevel } from "memory-level";
import { LocalClaims } from "../claims.js";
import { IndexDb, type KvDb } from "../index/db.js";
import { UsageDb } from "../index/usage.js";
import { assertId } from "../ids.js";
import { ObjectDb } from "../objects.js";
import { assertRefName } from "../refs.js";
import type { ObjectStorage, ObjectWriter, Ref, RefStorage, Store, StoredObject } from "../store.js";
import { closeUsage } from "../usage.js";

class MemoryObjects implements ObjectStorage {
  private readonly objects = new Map<string, Uint8Array>();
  private readonly access = new Map<string, number>();

  async read(id: string, maxBytes?: number): Promise<Uint8Array | null> {
    const bytes = this.objects.get(assertId(id));
    if (!bytes) return null;
    return maxBytes === undefined ? bytes : bytes.subarray(0, maxBytes);
  }
  async write(id: string, bytes: Uint8Array): Promise<boolean> {
    // A copy: the caller may reuse its buffer.
    return this.keep(id, Uint8Array.from(bytes));
  }
  async writer(): Promise<ObjectWriter> {
    const chunks: Uint8Array[] = [];
    return {
      write: async (chunk) => void chunks.push(Uint8Array.from(chunk)),
      finish: async (id) => this.keep(id, Buffer.concat(chunks)),
      abort: async () => void (chunks.length = 0),
    };
  }
  private keep(id: string, bytes: Uint8Array): boolean {
    this.access.set(assertId(id), Date.now());
    if (this.objects.has(id)) return false;
    this.objects.set(id, bytes);
    return true;
  }
  async delete(id: string): Promise<boolean> {
    this.access.delete(assertId(id));
    return this.objects.delete(id);
  }
  async size(id: string): Promise<number | null> {
    return this.objects.get(id)?.length ?? null;
  }
  async *list(prefix = ""): AsyncIterable<StoredObject> {
    for (const [id, bytes] of [...this.objects].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (id.startsWith(prefix)) yield { id, size: bytes.length };
    }
  }
  async touch(id: string): Promise<void> {
    if (this.objects.has(id)) this.access.set(id, Date.now());
  }
  async accessedAt(id: string): Promise<number | null> {
    return this.access.get(id) ?? null;
  }
  /** Test hook: replace stored bytes as a failing disk would. */
  corrupt(id: string, bytes: Uint8Array): void {
    this.objects.set(id, bytes);
  }
}

class MemoryRefs implements RefStorage {
  private readonly refs = new Map<string, string>();

  async read(name: string): Promise<string | null> {
    return this.refs.get(assertRefName(name)) ?? null;
  }
  async update(name: string, next: string | null, expected?: string | null): Promise<boolean> {
    assertRefName(name);
    const current = this.refs.get(name) ?? null;
    if (expected !== undefined && current !== expected) return current === next;
    if (next === null) this.refs.delete(name);
    else this.refs.set(name, next);
    return true;
  }
  async list(prefix = ""): Promise<Ref[]> {
    return [...this.refs]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, id]) => ({ name, id }));
  }
}

/** A store held in memory; gone when the process exits. */
export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly location = "memory";
  readonly objects = new MemoryObjects();
  readonly refs = new MemoryRefs();
  readonly claims = new LocalClaims();
  readonly index: IndexDb;
  /** Hit and miss counts, beside the index. */
  readonly usage: UsageDb;
  private readonly db = new MemoryLevel<string, string>();

  constructor() {
    this.index = new IndexDb(this.db as unknown as KvDb, new ObjectDb(this.objects));
    this.usage = new UsageDb(this.db as unknown as KvDb);
  }

  async close(): Promise<void> {
    await closeUsage(this.usage);
    await this.db.close();
  }
}
