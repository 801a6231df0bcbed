// Temp files of writers that died. A writer names its temp file after its process (files.ts), so
// once that process is gone the file will never be renamed into place: the index daemon removes
// it, instead of leaving it in tmp/ until `fsck --repair` (which only trusts age: 10 minutes).
import { readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { tempWriter } from "./files.js";
import { tmpDir } from "./layout.js";

/**
 * How long a dead writer's temp file must have lain untouched before it goes. A pid is only
 * meaningful on this machine and in this pid namespace; a writer elsewhere (a container sharing
 * the store) that looks dead from here is still protected while it writes.
 */
export const TEMP_QUIET_MS = Number(process.env.CASHET_TEMP_QUIET_MS ?? 10_000);

/** Removes the temp files of `dir` whose writers no longer run; returns their names. */
export async function sweepDeadWriters(dir: string, quietMs = TEMP_QUIET_MS): Promise<string[]> {
  const tmp = tmpDir(dir);
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
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

/** True while `pid` exists (a zombie not yet reaped counts: the next sweep will see it gone). */
function running(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // someone else's process
  }
}
