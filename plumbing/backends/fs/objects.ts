// Objects as files, git's own model: objects/xx/<rest of id>. Written temp-file-then-rename, so
// any number of processes write without coordination; the file's mtime records the last access
// (best effort). A write the disk refuses (read-only, full) throws StoreReadOnlyError / StoreFullError.
import { createWriteStream } from "node:fs";
import * as fs from "node:fs";
import { dirname, join } from "node:path";
import { once } from "node:events";
import type { ObjectStorage, ObjectWriter, StoredObject } from "../../store.js";
import { ensureDir, isMissing, refusedWrite, tempPath, writeFileAtomic } from "./files.js";
import { objectPath, objectsDir, tmpDir } from "./layout.js";

/** Reads under this size are done synchronously: cheaper than a trip through the thread pool. */
const SYNC_READ_LIMIT = 256 * 1024;
const STRAY_AGE_MS = Number(process.env.CASHET_STRAY_AGE_MS ?? 10 * 60_000);
const HEX2 = /^[0-9a-f]{2}$/;
const REST = /^[0-9a-f]{62}$/;

export class FsObjects implements ObjectStorage {
  constructor(readonly dir: string) {}

  async read(id: string, maxBytes?: number): Promise<Uint8Array | null> {
    const path = objectPath(this.dir, id);
    let fd: number;
    try {
      fd = fs.openSync(path, "r");
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    try {
      const size = Math.min(fs.fstatSync(fd).size, maxBytes ?? Infinity);
      if (size >= SYNC_READ_LIMIT) {
        // Large: read off the main thread, from the descriptor we hold (the file may be replaced).
        const buf = Buffer.allocUnsafe(size);
        let off = 0;
        while (off < size) {
          const { bytesRead } = await promisifiedRead(fd, buf, off, size - off, off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
        return off === size ? buf : buf.subarray(0, off);
      }
      const buf = Buffer.allocUnsafe(size);
      let off = 0;
      while (off < size) {
        const n = fs.readSync(fd, buf, off, size - off, off);
        if (n === 0) break;
        off += n;
      }
      return off === size ? buf : buf.subarray(0, off);
    } finally {
      fs.closeSync(fd);
    }
  }

  async write(id: string, bytes: Uint8Array): Promise<boolean> {
    const path = objectPath(this.dir, id);
    if (this.exists(path)) {
      await this.touch(id); // a fresh use: keeps a concurrent gc's grace period honest
      return false;
    }
    if (bytes.length < SYNC_READ_LIMIT) {
      try {
        writeFileAtomic(path, bytes, tmpDir(this.dir), dirname(path));
      } catch (err) {
        throw refusedWrite(this.dir, err);
      }
      return true;
    }
    // Large: write through the thread pool so the event loop keeps serving others.
    const w = await this.writer();
    try {
      await w.write(bytes);
    } catch (err) {
      await w.abort();
      throw err;
    }
    return w.finish(id);
  }

  /** A streaming write to a temp file; whatever fails (open, a chunk, the close, the rename), the temp file is removed. */
  async writer(): Promise<ObjectWriter> {
    const tmp = tmpDir(this.dir);
    const temp = tempPath(tmp);
    let out: fs.WriteStream;
    try {
      ensureDir(tmp);
      out = createWriteStream(temp, { flags: "wx" });
      await once(out, "open");
    } catch (err) {
      throw refusedWrite(this.dir, err);
    }
    // The stream also emits each failure as an event after the write's callback has it: never unhandled.
    let failure: Error | null = null;
    out.on("error", (err) => (failure ??= err));
    const closed = (): Promise<void> =>
      new Promise((resolve) => {
        if (out.closed) return resolve();
        out.once("close", () => resolve());
        out.destroy();
      });
    const removeTemp = (): Promise<void> => fs.promises.unlink(temp).catch(() => undefined);
    return {
      // Each chunk is on its way to the file before the next is taken, so an abort never races a write.
      write: (chunk) =>
        new Promise<void>((resolve, reject) => void out.write(chunk, (err) => (err ? reject(refusedWrite(this.dir, err)) : resolve()))),
      finish: async (id) => {
        try {
          if (out.destroyed) throw failure ?? new Error("the object writer was already closed");
          await new Promise<void>((resolve, reject) => {
            out.once("error", reject);
            out.once("close", () => resolve());
            out.end();
          });
          const path = objectPath(this.dir, id);
          if (this.exists(path)) {
            await removeTemp();
            await this.touch(id);
            return false;
          }
          ensureDir(dirname(path));
          await fs.promises.rename(temp, path);
          return true;
        } catch (err) {
          await closed();
          await removeTemp();
          throw refusedWrite(this.dir, err);
        }
      },
      abort: async () => {
        await closed(); // a write may still be in flight: its late failure on a destroyed stream is expected
        await removeTemp();
      },
    };
  }

  async delete(id: string): Promise<boolean> {
    try {
      fs.unlinkSync(objectPath(this.dir, id));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw refusedWrite(this.dir, err);
    }
  }

  async size(id: string): Promise<number | null> {
    try {
      return fs.statSync(objectPath(this.dir, id)).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async *list(prefix = ""): AsyncIterable<StoredObject> {
    const root = objectsDir(this.dir);
    const fans = prefix.length >= 2 ? [prefix.slice(0, 2)] : await readdirOrEmpty(root);
    for (const fan of fans.sort()) {
      if (!HEX2.test(fan) || !fan.startsWith(prefix.slice(0, 2))) continue;
      const rest = prefix.slice(2);
      for (const name of (await readdirOrEmpty(join(root, fan))).sort()) {
        if (!REST.test(name) || !name.startsWith(rest)) continue;
        const size = await this.size(fan + name);
        if (size !== null) yield { id: fan + name, size };
      }
    }
  }

  async stream(id: string): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> } | null> {
    const path = objectPath(this.dir, id);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(path, "r");
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    const { size } = await handle.stat();
    // From the descriptor opened above: a rename over the path meanwhile cannot mix two files.
    return { size, chunks: handle.createReadStream({ highWaterMark: 1 << 20, end: Math.max(0, size - 1), autoClose: true }) };
  }

  /**
   * Records a use as the file's mtime, best effort: a read-only mount (EROFS) or another user's
   * store (EPERM: only the owner may set a file's times) still serves its hits; gc there only sees
   * older access times.
   */
  async touch(id: string): Promise<void> {
    const path = objectPath(this.dir, id);
    const now = Date.now() / 1000;
    try {
      fs.utimesSync(path, now, now);
    } catch {}
  }

  async accessedAt(id: string): Promise<number | null> {
    try {
      return fs.statSync(objectPath(this.dir, id)).mtimeMs;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** Temp files older than STRAY_AGE_MS: their writers are dead (a write takes far less). */
  async strays(): Promise<string[]> {
    const tmp = tmpDir(this.dir);
    const out: string[] = [];
    for (const name of await readdirOrEmpty(tmp)) {
      try {
        if (Date.now() - fs.statSync(join(tmp, name)).mtimeMs > STRAY_AGE_MS) out.push(`tmp/${name}`);
      } catch {}
    }
    return out;
  }

  async removeStray(name: string): Promise<void> {
    if (!/^tmp\/[^/\\]+$/.test(name)) throw new TypeError(`not a stray file: ${name}`);
    await fs.promises.unlink(join(this.dir, name)).catch((err) => (isMissing(err) ? undefined : Promise.reject(err)));
  }

  private exists(path: string): boolean {
    try {
      fs.accessSync(path);
      return true;
    } catch {
      return false;
    }
  }
}

function promisifiedRead(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<{ bytesRead: number }> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, off, len, pos, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead }))),
  );
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(path);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}
