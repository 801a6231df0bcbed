// Where a result came from: cashet and Node versions, the machine, and — when the task's file is
// in a git work tree — the repository's HEAD commit, branch and whether that file had
// uncommitted changes. isomorphic-git is loaded only here, and this runs only on a miss.
import * as fs from "node:fs";
import { hostname } from "node:os";
import { dirname, relative, sep } from "node:path";
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

/** `{commit, branch, dirty}` for the repository holding `file`, or null outside a git work tree. */
export async function gitProvenance(file: string): Promise<{ commit: string; branch: string | null; dirty: boolean } | null> {
  try {
    const git = await import("isomorphic-git");
    const dir = await git.findRoot({ fs, filepath: dirname(file) });
    const commit = await git.resolveRef({ fs, dir, ref: "HEAD" });
    const branch = (await git.currentBranch({ fs, dir, fullname: false })) ?? null;
    const state = await git.status({ fs, dir, filepath: relative(dir, file).split(sep).join("/") });
    return { commit, branch, dirty: state !== "unmodified" };
  } catch {
    return null; // not in a repository, no commit yet, or an unreadable one: no git provenance
  }
}
