// The one check of what the front doors take — the CLI's flags, the library's options, the
// server's JSON bodies and queries: tags, whole numbers, seconds, durations (`7d`, `1.5h`) and
// sizes (`500MB`, `1GiB`). A refusal is an InvalidInputError of one line naming the value as its
// caller spells it (`--retries`, `retries`, `"retries"`: the caller passes the name) and what was
// given. Loaded on every CLI cache hit, so it imports nothing but errors.ts.
// Durations and sizes are parsed here rather than by `ms` / `bytes`: those accept more
// (`ms("100")` is 100 ms, `ms("2 weeks")`, negative values) and `bytes` reads `MB` as 2^20, where
// we want exactly the forms below, with MB = 10^6 and MiB = 2^20, and an error for anything else.
import { InvalidInputError } from "./errors.js";

/** A value as a refusal shows it: text quoted (cut at 40 characters), numbers and the like as they are. */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

function refuse(name: string, what: string, value: unknown): never {
  throw new InvalidInputError(`${name} must be ${what}, not ${shown(value)}`);
}

function refuseTagValue(name: string, key: string, value: unknown): never {
  throw new InvalidInputError(`tag ${JSON.stringify(key)} in ${name} must have a string value, not ${shown(value)}`);
}

/** `--tag k=v` words → `{ k: v }`: each a non-empty key, `=`, and a value (which may hold more `=`). */
export function parseTags(words: readonly string[], name: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq <= 0) refuse(name, "key=value", word);
    tags[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return tags;
}

/** Tags given as a record (`{ env: "ci" }`): keys non-empty and without `=`, values strings. Undefined passes. */
export function checkTags(value: unknown, name: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) refuse(name, "an object of strings", value);
  for (const [k, v] of Object.entries(value)) {
    if (k === "" || k.includes("=")) refuse(name, `an object whose keys are non-empty and without "="`, k);
    if (typeof v !== "string") refuseTagValue(name, k, v);
  }
  return value as Record<string, string>;
}

/**
 * Tag filters (which commits `log`, `invalidate`, `export` and `push` take): a list of `k=v` or
 * `k`, or a record `{ k: v }`, returned as `k=v` / `k` strings. A key must be non-empty, and no
 * part may hold a NUL (the index separates its key parts with it).
 */
export function checkTagFilters(value: unknown, name: string): string[] {
  let filters: unknown[];
  if (Array.isArray(value)) filters = value;
  else if (value !== null && typeof value === "object") {
    filters = Object.entries(value).map(([k, v]) => (typeof v === "string" ? `${k}=${v}` : refuseTagValue(name, k, v)));
  } else refuse(name, `a list of "k=v" / "k" or an object of strings`, value);
  for (const f of filters) if (typeof f !== "string" || f.split("=", 1)[0] === "" || f.includes("\0")) refuse(name, "k=v or k", f);
  return [...(filters as string[])];
}

/** The range a whole number must fall in: at least `min` (default 0), at most `max` when given. */
export interface WholeNumberRange {
  min?: number;
  max?: number;
}

function inRange(n: unknown, { min = 0, max }: WholeNumberRange): n is number {
  return Number.isSafeInteger(n) && (n as number) >= min && (max === undefined || (n as number) <= max);
}

function rangeWords({ min = 0, max }: WholeNumberRange): string {
  if (max !== undefined) return `${min}–${max}`;
  return min === 1 ? "a positive whole number" : `a whole number ≥ ${min}`;
}

/** A whole-number option (`retries`, `maxWorkers`): a safe integer in `range` (default ≥ 0). Undefined passes. */
export function wholeNumber(value: number, name: string, range?: WholeNumberRange): number;
export function wholeNumber(value: unknown, name: string, range?: WholeNumberRange): number | undefined;
export function wholeNumber(value: unknown, name: string, range: WholeNumberRange = {}): number | undefined {
  if (value === undefined) return undefined;
  if (!inRange(value, range)) refuse(name, rangeWords(range), value);
  return value;
}

/** A flag's or a query's word as a whole number (`--retries 3`, `?limit=20`): digits only, in `range`. Undefined passes. */
export function parseWholeNumber(text: string, name: string, range?: WholeNumberRange): number;
export function parseWholeNumber(text: string | undefined, name: string, range?: WholeNumberRange): number | undefined;
export function parseWholeNumber(text: string | undefined, name: string, range: WholeNumberRange = {}): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!inRange(n, range)) refuse(name, rangeWords(range), text);
  return n;
}

/** A duration option given as a number of seconds (`timeout`, `ttl`, `waitTimeout`): positive and finite. Undefined passes. */
export function checkSeconds(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) refuse(name, "a positive number of seconds", value);
  return value;
}

/** A flag's word as a number of seconds (`--timeout 2.5`). Undefined (the flag was not given) passes. */
export function parseSeconds(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) refuse(name, "a positive number of seconds", text);
  return n;
}

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `45s`, `90m`, `12h`, `7d` (a fractional number is fine: `1.5h`) → milliseconds. Undefined passes. */
export function parseDuration(text: string, name: string): number;
export function parseDuration(text: string | undefined, name: string): number | undefined;
export function parseDuration(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!m) refuse(name, "a number and s, m, h or d (45s, 90m, 12h, 7d)", text);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

/** A duration given as text (`7d`, as parseDuration takes it) or as milliseconds (a number ≥ 0) → milliseconds. */
export function checkDuration(value: unknown, name: string): number {
  if (typeof value === "string") return parseDuration(value, name);
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  refuse(name, "a duration (45s, 90m, 12h, 7d) or a number of ms ≥ 0", value);
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * `1000` (bytes), `200KiB`, `500MB`, `1GiB` → bytes. KB/MB/GB/TB are powers of 1000,
 * KiB/MiB/GiB/TiB powers of 1024; units are case-insensitive; a fraction is rounded down.
 * Undefined passes.
 */
export function parseSize(text: string, name: string): number;
export function parseSize(text: string | undefined, name: string): number | undefined;
export function parseSize(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s?([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] || "b").toLowerCase()] : undefined;
  if (!m || unit === undefined) refuse(name, "bytes or a number and a unit (1000, 200KiB, 500MB, 1GiB)", text);
  return Math.floor(Number(m[1]) * unit);
}

/** A size given as text (`500MB`, as parseSize takes it) or as bytes (a number ≥ 0, rounded down) → bytes. */
export function checkSize(value: unknown, name: string): number {
  if (typeof value === "string") return parseSize(value, name);
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.floor(value);
  refuse(name, "a size (1000, 200KiB, 500MB, 1GiB) or a number of bytes ≥ 0", value);
}

/** A switch given as a value (a JSON body's `"force"`): true or false. Undefined passes. */
export function checkBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  refuse(name, "true or false", value);
}
