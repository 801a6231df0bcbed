// Fixture projects on disk for end-to-end tests: real files and real relative symlinks, written,
// edited, copied the way `cp -a` copies, and the CLI run inside them (cwd = the project root).
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI, type CliResult } from "./cli.js";

/** Relative path → file content. */
export type Files = Record<string, string>;
/** Relative path of a link → its target exactly as written in the link (relative links stay relative). */
export type Links = Record<string, string>;

/** Writes `files` into `dir` (over whatever is there). */
export function writeFiles(dir: string, files: Files): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** Makes `dir` exactly this project: removes it, then writes the files and creates the links. */
export function writeProject(dir: string, files: Files, links: Links = {}): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFiles(dir, files);
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    symlinkSync(target, join(dir, path));
  }
}

/** `cp -a src dst`: links are copied as links with their targets verbatim. */
export function copyProject(src: string, dst: string): void {
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dirname(dst), { recursive: true });
  cpSync(src, dst, { recursive: true, verbatimSymlinks: true });
}

// Settings of the developer's shell that would point the CLI at another store.
const STRAY = ["CASHET_DIR", "CASHET_REDIS", "CASHET_REMOTE"];

/** Runs `cashet <args>` with `cwd` as the working directory. */
export function cashetIn(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = { ...process.env, CASHET_DAEMON_IDLE_MS: "3000" };
  for (const name of STRAY) delete base[name];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { ...base, ...env }, encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        const code = error ? (error.code as number) : 0;
        resolve({ code, stdout, stderr: stderr.toString("utf8"), out: stdout.toString("utf8") });
      },
    );
  });
}
