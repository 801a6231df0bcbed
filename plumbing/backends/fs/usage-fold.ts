// Folding the fs store's stats files into its index. Each process appends its batches of call
// counts to a file of its own (`FsUsage` in ./store.ts: a hit never talks to the daemon); the
// daemon folds the files into the LevelDB counts (plumbing/index/usage.ts) when they are asked
// for, at its start, every few seconds while it runs and before it exits, and removes a file once
// its writer is done or gone. Loaded by the daemon, and by a reader of a store it cannot write.
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { UsageDb } from "../../index/usage.js";
import type { FunctionUsage } from "../../store.js";
import { STATS_FILE, statsDir, statsHost } from "./layout.js";
/** A stats file of another host's process (a store on a shared mount) is presumed finished when untouched this long. */
const FOREIGN_FILE_MS = 7 * 24 * 3600_000;

/**
 * Folds every stats file of the store at `dir` into `db`: the complete lines not yet folded,
 * together with how far the file is folded, in one atomic write (so a line is counted once, even
 * if this stops halfway). With `remove`, a file whose writer is done (`.done`) or gone (a dead
 * process of this host; another host's, untouched for a week) is removed once folded. Only the
 * store's daemon removes; a reader of a store it cannot write folds into a private copy.
 */
export async function foldUsage(dir: string, db: UsageDb, options: { remove: boolean }): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(statsDir(dir));
  } catch {
    names = [];
  }
  for (const file of names) {
    const m = STATS_FILE.exec(file);
    if (!m) continue;
    const name = file.slice(0, file.lastIndexOf("."));
    const path = join(statsDir(dir), file);
    let bytes: Buffer;
    let mtime: number;
    try {
      bytes = readFileSync(path);
      mtime = statSync(path).mtimeMs;
    } catch {
      continue; // renamed to .done or removed since the listing: the next fold sees it
    }
    const end = bytes.lastIndexOf(0x0a) + 1; // a line still being written waits for its newline
    const from = db.folded(name);
    if (end > from) {
      const { rows, at } = parseLines(bytes.subarray(from, end));
      await db.fold(rows, { name, offset: end }, at ?? mtime);
    }
    if (!options.remove) continue;
    if (m[3] === "done" || writerGone(m[1]!, Number(m[2]), mtime)) {
      try {
        unlinkSync(path);
      } catch {
        continue;
      }
      await db.forget(name);
    }
  }
  if (!options.remove) return;
  // An offset whose file is gone (we stopped between removing it and forgetting it). A `.log`
  // only ever becomes `.done`, so looking for the `.log` first cannot miss a file being renamed.
  for (const name of await db.files()) {
    const here = existsSync(join(statsDir(dir), `${name}.log`)) || existsSync(join(statsDir(dir), `${name}.done`));
    if (!here) await db.forget(name);
  }
}

/** The rows of complete JSON lines, and when the first was written; a line that does not parse (a torn write) counts nothing. */
function parseLines(bytes: Buffer): { rows: FunctionUsage[]; at: number | null } {
  const rows: FunctionUsage[] = [];
  let at: number | null = null;
  for (const line of bytes.toString("utf8").split("\n")) {
    if (!line) continue;
    let parsed: { rows?: unknown; at?: unknown };
    try {
      parsed = JSON.parse(line) as { rows?: unknown; at?: unknown };
    } catch {
      continue;
    }
    if (!Array.isArray(parsed.rows)) continue;
    if (typeof parsed.at === "number" && Number.isFinite(parsed.at)) at = Math.min(at ?? Infinity, parsed.at);
    for (const r of parsed.rows as Array<Partial<FunctionUsage>>) {
      const n = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : 0);
      if (typeof r?.name !== "string" || typeof r.module !== "string") continue;
      rows.push({ name: r.name, module: r.module, hits: n(r.hits), misses: n(r.misses), savedMs: n(r.savedMs) });
    }
  }
  return { rows, at };
}

function writerGone(host: string, pid: number, mtime: number): boolean {
  if (host !== statsHost()) return Date.now() - mtime > FOREIGN_FILE_MS;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH"; // EPERM: alive, another user's
  }
}
