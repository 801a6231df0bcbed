// `file(path)`: an argument that is a file, hashed by its contents (not its path), so a recipe
// re-runs when its input changes and the same input in another checkout still hits.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { InvalidInputError } from "../errors.js";
import { IDENTITY, PREVIEW } from "./args.js";

const CHUNK = 1024 * 1024;

/**
 * A file argument. Its identity is `file:<sha256 of the contents>` (the same id `hash-object`
 * gives the file), read once per instance: make a new `file(path)` to see later edits.
 * The function still receives the path.
 */
export class FileArg {
  #identity: Promise<string> | undefined;

  constructor(readonly path: string) {
    if (typeof path !== "string" || path === "") throw new InvalidInputError("file() needs a non-empty path");
  }

  [IDENTITY](): Promise<string> {
    if (!this.#identity) {
      this.#identity = contentHash(this.path).then(
        (hex) => `file:${hex}`,
        (err: unknown) => {
          this.#identity = undefined; // a missing file may appear; do not remember the failure
          throw err;
        },
      );
    }
    return this.#identity;
  }

  [PREVIEW](): string {
    return `<file ${this.path}>`;
  }

  toString(): string {
    return this.path;
  }
}

/** A file argument for `path` (relative paths resolve against the working directory). */
export function file(path: string): FileArg {
  return new FileArg(path);
}

/** sha256 of a regular file's contents, read in 1 MiB chunks. */
async function contentHash(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new InvalidInputError(`file argument "${path}" is a directory; file() takes a file`);
    if (!info.isFile()) throw new InvalidInputError(`file argument "${path}" is not a regular file`);
    const hash = createHash("sha256");
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(info.size, 1)));
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest("hex");
  } catch (err) {
    throw err instanceof InvalidInputError ? err : unreadable(path, err);
  } finally {
    await handle.close();
  }
}

function unreadable(path: string, err: unknown): InvalidInputError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return new InvalidInputError(`file argument "${path}" does not exist`);
  if (code === "EISDIR") return new InvalidInputError(`file argument "${path}" is a directory; file() takes a file`);
  if (code === "EACCES" || code === "EPERM") return new InvalidInputError(`file argument "${path}" cannot be read: permission denied`);
  return new InvalidInputError(`file argument "${path}" cannot be read: ${(err as Error | undefined)?.message ?? String(err)}`);
}
