// Staging: objects an import has verified but not yet published. They wait outside the store's
// object namespace — in an fs store's tmp/ (the same filesystem, so publishing is a rename), for
// any other store in a private temp directory (publishing streams them in) — so nothing becomes
// visible before the whole archive is known good, and discarding them leaves the store as it was.
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm, unlink } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { assertId } from "./ids.js";
import { isMissing } from "./backends/fs/files.js";
import { objectPath, tmpDir } from "./backends/fs/layout.js";
import { FsObjects } from "./backends/fs/objects.js";
import type { ObjectStorage, ObjectWriter } from "./store.js";

export interface Staging {
  /** A writer whose `finish(id)` stages the bytes as `id`: give it to writeVerifiedBlob. */
  writer(): Promise<ObjectWriter>;
  /** Whether `id` is staged. */
  has(id: string): boolean;
  /** Moves every staged object into the store, one at a time, each atomically (in the order staged). */
  publish(): Promise<void>;
  /** Removes whatever is still staged (all of it, unless `publish` ran). Safe to call twice. */
  discard(): Promise<void>;
}

/**
 * A staging area for objects bound for `objects`. Nothing is created until the first write. In an
 * fs store the staged files are `tmp/import-<pid>-<random>-…`: a crash leaves them where `fsck
 * --repair` removes a crashed writer's temp files, and no object file, ref or index entry.
 */
export function openStaging(objects: ObjectStorage): Staging {
  const tag = `import-${process.pid}-${randomBytes(6).toString("hex")}`;
  const staged = new Set<string>();
  const writing = new Set<string>();
  let n = 0;

  // Where staged files live, and how one moves into the store.
  let dir: string | null = null;
  let place: (file: string, id: string) => Promise<void>;
  let removeDir = false;
  if (objects instanceof FsObjects) {
    dir = tmpDir(objects.dir);
    place = async (file, id) => {
      const target = objectPath(objects.dir, id);
      try {
        await rename(file, target); // over an existing copy of the same bytes is harmless
      } catch (err) {
        if (!isMissing(err)) throw err;
        await mkdir(dirname(target), { recursive: true }); // its fan-out directory is new
        await rename(file, target);
      }
    };
  } else {
    removeDir = true;
    place = async (file, id) => {
      const w = await objects.writer();
      try {
        for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) await w.write(chunk);
      } catch (err) {
        await w.abort();
        throw err;
      }
      await w.finish(id);
      await unlink(file);
    };
  }
  const home = async (): Promise<string> => {
    if (dir === null) dir = await mkdtemp(join(tmpdir(), "cashet-import-"));
    else if (!removeDir) await mkdir(dir, { recursive: true });
    return dir;
  };
  const file = (id: string): string => join(dir!, removeDir ? id : `${tag}-${id}`);

  return {
    async writer() {
      const temp = join(await home(), `${tag}-${++n}.tmp`);
      const out = createWriteStream(temp, { flags: "wx" });
      await once(out, "open");
      writing.add(temp);
      const close = async (s: WriteStream): Promise<void> => {
        if (s.closed) return;
        s.end();
        await once(s, "close");
      };
      return {
        write: (chunk) => new Promise<void>((resolve, reject) => void out.write(chunk, (err) => (err ? reject(err) : resolve()))),
        finish: async (id) => {
          await close(out);
          writing.delete(temp);
          if (staged.has(assertId(id))) {
            await unlink(temp);
            return false;
          }
          await rename(temp, file(id));
          staged.add(id);
          return true;
        },
        abort: async () => {
          out.on("error", () => undefined); // a write in flight fails late on the destroyed stream
          if (!out.closed) {
            out.destroy();
            await once(out, "close");
          }
          writing.delete(temp);
          await unlink(temp).catch(() => undefined);
        },
      };
    },
    has: (id) => staged.has(id),
    async publish() {
      for (const id of staged) {
        await place(file(id), id);
        staged.delete(id);
      }
    },
    async discard() {
      const leftovers = [...writing, ...[...staged].map(file)];
      writing.clear();
      staged.clear();
      if (removeDir) {
        if (dir !== null) await rm(dir, { recursive: true, force: true });
        dir = null;
        return;
      }
      for (const f of leftovers) await unlink(f).catch((err) => (isMissing(err) ? undefined : Promise.reject(err)));
    },
  };
}
