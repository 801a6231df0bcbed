// How commits read on a terminal: short ids, times, durations, tags, and the one-row summary
// that log and history print.
import type { Commit, Json } from "../plumbing/commit.js";
import { formatBytes, table } from "./common.js";

/** The short form of an id that human output shows (long enough to stay unique in practice). */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** An ISO time as local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** 4.2 → "4.2 ms", 1234 → "1.23 s", 200000 → "3m 20s", 7_300_000 → "2h 1m", 183_600_000 → "2d 3h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms < 10 ? Number(ms.toFixed(1)) : Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.floor(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** {a: "1", b: "2"} → "a=1 b=2". */
export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/**
 * Commits as a table, one row each: short id, function, status, created, duration, output size
 * (and with `outputs`, the output blob's short id), tags. Empty for no commits.
 */
export function commitTable(commits: Commit[], options: { outputs?: boolean } = {}): string {
  if (!commits.length) return "";
  const header = ["COMMIT", "FUNCTION", "STATUS", "CREATED", "DURATION", "SIZE", ...(options.outputs ? ["OUTPUT"] : []), "TAGS"];
  const rows = commits.map((c) => [
    shortId(c.id),
    c.func.name,
    c.status,
    formatTime(c.createdAt),
    formatDuration(c.durationMs),
    c.output ? formatBytes(c.output.size) : "-",
    ...(options.outputs ? [c.output ? shortId(c.output.hash) : "-"] : []),
    formatTags(c.tags),
  ]);
  return table([header, ...rows]).replace(/ +$/gm, "");
}

/** A recorded dependency as one line: `kind  key  hash` for hash-fn's components, else its JSON. */
export function formatDep(d: Json): string {
  if (typeof d === "string") return d;
  if (d && typeof d === "object" && !Array.isArray(d) && typeof d.key === "string" && typeof d.hash === "string") {
    const hash = /^[0-9a-f]{64}$/.test(d.hash) ? shortId(d.hash) : d.hash;
    return [typeof d.kind === "string" ? d.kind : "", d.key, hash].filter(Boolean).join("  ");
  }
  return JSON.stringify(d);
}
