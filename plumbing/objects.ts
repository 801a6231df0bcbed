// The object database: blobs and commits over any ObjectStorage. Encoding, hashing and
// verification live here, once, so every backend gets them. A blob is stored as one zstd frame
// of its bytes; a commit as its canonical JSON; the first byte tells them apart.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { decodeCommit, encodeCommit, inlineBlob, type Commit, type CommitRecord } from "./commit.js";
import { compress, createCompressStream, createDecompressStream, decompress, isZstdFrame } from "./compress.js";
import { AmbiguousIdError, CorruptObjectError, InvalidInputError, NotFoundError } from "./errors.js";
import { normalizePrefix, sha256 } from "./ids.js";
import type { ObjectStorage } from "./store.js";

export type ObjectKind = "blob" | "commit";

/** What reading an object found. Corrupt objects are reported, never returned as data. */
export type ObjectRead =
  | { kind: "blob"; id: string; bytes: Buffer; stored: number }
  | { kind: "commit"; id: string; commit: Commit; stored: number }
  | { kind: "missing"; id: string }
  | { kind: "corrupt"; id: string; reason: string };

export interface PutResult {
  id: string;
  /** Uncompressed size. */
  size: number;
  /** Bytes written to the store (0 when the object already existed). */
  stored: number;
  created: boolean;
}

/** The kind of stored bytes, judged by their first byte. */
export function storedKind(stored: Uint8Array): ObjectKind | null {
  if (isZstdFrame(stored)) return "blob";
  if (stored.length > 0 && stored[0] === 0x7b /* { */) return "commit";
  return null;
}

/** Decodes and verifies stored bytes under `id`. Never throws for bad data: reports it. */
export function decodeObject(id: string, stored: Uint8Array): ObjectRead {
  const kind = storedKind(stored);
  if (kind === "blob") {
    let bytes: Buffer;
    try {
      bytes = decompress(stored);
    } catch (err) {
      return { kind: "corrupt", id, reason: `zstd frame does not decode (${(err as Error).message})` };
    }
    if (sha256(bytes) !== id) return { kind: "corrupt", id, reason: "content does not match its id" };
    return { kind: "blob", id, bytes, stored: stored.length };
  }
  if (kind === "commit") {
    try {
      return { kind: "commit", id, commit: decodeCommit(id, stored), stored: stored.length };
    } catch (err) {
      return { kind: "corrupt", id, reason: (err as CorruptObjectError).message.replace(/^object \S+ is corrupt: /, "") };
    }
  }
  return { kind: "corrupt", id, reason: stored.length === 0 ? "empty file" : "unknown object format" };
}

/**
 * Checks a blob's stored bytes (zstd frames) against `id` a piece at a time: each piece goes
 * through a decompressor into sha256, so a blob of any size is verified in flat memory. `inflated`
 * bounds what the frames unpack to (shared by a caller across many blobs: an archive's ceiling).
 * `write` and `end` throw InvalidInputError for a broken frame, a bomb, or content that is not `id`.
 */
export class BlobVerifier {
  private readonly hash = createHash("sha256");
  private readonly inflate = createDecompressStream();
  private readonly drained: Promise<void>;

  constructor(
    private readonly id: string,
    inflated: { bytes: number; ceiling: number } = { bytes: 0, ceiling: Number.POSITIVE_INFINITY },
  ) {
    this.inflate.on("data", (chunk: Buffer) => {
      inflated.bytes += chunk.length;
      if (inflated.bytes > inflated.ceiling) this.inflate.destroy(new InvalidInputError(`unpacks to more than ${inflated.ceiling} bytes (a decompression bomb?): refusing it`));
      else this.hash.update(chunk);
    });
    this.drained = new Promise<void>((resolve, reject) => {
      this.inflate.on("end", resolve);
      this.inflate.on("error", reject);
    });
    this.drained.catch(() => undefined); // observed by write/end; never unhandled meanwhile
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.inflate.destroyed) await this.failure(); // it failed (a bomb, a broken frame): say why
    // Room again, or it was destroyed: the next piece (or end) finds out which.
    if (!this.inflate.write(chunk)) await new Promise((r) => (this.inflate.once("drain", r), this.inflate.once("close", r)));
  }

  /** Resolves once every piece decompressed to content whose sha256 is the id. */
  async end(): Promise<void> {
    if (this.inflate.destroyed) await this.failure();
    this.inflate.end();
    await this.failure();
    if (this.hash.digest("hex") !== this.id) throw new InvalidInputError(`its content does not match its id ${this.id.slice(0, 12)}`);
  }

  /** Stops early (the caller gave up). */
  destroy(): void {
    this.inflate.destroy();
  }

  private async failure(): Promise<void> {
    try {
      await this.drained;
    } catch (err) {
      throw err instanceof InvalidInputError ? err : new InvalidInputError(`not a blob: ${(err as Error).message.split("\n")[0]}`);
    }
  }
}

/**
 * Streams a blob's stored bytes into `storage` under `id`, verified as they pass (BlobVerifier):
 * only a matching hash finishes the write, so unverified bytes are never visible. `storage` is a
 * store's objects or anything else that hands out writers (an import's staging area). Throws
 * InvalidInputError.
 */
