// Archive files for export and import: `.tar`, `.tar.gz`/`.tgz`, `.tar.zst` (tar-stream, with
// node:zlib or zstd-napi streaming) and `.zip` (yazl to write, yauzl to read), chosen by
// extension. One layout for all (docs/storage.md). Reading treats the archive as hostile: only
// regular files with names of the layout, no duplicates, declared sizes under a limit, and the
// bytes unpacked from the whole archive under a ceiling (a decompression bomb stops there).
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { createRequire } from "node:module";
import { PassThrough, Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { InvalidInputError } from "../plumbing/errors.js";

export type ArchiveFormat = "tar" | "tar.gz" | "tar.zst" | "zip";

/** The format a file name asks for; throws InvalidInputError for any other extension. */
export function formatOf(path: string): ArchiveFormat {
  const p = path.toLowerCase();
  if (p.endsWith(".tar.gz") || p.endsWith(".tgz")) return "tar.gz";
  if (p.endsWith(".tar.zst") || p.endsWith(".tzst")) return "tar.zst";
  if (p.endsWith(".tar")) return "tar";
  if (p.endsWith(".zip")) return "zip";
  throw new InvalidInputError(`${path}: unknown archive format (use .tar.gz, .tar.zst, .zip or .tar)`);
}

const require = createRequire(import.meta.url);
const tarStream = (): typeof import("tar-stream") => require("tar-stream") as typeof import("tar-stream");
const zstd = (): typeof import("zstd-napi") => require("zstd-napi") as typeof import("zstd-napi");

/** Writes entries into a new archive, streaming: one entry's bytes in memory at a time. */
export interface ArchiveWriter {
  /** Adds an entry: its bytes, or its size and its bytes a piece at a time (a large object). */
  add(name: string, bytes: Uint8Array | { size: number; chunks: AsyncIterable<Uint8Array> }): Promise<void>;
  /** Finishes the archive; resolves once it is on disk. */
  finish(): Promise<void>;
  abort(): void;
}

export function writeArchive(path: string, format = formatOf(path)): ArchiveWriter {
  const out = createWriteStream(path);
  if (format === "zip") {
    const { ZipFile } = require("yazl") as typeof import("yazl");
    const zip = new ZipFile();
    const done = pipeline(zip.outputStream, out);
    return {
      // Objects are zstd frames already: storing them again compressed is wasted work. yazl
      // writes entries in order; waiting for this one to be consumed keeps one in memory at a time.
      add: async (name, bytes) => {
        const size = bytes instanceof Uint8Array ? bytes.length : bytes.size;
        const source = Readable.from(bytes instanceof Uint8Array ? slices(bytes) : bytes.chunks);
        const consumed = new Promise<void>((resolve, reject) => source.on("end", resolve).on("error", reject));
        zip.addReadStream(source, name, { compress: !name.startsWith("objects/"), mtime: new Date(0), size });
        await consumed;
      },
      finish: async () => {
        zip.end();
        await done;
      },
      abort: () => out.destroy(),
    };
  }
  const pack = tarStream().pack();
  const compressor: Transform | null =
    format === "tar.gz" ? createGzip() : format === "tar.zst" ? (new (zstd().CompressStream)({ compressionLevel: 3 }) as unknown as Transform) : null;
  const done = compressor ? pipeline(pack, compressor, out) : pipeline(pack, out);
  return {
    // Written a slice at a time with backpressure, so a slow disk or compressor never makes
    // entries pile up in memory.
    add: async (name, bytes) => {
      const size = bytes instanceof Uint8Array ? bytes.length : bytes.size;
      const chunks = bytes instanceof Uint8Array ? slices(bytes) : bytes.chunks;
      await new Promise<void>((resolve, reject) => {
        let failed = false;
        const entry = pack.entry({ name, size, mode: 0o644, mtime: new Date(0), type: "file" }, (err) => (err ? ((failed = true), reject(err)) : resolve())) as unknown as NodeJS.WritableStream;
        void (async () => {
          for await (const slice of chunks) {
            if (failed) return;
            if (!entry.write(slice)) await new Promise<void>((r) => entry.once("drain", () => r()));
          }
          entry.end();
        })().catch(reject);
      });
    },
    finish: async () => {
      pack.finalize();
      await done;
    },
    abort: () => {
      pack.destroy();
      out.destroy();
    },
  };
}

/** 1 MiB views of `bytes` (no copies). */
function* slices(bytes: Uint8Array): Generator<Buffer> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off < buf.length; off += 1 << 20) yield buf.subarray(off, Math.min(buf.length, off + (1 << 20)));
}

export interface ReadLimits {
  /** Largest declared size of one entry (default 4 GiB). */
  maxEntryBytes?: number;
  /** Most bytes unpacked from the whole archive (default: 100 × its size, at least 1 GiB). */
  maxUnpackedBytes?: number;
}

/** One entry of an archive being read. */
export interface ArchiveEntry {
  name: string;
  /** The size its header declares. */
  size: number;
  /** Its bytes: consume before asking for the next entry. */
  stream: Readable;
}

/** Entry names the layout allows: the manifest, objects by id, refs by name. */
const NAME = /^(cashet-archive\.json|objects\/[0-9a-f]{64}|refs\/(fp\/[0-9a-f]{64}|pin\/[A-Za-z0-9._-]{1,100}))$/;

