// Canonical JSON (RFC 8785: sorted keys, no whitespace), so equal records are equal bytes.
import { createRequire } from "node:module";

// canonicalize ships CommonJS typed as an ES default export; load it the CommonJS way.
const canonicalize = createRequire(import.meta.url)("canonicalize") as (input: unknown) => string | undefined;

/** Canonical JSON text of a JSON-compatible value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value has no JSON form");
  return text;
}
