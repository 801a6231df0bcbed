// FsStore: the default store. Objects and refs are files any process reads and writes directly;
// the index, ref updates and claims go through the store's index daemon (client.ts), which is
// started on first need. A cache hit (ref → commit → blob) reads files only, so a store this process
// cannot write still serves hits.
import { appendFileSync, existsSync, mkdirSync, realpathSync, renameSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { StoreReadOnlyError, StoreUnavailableError } from "../../errors.js";
import { assertRefName } from "../../refs.js";
import type { Claims, FunctionUsage, Index, IndexEntry, IndexStats, LogQuery, Ref, RefStorage, Store, Usage, UsageStorage } from "../../store.js";
import { closeUsage } from "../../usage.js";
import type { DaemonClient } from "./client.js";
import { ensureDir, readOnlyStore, refusedWrite, unwritable } from "./files.js";
import type { ReadOnlyIndex } from "./readonly.js";
import { assertId } from "../../ids.js";
import { daemonPidFile, indexDir, newStatsFile, objectsDir, refsDir, statsDir, tmpDir } from "./layout.js";
import { FsObjects } from "./objects.js";
import { listRefs, readRef } from "./refs.js";

export interface FsStoreOptions {
  /** Create the directory layout if it is missing (default true). */
  create?: boolean;
}

/** What the index answers without writing: a store this process cannot write still answers these. */
const INDEX_READS = new Set(["entry", "log", "blobReferrers", "expired", "lastAccess", "stats"]);

/**
 * The link to the store's daemon, made on first use. A cache hit reads files only and never talks
 * to the daemon, so a process that only hits never loads the client — nor the `net`,
 * `child_process`, `dgram` and `readline` modules behind it (20 fewer built-ins; a CLI hit went from
 * 191 to 184 ms, median of 60 alternating runs on a loaded VM).
 *
 * A store this process cannot write (a read-only mount, another user's store: one access(2) call
 * when the daemon is first needed) gets no daemon — none could start there. Its index queries are
 * answered in this process (readonly.ts); ref moves, claims and index writes are refused with
 * StoreReadOnlyError at once, so a miss fails before it runs anything.
 */
class Daemon {
  private client: Promise<DaemonClient> | null = null;
  private readOnlyIndex: Promise<ReadOnlyIndex> | null = null;
  /** EROFS, EACCES or EPERM when this process cannot write the store; null when it can; undefined until asked. */
  private refusal: string | null | undefined;
  constructor(private readonly dir: string) {}

  private connect(): Promise<DaemonClient> {
    return (this.client ??= import("./client.js").then(({ DaemonClient }) => new DaemonClient(this.dir)));
  }

  /** Why this process cannot write the store, or null. */
  unwritable(): string | null {
    if (this.refusal === undefined) this.refusal = unwritable(this.dir, indexDir(this.dir));
    return this.refusal;
  }

  async call<T>(op: string, ...args: unknown[]): Promise<T> {
    const code = this.unwritable();
    if (code) return this.readOnlyCall<T>(code, op, args);
    try {
      return await (await this.connect()).call<T>(op, ...args);
    } catch (err) {
      throw refusedWrite(this.dir, err); // the daemon's write refused by a full disk: say so, naming the store
    }
  }

  private async readOnlyCall<T>(code: string, op: string, args: unknown[]): Promise<T> {
    const method = op.startsWith("index.") ? op.slice("index.".length) : "";
    if (!INDEX_READS.has(method)) throw readOnlyStore(this.dir, code);
    const { index } = await this.openReadOnly();
    return (index[method as keyof Index] as (...a: unknown[]) => Promise<T>).apply(index, args);
  }

  private openReadOnly(): Promise<ReadOnlyIndex> {
    return (this.readOnlyIndex ??= import("./readonly.js").then((m) => m.openReadOnlyIndex(this.dir)));
  }

  /**
   * The store's hit and miss counts, the stats files folded in: by the daemon — or, on a store
   * this process cannot write, into the private copy of the index, leaving the files as they are.
   */
  async usage(): Promise<Usage> {
    if (!this.unwritable()) return this.call<Usage>("usage.read");
    const [{ usage }, { foldUsage }] = await Promise.all([this.openReadOnly(), import("./usage-fold.js")]);
    await foldUsage(this.dir, usage, { remove: false });
    return usage.read();
  }

  claims(): Claims {
    let claims: Promise<Claims> | null = null;
    const real = (): Promise<Claims> => (claims ??= this.unwritable() ? Promise.resolve(this.readOnlyClaims()) : this.connect().then((c) => c.claims()));
    return {
      tryAcquire: async (key) => (await real()).tryAcquire(key),
      waitRelease: async (key, options) => (await real()).waitRelease(key, options),
      list: async () => (await real()).list(),
    };
  }

  /** A store nobody here can write runs nothing: claiming is refused; no claim of ours is held. */
  private readOnlyClaims(): Claims {
    const refuse = async (): Promise<never> => {
      throw readOnlyStore(this.dir, this.unwritable()!);
    };
    return { tryAcquire: refuse, waitRelease: refuse, list: async () => [] };
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
    if (this.readOnlyIndex) await (await this.readOnlyIndex.catch(() => null))?.close();
  }
}

/** The index of an fs store, answered by its daemon. */
class DaemonIndex implements Index {
  constructor(private readonly client: Daemon) {}

  addCommit(id: string): Promise<void> {
    return this.client.call("index.addCommit", assertId(id));
  }
  removeCommit(id: string): Promise<string[]> {
    return this.client.call("index.removeCommit", id);
  }
  addBlob(id: string): Promise<void> {
    return this.client.call("index.addBlob", id);
  }
  removeBlob(id: string): Promise<void> {
    return this.client.call("index.removeBlob", id);
  }
  entry(id: string): Promise<IndexEntry | null> {
    return this.client.call("index.entry", id);
  }
  log(query?: LogQuery): Promise<IndexEntry[]> {
    return this.client.call("index.log", query ?? {});
  }
  blobReferrers(id: string): Promise<string[]> {
    return this.client.call("index.blobReferrers", id);
  }
  expired(now: number): Promise<string[]> {
    return this.client.call("index.expired", now);
  }
  lastAccess(id: string): Promise<number | null> {
    return this.client.call("index.lastAccess", id);
  }
  touch(id: string, at: number): Promise<void> {
    return this.client.call("index.touch", id, at);
  }
  stats(): Promise<IndexStats> {
    return this.client.call("index.stats");
  }
  reindex(): Promise<{ commits: number; blobs: number }> {
    return this.client.call("index.reindex");
  }
}

class FsRefs implements RefStorage {
  constructor(
    private readonly dir: string,
    private readonly client: Daemon,
  ) {}
  async read(name: string): Promise<string | null> {
    return readRef(this.dir, name);
  }
  async update(name: string, next: string | null, expected?: string | null): Promise<boolean> {
    assertRefName(name);
    return this.client.call("ref.update", name, next, expected !== undefined, expected ?? null);
  }
  async list(prefix = ""): Promise<Ref[]> {
    return listRefs(this.dir, prefix);
  }
}

/**
 * One process's call counts on the store at `dir`: each batch one JSON line appended to a file of
 * its own (`stats/<host>-<pid>-<random>.log`, synchronous, so possible in an `exit` handler), renamed
 * `.done` when the process is finished with it; the daemon folds them in (./usage-fold.ts). Here,
 * not in a module of its own: every CLI hit loads it (a module costs ≈ 0.3 ms there).
 */
class FsUsage implements UsageStorage {
  /** This process's current file (without extension), once it wrote one. */
  private file: string | null = null;

  constructor(
    private readonly dir: string,
    private readonly reader: () => Promise<Usage>,
  ) {}

  async add(batch: FunctionUsage[]): Promise<void> {
    this.addSync(batch);
  }

  addSync(batch: FunctionUsage[], final = false): void {
    const fresh = this.file === null;
    if (batch.length) {
      this.file ??= newStatsFile();
      const line = `${JSON.stringify({ at: Date.now(), rows: batch })}\n`;
      const path = join(statsDir(this.dir), `${this.file}.log`);
      try {
        appendFileSync(path, line);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        mkdirSync(statsDir(this.dir), { recursive: true });
        appendFileSync(path, line);
      }
    }
    if (final && this.file && fresh) {
      // One batch, written at exit (a CLI hit): no rename, a syscall a hit need not pay — the fold
      // removes the `.log` of a writer that is gone as it removes a `.done`.
      this.file = null;
    } else if (final && this.file) {
      // Done with it: the daemon may remove it once folded. Counts added later start a new file.
      renameSync(join(statsDir(this.dir), `${this.file}.log`), join(statsDir(this.dir), `${this.file}.done`));
      this.file = null;
    }
  }

  read(): Promise<Usage> {
    return this.reader();
  }
}

/** A store in a directory (default `./.cashet`). Safe for any number of processes at once. */
export class FsStore implements Store {
  readonly kind = "fs";
  readonly location: string;
  readonly objects: FsObjects;
  readonly refs: RefStorage;
  readonly claims: Claims;
  readonly index: Index;
  readonly usage: FsUsage;
  private readonly client: Daemon;

  constructor(dir: string, options: FsStoreOptions = {}) {
    const abs = resolve(dir);
    if (options.create ?? true) {
      try {
        for (const d of [objectsDir(abs), refsDir(abs), tmpDir(abs), indexDir(abs)]) ensureDir(d);
      } catch (err) {
        // A store on a read-only mount (a restored CI cache) may lack a directory it never needed:
        // it still serves its hits. Without a store there is nothing to serve.
        const refused = refusedWrite(abs, err);
        if (!(refused instanceof StoreReadOnlyError)) throw refused;
        if (!existsSync(objectsDir(abs))) {
          throw new StoreReadOnlyError(`cannot create a store at ${abs}: ${(err as Error).message} (pass --store DIR or set CASHET_DIR)`, { cause: err });
        }
      }
    } else {
      let isDir = false;
      try {
        isDir = statSync(abs).isDirectory();
      } catch {}
      if (!isDir) throw new StoreUnavailableError(`no cashet store at ${abs} (pass --store DIR or set CASHET_DIR)`);
    }
    this.location = realpathSync(abs);
    this.client = new Daemon(this.location);
    this.objects = new FsObjects(this.location);
    this.refs = new FsRefs(this.location, this.client);
    this.claims = this.client.claims();
    this.index = new DaemonIndex(this.client);
    this.usage = new FsUsage(this.location, () => this.client.usage());
  }

  /** The daemon's process id and connection count (for tests and `cashet stats`). */
  daemonInfo(): Promise<{ pid: number; connections: number }> {
    return this.client.call("info");
  }

  /** Asks the store's daemon, if one runs, to exit now (it would on its own when idle), and waits until it has. */
  async stopDaemon(): Promise<void> {
    if (!existsSync(daemonPidFile(this.location)) || this.client.unwritable()) return;
    const { pid } = await this.daemonInfo();
    await this.client.call("shutdown");
    for (let i = 0; i < 500 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  }

  async close(): Promise<void> {
    await closeUsage(this.usage); // one append, no daemon
    await this.client.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
