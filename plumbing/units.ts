// Parsing and checking of the units front doors take: durations (`7d`, `1.5h`), sizes (`500MB`,
// `1GiB`), and plain seconds (`--timeout 2.5`, `{ timeout: 2.5 }`).
// Written here rather than taken from `ms` / `bytes`: those accept more (`ms("100")` is 100 ms,
// `ms("2 weeks")`, negative values) and `bytes` reads `MB` as 2^20, where we want exactly the
// forms below, with MB = 10^6 and MiB = 2^20, and an error for anything else.
import { InvalidInputError } from "./errors.js";

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

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

/** `45s`, `90m`, `12h`, `7d` (a fractional number is fine: `1.5h`) → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!m) throw new InvalidInputError(`bad duration "${text}" (use a number and s, m, h or d: 45s, 90m, 12h, 7d)`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

/**
 * `1000` (bytes), `200KiB`, `500MB`, `1GiB` → bytes. KB/MB/GB/TB are powers of 1000,
 * KiB/MiB/GiB/TiB powers of 1024; units are case-insensitive; a fraction is rounded down.
 */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s?([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] || "b").toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new InvalidInputError(`bad size "${text}" (use bytes or a unit: 1000, 200KiB, 500MB, 1GiB)`);
  }
  return Math.floor(Number(m[1]) * unit);
}

/** A duration option given as a number of seconds (`timeout`, `ttl`, `waitTimeout`): positive and finite. */
export function checkSeconds(value: number | undefined, name: string): void {
  if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new InvalidInputError(`${name} must be a positive number of seconds, not ${String(value)}`);
  }
}

/** A flag's word as a number of seconds (`--timeout 2.5`), or undefined when the flag was not given. */
export function parseSeconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidInputError(`${flag} must be a positive number of seconds, not "${text}"`);
  return n;
}
