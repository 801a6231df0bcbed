// Which store a command uses: --store DIR, else $CASHET_DIR, else ./.cashet.
import { FsStore } from "./fs/store.js";
import type { Store } from "./types.js";

export interface OpenStoreOptions {
  /** Store directory; defaults to $CASHET_DIR, then ./.cashet. */
  dir?: string;
  /** Create the store if missing (writing commands); readers fail on a missing store. */
  create?: boolean;
}

/** The directory a store lives in, from the option or the environment. */
export function storeDir(dir?: string): string {
  return dir || process.env.CASHET_DIR || ".cashet";
}

/** Opens the store a command asked for. Throws StoreUnavailableError for a missing store when not creating. */
export function openStore(options: OpenStoreOptions = {}): Store {
  return new FsStore(storeDir(options.dir), { create: options.create ?? false });
}
