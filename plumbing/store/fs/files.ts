// Atomic file writes: write a temp file in the store's tmp/ (same filesystem), then rename it
// into place. Readers see the old file or the whole new one, never a partial one.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

const madeDirs = new Set<string>();

/** mkdir -p, remembered per process so the hot path pays for it once. */
export function ensureDir(path: string): void {
  if (madeDirs.has(path)) return;
  mkdirSync(path, { recursive: true });
  madeDirs.add(path);
}

/** A unique temp path inside `tmp`, named after the writing process (see `tempWriter`). */
export function tempPath(tmp: string): string {
  return join(tmp, `${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
}

/** The pid of the process that named temp file `name` (a base name), or null if `tempPath` did not. */
export function tempWriter(name: string): number | null {
  const m = /^(\d+)-[0-9a-f]{16}\.tmp$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Writes `bytes` to `path` atomically through a temp file in `tmp`. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, tmp: string, dirOfPath: string): void {
  ensureDir(tmp);
  const temp = tempPath(tmp);
  const fd = openSync(temp, "wx");
  try {
    const buf = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (process.env.CASHET_FSYNC === "1") fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  try {
    ensureDir(dirOfPath);
    try {
      renameSync(temp, path);
    } catch (err) {
      if (!isMissing(err)) throw err;
      // Someone removed the directory since we made it (clear, gc): make it again, once.
      madeDirs.delete(dirOfPath);
      ensureDir(dirOfPath);
      renameSync(temp, path);
    }
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {}
    throw err;
  }
}

/** True for "no such file" errors. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
