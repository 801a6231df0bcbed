// Where a result came from: cashet and Node versions, the machine, and — when the task's file is
// in a git work tree — the repository's HEAD commit, branch and whether any file of the task's
// source closure (its own file, the helpers it imports) differs from HEAD. isomorphic-git is
// loaded only here, and this runs only on a miss.
import * as fs from "node:fs";
import { hostname } from "node:os";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { Json } from "../plumbing/commit.js";

export const CASHET_VERSION = "0.1.0";

/**
 * Provenance of a run of a task defined in `file` (absolute) whose source closure is `files`
 * (absolute; `file` counts whether listed or not), or of an anonymous task (`file` null).
 */
export async function provenanceOf(file: string | null, files: readonly string[] = []): Promise<{ [key: string]: Json }> {
  const base: { [key: string]: Json } = {
    cashet: CASHET_VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    hostname: hostname(),
  };
  const git = file ? await gitProvenance(file, files) : null;
  return git ? { ...base, git } : base;
}

/** `dirtyFiles` (relative to the repository root, posix separators) only when dirty. */
type GitState = { commit: string; branch: string | null; dirty: boolean; dirtyFiles?: string[] };

/** Repository root per directory (null: not in a work tree), found once per process. */
const roots = new Map<string, string | null>();
/** Per set of files: the last answer and the file-system signature it was read under. */
const answers = new Map<string, { signature: string; state: GitState }>();

/**
 * `{commit, branch, dirty, dirtyFiles}` for the repository holding `file`, or null outside a git
 * work tree. Dirty when `file` or any of `files` inside that repository differs from HEAD (edited,
 * staged, untracked); files outside it (another checkout, a package) cannot be told and are left
 * out. Asking isomorphic-git costs ≈ 10 ms (it reads the index and walks HEAD's tree along the
 * files' paths), so the answer is reused while nothing it depends on changed: HEAD, the branch's
 * ref (loose or packed), the index and the files themselves — compared by stat, a few µs each.
 */
export async function gitProvenance(file: string, files: readonly string[] = []): Promise<GitState | null> {
  try {
    const git = await import("isomorphic-git");
    const start = dirname(file);
    let dir = roots.get(start);
    if (dir === undefined) {
      dir = await git.findRoot({ fs, filepath: start }).catch(() => null);
      roots.set(start, dir);
    }
    if (dir === null) return null;
    const inRepo = new Map<string, string>(); // repository path → absolute path
    for (const f of new Set([file, ...files])) {
      const path = relative(dir, f);
      if (path && !path.startsWith("..") && !isAbsolute(path)) inRepo.set(path.split(sep).join("/"), f);
    }
    const key = [...inRepo.values()].join("\0");
    const signature = gitSignature(dir, [...inRepo.values()]);
    const known = answers.get(key);
    if (signature !== null && known?.signature === signature) return known.state;
    const commit = await git.resolveRef({ fs, dir, ref: "HEAD" });
    const branch = (await git.currentBranch({ fs, dir, fullname: false })) ?? null;
    // One walk for all of them; `ignored` too, since an ignored helper is not in HEAD either;
    // `refresh: false` leaves the user's index as it is (a cache has no business writing it).
    const rows = await git.statusMatrix({ fs, dir, filepaths: [...inRepo.keys()], ignored: true, refresh: false });
    const dirtyFiles = rows
      .filter(([path, head, workdir, stage]) => inRepo.has(path) && !(head === 1 && workdir === 1 && stage === 1))
      .map(([path]) => path)
      .sort();
    const state: GitState = { commit, branch, dirty: dirtyFiles.length > 0, ...(dirtyFiles.length ? { dirtyFiles } : {}) };
    if (signature !== null && gitSignature(dir, [...inRepo.values()]) === signature) answers.set(key, { signature, state }); // unchanged while we read
    return state;
  } catch {
    return null; // not in a repository, no commit yet, or an unreadable one: no git provenance
  }
}

/** What the answer for `files` depends on, as stats; null when it cannot be told (a `.git` file, …). */
function gitSignature(dir: string, files: readonly string[]): string | null {
  const gitDir = join(dir, ".git");
  try {
    const head = fs.readFileSync(join(gitDir, "HEAD"), "utf8").trim();
    const ref = head.startsWith("ref: ") ? head.slice(5) : null;
    const parts = [head, stamp(join(gitDir, "index")), stamp(join(gitDir, "packed-refs")), ...files.map(stamp)];
    if (ref) parts.push(stamp(join(gitDir, ...ref.split("/"))));
    return parts.join("|");
  } catch {
    return null;
  }
}

function stamp(path: string): string {
  const st = fs.statSync(path, { throwIfNoEntry: false, bigint: true });
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : "-";
}
