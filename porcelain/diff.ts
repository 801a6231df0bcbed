// diff: what differs between two runs — the function, its dependencies, the arguments, the
// output — and a unified diff of the two function sources when the function changed.
import { canonicalJson } from "../plumbing/canonical.js";
import type { Commit } from "../plumbing/commit.js";
import type { Store } from "../plumbing/store.js";
import { show } from "./show.js";

/** The `diff --json` shape (SPEC §5). */
export interface CommitDiff {
  /** Full id of the first commit. */
  a: string;
  b: string;
  /** The function hash differs (its code or anything it depends on). */
  funcChanged: boolean;
  argsChanged: boolean;
  /** The recorded dependency lists differ. */
  depsChanged: boolean;
  /** The output blob differs (or one run has no output). */
  outputChanged: boolean;
  /**
   * A unified diff of the two function sources (`--- a/<module>#<name>`, `+++ b/…`), or null when
   * the function did not change or its own source text is the same (a dependency changed).
   */
  sourceDiff: string | null;
}

/** Compares two commits given by id or unique prefix. Throws like `show` for a bad id. */
export async function diff(store: Store, a: string, b: string): Promise<CommitDiff> {
  const [ca, cb] = [await show(store, a), await show(store, b)];
  const funcChanged = ca.func.hash !== cb.func.hash;
  return {
    a: ca.id,
    b: cb.id,
    funcChanged,
    argsChanged: ca.args.hash !== cb.args.hash,
    depsChanged: canonicalJson(ca.func.deps) !== canonicalJson(cb.func.deps),
    outputChanged: (ca.output?.hash ?? null) !== (cb.output?.hash ?? null),
    sourceDiff: funcChanged && ca.func.source !== cb.func.source ? await sourceDiff(ca, cb) : null,
  };
}

/** One side of a source diff: a commit, or a call about to run (its id a label such as "now"). */
export interface SourceSide {
  id: string;
  func: Pick<Commit["func"], "module" | "name" | "source">;
}

/** A unified diff of two function sources (`--- a/<module>#<name>`, `+++ b/…`), each labelled by its id. */
export async function sourceDiff(a: SourceSide, b: SourceSide): Promise<string> {
  // jsdiff is loaded only when a diff is wanted: importing the library must not pay for it.
  const { createTwoFilesPatch, FILE_HEADERS_ONLY } = await import("diff");
  // Both sides end in a newline, so a source without one does not show as a changed last line.
  const text = (s: string): string => (s.endsWith("\n") ? s : `${s}\n`);
  return createTwoFilesPatch(
    `a/${a.func.module}#${a.func.name}`,
    `b/${b.func.module}#${b.func.name}`,
    text(a.func.source),
    text(b.func.source),
    a.id.slice(0, 12),
    b.id.slice(0, 12),
    { context: 3, headerOptions: FILE_HEADERS_ONLY },
  );
}
