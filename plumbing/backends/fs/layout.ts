// Where everything of an fs store lives on disk (docs/storage.md describes each path).
import { createHash } from "node:crypto";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { assertId } from "../../ids.js";

export const objectsDir = (dir: string): string => join(dir, "objects");
/** The file of object `id`; throws for anything but a 64-hex id, so no id can name another path. */
export const objectPath = (dir: string, id: string): string => join(dir, "objects", assertId(id).slice(0, 2), id.slice(2));
export const refsDir = (dir: string): string => join(dir, "refs");
export const refPath = (dir: string, name: string): string => join(dir, "refs", ...name.split("/"));
export const tmpDir = (dir: string): string => join(dir, "tmp");
/** Module analyses for function hashing, kept between processes (a cache: safe to delete). */
export const analysisDir = (dir: string): string => join(dir, "cache", "analysis");
/** Content hashes of observed input files, by path, each under the stat it was computed for (a cache: safe to delete). */
export const inputHashDir = (dir: string): string => join(dir, "cache", "inputs");
export const indexDir = (dir: string): string => join(dir, "index");
/** Hit and miss counts, one file per writing process, until the daemon folds them into the index. */
export const statsDir = (dir: string): string => join(dir, "stats");
/** `<host>-<pid>-<8 hex>.log` (being written) or `.done` (its writer is finished with it). */
export const STATS_FILE = /^(.+)-(\d+)-[0-9a-f]{8}\.(log|done)$/;
let host: string | undefined;
/** This host as stats file names spell it: `-`, `.` and word characters only. */
export const statsHost = (): string => (host ??= hostname().replace(/[^A-Za-z0-9._-]/g, "_") || "host");
/**
 * A new stats file name for this process, without its extension. Unique, not secret: Math.random,
 * since a process's first randomBytes seeds OpenSSL's generator (≈ 150 µs on a CLI hit).
 */
export const newStatsFile = (): string => `${statsHost()}-${process.pid}-${Math.random().toString(16).slice(2, 10).padEnd(8, "0")}`;
export const levelDir = (dir: string): string => join(dir, "index", "db");
export const daemonPidFile = (dir: string): string => join(dir, "index", "daemon.pid");
export const daemonLogFile = (dir: string): string => join(dir, "index", "daemon.log");

/**
 * The index daemon's socket for a store. On Linux an abstract socket (no file to go stale);
 * elsewhere a socket file, or a named pipe on Windows. `dir` must be absolute and real.
 */
export function daemonAddress(dir: string): string {
  const tag = createHash("sha256").update(dir).digest("hex").slice(0, 32);
  if (process.platform === "linux") return `\0cashet-index-${tag}`;
  if (process.platform === "win32") return `\\\\.\\pipe\\cashet-index-${tag}`;
  const local = join(dir, "index", "daemon.sock");
  return local.length < 100 ? local : join(tmpdir(), `cashet-index-${tag}.sock`);
}
