// What every command shares: flag parsing, the store flags, output helpers and the
// one table that maps errors to exit codes.
import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { CashetError, InvalidInputError, type ErrorCode } from "../plumbing/errors.js";
import { openStore } from "../plumbing/backends/open.js";
import type { Store } from "../plumbing/store.js";
import { checkTagFilters, parseDuration } from "../plumbing/validate.js";

/** Exit codes (SPEC §5), for every command; `waited`: gave up waiting for another runner of the same call. */
export const EXIT = { ok: 0, failed: 1, usage: 2, store: 3, waited: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Error code → exit code: the one place this mapping lives (a code without a row does not compile). */
export const EXIT_BY_CODE: Record<ErrorCode, ExitCode> = {
  EINVALID: EXIT.usage,
  ENOTFOUND: EXIT.failed,
  EAMBIGUOUS: EXIT.failed,
  ETASK: EXIT.failed,
  ETIMEOUT: EXIT.failed,
  ECLAIMLOST: EXIT.failed,
  ECORRUPT: EXIT.store,
  EUNAVAILABLE: EXIT.store,
  EREADONLY: EXIT.store,
  EFULL: EXIT.store,
  EWAITTIMEOUT: EXIT.waited,
  // a remote cache's refusals (push, a remote store): the server said no to this request
  EUNSUPPORTED: EXIT.failed,
  EUNAUTHORIZED: EXIT.failed,
  EFORBIDDEN: EXIT.failed,
  ETOOLARGE: EXIT.failed,
  ECONFLICT: EXIT.failed,
  EMISSING: EXIT.failed,
  EMETHOD: EXIT.failed,
  EINTERNAL: EXIT.failed,
};

/** System errors (ours, or the index daemon's passed on) that mean the store's disk refuses us (permissions, read-only, full, a file in the way). */
const STORE_ERRNOS = new Set(["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "EIO", "ENOTDIR"]);

/** Flags every store-using command takes. */
export const STORE_FLAGS = {
  store: { type: "string" },
  redis: { type: "string" },
  remote: { type: "string" },
} as const;

/** The run filters of bulk commands (export, push), as flags. */
export const RUN_FILTER_FLAGS = {
  func: { type: "string" },
  tag: { type: "string", isMultiple: true },
  since: { type: "string" },
} as const;

/** Those flags as the porcelain's RunFilters (`--since` a duration back from now, as a time). */
export function runFilters(flags: { func?: string; tag?: string[]; since?: string }): { func?: string; tags: string[]; since?: number } {
  return {
    ...(flags.func !== undefined ? { func: flags.func } : {}),
    tags: checkTagFilters(flags.tag ?? [], "--tag"),
    ...(flags.since !== undefined ? { since: Date.now() - parseDuration(flags.since, "--since") } : {}),
  };
}

export const JSON_FLAG = {
  json: { type: "boolean", default: false },
} as const;

export const STORE_HELP = `  --store DIR   the store (default: $CASHET_DIR, else ./.cashet)
  --redis URL   a shared store on Redis instead (default: $CASHET_REDIS; key prefix $CASHET_REDIS_PREFIX)
  --remote URL  a cashet serve server to read through and write through to (default: $CASHET_REMOTE;
                token $CASHET_REMOTE_TOKEN)`;

/** A command: its one-line summary (for `cashet --help`) and its entry point. */
export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** A flag as a command declares it; its name is camelCase (`argsJson`), its CLI form kebab-case (`--args-json`). */
export interface FlagSpec {
  type: "string" | "boolean";
  shortFlag?: string;
  isMultiple?: boolean;
  default?: string | boolean;
}
type FlagValue<S extends FlagSpec> = S extends { isMultiple: true }
  ? string[] | undefined
  : S extends { type: "boolean" }
    ? S extends { default: boolean } ? boolean : boolean | undefined
    : S extends { default: string } ? string : string | undefined;
export type ParsedFlags<F extends Record<string, FlagSpec>> = { [K in keyof F]: FlagValue<F[K]> };

/**
 * Parses a command's argv with node's util.parseArgs: `--help` prints `help` and exits 0; an
 * unknown flag, a missing value or a value given to a switch is a one-line usage error; `--no-x`
 * turns a switch off. (meow did this at ≈40 ms of import per process — half of Node's own start —
 * which a CLI cache hit cannot afford; docs/decisions.md.)
 */
export function parse<const F extends Record<string, FlagSpec>>(argv: string[], help: string, flags: F): { input: string[]; flags: ParsedFlags<F> } {
  const byCli = new Map<string, string>(); // CLI name (kebab or short) → flag key
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [key, spec] of Object.entries(flags)) {
    const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    byCli.set(name, key);
    if (spec.shortFlag) byCli.set(spec.shortFlag, key);
    options[name] = { type: spec.type, ...(spec.shortFlag ? { short: spec.shortFlag } : {}), ...(spec.isMultiple ? { multiple: true } : {}) };
  }
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const input: string[] = [];
  const values: Record<string, unknown> = {};
  for (const token of tokens) {
    if (token.kind === "positional") input.push(token.value);
    if (token.kind !== "option") continue;
    const dash = token.rawName.startsWith("--") ? "--" : "-";
    if (token.name === "help" && !byCli.has("help")) showHelp(help);
    let key = byCli.get(token.name);
    let value: string | boolean | undefined = token.value;
    if (key === undefined && token.name.startsWith("no-") && flags[byCli.get(token.name.slice(3)) ?? ""]?.type === "boolean") {
      key = byCli.get(token.name.slice(3))!;
      if (token.inlineValue) throw new InvalidInputError(`${token.rawName} takes no value`);
      value = false;
    } else if (key === undefined) {
      throw new InvalidInputError(`unknown flag ${dash}${token.name} (see --help)`);
    }
    const spec = flags[key]!;
    if (spec.type === "boolean") {
      if (value !== false && token.inlineValue) throw new InvalidInputError(`${token.rawName} takes no value`);
      values[key] = value !== false;
    } else {
      // parseArgs takes a following word as the value, even a flag; an empty or missing one is refused
      if (typeof value !== "string" || (value === "" && !token.inlineValue)) throw new InvalidInputError(`${token.rawName} needs a value`);
      if (!token.inlineValue && /^--?[a-zA-Z]/.test(value) && byCli.has(value.replace(/^--?/, "").split("=")[0]!)) {
        throw new InvalidInputError(`${token.rawName} needs a value (got the flag ${value})`);
      }
      values[key] = spec.isMultiple ? [...((values[key] as string[] | undefined) ?? []), value] : value;
    }
  }
  for (const [key, spec] of Object.entries(flags)) if (!(key in values) && spec.default !== undefined) values[key] = spec.default;
  return { input, flags: values as ParsedFlags<F> };
}

/** Prints a command's help as meow did (trimmed, indented two spaces) and exits 0. */
function showHelp(help: string): never {
  const lines = help.replace(/^\n+|\s+$/g, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  writeSync(1, `\n${lines.map((l) => (l.trim() ? `  ${l.slice(indent)}` : "")).join("\n")}\n\n`);
  process.exit(EXIT.ok);
}

/** Exactly `n` positional arguments (`names` used in the error), or a usage error. */
export function positionals(input: string[], names: string[], optional = 0): string[] {
  if (input.length < names.length - optional || input.length > names.length) {
    throw new InvalidInputError(
      input.length > names.length
        ? `unexpected argument "${input[names.length]}"`
        : `missing ${names[input.length]} (see --help)`,
    );
  }
  return input;
}

/** Opens the store from --redis / $CASHET_REDIS or --store / $CASHET_DIR (and --remote / $CASHET_REMOTE), runs `fn`, and closes it. */
export async function withStore<T>(flags: { store?: string; redis?: string; remote?: string }, create: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ dir: flags.store, redis: flags.redis, remote: flags.remote, create });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Writes text to stdout, waiting for it to drain (so large outputs are not cut at exit). */
export function out(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes `value` as JSON on one line. */
export function outJson(value: unknown): Promise<void> {
  return out(`${JSON.stringify(value)}\n`);
}

/** Prints an error as one line on stderr and returns its exit code. */
export function report(err: unknown): number {
  if (err instanceof CashetError) {
    process.stderr.write(`cashet: ${err.message}\n`);
    return EXIT_BY_CODE[err.code] ?? EXIT.failed; // a code from another copy of cashet: only the table's own are typed
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "EPIPE") return EXIT.ok; // `cashet … | head` closed the pipe: not an error
  if (e?.code && STORE_ERRNOS.has(e.code)) {
    process.stderr.write(`cashet: the store cannot be used: ${e.message}\n`);
    return EXIT.store;
  }
  process.stderr.write(`cashet: internal error: ${e?.stack ?? String(err)}\n`);
  return EXIT.failed;
}

/** Column-aligned rows for human output. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Splits `path/to/file.ts#name` (the last # separates; no # means the default export). */
export function splitTarget(target: string): { file: string; exportName: string } {
  const hash = target.lastIndexOf("#");
  const file = hash < 0 ? target : target.slice(0, hash);
  const exportName = hash < 0 ? "default" : target.slice(hash + 1);
  if (!file) throw new InvalidInputError(`"${target}" names no file (use path/to/file.ts#export)`);
  if (!exportName) throw new InvalidInputError(`"${target}" names no export after #`);
  return { file, exportName };
}

/** The flags of a command that calls a function (`run`, `explain`): those that take a value, and switches. */
export interface CallFlags {
  values: readonly string[];
  switches: readonly string[];
}

/**
 * A call's command line: cashet's own flags — before the target (`run --force f.js …`) and after it
 * (`run f.js 3 --force`) — the target, and the task's arguments. `--` ends flag parsing; a word like
 * `-1` or `-x` that is not one of cashet's flags is an argument; an unknown `--flag` is left for
 * parse() to refuse.
 */
export function splitCall(argv: string[], known: CallFlags): { flags: string[]; target: string | undefined; words: string[] } {
  const values = new Set(known.values);
  const flags: string[] = [];
  let rest: string[] = [];
  let target: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (values.has(w)) {
      flags.push(w);
      if (i + 1 < argv.length) flags.push(argv[++i]!); // its value
    } else if (w === "--") {
      target = argv[i + 1];
      rest = ["--", ...argv.slice(i + 2)];
      break;
    } else if (!w.startsWith("-")) {
      target = w;
      rest = argv.slice(i + 1);
      break;
    } else {
      flags.push(w);
    }
  }
  const words: string[] = [];
  const names = new Set([...known.values, ...known.switches]);
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === "--") {
      words.push(...rest.slice(i + 1));
      break;
    }
    const name = w.includes("=") && w.startsWith("--") ? w.slice(0, w.indexOf("=")) : w;
    if (names.has(name)) {
      flags.push(w);
      if (values.has(w) && i + 1 < rest.length) flags.push(rest[++i]!);
    } else if (/^--[a-z]/.test(w)) {
      flags.push(w); // an unknown flag: parse() refuses it with a usage error
    } else {
      words.push(w);
    }
  }
  return { flags, target, words };
}