/**
 * The entries of the archive at `path`, in order, each checked before it is handed out: a
 * regular file, a name of the layout (so never absolute, never `..`), not seen before, a
 * declared size under the limit. The unpacked bytes of the whole archive are counted against a
 * ceiling. Throws InvalidInputError naming the entry.
 */
export async function* readArchive(path: string, limits: ReadLimits = {}, format = formatOf(path)): AsyncGenerator<ArchiveEntry> {
  const archiveBytes = statSync(path).size;
  const maxEntry = limits.maxEntryBytes ?? 4 * 1024 ** 3;
  const ceiling = limits.maxUnpackedBytes ?? Math.max(archiveBytes * 100, 1024 ** 3);
  const seen = new Set<string>();
  const check = (name: string, size: number, kind: string): void => {
    if (kind !== "file") throw new InvalidInputError(`archive entry ${JSON.stringify(name)} is a ${kind}, not a regular file`);
    if (!NAME.test(name)) throw new InvalidInputError(`archive entry ${JSON.stringify(name)} is not part of a cashet archive`);
    if (seen.has(name)) throw new InvalidInputError(`archive entry ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    if (!(size >= 0 && size <= maxEntry)) throw new InvalidInputError(`archive entry ${JSON.stringify(name)} declares ${size} bytes, over the limit of ${maxEntry}`);
  };
  let unpacked = 0;
  const meter = (what: string): Transform =>
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        unpacked += chunk.length;
        if (unpacked > ceiling) cb(new InvalidInputError(`${what} unpacks to more than ${ceiling} bytes (the ceiling for a ${archiveBytes}-byte archive): refusing it`));
        else cb(null, chunk);
      },
    });

  if (format === "zip") {
    yield* readZip(path, check, meter);
    return;
  }
  const source = createReadStream(path);
  const inflate: Transform | null =
    format === "tar.gz" ? createGunzip() : format === "tar.zst" ? (new (zstd().DecompressStream)() as unknown as Transform) : null;
  const extract = tarStream().extract();
  const stages = [source, ...(inflate ? [inflate, meter(path)] : [meter(path)]), extract as unknown as Writable];
  const piping = pipeline(stages as unknown as [Readable, ...Transform[], Writable]).catch((err: unknown) => {
    extract.destroy(err as Error);
  });
  try {
    for await (const entry of extract) {
      const { name, size, type } = entry.header;
      check(name, size ?? -1, type === "file" ? "file" : type === "symlink" || type === "link" ? "link" : type ?? "special file");
      yield { name, size: size ?? 0, stream: entry as unknown as Readable };
      entry.resume(); // whatever the consumer left unread
    }
  } catch (err) {
    throw asInvalid(err, path);
  } finally {
    source.destroy();
    await piping;
  }
}

async function* readZip(path: string, check: (name: string, size: number, kind: string) => void, meter: (what: string) => Transform): AsyncGenerator<ArchiveEntry> {
  const yauzl = require("yauzl") as typeof import("yauzl");
  const zip = await new Promise<import("yauzl").ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (err, z) => (err ? reject(asInvalid(err, path)) : resolve(z!))),
  );
  try {
    for (;;) {
      const entry = await new Promise<import("yauzl").Entry | null>((resolve, reject) => {
        const settle = (): void => {
          zip.off("entry", onEntry).off("end", onEnd).off("error", onError);
        };
        const onEntry = (e: import("yauzl").Entry): void => (settle(), resolve(e));
        const onEnd = (): void => (settle(), resolve(null));
        const onError = (err: Error): void => (settle(), reject(asInvalid(err, path)));
        zip.on("entry", onEntry).on("end", onEnd).on("error", onError);
        zip.readEntry();
      });
      if (!entry) return;
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      const kind = entry.fileName.endsWith("/") ? "directory" : mode === 0o120000 ? "link" : mode !== 0 && mode !== 0o100000 ? "special file" : "file";
      check(entry.fileName, entry.uncompressedSize, kind);
      const raw = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(asInvalid(err, path)) : resolve(s!))));
      const metered = new PassThrough();
      const piping = pipeline(raw, meter(entry.fileName), metered).catch((err: unknown) => metered.destroy(asInvalid(err, entry.fileName)));
      yield { name: entry.fileName, size: entry.uncompressedSize, stream: metered };
      metered.resume();
      await piping;
    }
  } finally {
    zip.close();
  }
}

/** Reads a whole entry (small ones: the manifest, commits, refs), refusing more than `max` bytes. */
export async function readAll(entry: ArchiveEntry, max: number): Promise<Buffer> {
  if (entry.size > max) throw new InvalidInputError(`archive entry ${JSON.stringify(entry.name)} is ${entry.size} bytes, more than the ${max} such an entry may have`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of entry.stream as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) throw new InvalidInputError(`archive entry ${JSON.stringify(entry.name)} is longer than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Stream and format errors of a hostile or damaged archive, as one-line bad-input errors. */
function asInvalid(err: unknown, what: string): Error {
  if (err instanceof InvalidInputError) return err;
  const message = (err as Error)?.message ?? String(err);
  return new InvalidInputError(`${what}: not a readable archive (${message.split("\n")[0]})`);
}

