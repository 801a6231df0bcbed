// export / import: move runs between stores through an archive — CI warm-up above all. Export
// streams the chosen commits, every object they need and the refs on them; import reads and
// verifies the whole archive into a staging area before it changes anything, and only then
// publishes blobs, commits (indexed) and refs (forward only), so a refused import leaves the
// store as it was. An archive may come from a fork's CI: it is read as hostile (archive.ts).
import { statSync } from "node:fs";
import { bringInCommit, neededBlobs } from "../plumbing/bring-in.js";
import { commitBlobs, decodeCommit, type Commit } from "../plumbing/commit.js";
import { CashetError, CorruptObjectError, InvalidInputError, NotFoundError } from "../plumbing/errors.js";
import { isId } from "../plumbing/ids.js";
import { isZstdFrame } from "../plumbing/compress.js";
import { ObjectDb, writeVerifiedBlob } from "../plumbing/objects.js";
import { openStaging, type Staging } from "../plumbing/staging.js";
import type { Store } from "../plumbing/store.js";
import { readAll, readArchive, writeArchive, type ReadLimits } from "./archive.js";
import { chosenRuns, type RunFilters } from "./log.js";
import { CASHET_VERSION } from "./provenance.js";

const MANIFEST = "cashet-archive.json";
const FORMAT = "cashet-archive";
const VERSION = 1;
/** Commits, refs and the manifest are small: anything bigger is not one. */
const SMALL_ENTRY = 16 * 1024 * 1024;

interface Manifest {
  format: typeof FORMAT;
  version: number;
  cashet: string;
  createdAt: string;
  commits: number;
  blobs: number;
  refs: number;
}

export interface ExportFilters extends RunFilters {
  /** Also the earlier runs each chosen run descends from. */
  withHistory?: boolean;
  /** Told after each object: written so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface TransferCounts {
  commits: number;
  blobs: number;
  refs: number;
  /** Bytes of objects written to the archive (export) or newly stored (import). */
  bytes: number;
  /** Import: objects already in the store, left as they were. */
  skipped?: number;
}

