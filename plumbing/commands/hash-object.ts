// hash-object: the blob id of a file's bytes (sha256), optionally storing it as a blob.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { InvalidInputError } from "../errors.js";
import { ObjectDb } from "../objects.js";
import type { Store } from "../store/types.js";

export interface HashObjectOptions {
  /** A file path, or a stream (stdin). */
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
  const source = typeof options.source === "string" ? openFile(options.source) : options.source;
  if (options.write) {
    if (!options.store) throw new TypeError("hashObject: write needs a store");
    const put = await new ObjectDb(options.store.objects).putBlobStream(await source);
    await options.store.index.addBlob(put.id);
    return { id: put.id, size: put.size, written: put.created };
  }
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of await source) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { id: hash.digest("hex"), size, written: false };
}

/** Opens a file for reading, turning "no such file" into a one-line input error. */
function openFile(path: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(path);
    stream.once("open", () => resolve(stream));
    stream.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "ENOENT" || err.code === "EISDIR" || err.code === "EACCES"
        ? new InvalidInputError(`cannot read ${path}: ${err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "is a directory" : "permission denied"}`)
        : err),
    );
  });
}
