// Which store a command uses: --redis URL (else $CASHET_REDIS) for a shared Redis store;
// otherwise --store DIR, else $CASHET_DIR, else ./.cashet.
import { FsStore } from "./fs/store.js";
import type { Store } from "./types.js";

export interface OpenStoreOptions {
  /** Store directory; defaults to $CASHET_DIR, then ./.cashet. */
  dir?: string;
  /** A Redis URL (`redis://host:6379/0`); defaults to $CASHET_REDIS. Wins over `dir`. */
  redis?: string;
  /** Create the store if missing (writing commands); readers fail on a missing store. */
  create?: boolean;
}

/** The directory a store lives in, from the option or the environment. */
export function storeDir(dir?: string): string {
  return dir || process.env.CASHET_DIR || ".cashet";
}

/** The Redis URL asked for (option, else $CASHET_REDIS), or null for a directory store. */
export function redisUrl(redis?: string): string | null {
  return redis || process.env.CASHET_REDIS || null;
}

/** Opens the store a command asked for. Throws StoreUnavailableError for a missing directory store when not creating. */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const url = redisUrl(options.redis);
  if (url) {
    // Loaded only for Redis: a directory store's commands never pay for ioredis.
    const { RedisStore } = await import("./redis/store.js");
    return new RedisStore(url).ready();
  }
  return new FsStore(storeDir(options.dir), { create: options.create ?? false });
}
