// explain: would this call hit, and if not, why. The call is keyed exactly as `run` keys it (the
// same fingerprint) and nothing runs: it reads the call's head, the newest runs of its function
// (same name, same module) to compare with component by component (compare.ts), and — when the
// function was never stored — the index's function names, for the nearest one.
import type { OpenStoreOptions } from "../plumbing/backends/open.js";
import type { Commit, CommitStatus } from "../plumbing/commit.js";
import type { HashArgsOptions } from "../plumbing/hash/args.js";
import { argsTree, type ArgsTree } from "../plumbing/hash/args-tree.js";
import { previewArgs } from "../plumbing/hash/preview.js";
import { earlierMatch, peekHead, verifiedCommit, type Head } from "../plumbing/hits.js";
import { changedInputs, projectRoot } from "../plumbing/observed.js";
import { fingerprintRef } from "../plumbing/refs.js";
import type { Store } from "../plumbing/store.js";
import { compareCalls, describeDifference, formatAgo, type CallRecord, type Difference } from "./compare.js";
import { sourceDiff } from "./diff.js";
import { fingerprintOf, type TaskSpec } from "./run.js";
import { fileTaskIn } from "./call.js";
import type { FileCall } from "./task.js";

export type { Difference, DifferenceKind } from "./compare.js";

/** A commit an explanation names. */
export interface ExplainedCommit {
  id: string;
  createdAt: string;
  status: CommitStatus;
}

/** Whether a call would hit, and on a miss what differs from the run it is compared with. */
export interface Explanation {
  hit: boolean;
  /** The call's function: the name its runs are recorded under, its module, its hash. */
  func: { name: string; module: string; hash: string };
  /** The call's cache key. */
  fingerprint: string;
  /**
   * A hit: the commit it serves. A miss: the run compared with — this very call's expired or failed
   * run, else the closest of the function's newest runs; null when there is none.
   */
  commit: ExplainedCommit | null;
  /** How `commit` was chosen on a miss: `same-call`, `newest` (the newest run is also the closest), `closest`; null otherwise. */
  compared: "same-call" | "newest" | "closest" | null;
  /** Runs of the function (same name and module) looked at: the newest, at most 20. */
  runs: number;
  /** What differs, component by component (empty on a hit). */
  differences: Difference[];
  /** When nothing of the function was ever stored: the nearest stored function name, if one is near. */
  suggestion: string | null;
  /** The answer in one line: `helper scale (src/helpers.ts) changed`. */
  reason: string;
}

export interface ExplainOptions {
  /** The name the call's runs are recorded under, when not the function's own (RunOptions.name). */
  name?: string;
}

/** What `run` knows of a call by the time it misses: its key, and the tree of its arguments. */
export interface CallKey {
  fingerprint: string;
  argsHash: string;
  tree: ArgsTree;
}

/** Runs of the function compared, the newest. */
const CANDIDATES = 20;
/** Commits whose function names are searched for the nearest name (the newest). */
const NAMES_SCANNED = 10_000;

/** Whether `task` would be a hit in `store` now, and if not why. Runs nothing, writes nothing. */
export async function explain(store: Store, task: TaskSpec, options: ExplainOptions = {}): Promise<Explanation> {
  const { hash: argsHash, tree } = await argsTree(task.args, hashOptions(task));
  const key = { fingerprint: fingerprintOf(task.func.hash, argsHash), argsHash, tree };
  const ref = fingerprintRef(key.fingerprint);
  const head = await peekHead(store, ref);
  if (head.state === "hit") {
    const root = projectRoot(task.file);
    const changed = await observedChanges(head.commit!, root);
    if (changed.length === 0) return hitExplanation(head.commit!);
    // What the lookup does next: an earlier result whose inputs all match now is served.
    const older = await earlierMatch(store, head.commit!, ref, { root });
    if (older) return hitExplanation(older);
    return answer(task, key, options, { commit: head.commit, compared: "same-call", runs: 0, differences: changed });
  }
  return whyMiss(store, task, key, head, options);
}

