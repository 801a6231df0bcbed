// Where a result came from: cashet and Node versions, the machine, and — when the task's file is
// in a git work tree — the repository's HEAD commit, branch and whether that file had
// uncommitted changes. isomorphic-git is loaded only here, and this runs only on a miss.
import * as fs from "node:fs";
import { hostname } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import type { Json } from "../plumbing/commit.js";

export const CASHET_VERSION = "0.1.0";

/** Provenance of a run of a task defined in `file` (absolute), or of an anonymous task. */
export async function provenanceOf(file: string | null): Promise<{ [key: string]: Json }> {
  const base: { [key: string]: Json } = {
    cashet: CASHET_VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    hostname: hostname(),
  };
  const git = file ? await gitProvenance(file) : null;
  return git ? { ...base, git } : base;
}

type GitState = { commit: string; branch: string | null; dirty: boolean };

/** Repository root per directory (null: not in a work tree), found once per process. */
const roots = new Map<string, string | null>();
/** Per file: the last answer and the file-system signature it was read under. */
const answers = new Map<string, { signature: string; state: GitState }>();

/**
 * `{commit, branch, dirty}` for the repository holding `file`, or null outside a git work tree.
 * Asking isomorphic-git costs ≈ 10 ms (it reads the index and walks HEAD's tree), so the answer is
 * reused while nothing it depends on changed: HEAD, the branch's ref (loose or packed), the index
 * and the file itself — compared by stat, a few µs.
 */
export async function gitProvenance(file: string): Promise<GitState | null> {
  try {
    const git = await import("isomorphic-git");
    const start = dirname(file);
    let dir = roots.get(start);
    if (dir === undefined) {
      dir = await git.findRoot({ fs, filepath: start }).catch(() => null);
      roots.set(start, dir);
    }
    if (dir === null) return null;
    const signature = gitSignature(dir, file);
    const known = answers.get(file);
    if (signature !== null && known?.signature === signature) return known.state;
    const commit = await git.resolveRef({ fs, dir, ref: "HEAD" });
    const branch = (await git.currentBranch({ fs, dir, fullname: false })) ?? null;
    const status = await git.status({ fs, dir, filepath: relative(dir, file).split(sep).join("/") });
    const state = { commit, branch, dirty: status !== "unmodified" };
    if (signature !== null && gitSignature(dir, file) === signature) answers.set(file, { signature, state }); // unchanged while we read
    return state;
  } catch {
    return null; // not in a repository, no commit yet, or an unreadable one: no git provenance
  }
}

/** What the answer for `file` depends on, as stats; null when it cannot be told (a `.git` file, …). */
function gitSignature(dir: string, file: string): string | null {
  const gitDir = join(dir, ".git");
  try {
    const head = fs.readFileSync(join(gitDir, "HEAD"), "utf8").trim();
    const ref = head.startsWith("ref: ") ? head.slice(5) : null;
    const parts = [head, stamp(join(gitDir, "index")), stamp(join(gitDir, "packed-refs")), stamp(file)];
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
