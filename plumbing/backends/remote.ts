// RemoteCachedStore: a local store that reads through and writes through to a remote cache
// (`CASHET_REMOTE=http://host:port`). A local miss asks the server for the run — commit and output
// in one round trip — verifies every byte, and stores it locally (blobs, then the commit, indexed,
// then the ref), so the next hit never leaves the machine. A run finished here is uploaded when it
// is published: blobs the server lacks, then the commit, then the ref. The remote is a cache:
// when it is down, refuses the token's writes, or sends bad bytes, the run goes on locally and
// says so once.
import { claimHolder } from "../claims.js";
import { bringInCommit, type BringIn, type BringInOptions } from "../bring-in.js";
import { inlineBlob } from "../commit.js";
import { CashetError, ForbiddenError, type ErrorCode } from "../errors.js";
import { decodeObject } from "../objects.js";
import { publishRun } from "../publish.js";
import { uploadRun } from "../upload.js";
import { HttpStore } from "./http/store.js";
import type { ClaimHandle, ClaimInfo, Claims, ObjectStorage, ObjectWriter, RefStorage, Store, StoredObject, Ref } from "../store.js";

export interface RemoteCacheOptions {
  /** Where the remote's troubles are told (once each); default: a line on stderr. */
  onWarning?: (message: string) => void;
}

/** A remote miss is remembered this long, so one call's lookups (before and after its claim) ask once. */
const REMOTE_MISS_MS = 1000;

/** `local` behind the `cashet serve` server at `remote.url` (what --remote / $CASHET_REMOTE make). */
export function behindRemote(local: Store, remote: { url: string; token?: string }, options: RemoteCacheOptions = {}): RemoteCachedStore {
  return new RemoteCachedStore(local, new HttpStore(remote.url, remote.token ? { token: remote.token } : {}), options);
}

/** `local`, with `remote` behind it for runs it lacks and in front of it for runs it makes. */
export class RemoteCachedStore implements Store {
  readonly kind: string;
  readonly location: string;
  readonly objects: ObjectStorage;
  readonly refs: RefStorage;
  readonly claims: Claims;
  readonly index: Store["index"];
  /** The local store's counts: a call is counted where it was answered, never on the server too. */
  readonly usage: Store["usage"];
  private readonly warned = new Set<string>();
  private readonly misses = new Map<string, number>();
  private readOnly = false;

  constructor(
    readonly local: Store,
    readonly remote: HttpStore,
    private readonly options: RemoteCacheOptions = {},
  ) {
    this.kind = `${local.kind}+http`;
    this.location = `${local.location} (remote ${remote.location})`;
    this.index = local.index;
    this.usage = local.usage;
    this.objects = new ReadThroughObjects(local.objects, (id) => this.pullObject(id));
    this.refs = new ReadThroughRefs(local.refs, (name) => this.pullRef(name));
    this.claims = new WriteThroughClaims(local, (id, ref) => this.push(id, ref));
  }

  /** Fetches run `ref` from the remote into the local store; its commit id, or null when the remote has none. */
  private async pullRef(ref: string): Promise<string | null> {
    if (!ref.startsWith("fp/")) return null; // pins are this store's own names
    const missed = this.misses.get(ref);
    if (missed !== undefined && Date.now() - missed < REMOTE_MISS_MS) return null;
    const hit = await this.remoteCall("read", () => this.remote.readHit(ref));
    if (!hit?.commit) {
      this.noteMiss(ref);
      return null;
    }
    const read = decodeObject(hit.id, hit.commit);
    if (read.kind !== "commit") return this.damaged(hit.id, read.kind === "corrupt" ? read.reason : "not a commit");
    const commit = read.commit;
    if (commit.fingerprint !== ref.slice(3)) return this.damaged(hit.id, `a run of another call than ${ref.slice(0, 15)}…`);
    const output = commit.output?.hash;
    if (output && hit.blob && !inlineBlob(commit, output)) {
      const blob = decodeObject(output, hit.blob);
      if (blob.kind !== "blob") return this.damaged(output, blob.kind === "corrupt" ? blob.reason : "not a blob");
      await this.local.objects.write(output, hit.blob);
    }
    // The ref from "absent" only: a local run that landed meanwhile wins.
    const brought = await this.bringIn(hit.id, hit.commit, { name: ref, head: null, onConflict: "theirs" });
    if (!brought) return null;
    return brought.refMoved ? hit.id : this.local.refs.read(ref);
  }

  /** Fetches one object (a commit with every blob it names) into the local store; its stored bytes, or null. */
  private async pullObject(id: string): Promise<Uint8Array | null> {
    const stored = await this.remoteCall("read", () => this.remote.objects.read(id));
    if (!stored) return null;
    const read = decodeObject(id, stored);
    if (read.kind === "corrupt" || read.kind === "missing") return this.damaged(id, read.kind === "corrupt" ? read.reason : "empty");
    if (read.kind === "blob") {
      await this.local.objects.write(id, stored);
      return stored;
    }
    return (await this.bringIn(id, stored)) ? stored : null;
  }

