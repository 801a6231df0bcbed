// What a SIGKILLed process leaves in an fs store, cleaned up by the index daemon: the temp files
// of writers that died mid-write (removed), and commits stored by runs that died before the
// index heard of them (indexed, as `fsck --repair` would). Neither is ever visible to a reader;
// without this they stayed until someone ran `fsck --repair`.
import { open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { storedKind } from "../../objects.js";
import { tempWriter } from "./files.js";
import { objectsDir, tmpDir } from "./layout.js";

/**
 * How long a dead writer's temp file must have lain untouched before it goes. A pid is only
 * meaningful on this machine and in this pid namespace; a writer elsewhere (a container sharing
 * the store) that looks dead from here is still protected while it writes.
 */
export const TEMP_QUIET_MS = Number(process.env.CASHET_TEMP_QUIET_MS ?? 10_000);

/** Removes the temp files of `dir` whose writers no longer run; returns their names. */
export async function sweepDeadWriters(dir: string, quietMs = TEMP_QUIET_MS): Promise<string[]> {
  const tmp = tmpDir(dir);
  const removed: string[] = [];
  for (const name of await readdirOrEmpty(tmp)) {
    const pid = tempWriter(name);
    if (pid === null || running(pid)) continue;
    try {
      if (Date.now() - (await stat(join(tmp, name))).mtimeMs < quietMs) continue;
      await unlink(join(tmp, name));
      removed.push(name);
    } catch {} // renamed into place or removed meanwhile
  }
  return removed;
}

/**
 * The commits among the objects written (or used: an object's mtime is its last access) since
 * `since` (ms). Only fan directories an object was renamed into since then are listed, so the
 * cost follows what was written lately, not the size of the store.
 */
export async function* commitsSince(dir: string, since: number): AsyncIterable<string> {
  const root = objectsDir(dir);
  for (const fan of await readdirOrEmpty(root)) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    try {
      if ((await stat(join(root, fan))).mtimeMs < since) continue;
    } catch {
      continue;
    }
    for (const rest of await readdirOrEmpty(join(root, fan))) {
      if (!/^[0-9a-f]{62}$/.test(rest)) continue;
      const path = join(root, fan, rest);
      try {
        if ((await stat(path)).mtimeMs < since) continue;
        const file = await open(path, "r");
        try {
          const head = Buffer.alloc(4);
          const { bytesRead } = await file.read(head, 0, 4, 0);
          if (storedKind(head.subarray(0, bytesRead)) === "commit") yield fan + rest;
        } finally {
          await file.close();
        }
      } catch {} // removed meanwhile
    }
  }
}

/** The part of the index a look for strays needs. */
export interface StrayIndex {
  entry(id: string): Promise<unknown>;
  addCommit(id: string): Promise<void>;
}

/** What one look found: the commits indexed, and the span it covered. */
export interface StrayLook {
  since: number;
  began: number;
  found: string[];
}

/** A removed commit is not taken for a stray this long (its file goes just after its entry). */
const REMOVED_MEMORY_MS = 60_000;

/**
 * Indexes commits stored by runs that died before the index heard of them. One look at a time;
 * what is asked for during a look is merged into the next one.
 */
export class StrayCommits {
  private from = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private readonly removedLately = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly index: StrayIndex,
    private readonly onLook: (look: StrayLook) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Looks, in `delayMs`, at the commits stored since `since` (ms). */
  lookFrom(since: number, delayMs: number): void {
    this.from = Math.min(this.from, since);
    if (this.timer || this.looking) return; // the running look asks again when it is done
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.looking = true;
      this.look()
        .then(this.onLook, this.onError)
        .finally(() => {
          this.looking = false;
          if (this.from !== Infinity) this.lookFrom(this.from, 0);
        });
    }, delayMs);
  }

  /** `id` was just removed from the index: its file, still there for a moment, is no stray. */
  removed(id: string): void {
    this.removedLately.set(id, Date.now());
  }

  stop(): void {
    clearTimeout(this.timer);
    this.from = Infinity;
  }

  private async look(): Promise<StrayLook> {
    const since = this.from;
    this.from = Infinity;
    const began = Date.now();
    for (const [id, at] of this.removedLately) if (began - at > REMOVED_MEMORY_MS) this.removedLately.delete(id);
    const found: string[] = [];
    for await (const id of commitsSince(this.dir, since)) {
      if (this.removedLately.has(id) || (await this.index.entry(id)) !== null) continue;
      await this.index.addCommit(id);
      found.push(id);
    }
    return { since, began, found };
  }
}

/** True while `pid` exists (a zombie not yet reaped counts: a later sweep will see it gone). */
function running(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // someone else's process
  }
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}
