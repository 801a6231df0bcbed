// The index of a store this process cannot write (a read-only mount, another user's store). No
// daemon can serve it — LevelDB writes its lock file and log even to read — so log, stats and gc
// --dry-run are answered in this process from a private copy of the store's LevelDB, and what
// would record anything is refused (StoreReadOnlyError) before any work is done.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexDb, type KvDb } from "../../index/db.js";
import { UsageDb } from "../../index/usage.js";
import { ObjectDb } from "../../objects.js";
import { levelDir } from "./layout.js";
import { FsObjects } from "./objects.js";

/** An index opened for reading only, and how to let go of it. */
export interface ReadOnlyIndex {
  index: IndexDb;
  /** The copy's usage counts, for the stats files to be folded into (never the store's own). */
  usage: UsageDb;
  close(): Promise<void>;
}

interface Level {
  open(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The index of the store at `dir`, from a copy of its LevelDB in the system's temp directory
 * (removed on close). A copy that does not open, or is not a complete index of this format, is
 * rebuilt from the objects — in memory when not even a copy can be written: the index is only a
 * cache of what the files say, so the answer is the same, only slower to get.
 */
export async function openReadOnlyIndex(dir: string): Promise<ReadOnlyIndex> {
  const objects = new ObjectDb(new FsObjects(dir));
  let copy: string | null = null;
  let level: Level;
  try {
    copy = mkdtempSync(join(tmpdir(), "cashet-index-"));
    const { ClassicLevel } = await import("classic-level");
    try {
      cpSync(levelDir(dir), join(copy, "db"), { recursive: true });
      level = new ClassicLevel<string, string>(join(copy, "db"));
      await level.open();
    } catch {
      rmSync(join(copy, "db"), { recursive: true, force: true }); // unreadable or damaged: start empty
      level = new ClassicLevel<string, string>(join(copy, "db"));
      await level.open();
    }
  } catch {
    if (copy) rmSync(copy, { recursive: true, force: true });
    copy = null;
    const { MemoryLevel } = await import("memory-level");
    level = new MemoryLevel<string, string>();
    await level.open();
  }
  const close = async (): Promise<void> => {
    await level.close().catch(() => undefined);
    if (copy) rmSync(copy, { recursive: true, force: true });
  };
  const index = new IndexDb(level as unknown as KvDb, objects);
  try {
    if (!(await index.isCurrent())) await index.reindex();
  } catch (err) {
    await close();
    throw err;
  }
  return { index, usage: new UsageDb(level as unknown as KvDb), close };
}