/** Writes the chosen runs of `store` to the archive at `path` (format by extension). */
export async function exportArchive(store: Store, path: string, filters: ExportFilters = {}): Promise<TransferCounts> {
  const db = new ObjectDb(store.objects);
  const entries = await chosenRuns(store, filters);
  // The plan first (ids only), so the manifest can say what follows and memory stays flat.
  const commitIds = new Set(entries.map((e) => e.id));
  const blobIds = new Set<string>();
  for (const e of entries) for (const b of e.blobs) if (!b.inline) blobIds.add(b.id);
  if (filters.withHistory) {
    for (const e of entries) {
      for (let c = (await db.getCommit(e.id))?.parent ?? null; c && !commitIds.has(c); ) {
        const parent = await db.getCommit(c);
        if (!parent) break;
        commitIds.add(c);
        for (const b of commitBlobs(parent)) if (!b.inline) blobIds.add(b.id);
        c = parent.parent;
      }
    }
  }
  const refs = [...(await store.refs.list("fp/")), ...(await store.refs.list("pin/"))].filter((r) => commitIds.has(r.id));
  const manifest: Manifest = { format: FORMAT, version: VERSION, cashet: CASHET_VERSION, createdAt: new Date().toISOString(), commits: commitIds.size, blobs: blobIds.size, refs: refs.length };

  const out = writeArchive(path);
  const counts: TransferCounts = { commits: 0, blobs: 0, refs: 0, bytes: 0 };
  const total = commitIds.size + blobIds.size;
  try {
    await out.add(MANIFEST, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    // Blobs before the commits that need them: an import stores what it verified as it goes.
    for (const id of blobIds) {
      // Streamed where the store can (a large output never sits in memory whole).
      const stored = store.objects.stream ? await store.objects.stream(id) : await store.objects.read(id);
      if (!stored) throw new CorruptObjectError(id, "a chosen run needs it and the store does not have it (try `cashet fsck`)");
      await out.add(`objects/${id}`, stored);
      counts.blobs++;
      counts.bytes += stored instanceof Uint8Array ? stored.length : stored.size;
      filters.onProgress?.(counts.blobs + counts.commits, total);
    }
    for (const id of commitIds) {
      const stored = await store.objects.read(id);
      if (!stored) continue; // removed since the plan: its refs are left out below
      await out.add(`objects/${id}`, stored);
      counts.commits++;
      counts.bytes += stored.length;
      filters.onProgress?.(counts.blobs + counts.commits, total);
    }
    for (const r of refs) {
      await out.add(`refs/${r.name}`, Buffer.from(`${r.id}\n`));
      counts.refs++;
    }
    await out.finish();
  } catch (err) {
    out.abort();
    throw err;
  }
  return counts;
}

export interface ImportOptions extends ReadLimits {
  /** Told after each entry: entries read so far and the total the manifest announces. */
  onProgress?: (entries: number, total: number) => void;
}

/**
 * Imports the archive at `path` into `store`, in three steps, and only the last one changes the
 * store. Read: every entry is checked as it streams — blobs decompressed and hashed into a
 * staging area (plumbing/staging.ts), commits decoded and held, refs collected. Check: the
 * manifest's counts, every object a commit names (staged, stored, or inline), every ref (names a
 * commit of the archive or the store, of its own call). Publish: staged blobs move into place,
 * then each commit is written and indexed, then refs move — forward only (an existing head that
 * is newer stays, the imported run joins the history). Objects already stored are skipped, so
 * importing twice changes nothing. A refusal — InvalidInputError (exit 2) naming the first bad
 * entry — comes before publishing and removes the staging area: the store is as it was.
 */
export async function importArchive(store: Store, path: string, options: ImportOptions = {}): Promise<TransferCounts> {
  const staging = openStaging(store.objects);
  try {
    const read = await readVerified(store, staging, path, options);
    const refs = await checkReferences(store, staging, read, path);
    return await publish(store, staging, read, refs);
  } finally {
    await staging.discard(); // all of it after a refusal; nothing left after publish
  }
}

/** What reading an archive found: everything it holds, verified, and nothing of it in the store yet. */
/**
 * What the checks need of a commit held until the archive is known good. Its bytes are kept for
 * publishing (brought in from them, decoded and verified again); the decoded record is not — a
 * commit whose closure has hundreds of components is mostly objects in memory, and an archive
 * holds many.
 */
interface HeldCommit {
  id: string;
  fingerprint: string;
  createdAt: string;
  /** The blobs it names that must be staged or stored (plumbing/bring-in.ts `neededBlobs`). */
  needs: string[];
}

/** A run a ref of the archive names: held, or already in the store. */
type HeldRun = Pick<Commit, "id" | "fingerprint" | "createdAt">;

interface ReadArchive {
  commits: Array<{ commit: HeldCommit; bytes: Buffer }>;
  refs: Array<{ name: string; id: string }>;
  counts: TransferCounts;
}

/** Reads every entry, staging blobs (verified) and holding commits and refs. Changes nothing in the store. */
async function readVerified(store: Store, staging: Staging, path: string, options: ImportOptions): Promise<ReadArchive> {
  // Blobs are zstd frames: what they inflate to counts against the same ceiling as the archive.
  const ceiling = options.maxUnpackedBytes ?? Math.max(statSync(path).size * 100, 1024 ** 3);
  const inflated = { bytes: 0, ceiling };
  const counts: TransferCounts = { commits: 0, blobs: 0, refs: 0, bytes: 0, skipped: 0 };
  let manifest: Manifest | null = null;
  const commits: Array<{ commit: HeldCommit; bytes: Buffer }> = [];
  const refs: Array<{ name: string; id: string }> = [];
  let blobs = 0;
  let n = 0;
  try {
    await readEntries();
  } catch (err) {
    if (err instanceof CashetError) throw err;
    // A stream error surfacing through an entry (a truncated gzip, a broken zstd frame).
    throw new InvalidInputError(`${path}: not a readable archive (${((err as Error)?.message ?? String(err)).split("\n")[0]})`);
  }
  async function readEntries(): Promise<void> {
  for await (const entry of readArchive(path, options)) {
    n++;
    if (!manifest) {
      if (entry.name !== MANIFEST) throw new InvalidInputError(`${path}: the first entry must be ${MANIFEST}, not ${JSON.stringify(entry.name)}`);
      manifest = parseManifest(await readAll(entry, SMALL_ENTRY), path);
      continue;
    }
    if (entry.name === MANIFEST) throw new InvalidInputError(`archive entry ${MANIFEST} appears twice`);
    if (entry.name.startsWith("refs/")) {
      const id = (await readAll(entry, 128)).toString("utf8").trim();
      if (!isId(id)) throw new InvalidInputError(`archive entry ${JSON.stringify(entry.name)} does not hold a commit id`);
      refs.push({ name: entry.name.slice("refs/".length), id });
      continue;
    }
    const id = entry.name.slice("objects/".length);
    // One iterator for the whole entry: the first chunk says what it is, the rest follows.
    const chunks = (entry.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const head = await chunks.next();
    const first = head.done ? Buffer.alloc(0) : head.value;
    const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => chunks };
    if (first.length === 0) throw new InvalidInputError(`archive entry ${JSON.stringify(entry.name)} is empty`);
    if (first[0] === 0x7b) {
      const bytes = Buffer.concat([first, await collect(rest, SMALL_ENTRY - first.length, entry.name)]);
      let commit: Commit;
      try {
        commit = decodeCommit(id, bytes);
      } catch (err) {
        throw new InvalidInputError(`archive entry ${JSON.stringify(entry.name)}: ${(err as Error).message}`);
      }
      // Held until the whole archive is known good: a commit object in a store is visible (an
      // index rebuild would find it).
      commits.push({ commit: { id, fingerprint: commit.fingerprint, createdAt: commit.createdAt, needs: neededBlobs(commit) }, bytes });
    } else if (isZstdFrame(first)) {
      blobs++;
      const stored = await stageBlob(store, staging, id, first, rest, entry.name, inflated);
      if (stored === null) counts.skipped!++;
      else {
        counts.blobs++;
        counts.bytes += stored;
      }
    } else {
      throw new InvalidInputError(`archive entry ${JSON.stringify(entry.name)} is neither a commit nor a blob`);
    }
    options.onProgress?.(n, manifest ? 1 + manifest.commits + manifest.blobs + manifest.refs : n);
  }
  }
  const m = manifest as Manifest | null; // set by readEntries
  if (!m) throw new InvalidInputError(`${path}: an empty archive (no ${MANIFEST})`);
  // An archive cut short between two entries reads as a shorter one: the manifest tells.
  for (const [what, held] of [["commits", commits.length], ["blobs", blobs], ["refs", refs.length]] as const) {
    if (held !== m[what]) throw new InvalidInputError(`${path}: the manifest lists ${m[what]} ${what} but the archive holds ${held} (truncated?)`);
  }
  return { commits, refs, counts };
}

/** Checks every reference the archive makes before anything is published; returns each ref with its commit. */
async function checkReferences(store: Store, staging: Staging, read: ReadArchive, path: string): Promise<Array<{ name: string; commit: HeldRun }>> {
  const db = new ObjectDb(store.objects);
  // Everything a commit names must be staged, stored, or ride inline in it — checked for the
  // whole archive before anything is published, and again as each commit is brought in.
  for (const { commit: c } of read.commits) {
    let missing: string | null = null;
    for (const id of c.needs) if (!missing && !(staging.has(id) || (await store.objects.size(id)) !== null)) missing = id;
    if (missing) throw new InvalidInputError(`${path}: commit ${c.id.slice(0, 12)} needs object ${missing.slice(0, 12)}, which is neither in the archive nor in the store`);
  }
  const byId = new Map(read.commits.map(({ commit: c }) => [c.id, c]));
  const refs: Array<{ name: string; commit: HeldRun }> = [];
  for (const r of read.refs) {
    const commit = byId.get(r.id) ?? (await db.getCommit(r.id));
    if (!commit) throw new InvalidInputError(`archive entry "refs/${r.name}" names commit ${r.id.slice(0, 12)}, which the archive does not hold`);
    if (r.name.startsWith("fp/") && commit.fingerprint !== r.name.slice(3)) throw new InvalidInputError(`archive entry "refs/${r.name}" names a run of another call`);
    refs.push({ name: r.name, commit });
  }
  return refs;
}

/**
 * Makes a checked archive visible, in the order that keeps every moment of it sound: blobs into
 * place (unreferenced, so invisible), then each commit brought in — written and indexed only
 * once all it names is in place (plumbing/bring-in.ts) — then refs (every commit a ref reaches is
 * indexed). docs/decisions.md §9 says
 * what a crash at each step leaves.
 */
async function publish(store: Store, staging: Staging, read: ReadArchive, refs: Array<{ name: string; commit: HeldRun }>): Promise<TransferCounts> {
  const { counts } = read;
  await staging.publish();
  for (const { commit: c, bytes } of read.commits) {
    const brought = await bringInCommit(store, c.id, bytes);
    // Checked before publishing, so only a blob removed meanwhile (a gc racing the import) gets here.
    if (!brought.brought) throw new NotFoundError(`commit ${c.id.slice(0, 12)} needs object ${brought.missing.slice(0, 12)}, which left the store during the import: import again`);
    if (brought.created) {
      counts.commits++;
      counts.bytes += bytes.length;
    } else {
      counts.skipped!++;
    }
  }
  const db = new ObjectDb(store.objects);
  for (const r of refs) if (await moveForward(store, db, r.name, r.commit)) counts.refs++;
  return counts;
}

/** Moves `ref` to `commit` unless it already names a run at least as new. */
async function moveForward(store: Store, db: ObjectDb, ref: string, commit: HeldRun): Promise<boolean> {
  for (;;) {
    const head = await store.refs.read(ref);
    if (head === commit.id) return false;
    if (head) {
      const current = await db.getCommit(head);
      if (current && Date.parse(current.createdAt) >= Date.parse(commit.createdAt)) return false; // a newer local head stays
    }
    if (await store.refs.update(ref, commit.id, head)) return true;
  }
}

/** Streams a blob entry into the staging area, verifying as it goes: staged only if its content hashes to `id`. Null when the store has it already. */
async function stageBlob(store: Store, staging: Staging, id: string, first: Buffer, rest: AsyncIterable<Buffer>, name: string, inflated: { bytes: number; ceiling: number }): Promise<number | null> {
  if (!isId(id)) throw new InvalidInputError(`archive entry ${JSON.stringify(name)} is not named by an object id`);
  if ((await store.objects.size(id)) !== null) {
    for await (const _ of rest) void _; // drain; the stored copy was verified when it came
    return null;
  }
  try {
    return (await writeVerifiedBlob(staging, id, prepend(first, rest), inflated)).stored;
  } catch (err) {
    throw new InvalidInputError(`archive entry ${JSON.stringify(name)}: ${(err as Error).message.split("\n")[0]}`);
  }
}

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield first;
  yield* rest;
}

/** The rest of an entry, refusing more than `max` bytes. */
async function collect(rest: AsyncIterable<Buffer>, max: number, name: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of rest) {
    n += chunk.length;
    if (n > max) throw new InvalidInputError(`archive entry ${JSON.stringify(name)} is too long for a commit`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

function parseManifest(bytes: Buffer, path: string): Manifest {
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(bytes.toString("utf8")) as Partial<Manifest>;
  } catch {
    throw new InvalidInputError(`${path}: ${MANIFEST} is not valid JSON`);
  }
  if (m?.format !== FORMAT) throw new InvalidInputError(`${path}: not a cashet archive (${MANIFEST} has no "format": "${FORMAT}")`);
  if (m.version !== VERSION) throw new InvalidInputError(`${path}: archive format version ${String(m.version)} is not supported (this cashet reads ${VERSION})`);
  for (const k of ["commits", "blobs", "refs"] as const) {
    if (!(Number.isSafeInteger(m[k]) && m[k]! >= 0)) throw new InvalidInputError(`${path}: ${MANIFEST} has a bad "${k}" count`);
  }
  return m as Manifest;
}