/**
 * `cashet explain file#export args…`: the task as `runFile` builds it from the arguments as given
 * (bad input refused the same way), explained in the store named — opened, never created.
 */
export async function explainFile(target: FileCall, options: ExplainOptions & { store: Store | OpenStoreOptions }): Promise<Explanation> {
  const { store: given, ...rest } = options;
  const { task, store, done } = await fileTaskIn(target, given, false);
  try {
    return await explain(store, task, rest);
  } finally {
    await done();
  }
}

/**
 * Why `run` missed `task` (it looked up `key` and found no hit), before it runs: its forced or
 * uncached run, or what `explain` says.
 */
export async function explainMiss(store: Store, task: TaskSpec, key: CallKey, options: ExplainOptions & { force?: boolean; cache?: boolean }): Promise<Explanation> {
  if (options.force || options.cache === false) {
    const reason = options.force ? "forced (--force)" : "caching off (--no-cache)";
    return { ...answer(task, key, options, { commit: null, compared: null, runs: 0, differences: [] }), reason };
  }
  const head = await peekHead(store, fingerprintRef(key.fingerprint));
  if (head.state === "hit") {
    // A head the key matches missed: what it read differs now (and no earlier result fits).
    const changed = await observedChanges(head.commit!, projectRoot(task.file));
    if (changed.length > 0) return answer(task, key, options, { commit: head.commit, compared: "same-call", runs: 0, differences: changed });
  }
  return whyMiss(store, task, key, head, options);
}

/** A hit's explanation: the commit it serves (nothing is read or computed). */
export function hitExplanation(commit: Commit): Explanation {
  return {
    hit: true,
    func: { name: commit.func.name, module: commit.func.module, hash: commit.func.hash },
    fingerprint: commit.fingerprint,
    commit: summary(commit),
    compared: null,
    runs: 0,
    differences: [],
    suggestion: null,
    reason: `served from ${commit.id.slice(0, 12)} (${formatAgo(Date.parse(commit.createdAt))} ago)`,
  };
}

/**
 * The head's observed inputs that differ on disk now (files and environment variables its run
 * read, plumbing/observed.ts): a miss no component of the key explains.
 */
async function observedChanges(head: Commit, root: string): Promise<Difference[]> {
  if (!head.observed) return [];
  const shown = (kind: "file" | "env", hash: string | null): string =>
    kind === "file" ? (hash === null ? "missing" : hash === "" ? "changing" : `file ${hash.slice(0, 12)}`) : hash === null ? "unset" : hash === "" ? "changing" : `set ${hash.slice(0, 12)}`;
  return (await changedInputs(head.observed, root)).map((c): Difference => ({
    kind: c.kind,
    name: c.name,
    change: c.was === null ? "added" : c.now === null ? "removed" : "changed",
    was: shown(c.kind, c.was),
    now: shown(c.kind, c.now),
  }));
}

