// Atomic file writes: write a temp file in the store's tmp/ (same filesystem), then rename it
// into place. Readers see the old file or the whole new one, never a partial one; a write that
// fails removes its temp file. Also: what a refused write means (a read-only or full disk).
import { randomBytes } from "node:crypto";
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { StoreFullError, StoreReadOnlyError } from "../../errors.js";

const madeDirs = new Set<string>();

/** mkdir -p, remembered per process so the hot path pays for it once. */
export function ensureDir(path: string): void {
  if (madeDirs.has(path)) return;
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    // Node's recursive mkdir reports a read-only mount as ENOENT (it stats the path to explain
    // EROFS): ask the nearest directory that exists why it takes nothing.
    if (isMissing(err)) {
      let parent = dirname(path);
      while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
      accessSync(parent, constants.W_OK);
    }
    throw err;
  }
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

/** Writes `bytes` to `path` atomically through a temp file in `tmp`; on any failure the temp file is gone. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, tmp: string, dirOfPath: string): void {
  ensureDir(tmp);
  const temp = tempPath(tmp);
  const fd = openSync(temp, "wx");
  let open = true;
  try {
    const buf = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (process.env.CASHET_FSYNC === "1") fsyncSync(fd);
    open = false;
    closeSync(fd);
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
    if (open) {
      try {
        closeSync(fd);
      } catch {}
    }
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

/** The disk refuses every write: a read-only mount, or a store this user may not write. */
const READ_ONLY = new Set(["EROFS", "EACCES", "EPERM"]);
/** The disk takes no more bytes. */
const FULL = new Set(["ENOSPC", "EDQUOT"]);

/** The error for a store at `dir` that cannot be written (`code`: EROFS, EACCES or EPERM). */
export function readOnlyStore(dir: string, code: string, cause?: unknown): StoreReadOnlyError {
  const whose = code === "EROFS" ? "" : " to this user";
  return new StoreReadOnlyError(`the store ${dir} is read-only${whose} (${code}): hits are served, nothing can be recorded`, { cause });
}

/**
 * What a failed write into the store at `dir` means: a StoreReadOnlyError or StoreFullError when
 * the disk refused it (one line naming the store, CLI exit 3), else `err` itself.
 */
export function refusedWrite(dir: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code !== "string") return err;
  if (READ_ONLY.has(code)) return readOnlyStore(dir, code, err);
  if (FULL.has(code)) {
    return new StoreFullError(`the disk holding the store ${dir} is full (${code}): free some space or run \`cashet gc\`; earlier results still hit`, { cause: err });
  }
  return err;
}

/** Why this process cannot write the store at `dir` (EROFS, EACCES, EPERM), or null when it can. One access(2) call. */
export function unwritable(dir: string, probe: string): string | null {
  for (const path of [probe, dir]) {
    try {
      accessSync(path, constants.W_OK);
      return null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (READ_ONLY.has(code)) return code;
      if (!isMissing(err)) return null; // something else: let the write itself say what
    }
  }
  return null;
}
