// Which store a command uses: --redis URL (else $CASHET_REDIS) for a shared Redis store;
// otherwise --store DIR, else $CASHET_DIR, else ./.cashet. --remote URL (else $CASHET_REMOTE)
// puts a `cashet serve` server behind it as a read-through, write-through cache.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import type * as Analyses from "../hash/module.js";
import { keepInputHashes } from "../input-hashes.js";
import type { Store } from "../store.js";
import { analysisDir, inputHashDir, objectsDir, tmpDir } from "./fs/layout.js";
import { FsStore } from "./fs/store.js";

export interface OpenStoreOptions {
  /** Store directory; defaults to $CASHET_DIR, then ./.cashet. */
  dir?: string;
  /** A Redis URL (`redis://host:6379/0`); defaults to $CASHET_REDIS. Wins over `dir`. */
  redis?: string;
  /** A `cashet serve` URL to read through and write through to; defaults to $CASHET_REMOTE; false: none. */
  remote?: string | false;
  /** Its bearer token; defaults to $CASHET_REMOTE_TOKEN. */
  remoteToken?: string;
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

/** The remote cache asked for (option, else $CASHET_REMOTE) and its token, or null. */
export function remoteCache(remote?: string, token?: string): { url: string; token?: string } | null {
  const url = remote || process.env.CASHET_REMOTE;
  if (!url) return null;
  const t = token || process.env.CASHET_REMOTE_TOKEN;
  return t ? { url, token: t } : { url };
}

/** Opens the store a command asked for. Throws StoreUnavailableError for a missing directory store when not creating. */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const url = redisUrl(options.redis);
  let store: Store;
  if (url) {
    // Loaded only for Redis: a directory store's commands never pay for ioredis.
    const { RedisStore } = await import("./redis/store.js");
    store = await new RedisStore(url).ready();
  } else {
    store = new FsStore(storeDir(options.dir), { create: options.create ?? false });
  }
  const remote = options.remote === false ? null : remoteCache(options.remote, options.remoteToken);
  if (!remote) return store;
  const { behindRemote } = await import("./remote.js"); // a store without a remote never loads node:http
  return behindRemote(store, remote);
}

/**
 * Keeps module analyses in the directory store at `dir`, when it exists (never creating one: a
 * refused command changes nothing), so a later cache hit hashes its function without parsing
 * anything — and the content hashes of observed inputs, so it checks them with a stat each.
 * The first store a process names wins.
 */
export function keepAnalyses(storeDir: string): void {
  const dir = resolve(storeDir);
  if (!existsSync(objectsDir(dir))) return;
  // the hasher, loaded here only by callers that hash (run, the Client): `log` never pays for it
  const analyses = createRequire(import.meta.url)("../hash/module.js") as typeof Analyses;
  if (analyses.analysisCacheDir() === null) analyses.setAnalysisCache(analysisDir(dir), tmpDir(dir));
  keepInputHashes(inputHashDir(dir), tmpDir(dir)); // and the observed inputs' content hashes, for a later hit's check
}