async function whyMiss(store: Store, task: TaskSpec, key: CallKey, head: Head, options: ExplainOptions): Promise<Explanation> {
  const name = options.name ?? task.func.name;
  // This very call: a failed last run, an expired result, a result whose output is gone.
  const [latest] = await store.index.log({ fingerprint: key.fingerprint, limit: 1 });
  const last = latest ? await verifiedCommit(store.objects, latest.id) : null;
  const same: Difference[] = [];
  if (last?.status === "failed" && last.fingerprint === key.fingerprint) {
    same.push({ kind: "failed", name, change: "changed", ...(last.error ? { now: `${last.error.name}: ${last.error.message}` } : {}) });
  }
  if (head.state === "expired" && head.commit!.expiresAt) same.push({ kind: "expired", name, change: "changed", was: head.commit!.expiresAt });
  if (head.state === "no-output") same.push({ kind: "output", name, change: "removed", was: head.commit!.output!.hash.slice(0, 12) });
  if (same.length) return answer(task, key, options, { commit: same[0]!.kind === "failed" ? last : head.commit, compared: "same-call", runs: 0, differences: same });

  // Other calls of the function: the closest of its newest runs (fewest differences; the newer on a tie).
  const entries = await store.index.log({ func: name, limit: CANDIDATES });
  const found = await Promise.all(entries.map((e) => verifiedCommit(store.objects, e.id)));
  const runs = found.filter((c): c is Commit => c !== null && c.func.module === task.func.module);
  if (runs.length === 0) {
    const elsewhere = [...new Set(found.flatMap((c) => (c ? [c.func.module] : [])))];
    const suggestion = elsewhere.length ? null : nearest(name, await functionNames(store));
    const reason = elsewhere.length
      ? `nothing of ${name} from ${task.func.module} was ever stored (${name} was, from ${elsewhere.join(", ")})`
      : `nothing named ${name} was ever stored${suggestion ? `; did you mean ${suggestion}?` : ""}`;
    return { ...answer(task, key, options, { commit: null, compared: null, runs: 0, differences: [] }), suggestion, reason };
  }
  const now = callRecord(task, key);
  const scored = runs.map((c) => ({ commit: c, differences: compareCalls(c, now) }));
  const best = scored.reduce((a, b) => (b.differences.length < a.differences.length ? b : a));
  for (const d of best.differences) {
    if (d.kind === "source" && d.change === "changed" && best.commit.func.source && now.func.source && best.commit.func.source !== now.func.source) {
      d.diff = await sourceDiff(best.commit, { id: "now", func: now.func });
    }
  }
  const compared = best === scored[0] ? "newest" : "closest";
  const explained = answer(task, key, options, { commit: best.commit, compared, runs: runs.length, differences: best.differences });
  // The same function and arguments under another fingerprint: runs with caching off.
  if (best.differences.length === 0) return { ...explained, reason: "the same call only ran with caching off (--no-cache), which is never served" };
  return explained;
}

/** The call as a commit of it would record it: what compare.ts compares. */
function callRecord(task: TaskSpec, key: CallKey): CallRecord {
  return { func: task.func, args: { hash: key.argsHash, preview: previewArgs(task.args), tree: key.tree } };
}

function answer(
  task: TaskSpec,
  key: CallKey,
  options: ExplainOptions,
  found: { commit: Commit | null; compared: Explanation["compared"]; runs: number; differences: Difference[] },
): Explanation {
  const lines = found.differences.map(describeDifference);
  return {
    hit: false,
    func: { name: options.name ?? task.func.name, module: task.func.module, hash: task.func.hash },
    fingerprint: key.fingerprint,
    commit: found.commit ? summary(found.commit) : null,
    compared: found.compared,
    runs: found.runs,
    differences: found.differences,
    suggestion: null,
    reason: lines.length <= 2 ? lines.join("; ") : `${lines.slice(0, 2).join("; ")} and ${lines.length - 2} more`,
  };
}

function summary(c: Commit): ExplainedCommit {
  return { id: c.id, createdAt: c.createdAt, status: c.status };
}

function hashOptions(task: TaskSpec): HashArgsOptions {
  return task.hashFunction ? { hashFunction: task.hashFunction } : {};
}

/** The function names of the newest commits. */
async function functionNames(store: Store): Promise<string[]> {
  return [...new Set((await store.index.log({ limit: NAMES_SCANNED })).map((e) => e.func))];
}

/** The name nearest `name` (optimal string alignment distance: a swap of two letters is one edit), if near enough. */
export function nearest(name: string, names: readonly string[]): string | null {
  const limit = Math.max(2, Math.ceil(name.length / 3));
  let best: { name: string; d: number } | null = null;
  for (const n of names) {
    if (n === name) continue;
    const d = distance(name, n);
    if (d <= limit && (!best || d < best.d || (d === best.d && n < best.name))) best = { name: n, d };
  }
  return best?.name ?? null;
}

function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
