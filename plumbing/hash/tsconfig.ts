// The tsconfig options that change the JavaScript tsx runs for a TypeScript file. tsx reads one
// tsconfig per process — `TSX_TSCONFIG_PATH`, else the nearest tsconfig.json above the working
// directory, `extends` resolved (get-tsconfig, as tsx does) — and applies it to the files its
// `include`/`files` match; esbuild then honours only the compiler options below. Those options,
// as they take effect for a file, are part of the hash of every TypeScript function in a closure.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import type * as GetTsconfig from "get-tsconfig";

/** The compiler options esbuild (tsx's transformer) reads from a tsconfig; the rest cannot change emitted code. */
const EMIT_OPTIONS = [
  "alwaysStrict",
  "emitDecoratorMetadata",
  "experimentalDecorators",
  "importsNotUsedAsValues",
  "jsx",
  "jsxFactory",
  "jsxFragmentFactory",
  "jsxImportSource",
  "preserveValueImports",
  "strict",
  "target",
  "useDefineForClassFields",
  "verbatimModuleSyntax",
] as const;

export interface TsconfigOptions {
  /** sha256 over the options below (canonical JSON). */
  hash: string;
  /** The emit-relevant options in effect, sorted; `{}` when no tsconfig applies to the file. */
  options: Record<string, string | boolean>;
}

const require = createRequire(import.meta.url);
let lib: typeof GetTsconfig | undefined;
type Loaded = { result: GetTsconfig.TsConfigResult | null; matcher: GetTsconfig.FileMatcher | null };
let loaded: Loaded | undefined;

function getTsconfig(): typeof GetTsconfig {
  // ≈ 5 ms to load: only hashing a TypeScript function pays it.
  return (lib ??= require("get-tsconfig") as typeof GetTsconfig);
}

/** The tsconfig tsx uses in this process, found and parsed once per snapshot (see forgetTsconfig). */
function load(): Loaded {
  if (loaded) return loaded;
  const gt = getTsconfig();
  let result: GetTsconfig.TsConfigResult | null = null;
  try {
    const explicit = process.env.TSX_TSCONFIG_PATH;
    if (explicit) {
      const path = resolve(explicit);
      result = { path, config: gt.parseTsconfig(path) };
    } else result = gt.getTsconfig(process.cwd());
  } catch {
    result = null; // tsx ignores a tsconfig it cannot read, and so do we
  }
  loaded = { result, matcher: result ? gt.createFilesMatcher(result) : null };
  return loaded;
}

/** Drops what was read of tsconfig files, so the next hash sees them as they are now. */
export function forgetTsconfig(): void {
  loaded = undefined;
}

/** The path of the tsconfig tsx would use here, or null (for the resolver's `paths`). */
export function tsxTsconfigPath(): string | null {
  return load().result?.path ?? null;
}

const EMPTY: TsconfigOptions = { hash: createHash("sha256").update("{}").digest("hex"), options: {} };

/** The emit-relevant options tsx applies to TypeScript file `file`. */
export function tsconfigOptionsFor(file: string): TsconfigOptions {
  const { result, matcher } = load();
  if (!result || !matcher || !matcher(file)) return EMPTY;
  const compilerOptions = (result.config.compilerOptions ?? {}) as Record<string, unknown>;
  const options: Record<string, string | boolean> = {};
  for (const key of EMIT_OPTIONS) {
    const v = compilerOptions[key];
    // TypeScript reads option values case-insensitively (`ES2022` = `es2022`)
    if (typeof v === "string") options[key] = v.toLowerCase();
    else if (typeof v === "boolean") options[key] = v;
  }
  return { hash: createHash("sha256").update(JSON.stringify(options)).digest("hex"), options };
}
