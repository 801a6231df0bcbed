// Ref names: `fp/<fingerprint>` (cache lookup, head of a history chain) and `pin/<name>`.
import { InvalidInputError } from "./errors.js";
import { isId } from "./ids.js";

const PIN_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Throws InvalidInputError unless `name` is `fp/<64 hex>` or `pin/<name>`. */
export function assertRefName(name: string): string {
  const slash = name.indexOf("/");
  const kind = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  if (kind === "fp" && isId(rest)) return name;
  if (kind === "pin" && PIN_RE.test(rest) && !rest.includes("..")) return name;
  throw new InvalidInputError(
    `"${name}" is not a ref name: use fp/<64-hex fingerprint> or pin/<name> (letters, digits, . _ -)`,
  );
}

/** The ref that holds the newest commit for a fingerprint. */
export function fingerprintRef(fingerprint: string): string {
  return `fp/${fingerprint}`;
}
