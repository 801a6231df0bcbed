// Test fixture: commits recorded the way a run records them (blob, commit, index, then the
// fingerprint head), so porcelain can be tested without executing anything.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { CommitRecord } from "../../plumbing/commit.js";
import { INLINE_LIMIT } from "../../plumbing/commit.js";
import { sha256 } from "../../plumbing/ids.js";
import { ObjectDb } from "../../plumbing/objects.js";
import { fingerprintRef } from "../../plumbing/refs.js";
import type { Store } from "../../plumbing/store.js";
import { FsStore } from "../../plumbing/backends/fs/store.js";
import { MemoryStore } from "../../plumbing/backends/memory.js";
import { makeRecord, tempDir } from "./fixtures.js";

export interface RunSpec {
  /** Names the function+arguments: runs with the same seed share a fingerprint. */
  seed?: string;
  func?: string;
  source?: string;
  /** Function hash; defaults to one derived from the source. */
  funcHash?: string;
  deps?: CommitRecord["func"]["deps"];
  args?: string;
  /** Output bytes (a blob object at 1 KiB and over, else inline); ignored for a failed run. */
  output?: Buffer;
  failed?: boolean;
  tags?: Record<string, string>;
  /** ms since epoch. */
  at?: number;
  ttlMs?: number;
  /** Parent commit; defaults to the fingerprint's current head. */
  parent?: string | null;
  /** Move fp/<fingerprint> to the new commit (default true). */
  moveHead?: boolean;
}

export interface Recorded {
  id: string;
  fingerprint: string;
  /** Output blob id, or null for a failed run. */
  blob: string | null;
  record: CommitRecord;
}

let clock = Date.parse("2025-01-01T00:00:00Z");

/** Records one finished run in `store`. Each call is a second after the previous one by default. */
export async function recordRun(store: Store, spec: RunSpec = {}): Promise<Recorded> {
  const db = new ObjectDb(store.objects);
  const seed = spec.seed ?? "seed";
  const at = spec.at ?? (clock += 1000);
  const base = makeRecord({ seed });
  const source = spec.source ?? `function ${spec.func ?? "train"}(x) {\n  return x * 2;\n}`;
  const ref = fingerprintRef(base.fingerprint);
  const head = await store.refs.read(ref);
  const parent = spec.parent === undefined ? head : spec.parent;
  const record = makeRecord({
    seed,
    func: { name: spec.func ?? "train", module: "pipeline.ts", hash: spec.funcHash ?? sha256(`fn:${source}`), source, deps: spec.deps ?? [] },
    args: { hash: sha256(`args:${spec.args ?? seed}`), preview: spec.args ?? "[1]", blob: null },
    parent,
    createdAt: new Date(at).toISOString(),
    tags: spec.tags ?? {},
    expiresAt: spec.ttlMs === undefined ? null : new Date(at + spec.ttlMs).toISOString(),
  });
  let blob: string | null = null;
  if (spec.failed) {
    record.status = "failed";
    record.output = null;
    record.error = { name: "Error", message: "boom", stack: "Error: boom\n    at train (pipeline.ts:2:9)" };
  } else {
    const bytes = spec.output ?? randomBytes(2048);
    blob = sha256(bytes);
    if (bytes.length < INLINE_LIMIT) record.inline = { [blob]: bytes.toString("base64") };
    else await db.putBlob(bytes);
    record.output = { hash: blob, size: bytes.length, serializer: "v8", preview: `<${bytes.length} bytes>` };
  }
  const put = await db.putCommit(record);
  await store.index.addCommit(put.id);
  if (spec.moveHead !== false) await store.refs.update(ref, put.id, head);
  return { id: put.id, fingerprint: record.fingerprint, blob, record };
}

/** A fresh FsStore in a temp directory; `dispose` stops its daemon and removes the directory. */
export async function tempFsStore(): Promise<{ store: FsStore; dir: string; dispose: () => Promise<void> }> {
  const t = tempDir();
  const dir = join(t.dir, "store");
  const store = new FsStore(dir);
  return {
    store,
    dir,
    dispose: async () => {
      await store.stopDaemon();
      await store.close();
      t.remove();
    },
  };
}

/** The local backends a store rule is tested on: a memory store, and an fs store in a fresh directory under `dir`. */
export function localBackends(dir: string): Array<[string, () => Promise<{ store: Store; close: () => Promise<void> }>]> {
  return [
    ["MemoryStore", async () => {
      const store = new MemoryStore();
      return { store, close: () => store.close() };
    }],
    ["FsStore", async () => {
      const store = new FsStore(join(dir, randomBytes(4).toString("hex")));
      return { store, close: async () => (await store.stopDaemon(), await store.close()) };
    }],
  ];
}