export async function writeVerifiedBlob(
  storage: Pick<ObjectStorage, "writer">,
  id: string,
  chunks: AsyncIterable<Uint8Array>,
  inflated?: { bytes: number; ceiling: number },
): Promise<{ stored: number; created: boolean }> {
  const writer = await storage.writer();
  const verifier = new BlobVerifier(id, inflated);
  let stored = 0;
  try {
    for await (const chunk of chunks) {
      await verifier.write(chunk);
      stored += chunk.length;
      await writer.write(chunk);
    }
    await verifier.end();
  } catch (err) {
    verifier.destroy();
    await writer.abort();
    throw err;
  }
  return { stored, created: await writer.finish(id) };
}

/** Blobs and commits, verified on every read. */
export class ObjectDb {
  constructor(readonly storage: ObjectStorage) {}

  /** Stores `bytes` as a blob (deduplicated: identical bytes are stored once). */
  async putBlob(bytes: Uint8Array): Promise<PutResult> {
    const id = sha256(bytes);
    const stored = compress(bytes);
    const created = await this.storage.write(id, stored);
    return { id, size: bytes.length, stored: created ? stored.length : 0, created };
  }

  /** Stores a blob from a stream without holding it in memory (hashing and compressing as it goes). */
  async putBlobStream(source: Readable | AsyncIterable<Uint8Array>): Promise<PutResult> {
    const writer = await this.storage.writer();
    const hash = createHash("sha256");
    const zstd = createCompressStream();
    let size = 0;
    let stored = 0;
    try {
      const drain = (async () => {
        for await (const chunk of zstd as AsyncIterable<Buffer>) {
          stored += chunk.length;
          await writer.write(chunk);
        }
      })();
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        size += chunk.length;
        if (!zstd.write(chunk)) await new Promise((resolve) => zstd.once("drain", resolve));
      }
      zstd.end();
      await drain;
    } catch (err) {
      zstd.destroy();
      await writer.abort();
      throw err;
    }
    const id = hash.digest("hex");
    const created = await writer.finish(id);
    return { id, size, stored: created ? stored : 0, created };
  }

  /**
   * The blob's bytes, verified, or null when it is missing or fails verification (a corrupt blob
   * is never returned, and is removed). `from` lets a blob carried inline in that commit be found without a file.
   */
  async getBlob(id: string, from?: CommitRecord): Promise<Buffer | null> {
    if (from) {
      const inline = inlineBlob(from, id);
      if (inline) return inline;
    }
    const read = await this.read(id);
    if (read.kind === "corrupt") {
      // Bad bytes can never become good: drop them, so the next write of this content lands
      // instead of being skipped as already stored.
      await this.storage.delete(id).catch(() => undefined);
    }
    return read.kind === "blob" ? read.bytes : null;
  }

  /** Stores a commit record; returns its id. */
  async putCommit(record: CommitRecord): Promise<PutResult> {
    const { id, bytes } = encodeCommit(record);
    const created = await this.storage.write(id, bytes);
    return { id, size: bytes.length, stored: created ? bytes.length : 0, created };
  }

  /** The commit, verified, or null when missing or corrupt. */
  async getCommit(id: string): Promise<Commit | null> {
    const read = await this.read(id);
    return read.kind === "commit" ? read.commit : null;
  }

  /** Reads and verifies any object, saying what it found. */
  async read(id: string): Promise<ObjectRead> {
    const stored = await this.storage.read(id);
    if (stored === null) return { kind: "missing", id };
    return decodeObject(id, stored);
  }

  /** Like `read`, but throws NotFoundError / CorruptObjectError instead of reporting them. */
  async readOrThrow(id: string, kind?: ObjectKind): Promise<Extract<ObjectRead, { kind: ObjectKind }>> {
    const read = await this.read(id);
    if (read.kind === "missing") throw new NotFoundError(`no object ${id.slice(0, 12)}`);
    if (read.kind === "corrupt") throw new CorruptObjectError(id, read.reason);
    if (kind && read.kind !== kind) throw new NotFoundError(`object ${id.slice(0, 12)} is a ${read.kind}, not a ${kind}`);
    return read;
  }

  /**
   * Resolves a user-given id or unique prefix (≥ 4 hex characters) to a full id.
   * With `kind`, only objects of that kind count. Throws NotFoundError or AmbiguousIdError.
   */
  async resolve(prefix: string, kind?: ObjectKind): Promise<string> {
    const p = normalizePrefix(prefix);
    const matches: string[] = [];
    for await (const { id } of this.storage.list(p)) {
      if (kind) {
        const head = await this.storage.read(id, 4); // the kind shows in the first bytes
        if (!head || storedKind(head) !== kind) continue;
      }
      matches.push(id);
      if (matches.length > 20) break;
    }
    if (matches.length === 0) {
      const what = kind ?? "object";
      throw new NotFoundError(`no ${what} matches "${prefix}" (try \`cashet log\`)`);
    }
    if (matches.length > 1) throw new AmbiguousIdError(prefix, matches);
    return matches[0]!;
  }
}
