// Counting calls per function, off the hit path: a hit or a miss is one increment in this
// process's memory; the counts go to the store (its `usage` part) in one batch at most every
// FLUSH_MS or FLUSH_EVENTS calls, when the store is closed, and — synchronously, for stores that
// can (fs: one append to a file) — at exit. A process killed outright loses what it counted
// since its last batch.
import type { FunctionUsage, Store, UsageStorage } from "./store.js";

/** A batch is written at most this long after the first call it counts (CASHET_USAGE_FLUSH_MS for tests). */
const FLUSH_MS = Number(process.env.CASHET_USAGE_FLUSH_MS ?? 2_000);
/** …or once it counts this many calls. */
const FLUSH_EVENTS = 1_000;

interface Tally {
  /** name → module → counts: keyed by the task's own strings, whose hashes V8 keeps (a joined key would be hashed anew on every hit). */
  rows: Map<string, Map<string, FunctionUsage>>;
  events: number;
  timer: NodeJS.Timeout | null;
  /** The batch being written, so `flush` can wait for it. */
  writing: Promise<void>;
}

const tallies = new WeakMap<UsageStorage, Tally>();
/** The stores with counts not yet written (held only until then: an unclosed store is not kept alive). */
const pending = new Set<UsageStorage>();
let exitHooked = false;

function tallyOf(storage: UsageStorage): Tally {
  let tally = tallies.get(storage);
  if (!tally) {
    tallies.set(storage, (tally = { rows: new Map(), events: 0, timer: null, writing: Promise.resolve() }));
    if (!exitHooked) {
      exitHooked = true;
      process.on("exit", flushAllSync);
    }
  }
  return tally;
}

/** Counts a call of function `name` of `module` served from the cache of `store`, which saved `savedMs` of run time. */
export function countHit(store: Store, name: string, module: string, savedMs: number): void {
  if (store.usage) count(store.usage, name, module, 1, 0, savedMs);
}

/** Counts a call of function `name` of `module` that ran (completed or failed) on `store`. */
export function countMiss(store: Store, name: string, module: string): void {
  if (store.usage) count(store.usage, name, module, 0, 1, 0);
}

function count(storage: UsageStorage, name: string, module: string, hits: number, misses: number, savedMs: number): void {
  const tally = tallyOf(storage);
  let byModule = tally.rows.get(name);
  if (!byModule) tally.rows.set(name, (byModule = new Map()));
  const row = byModule.get(module);
  if (row) {
    row.hits += hits;
    row.misses += misses;
    row.savedMs += savedMs;
  } else {
    byModule.set(module, { name, module, hits, misses, savedMs });
  }
  if (tally.events++ === 0) {
    // The first count of a batch: the batch's timer, and this store among those to write at exit.
    pending.add(storage);
    tally.timer = setTimeout(() => void write(storage, tally), FLUSH_MS);
    tally.timer.unref(); // counting never keeps a process alive
  } else if (tally.events >= FLUSH_EVENTS) {
    void write(storage, tally);
  }
}

/** Takes the pending rows out of `storage`'s tally. */
function take(storage: UsageStorage, tally: Tally): FunctionUsage[] {
  pending.delete(storage);
  if (tally.timer) clearTimeout(tally.timer);
  tally.timer = null;
  tally.events = 0;
  const rows = [...tally.rows.values()].flatMap((byModule) => [...byModule.values()]);
  tally.rows = new Map();
  return rows;
}

/** Writes the pending batch. Counts are statistics: a failed write drops them and is never the caller's error. */
function write(storage: UsageStorage, tally: Tally): Promise<void> {
  const rows = take(storage, tally);
  if (!rows.length) return tally.writing;
  const previous = tally.writing;
  tally.writing = (async () => {
    await previous;
    await storage.add(rows);
  })().catch(() => undefined);
  return tally.writing;
}

/** Writes what this process counted for `store` so far and waits until it is added (`stats` reads after it). */
export async function flushUsage(store: Pick<Store, "usage">): Promise<void> {
  const tally = store.usage && tallies.get(store.usage);
  if (tally) await write(store.usage!, tally);
}

/** Writes what this process counted for `storage`, marked final where the store can take it so: the store it belongs to is closing. */
export async function closeUsage(storage: UsageStorage): Promise<void> {
  const tally = tallies.get(storage);
  tallies.delete(storage);
  if (!storage.addSync) {
    if (tally) await write(storage, tally);
    return;
  }
  if (tally) await tally.writing;
  try {
    storage.addSync(tally ? take(storage, tally) : [], true);
  } catch {}
}

/** At exit: every store that can add synchronously gets what this process still holds for it. */
function flushAllSync(): void {
  for (const storage of [...pending]) {
    const tally = tallies.get(storage);
    const rows = tally ? take(storage, tally) : [];
    pending.delete(storage);
    if (!storage.addSync) continue; // lost: an async store is written by its timer and its close
    try {
      storage.addSync(rows, true);
    } catch {}
  }
}
