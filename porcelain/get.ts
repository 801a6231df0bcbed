// get: the result of one commit, and how a result is written out — the one encoding `run` and
// `get` share, so `cashet get <id>` prints exactly what `cashet run` printed.
import { types } from "node:util";
import type { Commit } from "../plumbing/commit.js";
import { CorruptObjectError } from "../plumbing/errors.js";
import { ObjectDb } from "../plumbing/objects.js";
import type { Serializer } from "../plumbing/serializers.js";
import type { Store } from "../plumbing/store.js";
import { decodeResult, recordedError, TaskError } from "./run.js";

export interface GetResult {
  commit: Commit;
  /** The stored bytes of the result. */
  bytes: Buffer;
  /** The decoded result. */
  value: unknown;
}

/**
 * The result of the commit `idOrPrefix` names. Throws NotFoundError / AmbiguousIdError /
 * InvalidInputError (not an id), TaskError for a failed commit (carrying its recorded error),
 * CorruptObjectError when the output blob is missing or damaged.
 */
export async function get(store: Store, idOrPrefix: string, options: { serializers?: Serializer[] } = {}): Promise<GetResult> {
  const db = new ObjectDb(store.objects);
  const id = await db.resolve(idOrPrefix, "commit");
  const read = await db.readOrThrow(id, "commit");
  if (read.kind !== "commit") throw new Error("unreachable: readOrThrow checked the kind");
  const commit = read.commit;
  if (commit.status !== "completed" || !commit.output) {
    const cause = recordedError(commit);
    throw new TaskError(`commit ${id.slice(0, 12)} (${commit.func.name}) failed: ${cause.message}`, id, cause);
  }
  const bytes = await db.getBlob(commit.output.hash, commit);
  if (!bytes) throw new CorruptObjectError(commit.output.hash, `it is the output of commit ${id.slice(0, 12)} and cannot be read (try \`cashet fsck\`)`);
  return { commit, bytes, value: decodeResult(commit, bytes, options.serializers) };
}

/**
 * A result as the CLI writes it (SPEC §5): a Buffer/Uint8Array as its raw bytes, a string as its
 * text (no newline added: `$(cashet run …)` gets exactly the string), anything else as JSON and a
 * newline — one line, or indented when `pretty` (a TTY).
 */
export function resultBytes(value: unknown, options: { pretty?: boolean } = {}): Buffer {
  if (types.isUint8Array(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return Buffer.from(value, "utf8");
  return Buffer.from(`${JSON.stringify(resultJson(value), null, options.pretty ? 2 : undefined)}\n`, "utf8");
}

/**
 * A result as a JSON value (the `result` of `--json`). JSON has no word for some results, so:
 * bytes → base64 string, undefined → null, BigInt → decimal string, Map → object (string
 * keys), Set and typed arrays → arrays; Date as its ISO string.
 */
export function resultJson(value: unknown): unknown {
  if (types.isUint8Array(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (value === undefined) return null;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
    if (v instanceof Set) return [...v];
    if (types.isUint8Array(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === "bigint" ? x.toString() : x));
    return v;
  });
  return text === undefined ? null : JSON.parse(text);
}