  /** Brings a verified commit into the local store (plumbing/bring-in.ts), fetching the blobs it names that the store lacks. */
  private async bringIn(id: string, stored: Uint8Array, ref?: BringInOptions["ref"]): Promise<Extract<BringIn, { brought: true }> | null> {
    const brought = await bringInCommit(this.local, id, stored, { fetch: async (blob) => (await this.pullObject(blob)) !== null, ...(ref ? { ref } : {}) });
    return brought.brought ? brought : null; // never a commit that names what the store lacks
  }

  /** Uploads a run published here (plumbing/upload.ts): the blobs the server lacks, the commit, then (for a completed run) its ref. */
  private async push(id: string, ref: string | null): Promise<void> {
    if (this.readOnly) return;
    // A blob gone locally (gc) leaves the run here: the server cannot take a commit without it.
    await this.remoteCall("write", () => uploadRun(this.local.objects, this.remote, id, ref ? { ref: { name: ref, mode: "replace" } } : {}));
  }

  /** Runs a remote request; its failure is told once and turns into "nothing" — the remote is only a cache. */
  private async remoteCall<T>(what: "read" | "write", request: () => Promise<T>): Promise<T | null> {
    try {
      return await request();
    } catch (err) {
      const code: ErrorCode = err instanceof CashetError ? err.code : "EINTERNAL";
      if (what === "write" && err instanceof ForbiddenError) {
        this.readOnly = true; // a read-only token: reads go on, writes stop asking
        this.warn("EFORBIDDEN", `the remote cache at ${this.remote.location} is read-only for this token: results stay local`);
      } else {
        this.warn(`${what}:${code}`, `remote cache ${what} failed, going on locally: ${(err as Error).message}`);
      }
      return null;
    }
  }

  private damaged(id: string, reason: string): null {
    this.warn(`damaged:${id}`, `the remote cache sent a damaged object ${id.slice(0, 12)} (${reason}); ignored`);
    return null;
  }

  private noteMiss(ref: string): void {
    this.misses.set(ref, Date.now());
    if (this.misses.size > 4096) this.misses.delete(this.misses.keys().next().value!);
  }

  private warn(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    (this.options.onWarning ?? ((m: string) => process.stderr.write(`cashet: ${m}\n`)))(message);
  }

  async close(): Promise<void> {
    await Promise.all([this.local.close(), this.remote.close()]);
  }
}

/** The local objects; one the local store lacks is fetched from the remote first. */
class ReadThroughObjects implements ObjectStorage {
  constructor(
    private readonly local: ObjectStorage,
    private readonly pull: (id: string) => Promise<Uint8Array | null>,
  ) {
    if (local.stream) this.stream = (id) => local.stream!(id);
    if (local.strays) this.strays = () => local.strays!();
    if (local.removeStray) this.removeStray = (name) => local.removeStray!(name);
  }
  stream?: ObjectStorage["stream"];
  strays?: ObjectStorage["strays"];
  removeStray?: ObjectStorage["removeStray"];

  async read(id: string, maxBytes?: number): Promise<Uint8Array | null> {
    const bytes = (await this.local.read(id, maxBytes)) ?? (await this.pull(id));
    return bytes && maxBytes !== undefined ? bytes.subarray(0, maxBytes) : bytes;
  }
  write(id: string, bytes: Uint8Array): Promise<boolean> {
    return this.local.write(id, bytes);
  }
  writer(): Promise<ObjectWriter> {
    return this.local.writer();
  }
  delete(id: string): Promise<boolean> {
    return this.local.delete(id);
  }
  size(id: string): Promise<number | null> {
    return this.local.size(id);
  }
  list(prefix?: string): AsyncIterable<StoredObject> {
    return this.local.list(prefix);
  }
  touch(id: string): Promise<void> {
    return this.local.touch(id);
  }
  accessedAt(id: string): Promise<number | null> {
    return this.local.accessedAt(id);
  }
}

/** The local refs; a call's ref the local store lacks is looked up on the remote. */
class ReadThroughRefs implements RefStorage {
  constructor(
    private readonly local: RefStorage,
    private readonly pull: (name: string) => Promise<string | null>,
  ) {}
  async read(name: string): Promise<string | null> {
    return (await this.local.read(name)) ?? this.pull(name);
  }
  update(name: string, next: string | null, expected?: string | null): Promise<boolean> {
    return this.local.update(name, next, expected);
  }
  list(prefix?: string): Promise<Ref[]> {
    return this.local.list(prefix);
  }
}

/** The local claims, whose handles upload a run once it is published here. */
class WriteThroughClaims implements Claims {
  constructor(
    private readonly local: Store,
    private readonly push: (id: string, ref: string | null) => Promise<void>,
  ) {}

  async tryAcquire(key: string): Promise<ClaimHandle | null> {
    const handle = await this.local.claims.tryAcquire(key);
    if (!handle) return null;
    const { local, push } = this;
    return {
      key,
      get lost() {
        return handle.lost;
      },
      release: () => handle.release(),
      async complete(commit, ref, expected) {
        if (handle.complete) await handle.complete(commit, ref, expected);
        else {
          await publishRun(local, commit, ref, expected);
          await handle.release();
        }
        await push(commit, ref);
      },
    };
  }
  waitRelease(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.local.claims.waitRelease(key, options);
  }
  list(): Promise<ClaimInfo[]> {
    return this.local.claims.list();
  }
  holder(key: string): Promise<ClaimInfo | null> {
    return claimHolder(this.local.claims, key);
  }
}
