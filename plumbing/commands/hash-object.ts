// hash-object: the blob id of a file's bytes (sha256), optionally storing it as a blob.
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { InvalidInputError } from "../errors.js";
import { ObjectDb } from "../objects.js";
import type { Store } from "../store.js";

export interface HashObjectOptions {
  /** A file path, or a stream (stdin, or one from `openInput`). */
  source: string | Readable;
  /** Store the blob (and register it in the index). Requires `store`. */
  write?: boolean;
  store?: Store;
}

export interface HashObjectResult {
  id: string;
  size: number;
  /** True when the blob was newly stored. */
  written: boolean;
}

/** Hashes (and with `write`, stores) the bytes of a file or stream, without holding them in memory. */
export async function hashObject(options: HashObjectOptions): Promise<HashObjectResult> {
  const source = typeof options.source === "string" ? await openInput(options.source) : options.source;
  if (options.write) {
    if (!options.store) throw new TypeError("hashObject: write needs a store");
    const put = await new ObjectDb(options.store.objects).putBlobStream(source);
    await options.store.index.addBlob(put.id);
    return { id: put.id, size: put.size, written: put.created };
  }
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { id: hash.digest("hex"), size, written: false };
}

/** Opens a file for reading, turning "no such file" and the like into a one-line input error. */
export async function openInput(path: string): Promise<Readable> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : null;
    if (why) throw new InvalidInputError(`cannot read ${path}: ${why}`);
    throw err;
  }
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw new InvalidInputError(`cannot read ${path}: is a directory`);
  }
  return handle.createReadStream();
}
