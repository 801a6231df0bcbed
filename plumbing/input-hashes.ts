// Where the content hashes of observed inputs are kept on disk (a directory store's
// cache/inputs): named by whoever opens the store, read by plumbing/observed.ts when it first
// needs one — so naming it costs a CLI hit nothing when no commit it reads observed anything.

let where: { dir: string; tmp: string } | null = null;

/**
 * Keeps content hashes in `dir` too (a store's `cache/inputs`; `tmp` for writing them), so that a
 * hit in another process costs a stat and a small read per observed file instead of hashing it.
 * The first call wins.
 */
export function keepInputHashes(dir: string, tmp: string): void {
  where ??= { dir, tmp };
}

/** Where `keepInputHashes` said, or null. */
export function inputHashesDir(): { dir: string; tmp: string } | null {
  return where;
}
