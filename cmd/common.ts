// What every command shares: flag parsing with meow, the store flags, output helpers and the
// one table that maps errors to exit codes.
import meow, { type AnyFlags, type Result } from "meow";
import { CashetError, InvalidInputError } from "../plumbing/errors.js";
import { openStore } from "../plumbing/store/open.js";
import type { Store } from "../plumbing/store/types.js";

/** Exit codes (SPEC §5), for every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, store: 3 } as const;

/** Error code → exit code: the one place this mapping lives. */
const EXIT_BY_CODE: Record<string, number> = {
  EINVALID: EXIT.usage,
  ENOTFOUND: EXIT.failed,
  EAMBIGUOUS: EXIT.failed,
  ECORRUPT: EXIT.store,
  EUNAVAILABLE: EXIT.store,
  ECLAIMLOST: EXIT.failed,
};

/** System errors that mean the store's disk refuses us (permissions, read-only, full, a file in the way). */
const STORE_ERRNOS = new Set(["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "EIO", "ENOTDIR"]);

/** Flags every store-using command takes. */
export const STORE_FLAGS = {
  store: { type: "string" },
} as const;

export const JSON_FLAG = {
  json: { type: "boolean", default: false },
} as const;

export const STORE_HELP = `  --store DIR   the store (default: $CASHET_DIR, else ./.cashet)`;

/** A command: its one-line summary (for `cashet --help`) and its entry point. */
export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Parses a command's argv with meow: --help prints `help`; an unknown flag is a one-line usage error. */
export function parse<F extends AnyFlags>(argv: string[], help: string, flags: F): Result<F> {
  const cli = meow(help, {
    importMeta: import.meta,
    argv,
    flags,
    // meow's own report of unknown flags spans lines; ours is one line with the usual exit code
    allowUnknownFlags: true,
    description: false,
    autoVersion: false,
    booleanDefault: undefined,
    pkg: {}, // skips meow's search for package.json: we print neither its version nor description
  });
  const known = new Set(["help"]);
  for (const [name, spec] of Object.entries(flags)) {
    known.add(name);
    if (spec.shortFlag) known.add(spec.shortFlag);
  }
  for (const name of Object.keys(cli.unnormalizedFlags)) {
    const camel = name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (!known.has(name) && !known.has(camel)) {
      throw new InvalidInputError(`unknown flag ${name.length === 1 ? "-" : "--"}${name} (see --help)`);
    }
  }
  for (const [name, spec] of Object.entries(flags)) {
    const value = (cli.flags as Record<string, unknown>)[name];
    if (spec.type === "string" && value === "" && !argv.some((a) => a.startsWith(`--${name}=`))) {
      throw new InvalidInputError(`--${name} needs a value`);
    }
  }
  return cli;
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

/** Opens the store from --store / $CASHET_DIR, runs `fn`, and closes it. */
export async function withStore<T>(dir: string | undefined, create: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore({ dir, create });
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
    return EXIT_BY_CODE[err.code] ?? EXIT.failed;
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
